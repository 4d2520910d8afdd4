"""Shadow mode: the same decisions, no changes, stock Mailman in charge."""

from click.testing import CliRunner
from mailman.config import config
from mailman.interfaces.member import DeliveryStatus
from mailman.model.bounce import BounceEvent
from sitehelpers import (
    add_member,
    add_members,
    addressed_to,
    bounce,
    dead_mailbox,
    make_list,
    queue,
    refused,
    send_campaign,
    sent_probes,
    state,
)

from mailman_bouncerules.app.admin import ListAdmin
from mailman_bouncerules.model.tables import Event
from mailman_bouncerules.runners.bounce import RulesBounceRunner
from mailman_bouncerules.tools.testing import samples

BART, CRIS, ELLY = 'bart@example.org', 'cris@example.org', 'elly@example.org'


def scenario(mlist):
    """Bart unknown, Cris full, Elly disabled three campaigns running."""
    add_members(mlist, [BART, CRIS, ELLY])
    mlist.bounce_notify_owner_on_removal = True
    mlist.bounce_notify_owner_on_disable = True
    config.db.commit()
    queue('virgin')
    for number in (1, 2, 3):
        campaign = send_campaign(mlist, number)
        dead_mailbox(mlist, samples.rfc3464(
            ELLY, '5.2.1', '550 5.2.1 disabled', original_id=campaign))
        bounce(mlist, samples.rfc3464(CRIS, '5.2.2', '552 5.2.2 full',
                                      original_id=campaign))
    dead_mailbox(mlist, samples.rfc3464(
        BART, '5.1.1', '550 5.1.1 user unknown', original_id=campaign))


def decisions(mlist):
    rows = ListAdmin(mlist).members() + ListAdmin(mlist).members('removed')
    return {row['email']: (row['state'], row['last_bounce']['rule'])
            for row in rows}


def test_shadow_changes_nothing_and_reports_the_same_decisions(mailman):
    enforced = make_list('bee@example.com')
    scenario(enforced)
    shadowed = make_list('ant@example.com')
    ListAdmin(shadowed).configure(shadow_on=True)
    config.db.commit()
    scenario(shadowed)
    # The same decisions ...
    assert decisions(shadowed) == decisions(enforced)
    assert decisions(shadowed)[ELLY][0] == 'confirmed'
    assert decisions(shadowed)[BART][0] == 'removed'
    # ... but nothing changed and nobody was told.
    for email in (BART, CRIS, ELLY):
        member = shadowed.members.get_member(email)
        assert member is not None
        assert member.delivery_status == DeliveryStatus.enabled
    assert [item for item in queue('virgin')
            if item.msgdata.get('listid') == 'ant.example.com'] == []
    events = {e.event for e in config.db.store.query(Event).filter_by(
        list_id='ant.example.com')}
    assert {'would-confirm', 'would-remove'} <= events
    assert not {'confirmed', 'removed'} & events
    rows = {row['email']: row for row in ListAdmin(shadowed).members()}
    assert rows[ELLY]['shadow'] and rows[BART]['shadow']
    # Stock Mailman stays in charge: its events and scores exist.
    stock = config.db.store.query(BounceEvent).filter_by(
        list_id='ant.example.com').all()
    assert {event.email for event in stock} >= {BART, ELLY}
    assert config.db.store.query(BounceEvent).filter_by(
        list_id='bee.example.com').count() == 0


def test_status_says_would(mailman):
    mlist = make_list()
    ListAdmin(mlist).configure(shadow_on=True)
    config.db.commit()
    scenario(mlist)
    from mailman.bin.mailman import Subcommands
    command = Subcommands().get_command(None, 'bouncerules')
    output = CliRunner().invoke(command, ['status', 'ant@example.com']).output
    assert 'would confirm' in output and 'would remove' in output


def test_stock_scoring_runs_for_shadow_lists_only(mailman):
    mlist = make_list()
    ListAdmin(mlist).configure(shadow_on=True)
    config.db.commit()
    scenario(mlist)
    from mailman.testing.helpers import make_testable_runner
    runner = make_testable_runner(RulesBounceRunner, 'bounces')
    runner._do_periodic()
    config.db.commit()
    assert mlist.members.get_member(ELLY).bounce_score >= 1   # stock's score
    assert config.db.store.query(BounceEvent).filter_by(
        processed=False).count() == 0


