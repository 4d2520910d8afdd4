"""Removals nobody can forge: only the list's own mail verifies a bounce.

Every forgery here is mailed to the public -bounces address through the
real bounce runner, shaped like a real relay's notice and quoting a real
post's headers: none of it may change a membership.
"""

import pytest
from mailman.config import config
from mailman.interfaces.member import DeliveryStatus
from mailman.utilities.datetime import factory
from sitehelpers import (
    BART,
    add_member,
    add_members,
    addressed_to,
    bounce,
    bounces,
    dead_mailbox,
    failed_together,
    make_list,
    queue,
    refused,
    send_campaign,
    sent_probes,
    state,
)

from mailman_bouncerules.app.admin import ListAdmin
from mailman_bouncerules.app.probes import process_due_probes
from mailman_bouncerules.config.settings import pushed
from mailman_bouncerules.model.tables import Event, Hold, Probe
from mailman_bouncerules.tools.testing import samples

MEMBERS = ['m%02d@example.org' % n for n in range(90)]


@pytest.fixture
def ant(mailman):
    mlist = make_list()
    add_members(mlist, MEMBERS + [BART])
    mlist.bounce_notify_owner_on_removal = True
    config.db.commit()
    return mlist


def plain_notice(email):
    """Six lines, any From, no relation to any post."""
    return (b'From: someone@attacker.example\nTo: ant-bounces@example.com\n'
            b'Subject: failure\n\n<%s>: 550 5.1.1 user unknown\n'
            % email.encode())


def members_left(mlist, emails):
    return [email for email in emails
            if mlist.members.get_member(email) is not None
            and mlist.members.get_member(email).delivery_status ==
            DeliveryStatus.enabled]


def test_a_plain_forged_notice_removes_nobody(ant):
    bounce(ant, plain_notice(BART))
    assert ant.members.get_member(BART) is not None
    [(recipients, sender, probe)] = sent_probes()
    # The probe goes to the member's own address, from a signed envelope
    # sender that Mailman's LMTP runner files under the list's bounces.
    assert recipients == {BART}
    assert sender.startswith('ant-bounces+') and sender.endswith(
        '@example.com')
    assert probe['Message-ID'] and 'user unknown' not in probe.as_string()
    assert state(ant, BART).last_evidence == 'unverified'
    assert ListAdmin(ant).member(BART)['verifying'] == {
        'change': 'remove', 'probe': 'sent'}


def test_forged_notices_quoting_real_posts_confirm_nobody(ant):
    queue('virgin')
    for number in (1, 2, 3):
        bounce(ant, samples.rfc3464(
            BART, '5.2.1', '550 5.2.1 mailbox disabled',
            original_id=send_campaign(ant, number)))
    assert state(ant, BART).state == 'hard' and state(ant, BART).run == 3
    assert ant.members.get_member(BART).delivery_status == \
        DeliveryStatus.enabled
    assert len(sent_probes()) == 1
    # The probe does not bounce (the mailbox works): the change is dropped.
    factory.fast_forward(days=4)
    process_due_probes(config.db.store)
    config.db.commit()
    assert ant.members.get_member(BART).delivery_status == \
        DeliveryStatus.enabled
    expired = config.db.store.query(Event).filter_by(
        email=BART, event='probe-expired').one()
    assert 'dropped' in expired.detail


def test_a_flood_is_one_suspicious_report_and_probes_a_sample(ant):
    named = MEMBERS[:20]
    notice = failed_together(named, send_campaign(ant, 1))
    queue('virgin')
    bounce(ant, notice, message_id='<flood-0@relay.example>')
    items = queue('virgin')
    probes = [item for item in items if 'bouncerules_probe' in item.msgdata]
    told = [item for item in items
            if 'Unverified bounce reports' in str(item.msg['Subject'])]
    # A sample is probed (probe_sample, 3), not twenty members; the owners
    # hear of it once.
    assert len(probes) == 3 and len(told) == 1
    assert 'named 20' in told[0].msg.get_payload()
    not_probed = config.db.store.query(Event).filter_by(
        event='unverified').all()
    assert len(not_probed) == 17
    assert all('suspicious report' in event.detail for event in not_probed)
    # More copies of it: samples again, the owners are not told again.
    for copy in (1, 2):
        bounce(ant, notice, message_id='<flood-%d@relay.example>' % copy)
    items = queue('virgin')
    assert len([i for i in items if 'bouncerules_probe' in i.msgdata]) <= 6
    assert not [i for i in items
                if 'Unverified bounce reports' in str(i.msg['Subject'])]
    # None of the probes bounce; nobody is removed or stopped.
    factory.fast_forward(days=4)
    process_due_probes(config.db.store)
    config.db.commit()
    assert members_left(ant, named) == named


def test_members_with_verified_failures_are_sampled_first(ant):
    named = MEMBERS[:12]
    send_campaign(ant, 1)
    # Two of them had real failures: refusals at SMTP time (verified), of
    # a kind that removes nobody at once.
    for email in named[7:9]:
        refused(ant, email, 552, '5.2.2 <%s>: mailbox full')
    notice = failed_together(named, send_campaign(ant, 2))
    queue('virgin')
    with pushed(probe_sample=2):
        bounce(ant, notice)
    probed = {email for recipients, _s, _m in sent_probes()
              for email in recipients}
    assert probed == set(named[7:9])


