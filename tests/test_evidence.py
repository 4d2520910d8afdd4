"""Evidence nobody else holds: what a forger can read verifies nothing.

A tracked copy's public token (header, pixel URL, footer) is in every HTML
reply that quotes the post, and so in the archive; a probe's visible
headers are in every forwarded probe.  These tests build forged notices
from exactly that, mail them to the list's bounce addresses through the
real bounce runner, and check that no membership changes; and that the
token only the receiving system saw (a copy's envelope sender) verifies
one failure, once.
"""

import pytest
from mailman.config import config
from mailman.runners.outgoing import OutgoingRunner
from mailman.testing.helpers import make_testable_runner
from mailman.utilities.datetime import factory
from sitehelpers import (
    BART,
    add_member,
    add_members,
    addressed_to,
    as_message,
    bounce,
    bounces,
    failed_together,
    history,
    make_list,
    queue,
    refused,
    send_campaign,
    sent_probes,
    state,
    tracked_list,
)

from mailman_bouncerules.app.admin import ListAdmin
from mailman_bouncerules.app.probes import process_due_probes
from mailman_bouncerules.config.settings import pushed
from mailman_bouncerules.model.tables import Event, Hold, Probe
from mailman_bouncerules.tools.testing import samples

CRIS = 'cris@example.org'

HTML_POST = b"""\
From: anne@example.com
To: ant@example.com
Subject: News
Message-ID: <%s>
Content-Type: text/html; charset=utf-8

<html><body><p>News.</p></body></html>
"""


@pytest.fixture
def tracked(smtp):
    mlist = tracked_list(BART, CRIS)
    with pushed(tracker_url='https://lists.example.com/bt/o'):
        yield mlist


def post(mlist, smtp, number):
    """Post `number` through Mailman's outgoing runner: {recipient: copy}."""
    smtp.clear()
    config.switchboards['out'].enqueue(
        as_message(HTML_POST % (b'post-%d@example.com' % number)),
        listid=mlist.list_id, recipients=[BART, CRIS])
    make_testable_runner(OutgoingRunner, 'out').run()
    config.db.commit()
    return {copy['X-RcptTo']: copy for copy in smtp.messages}


def public_token(copy):
    """What a reader of a quoted HTML reply (the archive) learns: the
    pixel URL's token."""
    [html] = [part.get_payload(decode=True).decode() for part in copy.walk()
              if part.get_content_type() == 'text/html']
    return html.split('/bt/o/')[1].split('.gif')[0]


def forged(to, body=b'<bart@example.org>: 550 5.1.1 user unknown\n',
           message_id=b'<forged-1@attacker.example>'):
    return (b'From: MAILER-DAEMON@attacker.example\nTo: %s\n'
            b'Subject: Undelivered Mail Returned to Sender\n'
            b'Message-ID: %s\n\n%s' % (to.encode(), message_id, body))


def events(mlist, email):
    return [(event.event, event.evidence) for event in history(mlist, email)]


def test_the_pixel_token_removes_nobody(tracked, smtp):
    copies = post(tracked, smtp, 1)
    token = public_token(copies[BART])
    assert token == copies[BART]['X-BounceRules-Token']
    bounce(tracked, forged('ant-bounces+%s@example.com' % token))
    assert tracked.members.get_member(BART) is not None
    # Attributed to Bart's copy (the token names it), but unverified: a
    # probe asks the mailbox itself.
    assert ('bounce', 'unverified') in events(tracked, BART)
    assert [recipients for recipients, _s, _m in sent_probes()] == [{BART}]


def test_a_quoted_token_line_removes_nobody(tracked, smtp):
    copies = post(tracked, smtp, 1)
    body = (b'<bart@example.org>: 550 5.1.1 user unknown\n\n'
            b'--- returned message ---\nX-BounceRules-Token: %s\n'
            b'Message-ID: <post-1@example.com>\n'
            % copies[BART]['X-BounceRules-Token'].encode())
    bounce(tracked, forged('ant-bounces@example.com', body))
    assert tracked.members.get_member(BART) is not None
    assert state(tracked, BART).last_evidence == 'unverified'


def return_address(copy):
    return copy['X-MailFrom']


def test_the_envelope_sender_verifies_once(tracked, smtp):
    copies = post(tracked, smtp, 1)
    real = samples.rfc3464(BART, '5.1.1', '550 5.1.1 user unknown',
                           original_id='<post-1@example.com>')
    bounce(tracked, addressed_to(real, return_address(copies[BART])))
    assert tracked.members.get_member(BART) is None
    assert ('removed', 'token') in events(tracked, BART)
    # The owner undoes it; a second notice on the same return token (a
    # replay, or the address read from a forwarded copy's Return-Path)
    # verifies nothing.
    ListAdmin(tracked).undo(BART, 'carol')
    config.db.commit()
    bounce(tracked, addressed_to(real, return_address(copies[BART])),
           message_id='<replayed@attacker.example>')
    assert tracked.members.get_member(BART) is not None
    assert events(tracked, BART)[-2:][0] == ('bounce', 'unverified')


