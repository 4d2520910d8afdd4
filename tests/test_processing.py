"""Bounces through Mailman's bounce runner to member states."""

import pytest
from mailman.app.lifecycle import remove_list
from mailman.config import config
from mailman.interfaces.bounce import IBounceProcessor
from mailman.interfaces.member import DeliveryStatus
from mailman.runners.outgoing import OutgoingRunner
from mailman.testing.helpers import make_testable_runner
from sitehelpers import (
    BART,
    add_member,
    add_members,
    as_message,
    bounce,
    dead_mailbox,
    hard,
    history,
    make_list,
    queue,
    send_campaign,
    sent_probes,
    state,
)
from zope.component import getUtility

from mailman_bouncerules.model.tables import Event
from mailman_bouncerules.runners.bounce import RulesBounceRunner
from mailman_bouncerules.tools.testing import samples


@pytest.fixture
def ant(mailman):
    mlist = make_list()
    member = add_member(mlist, BART)
    return mlist, member


def test_soft_bounce_is_recorded_and_member_keeps_mail(ant):
    mlist, member = ant
    campaign = send_campaign(mlist, 1)
    bounce(mlist, samples.rfc3464(BART, '5.2.2', '552 5.2.2 Mailbox full',
                                  original_id=campaign))
    member_state = state(mlist, BART)
    assert member_state.state == 'soft'
    assert member_state.run == 0
    assert member.delivery_status == DeliveryStatus.enabled
    [event] = history(mlist)
    assert (event.classification, event.rule, event.status,
            event.campaign) == ('soft', 'mailbox-full', '5.2.2',
                                'post-1@example.com')
    assert event.attribution == 'message-id'


def test_temporary_failure_is_recorded_not_dropped(ant):
    mlist, _member = ant
    send_campaign(mlist, 1)
    bounce(mlist, samples.rfc3464(BART, '4.4.1', '421 4.4.1 Connection timed '
                                  'out', action='delayed'))
    assert state(mlist, BART).state == 'soft'
    assert history(mlist)[0].rule == 'delivery-delayed'


def test_hard_bounce_counts_once_per_campaign(ant):
    mlist, member = ant
    campaign = send_campaign(mlist, 1)
    dead_mailbox(mlist, hard(campaign))
    bounce(mlist, samples.exim(BART, '550 5.2.1 mailbox is disabled')
           .replace(b'<post-2@example.com>', campaign.encode()))
    member_state = state(mlist, BART)
    assert (member_state.state, member_state.run) == ('hard', 1)
    assert [e.counted for e in history(mlist)] == [True, False]
    assert member.bounce_score == 1
    assert member.last_bounce_received is not None


def test_three_consecutive_campaigns_confirm(ant):
    mlist, member = ant
    for number in (1, 2, 3):
        dead_mailbox(mlist, hard(send_campaign(mlist, number)))
    member_state = state(mlist, BART)
    assert (member_state.state, member_state.run) == ('confirmed', 3)
    assert member.delivery_status == DeliveryStatus.by_bounces
    assert member.bounce_score == 3
    assert 'confirmed' in [e.event for e in history(mlist)]
    # Not removed: still a member, listed separately.
    assert mlist.members.get_member(BART) is not None


def test_a_campaign_without_hard_bounce_breaks_the_run(ant):
    mlist, _member = ant
    one, two = send_campaign(mlist, 1), send_campaign(mlist, 2)
    three, four = send_campaign(mlist, 3), send_campaign(mlist, 4)
    for campaign in (one, two, four):
        dead_mailbox(mlist, hard(campaign))
    member_state = state(mlist, BART)
    assert member_state.state == 'hard'
    assert member_state.run == 1            # the run ending at campaign 4
    # The late bounce of campaign 3 closes the gap: 1-4 are consecutive.
    dead_mailbox(mlist, hard(three))
    assert state(mlist, BART).state == 'confirmed'


@pytest.mark.parametrize('order', [(3, 1, 2), (2, 3, 1), (1, 3, 2)])
def test_outcome_does_not_depend_on_arrival_order(ant, order):
    mlist, _member = ant
    campaigns = {n: send_campaign(mlist, n) for n in (1, 2, 3)}
    for number in order[:2]:
        dead_mailbox(mlist, hard(campaigns[number]))
    assert state(mlist, BART).state == 'hard'
    dead_mailbox(mlist, hard(campaigns[order[2]]))
    assert state(mlist, BART).state == 'confirmed'


