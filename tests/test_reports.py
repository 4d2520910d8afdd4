"""The owner report: content for a known scenario, and when it is sent."""

from mailman.config import config
from mailman.utilities.datetime import factory, now
from sitehelpers import (
    add_members,
    bounce,
    dead_mailbox,
    mailman_command,
    make_list,
    queue,
    send_campaign,
)

from mailman_bouncerules.app import reports
from mailman_bouncerules.app.admin import ListAdmin
from mailman_bouncerules.tools.testing import samples

BART, CRIS, ELLY = 'bart@example.org', 'cris@example.org', 'elly@example.org'


def scenario():
    mlist = make_list()
    add_members(mlist, [BART, CRIS, ELLY, 'anne@example.org'])
    mlist.bounce_notify_owner_on_removal = False
    mlist.bounce_notify_owner_on_disable = False
    config.db.commit()
    for number in (1, 2, 3):
        dead_mailbox(mlist, samples.rfc3464(
            ELLY, '5.2.1', '550 5.2.1 disabled',
            original_id=send_campaign(mlist, number)))
    bounce(mlist, samples.rfc3464(CRIS, '5.2.2', '552 5.2.2 full'))
    dead_mailbox(mlist, samples.rfc3464(BART, '5.1.1',
                                        '550 5.1.1 user unknown'))
    ListAdmin(mlist).record_open('anne@example.org', '<post-3@example.com>')
    config.db.commit()
    return mlist


def test_report_says_what_happened_and_why(mailman):
    mlist = scenario()
    text = reports.render(mlist, config.db.store, now().replace(year=2000))
    assert 'Members: 3 (2 active), soft: 1, hard: 0,' in text
    assert 'confirmed: 1, removed: 1' in text
    lines = {line.split()[0]: line for line in text.splitlines()
             if line.startswith('    ') and '@' in line.split()[0]}
    assert 'confirmed (delivery stopped)' in lines[ELLY]
    assert 'mailbox-disabled-status' in lines[ELLY]
    assert 'removed (the receiving server says the mailbox does not exist)' \
        in lines[BART]
    assert 'user-unknown' in lines[BART]
    assert 'soft bounce' in lines[CRIS] and '5.2.2' in lines[CRIS]
    assert 'post-3@example.com  1 opened of 4' in text
    # Three campaigns and the probe that verified them.
    assert '4  mailbox-disabled-status' in text
    assert 'Held by the circuit breaker' in text


def test_reports_are_off_by_default_then_sent_when_due(mailman):
    mlist = scenario()
    queue('virgin')
    assert reports.send_due_reports(config.db.store) == 0
    ListAdmin(mlist).configure(report='daily')
    config.db.commit()
    assert reports.send_due_reports(config.db.store) == 1
    config.db.commit()
    [notice] = queue('virgin')
    assert str(notice.msg['Subject']) == 'Bounce report for Ant'
    assert set(notice.msgdata['recipients']) <= {
        a.email for a in mlist.administrators.addresses}
    # Not again the same day ...
    assert reports.send_due_reports(config.db.store) == 0
    # ... but the next.
    factory.fast_forward(days=1)
    assert reports.send_due_reports(config.db.store) == 1


def test_owner_notices_are_templates_and_never_expand_a_bounce_s_words(
        mailman):
    from mailman_bouncerules.app import notices
    from mailman_bouncerules.classify.report import RecipientReport
    from mailman_bouncerules.classify.rules.rule import Evidence
    from mailman_bouncerules.classify.rules.ruleset import Decision
    from mailman_bouncerules.interfaces import EvidenceLevel
    mlist = make_list()
    queue('virgin')
    forged = RecipientReport(
        address=BART, status='5.1.1', smtp_code='550',
        diagnostic='550 user unknown; re-confirm $listname at $site_email')
    decision = Decision(forged, 'hard', 'unsubscribe', 'user-unknown',
                        'userunknown', Evidence(status='5.1.1'))
    notices.removed(mlist, BART, decision, EvidenceLevel.PROBE)
    [item] = queue('virgin')
    text = item.msg.get_payload()
    assert str(item.msg['Subject']) == (
        '%s removed from %s by bounces' % (BART, mlist.display_name))
    assert 'has been removed from ant@example.com: the receiving server ' \
        'says the mailbox does not exist' in text
    assert 're-confirm $listname at $site_email' in text    # as written
    assert 'mailman bouncerules undo ant.example.com %s' % BART in text


def test_send_with_no_one_to_send_to_is_an_error(mailman):
    from mailman.interfaces.member import MemberRole
    from mailman.interfaces.usermanager import IUserManager
    from mailman.testing.helpers import get_queue_messages
    from zope.component import getUtility
    mlist = make_list()
    result = mailman_command('report', 'ant@example.com', '--send')
    assert result.exit_code != 0 and 'no owner' in result.output
    owner = getUtility(IUserManager).create_address('owner@example.com')
    owner.verified_on = now()
    mlist.subscribe(owner, MemberRole.owner)
    get_queue_messages('virgin')
    result = mailman_command('report', 'ant@example.com', '--send')
    assert result.exit_code == 0 and 'sent to the 1 owners' in result.output
    assert len(get_queue_messages('virgin')) == 1