def test_a_soft_report_does_not_spend_the_return_token(tracked, smtp):
    copies = post(tracked, smtp, 1)
    address = return_address(copies[BART])
    bounce(tracked, addressed_to(samples.rfc3464(
        BART, '4.2.2', '452 4.2.2 mailbox full', action='delayed',
        original_id='<post-1@example.com>'), address))
    bounce(tracked, addressed_to(samples.rfc3464(
        BART, '5.1.1', '550 5.1.1 user unknown',
        original_id='<post-1@example.com>'), address))
    assert tracked.members.get_member(BART) is None


def test_a_return_token_expires_in_days_not_months(tracked, smtp):
    copies = post(tracked, smtp, 1)
    factory.fast_forward(days=11)
    bounce(tracked, addressed_to(samples.rfc3464(
        BART, '5.1.1', '550 5.1.1 user unknown'),
        return_address(copies[BART])))
    assert tracked.members.get_member(BART) is not None
    assert state(tracked, BART).last_evidence == 'unverified'


# -- probes ------------------------------------------------------------------

@pytest.fixture
def ant(mailman):
    mlist = make_list()
    add_members(mlist, [BART, CRIS])
    config.db.commit()
    return mlist


def plain_notice(email, message_id=None):
    return samples.rfc3464(email, '5.1.1', '550 5.1.1 user unknown')


def probe_of(mlist, email):
    bounce(mlist, plain_notice(email))
    [(_recipients, sender, message)] = sent_probes()
    return sender, message


def test_a_probe_shows_no_secret(ant):
    sender, message = probe_of(ant, BART)
    token = sender[len('ant-bounces+'):].partition('@')[0]
    assert message['From'] == 'ant-bounces@example.com'
    assert token not in message.as_string()


def test_an_expired_probe_verifies_nothing_later(ant):
    sender, _message = probe_of(ant, BART)
    factory.fast_forward(days=4)
    process_due_probes(config.db.store)
    config.db.commit()
    factory.fast_forward(days=36)
    bounce(ant, addressed_to(plain_notice(BART), sender),
           message_id='<late@attacker.example>')
    assert ant.members.get_member(BART) is not None
    assert state(ant, BART).last_evidence == 'unverified'


def test_a_bounced_probe_verifies_once(ant):
    sender, _message = probe_of(ant, BART)
    bounce(ant, addressed_to(plain_notice(BART), sender))
    assert ant.members.get_member(BART) is None
    ListAdmin(ant).undo(BART, 'carol')
    config.db.commit()
    bounce(ant, addressed_to(plain_notice(BART), sender),
           message_id='<second-copy@attacker.example>')
    assert ant.members.get_member(BART) is not None


def test_a_superseded_probe_verifies_nothing(ant):
    sender, _message = probe_of(ant, BART)
    ListAdmin(ant).reenable(BART)
    config.db.commit()
    assert config.db.store.query(Probe).one().status == 'superseded'
    bounce(ant, addressed_to(plain_notice(BART), sender))
    assert ant.members.get_member(BART) is not None


def test_one_probe_a_day_to_an_address_whatever_the_lists(mailman):
    lists = [make_list('list%d@example.com' % n) for n in range(4)]
    for mlist in lists:
        add_member(mlist, BART)
    config.db.commit()
    for mlist in lists:
        bounce(mlist, plain_notice(BART))
    assert len(sent_probes()) == 1
    assert config.db.store.query(Probe).filter_by(status='queued').count() == 3
    factory.fast_forward(days=2)
    process_due_probes(config.db.store)
    config.db.commit()
    assert len(sent_probes()) == 1


def test_a_queued_probe_that_waited_long_is_still_sent(ant):
    with pushed(probe_min_budget=1, probe_hourly_share=0.01,
                probe_daily_share=0.01):
        bounce(ant, plain_notice(BART))
        bounce(ant, plain_notice(CRIS))
        assert len(sent_probes()) == 1
        # Past the expiry of a sent probe the queued one is still waiting,
        # then goes out when the budget frees up.
        factory.fast_forward(days=4)
        process_due_probes(config.db.store)
        config.db.commit()
        assert [recipients for recipients, _s, _m in sent_probes()] == [
            {CRIS}]


# -- the circuit breaker -----------------------------------------------------

DOMAIN = ['d%02d@big.example' % n for n in range(40)]


@pytest.fixture
def big(mailman):
    mlist = make_list()
    add_members(mlist, DOMAIN)
    config.db.commit()
    return mlist