def test_same_bounce_twice_changes_nothing(ant):
    mlist, _member = ant
    campaign = send_campaign(mlist, 1)
    data = hard(campaign)
    bounce(mlist, data, message_id='<dsn-1@relay.example.com>')
    bounce(mlist, data, message_id='<dsn-1@relay.example.com>')
    assert len(history(mlist)) == 1
    assert state(mlist, BART).run == 1


def test_user_unknown_removes_at_once_without_goodbye(ant):
    mlist, _member = ant
    mlist.bounce_notify_owner_on_removal = True
    add_member(mlist, 'owner@example.com')      # someone else stays
    config.db.commit()
    queue('virgin')
    campaign = send_campaign(mlist, 1)
    [probe] = dead_mailbox(mlist, samples.rfc3464(
        BART, '5.1.1', '550 5.1.1 <bart@example.org>: Recipient address '
        'rejected: User unknown', original_id=campaign))
    assert probe[0] == {BART}
    assert mlist.members.get_member(BART) is None
    assert state(mlist, BART).state == 'removed'
    assert [e.event for e in history(mlist)] == [
        'bounce', 'verifying', 'bounce', 'removed']
    notices = queue('virgin')
    # One notice, to the owners, none to the dead mailbox.
    assert len(notices) == 1
    assert BART not in notices[0].msgdata['recipients']
    assert 'removed' in str(notices[0].msg['Subject'])
    assert 'user-unknown' in notices[0].msg.get_payload()


def test_a_dead_forwarding_target_counts_and_never_removes(ant):
    """The DSN's Original-Recipient is the member, its Final-Recipient the
    address the member's mail was forwarded to, and that one is unknown:
    the member's own address exists."""
    mlist, member = ant
    campaign = send_campaign(mlist, 1)
    notice = samples.rfc3464(
        BART, '5.1.1', '550 5.1.1 <bart.new@other.example>: Recipient '
        'address rejected: User unknown', original_id=campaign).replace(
        b'Final-Recipient: rfc822; ' + BART.encode(),
        b'Final-Recipient: rfc822; bart.new@other.example')
    bounce(mlist, notice)
    assert member.delivery_status == DeliveryStatus.enabled
    assert (state(mlist, BART).state, state(mlist, BART).run) == ('hard', 1)
    [event] = history(mlist)
    assert (event.rule, event.action) == ('user-unknown', 'count')
    assert 'failed further on, at bart.new@other.example' in event.detail
    assert sent_probes() == []


def test_no_owner_notice_when_list_says_no(ant):
    mlist, _member = ant
    mlist.bounce_notify_owner_on_removal = False
    config.db.commit()
    queue('virgin')
    dead_mailbox(mlist, samples.rfc3464(BART, '5.1.1',
                                        '550 5.1.1 User unknown'))
    assert mlist.members.get_member(BART) is None
    assert queue('virgin') == []


def test_spam_block_never_removes(ant):
    mlist, member = ant
    for number in (1, 2, 3, 4):
        bounce(mlist, samples.rfc3464(
            BART, '5.7.1', '550 5.7.1 Message rejected as spam; user unknown',
            original_id=send_campaign(mlist, number)))
    assert mlist.members.get_member(BART) is not None
    assert member.delivery_status == DeliveryStatus.enabled
    assert state(mlist, BART).state == 'soft'


def test_smtp_time_refusal_goes_through_the_rules(ant):
    mlist, _member = ant
    send_campaign(mlist, 1)
    # Exactly what Mailman's outgoing runner hands the processor.
    dsn = OutgoingRunner._fake_dsn(None, mlist, BART, 550,
                                   b'5.1.1 <bart@example.org>: User unknown')
    getUtility(IBounceProcessor).register(mlist, BART, dsn)
    config.db.commit()
    assert mlist.members.get_member(BART) is None
    [bounce_event, _removed] = history(mlist)
    assert bounce_event.rule.startswith('user-unknown')
    assert bounce_event.attribution == 'time'


def test_smtp_time_policy_refusal_is_soft(ant):
    mlist, _member = ant
    dsn = OutgoingRunner._fake_dsn(None, mlist, BART, 554,
                                   b'5.7.1 Service unavailable; client host '
                                   b'blocked using Spamhaus')
    getUtility(IBounceProcessor).register(mlist, BART, dsn)
    assert state(mlist, BART).state == 'soft'


def test_non_member_bounce_changes_nothing(ant):
    mlist, _member = ant
    bounce(mlist, samples.rfc3464('nobody@example.org', '5.1.1',
                                  '550 5.1.1 User unknown'))
    assert state(mlist, 'nobody@example.org') is None
    assert history(mlist, 'nobody@example.org') == []