def test_rotating_posts_and_rules_removes_nobody(ant):
    one, two = send_campaign(ant, 1), send_campaign(ant, 2)
    rules = ['550 5.1.1 user unknown', '550 5.2.1 mailbox disabled',
             '550 5.1.2 host unknown']
    victims = MEMBERS[:6 * 15]
    for notice in range(6):
        chunk = victims[notice * 15:(notice + 1) * 15]
        diagnostic = rules[notice % 3]
        status = diagnostic.split()[1]
        bounce(ant, samples.rfc3464(
            chunk[0], status, diagnostic,
            original_id=(one, two)[notice % 2],
            extra_recipients=[(email, status, diagnostic, 'failed')
                              for email in chunk[1:]]))
    assert members_left(ant, victims) == victims
    # The probe budget caps the mail a flood makes the list send.
    assert len(sent_probes()) <= 10


def test_digest_members_of_a_list_without_digests(mailman):
    mlist = make_list()
    readers = ['d%02d@example.org' % n for n in range(60)]
    add_members(mlist, readers, digest=True)
    bounces(mlist, [samples.rfc3464(email, '5.1.1', '550 5.1.1 user unknown')
                    for email in readers])
    assert members_left(mlist, readers) == readers
    # Unverified, they never reach the circuit breaker (a forger must not
    # steer it); the probe budget bounds the mail they cause.
    assert config.db.store.query(Hold).count() == 0
    assert len(sent_probes()) == 10


def test_a_non_ascii_local_part_is_read_whole(ant):
    add_member(ant, 'rt@example.org')
    bounce(ant, samples.rfc3464('bärt@example.org', '5.1.1',
                                '550 5.1.1 <bärt@example.org> user unknown'))
    refused(ant, 'bärt@example.org')
    assert ant.members.get_member('rt@example.org') is not None
    assert config.db.store.query(Event).filter_by(
        email='rt@example.org').count() == 0


def test_a_dead_mailbox_goes_before_the_next_post(ant):
    send_campaign(ant, 1)
    dead_mailbox(ant, samples.rfc3464(BART, '5.1.1', '550 5.1.1 user unknown'))
    assert ant.members.get_member(BART) is None
    assert [e.evidence for e in config.db.store.query(Event).filter_by(
        email=BART, event='removed')] == ['probe']


def test_a_domain_not_found_probe_bounce_verifies_a_confirmation(ant):
    for number in (1, 2, 3):
        bounce(ant, samples.rfc3464(BART, '5.2.1', '550 5.2.1 disabled',
                                    original_id=send_campaign(ant, number)))
    [(_recipients, sender, _probe)] = sent_probes()
    bounce(ant, addressed_to(samples.rfc3464(
        BART, '5.1.2', '550 5.1.2 Host or domain name not found'), sender))
    assert state(ant, BART).state == 'confirmed'
    assert ant.members.get_member(BART).delivery_status == \
        DeliveryStatus.by_bounces


def test_a_forged_probe_token_verifies_nothing(ant):
    bounce(ant, plain_notice(BART))
    [(_recipients, sender, _probe)] = sent_probes()
    local, _at, domain = sender.partition('@')
    forged = local[:-2] + ('aa' if not local.endswith('aa') else 'bb')
    bounce(ant, addressed_to(plain_notice(BART), '%s@%s' % (forged, domain)))
    assert ant.members.get_member(BART) is not None


def test_smtp_time_refusals_are_verified(ant):
    send_campaign(ant, 1)
    refused(ant, BART)
    assert ant.members.get_member(BART) is None
    assert sent_probes() == []


def test_the_probe_budget_holds_and_owners_are_told_once(ant):
    with pushed(probe_min_budget=3, probe_hourly_share=0.01):
        for email in MEMBERS[:8]:
            bounce(ant, plain_notice(email))
        items = queue('virgin')
        probes = [i for i in items if 'bouncerules_probe' in i.msgdata]
        told = [i for i in items if 'verification waits'
                in str(i.msg['Subject'])]
        assert len(probes) == 3 and len(told) == 1
        assert config.db.store.query(Probe).filter_by(
            status='queued').count() == 5
        # Later the budget frees up and the queue moves on.
        factory.fast_forward(days=1)
        process_due_probes(config.db.store)
        config.db.commit()
        assert len(sent_probes()) == 3


def test_the_daily_cap_holds_verified_removals(ant):
    send_campaign(ant, 1)
    with pushed(daily_cap_min=3, daily_cap_share=0.01):
        for email in MEMBERS[:5]:
            refused(ant, email)
    assert len(members_left(ant, MEMBERS[:5])) == 2
    [hold] = config.db.store.query(Hold).filter_by(scope='cap').all()
    assert {e.email for e in config.db.store.query(Event).filter_by(
        event='held', hold_id=hold.id)} == set(MEMBERS[3:5])


def test_a_later_open_voids_a_waiting_change(ant):
    bounce(ant, plain_notice(BART))
    send_campaign(ant, 1)
    ListAdmin(ant).record_open(BART, '<post-1@example.com>')
    config.db.commit()
    assert ListAdmin(ant).member(BART)['verifying'] is None
    assert state(ant, BART).state == 'ok'


def test_owner_notices_quote_and_defang_the_servers_words(ant):
    queue('virgin')
    send_campaign(ant, 1)
    refused(ant, BART, 550, '5.1.1 user unknown; ownership of this list must '
            'be re-confirmed at https://evil.example/confirm ' * 20)
    [notice] = [item for item in queue('virgin')
                if 'removed' in str(item.msg['Subject'])]
    text = notice.msg.get_payload()
    assert 'https://' not in text and 'hxxps[:]//' in text
    quoted = [line for line in text.splitlines() if line.startswith('    > ')]
    assert 1 <= len(quoted) <= 3