def test_forged_failures_never_trip_the_breaker(big):
    first = send_campaign(big, 1)
    bounce(big, failed_together(DOMAIN[:20], first))
    bounce(big, failed_together(DOMAIN[20:], first, '550 5.2.1 mailbox disabled'))
    assert config.db.store.query(Hold).count() == 0
    # The owners see them apart, as unverified reports.
    stats = ListAdmin(big).stats()
    assert stats['unverified_reports'] == 40 and stats['held'] == 0
    # A real dead mailbox at that domain still goes at once.
    refused(big, DOMAIN[39])
    assert big.members.get_member(DOMAIN[39]) is None


def test_a_forged_notice_cannot_take_back_verified_removals(big):
    first = send_campaign(big, 1)
    for email in DOMAIN[:3]:
        refused(big, email)
    assert all(big.members.get_member(email) is None for email in DOMAIN[:3])
    bounce(big, failed_together(DOMAIN[3:30], first))
    assert all(big.members.get_member(email) is None for email in DOMAIN[:3])
    assert config.db.store.query(Hold).count() == 0


def test_breaker_notices_are_one_a_day_then_a_digest(mailman):
    from mailman_bouncerules.app.breaker import send_breaker_digests
    lists = []
    mlist = make_list()
    add_members(mlist, DOMAIN)
    config.db.commit()
    lists.append(mlist)
    queue('virgin')
    with pushed(daily_cap_min=1000):
        for number in (1, 2, 3):
            send_campaign(mlist, number)
            for email in DOMAIN[:20]:
                refused(mlist, email, 550, '5.2.1 <%s>: mailbox disabled')
    assert config.db.store.query(Hold).count() >= 2
    told = [item for item in queue('virgin')
            if 'circuit breaker' in str(item.msg['Subject']).lower()]
    assert len(told) == 1
    assert send_breaker_digests(config.db.store) == 0     # not a day yet
    factory.fast_forward(days=2)
    assert send_breaker_digests(config.db.store) == 1
    config.db.commit()
    [digest] = [item for item in queue('virgin')
                if 'circuit breaker' in str(item.msg['Subject']).lower()]
    assert 'mailman bouncerules holds' in digest.msg.get_payload()
    assert send_breaker_digests(config.db.store) == 0


# -- nothing the plugin reads stops list mail --------------------------------

def test_any_error_of_the_plugin_delivers_as_stock(tracked, smtp,
                                                   monkeypatch):
    import logging

    def broken(*args, **kwargs):
        raise OSError('the secret went away')
    monkeypatch.setattr('mailman_bouncerules.mta.deliver.site_secret', broken)
    # Mailman's own logging setup may keep its loggers from propagating.
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logging.getLogger('mailman.smtp').addHandler(handler)
    try:
        copies = post(tracked, smtp, 1)
    finally:
        logging.getLogger('mailman.smtp').removeHandler(handler)
    assert {address.strip() for rcpt in copies
            for address in rcpt.split(',')} == {BART, CRIS}
    assert all(copy['X-BounceRules-Token'] is None
               for copy in copies.values())
    assert any('delivered as stock Mailman does' in line for line in lines)


# -- what forgeries leave behind is bounded ----------------------------------

def test_a_flood_of_forged_notices_keeps_a_bounded_history(ant):
    from mailman_bouncerules.app.history import (
        UNVERIFIED_DIAGNOSTIC_LIMIT,
        UNVERIFIED_KEPT,
    )
    long_words = '550 5.7.1 refused ' + 'x' * 3000
    bounces(ant, [b'Message-ID: <forged-%d@attacker.example>\n' % number
                  + samples.rfc3464(BART, '5.7.1', long_words)
                  for number in range(UNVERIFIED_KEPT + 30)])
    kept = config.db.store.query(Event).filter_by(
        email=BART, event='bounce').all()
    assert len(kept) == UNVERIFIED_KEPT
    assert max(len(event.diagnostic) for event in kept) <= \
        UNVERIFIED_DIAGNOSTIC_LIMIT
    # The newest are kept.
    assert max(event.id for event in kept) == config.db.store.query(
        Event).filter_by(email=BART).order_by(Event.id.desc()).first().id


def test_an_smtp_refusal_is_recorded_as_the_server_s_words(ant):
    send_campaign(ant, 1)
    refused(ant, BART, 550, '5.1.1 <%s>: Recipient address rejected: '
            'User unknown in virtual mailbox table')
    [event] = config.db.store.query(Event).filter_by(
        email=BART, event='bounce').all()
    assert event.evidence == 'smtp'
    assert "b'" not in event.diagnostic
    assert '5.1.1 <bart@example.org>: Recipient address rejected' in \
        event.diagnostic