def test_bounce_for_deleted_list_is_kept_aside(mailman):
    """Mailman's runner shunts mail for a list that no longer exists: the
    bounce is neither lost nor applied, and the runner carries on."""
    mlist = make_list('gone@example.com')
    add_member(mlist, BART)
    list_id = mlist.list_id
    remove_list(mlist)
    config.db.commit()
    queue('shunt')
    config.switchboards['bounces'].enqueue(
        as_message(samples.rfc3464(BART, '5.1.1', '550 5.1.1 User unknown')),
        listid=list_id)
    make_testable_runner(RulesBounceRunner, 'bounces').run()
    assert queue('bounces') == []
    assert len(queue('shunt')) == 1
    assert config.db.store.query(Event).filter_by(list_id=list_id).all() == []


def test_lists_not_processing_bounces_are_left_alone(ant):
    mlist, _member = ant
    mlist.process_bounces = False
    config.db.commit()
    bounce(mlist, samples.rfc3464(BART, '5.1.1', '550 5.1.1 User unknown'))
    assert mlist.members.get_member(BART) is not None
    assert state(mlist, BART) is None


def test_unrecognised_bounce_is_forwarded(ant):
    mlist, _member = ant
    queue('virgin')
    bounce(mlist, b'From: someone@example.net\nSubject: hello\n\n'
                  b'Just chatting, no failure here.\n')
    forwarded = queue('virgin')
    assert len(forwarded) == 1
    assert 'Uncaught bounce' in str(forwarded[0].msg['Subject'])


def test_time_attribution_picks_latest_campaign(ant):
    mlist, _member = ant
    send_campaign(mlist, 1)
    send_campaign(mlist, 2)
    bounce(mlist, samples.gmail(BART, '550 5.2.1 The email account that you '
                                'tried to reach is disabled.'))
    [event] = history(mlist)
    assert (event.campaign, event.attribution) == ('post-2@example.com', 'time')


def test_hard_bounce_before_any_campaign_is_recorded_not_counted(ant):
    mlist, _member = ant
    dead_mailbox(mlist, hard('<welcome@example.com>'))
    [event] = history(mlist)
    assert (event.attribution, event.counted) == ('none', False)
    assert state(mlist, BART).run == 0


def test_digest_members_count_digest_campaigns(mailman):
    mlist = make_list()
    add_member(mlist, BART, digest=True)
    send_campaign(mlist, 1)                     # posts do not reach Bart
    for number in (11, 12):
        dead_mailbox(mlist, hard(send_campaign(mlist, number, kind='digest')))
    send_campaign(mlist, 2)
    dead_mailbox(mlist, hard(send_campaign(mlist, 13, kind='digest')))
    assert state(mlist, BART).state == 'confirmed'


def test_a_bad_message_is_shunted_and_the_runner_goes_on(ant, monkeypatch):
    mlist, _member = ant
    from mailman_bouncerules.app import bounces

    def explode(self, message):
        raise RuntimeError('boom')
    monkeypatch.setattr(bounces.BounceHandler, 'handle',
                        lambda self, *args: explode(self, None))
    queue('shunt')
    dead_mailbox(mlist, hard('<x@example.com>'))
    monkeypatch.undo()
    assert len(queue('shunt')) == 1
    assert queue('bounces') == []
    # The next bounce is processed as usual.
    dead_mailbox(mlist, hard(send_campaign(mlist, 1)))
    assert state(mlist, BART).run == 1


@pytest.mark.parametrize('data, read', [
    (b'', False),
    (bytes(range(256)) * 200, False),
    # Broken headers around a readable DSN: still read (5.1.1 without
    # words that agree counts: no removal, so no probe either).
    (b'From: \xff\xfe\nSubject: \x80\x81\nContent-Type: multipart/report; '
     b'boundary="x"\n\n--x\nContent-Type: message/delivery-status\n\n'
     b'Final-Recipient: rfc822; bart@example.org\nStatus: 5.1.1\n', True),
], ids=['empty', 'binary', 'broken-headers'])
def test_bad_messages_in_the_bounces_queue_never_stop_the_runner(ant, data,
                                                                 read):
    mlist, _member = ant
    msg = as_message(data)
    del msg['Message-ID']
    queue('shunt')
    config.switchboards['bounces'].enqueue(msg, listid=mlist.list_id)
    make_testable_runner(RulesBounceRunner, 'bounces').run()
    config.db.commit()
    assert queue('bounces') == [] and queue('shunt') == []
    assert mlist.members.get_member(BART) is not None
    assert sent_probes() == []
    assert (state(mlist, BART) is not None
            and state(mlist, BART).state == 'hard') == read