def test_switching_shadow_off_probes_what_was_unverified(mailman):
    """Shadow mode sends no probes; its recorded decisions on notices to
    the plain -bounces address get their probe when it ends."""
    mlist = make_list()
    ListAdmin(mlist).configure(shadow_on=True)
    config.db.commit()
    scenario(mlist)
    queue('virgin')
    ListAdmin(mlist).configure(shadow_on=False)
    config.db.commit()
    assert mlist.members.get_member(BART) is not None
    assert mlist.members.get_member(ELLY).delivery_status == \
        DeliveryStatus.enabled
    probes = sent_probes()
    assert sorted(email for recipients, _s, _m in probes
                  for email in recipients) == [BART, ELLY]
    assert queue('virgin') == []                    # no replayed notices
    # The mailboxes are dead: the probes bounce, and only then it happens.
    for recipients, sender, _probe in probes:
        email = next(iter(recipients))
        status = '5.1.1' if email == BART else '5.2.1'
        bounce(mlist, addressed_to(samples.rfc3464(
            email, status, '550 %s gone' % status), sender))
    assert mlist.members.get_member(BART) is None
    assert mlist.members.get_member(ELLY).delivery_status == \
        DeliveryStatus.by_bounces


def test_switching_shadow_off_enforces_verified_silently_with_undo(mailman):
    mlist = make_list()
    add_members(mlist, [BART, ELLY])
    mlist.bounce_notify_owner_on_removal = True
    ListAdmin(mlist).configure(shadow_on=True)
    config.db.commit()
    send_campaign(mlist, 1)
    refused(mlist, BART)                    # at SMTP time: verified
    refused(mlist, ELLY)
    assert state(mlist, BART).state == 'removed'
    # Elly showed life after the recorded decision: it no longer holds.
    send_campaign(mlist, 2)
    ListAdmin(mlist).record_open(ELLY, '<post-2@example.com>')
    # What is carried out is read from its own table, not the history:
    # the history's record of it may be gone.
    config.db.store.query(Event).filter(Event.event.in_(
        ('would-remove', 'would-confirm'))).delete()
    config.db.commit()
    queue('virgin')
    ListAdmin(mlist).configure(shadow_on=False)
    config.db.commit()
    assert mlist.members.get_member(BART) is None
    assert mlist.members.get_member(ELLY) is not None
    assert queue('virgin') == []                    # silent
    assert state(mlist, ELLY).state == 'ok'
    # The removal kept what undo needs.
    ListAdmin(mlist).undo(BART, 'carol')
    config.db.commit()
    assert mlist.members.get_member(BART) is not None


def test_switching_shadow_off_skips_old_decisions(mailman):
    from mailman.utilities.datetime import factory
    mlist = make_list()
    add_member(mlist, BART)
    ListAdmin(mlist).configure(shadow_on=True)
    config.db.commit()
    send_campaign(mlist, 1)
    refused(mlist, BART)
    factory.fast_forward(days=30)
    ListAdmin(mlist).configure(shadow_on=False)
    config.db.commit()
    assert mlist.members.get_member(BART) is not None
    assert [e.event for e in config.db.store.query(Event).filter_by(
        email=BART).order_by(Event.id)][-1] == 'not-enforced'


def test_stock_removal_cycle_changes_members_of_shadow_lists_only(mailman):
    """In shadow mode stock Mailman stays in charge: its warn-then-remove
    cycle removes a member disabled by bounces whose warnings ran out.
    Elsewhere such a member is one this plugin confirmed, and it stays
    (and gets no stock warning) until an admin decides."""
    import datetime

    from mailman_bouncerules.app.shadow import stock_warnings_and_removals
    shadowed, ruled = make_list('ant@example.com'), make_list('bee@example.com')
    ListAdmin(shadowed).configure(shadow_on=True)
    for mlist in (shadowed, ruled):
        mlist.bounce_you_are_disabled_warnings = 1
        member = add_member(mlist, BART)
        member.preferences.delivery_status = DeliveryStatus.by_bounces
        member.total_warnings_sent = 1
        member.last_warning_sent = datetime.datetime(2000, 1, 1)
        warned = add_member(mlist, CRIS)
        warned.preferences.delivery_status = DeliveryStatus.by_bounces
    config.db.commit()
    queue('virgin')
    stock_warnings_and_removals(config.db.store)
    config.db.commit()
    assert shadowed.members.get_member(BART) is None
    assert ruled.members.get_member(BART) is not None
    # Stock's warning goes to the shadow list's disabled member only.
    assert shadowed.members.get_member(CRIS).total_warnings_sent == 1
    assert ruled.members.get_member(CRIS).total_warnings_sent == 0
    warnings = [item for item in queue('virgin')
                if CRIS in str(item.msg['To'])]
    assert len(warnings) == 1