def _queued_failures(mlist, emails, campaign):
    for email in emails:
        config.switchboards['bounces'].enqueue(
            as_message(samples.rfc3464(email, '5.2.1', '550 5.2.1 disabled',
                                       original_id=campaign)),
            listid=mlist.list_id)


def _storm(count):
    """A list of `count` members whose failures in its first post are
    queued; (list, emails, the post's Message-ID)."""
    mlist = make_list()
    emails = ['m%d@example.org' % number for number in range(count)]
    add_members(mlist, emails)
    campaign = send_campaign(mlist, 1)
    _queued_failures(mlist, emails, campaign)
    config.db.commit()
    return mlist, emails, campaign


def test_a_storm_is_committed_a_batch_at_a_time(mailman):
    """Counting work: one commit for up to BATCH bounces, and every
    bounce of the storm recorded once."""
    from sqlalchemy import event

    from mailman_bouncerules.runners import bounce as runner_module
    mlist, emails, _campaign = _storm(12)
    commits = []
    listener = lambda connection: commits.append(1)     # noqa: E731
    event.listen(config.db.engine, 'commit', listener)
    try:
        runner = make_testable_runner(RulesBounceRunner, 'bounces')
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(runner_module, 'BATCH', 5)
            runner.run()
    finally:
        event.remove(config.db.engine, 'commit', listener)
    config.db.commit()
    assert queue('bounces') == []
    assert all(state(mlist, email).run == 1 for email in emails)
    # Three batches (5, 5, 2), each its commit and the periodic pass's.
    assert len(commits) <= 2 * 3 + 1, len(commits)


def test_one_bad_bounce_rolls_back_its_batch_and_the_rest_are_kept(
        mailman, monkeypatch):
    from mailman_bouncerules.app import bounces
    mlist, emails, _campaign = _storm(5)
    handle = bounces.BounceHandler.handle
    seen = []

    def explode_on_the_third(self, mlist, msg, *args, **kwargs):
        seen.append(1)
        if 'm2@example.org' in msg.as_string():
            raise RuntimeError('boom')
        return handle(self, mlist, msg, *args, **kwargs)
    monkeypatch.setattr(bounces.BounceHandler, 'handle', explode_on_the_third)
    queue('shunt')
    make_testable_runner(RulesBounceRunner, 'bounces').run()
    config.db.commit()
    assert len(queue('shunt')) == 1
    assert queue('bounces') == []
    runs = {email: state(mlist, email).run if state(mlist, email) else 0
            for email in emails}
    assert runs == {'m0@example.org': 1, 'm1@example.org': 1,
                    'm2@example.org': 0, 'm3@example.org': 1,
                    'm4@example.org': 1}
    # Counted once each: the rolled-back batch left nothing behind.
    assert config.db.store.query(Event).filter_by(
        event='bounce', list_id=mlist.list_id).count() == 4
    # The batch (three files reached), then each of the five alone.
    assert len(seen) == 3 + 5


def test_a_file_recovered_after_a_crash_is_handled_alone(mailman,
                                                         monkeypatch):
    """A message that killed its runner must not take the files of its
    batch with it to the bad queue."""
    mlist = make_list()
    emails = ['m%d@example.org' % number for number in range(3)]
    add_members(mlist, emails)
    campaign = send_campaign(mlist, 1)
    # The one in flight when its runner died is left as a backup, which
    # the next runner recovers (and counts) when it starts.
    import os
    _queued_failures(mlist, emails[2:], campaign)
    directory = config.switchboards['bounces'].queue_directory
    for name in os.listdir(directory):
        os.rename(os.path.join(directory, name),
                  os.path.join(directory, name[:-4] + '.bak'))
    _queued_failures(mlist, emails[:2], campaign)
    config.db.commit()
    alone = []
    handle_alone = RulesBounceRunner._handle_alone
    monkeypatch.setattr(RulesBounceRunner, '_handle_alone',
                        lambda self, queued: (alone.append(queued.msgdata),
                                              handle_alone(self, queued)))
    make_testable_runner(RulesBounceRunner, 'bounces').run()
    config.db.commit()
    assert [data['_bak_count'] for data in alone] == [1]
    assert all(state(mlist, email).run == 1 for email in emails)
