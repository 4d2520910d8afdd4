"""The default policy, table-driven over the MTA styles in samples.py."""

from dataclasses import fields, replace

import pytest

from mailman_bouncerules.classify.classifier import Classifier
from mailman_bouncerules.classify.report import RecipientReport
from mailman_bouncerules.classify.rules.rule import what_rules_read
from mailman_bouncerules.tools.testing import samples

R = 'bart@example.org'


@pytest.fixture(scope='module')
def classifier():
    return Classifier()


CASES = [
    # (id, message, classification, action, a rule that gives the reason)
    ('dsn-user-unknown',
     samples.rfc3464(R, '5.1.1', '550 5.1.1 <bart@example.org>: Recipient '
                     'address rejected: User unknown in local recipient table'),
     'hard', 'unsubscribe', 'user-unknown'),
    ('dsn-unknown-alias',
     samples.rfc3464(R, '5.1.1', '550 5.1.1 unknown or illegal alias: '
                     'bart@example.org'),
     'hard', 'unsubscribe', 'user-unknown'),
    ('postfix-no-such-user-at-rcpt',
     samples.postfix_prose(R, '550 No such user'),
     'hard', 'unsubscribe', 'user-unknown-at-rcpt'),
    ('exim-unknown-user',
     samples.exim(R, '550 5.1.1 <bart@example.org>: unknown user'),
     'hard', 'unsubscribe', 'user-unknown'),
    ('qmail-no-mailbox',
     samples.qmail(R, '550 5.1.1 sorry, no mailbox here by that name'),
     'hard', 'unsubscribe', 'user-unknown'),
    ('qmail-every-mx-refused-at-rcpt',
     samples.qmail(R, '550 Unknown user bart@example.org', progress='RCPT TO'),
     'hard', 'unsubscribe', 'user-unknown-at-rcpt'),
    ('a-command-named-with-its-host',
     samples.gmail(R, 'Technical details:\n\nSMTP:RCPT host 192.0.2.8: 553 '
                      '5.3.0 <bart@example.org>... No such user here'),
     'hard', 'unsubscribe', 'user-unknown-at-rcpt'),
    ('gmail-does-not-exist',
     samples.gmail(R, "550 5.1.1 The email account that you tried to reach "
                      "does not exist."),
     'hard', 'unsubscribe', 'user-unknown'),
    ('exchange-recipient-not-found',
     samples.exchange(R, '5.1.10', '550 5.1.10 RESOLVER.ADR.RecipientNotFound;'
                      ' Recipient not found by SMTP address lookup'),
     'hard', 'unsubscribe', 'user-unknown'),
    ('ses-permanent-user-unknown',
     samples.amazon_ses(R, 'Permanent', '5.1.1', '550 5.1.1 user unknown'),
     'hard', 'unsubscribe', 'user-unknown'),
    # Never removed: the sender or the message was refused.
    ('spam-block-550-571',
     samples.rfc3464(R, '5.7.1', '550 5.7.1 Message rejected as spam by '
                     'Content Filtering'),
     'soft', 'record', 'spam-or-content'),
    ('blocklist-with-user-unknown-words',
     samples.exim(R, '550 5.1.1 Service unavailable; client host [192.0.2.9]'
                     ' blocked using zen.spamhaus.org; user unknown'),
     'soft', 'record', 'blocklisted'),
    ('refused-at-mail-from-is-about-the-sender',
     samples.exim(R, '553 5.1.0 sender.example.com does not exist',
                  command='MAIL FROM:<ant-bounces@example.com>'),
     'soft', 'record', 'rejected-at-mail-from'),
    ('dmarc',
     samples.rfc3464(R, '5.7.26', '550 5.7.26 Unauthenticated email from '
                     'example.com is not accepted due to domain\'s DMARC policy'),
     'soft', 'record', 'authentication-failed'),
    ('mailbox-full-550',
     samples.rfc3464(R, '5.2.2', '550 5.2.2 <bart@example.org>: mailbox full'),
     'soft', 'record', 'mailbox-full'),
    ('quota-exim',
     samples.exim(R, '552 Mailbox quota exceeded', command='end of data'),
     'soft', 'record', 'mailbox-full'),
    ('too-many-connections',
     samples.rfc3464(R, '4.7.0', '421 4.7.0 Too many concurrent SMTP '
                     'connections; please try again later', action='delayed'),
     'soft', 'record', 'delivery-delayed'),
    ('temporary-local-problem',
     samples.rfc3464(R, '4.3.0', '451 4.3.0 Temporary local problem - '
                     'please try later', action='failed'),
     'soft', 'record', 'temporary-failure'),
    ('message-too-big',
     samples.rfc3464(R, '5.3.4', '552 5.3.4 Message size exceeds fixed '
                     'maximum message size'),
     'soft', 'record', 'message-too-big'),
    ('qmail-every-mx-refused-after-data-is-a-filter',
     samples.qmail(R, '550 Unknown user bart@example.org', progress='DATA'),
     'soft', 'record', 'user-unknown-after-data'),
    ('user-unknown-after-data-is-a-filter',
     samples.sendmail_transcript(R, '550 Unknown user bart@example.org',
                                 last_command='DATA'),
     'soft', 'record', 'user-unknown-after-data'),
    # Hard but only counted.
    ('mailbox-disabled',
     samples.rfc3464(R, '5.2.1', '550 5.2.1 The email account that you tried'
                     ' to reach is disabled.'),
     'hard', 'count', 'mailbox-disabled-status'),
    ('domain-not-found',
     samples.rfc3464(R, '5.1.2', "550 5.1.2 Host or domain name not found. "
                     "Name service error for name=example.org type=A: "
                     "Host not found"),
     'hard', 'count', 'host-unknown'),
    ('moved',
     samples.rfc3464(R, '5.1.6', '551 5.1.6 User has moved; please try '
                     '<bart@example.net>'),
     'hard', 'count', 'has-moved-status'),
    ('a-bare-recipient-rejected-at-rcpt-only-counts',
     samples.postfix_prose(R, '550 <bart@example.org>: Recipient rejected'),
     'hard', 'count', 'mailbox-not-found'),
    ('full-under-a-disabled-code-is-full',
     samples.rfc3464(R, '5.2.1', '550 5.2.1 <bart@example.org>: Recipient '
                     'address rejected: Mailbox is full'),
     'soft', 'record', 'mailbox-full'),
    ('bad-address-syntax-is-not-a-missing-mailbox',
     samples.rfc3464(R, '5.1.3', '553 5.1.3 Bad recipient address syntax'),
     'soft', 'record', 'system-error'),
    ('a-domain-that-takes-no-mail',
     samples.exim(R, 'an MX or SRV record indicated no SMTP service'),
     'hard', 'count', 'host-unknown'),
    ('the-receiving-systems-internal-error',
     samples.rfc3464(R, '5.3.0', '554 5.3.0 <bart@example.org>: Recipient '
                     'address rejected: Internal system error'),
     'soft', 'record', 'mailer-error'),
    # Checked at RCPT TO, as servers that delay their sender checks do:
    # words about the sender's address are about the list, not the member.
    ('the-senders-address-does-not-exist',
     samples.postfix_prose(R, '550 The address of the sender does not exist'),
     'soft', 'record', 'sender-rejected'),
    ('the-sender-account-does-not-exist',
     samples.postfix_prose(R, '550 Sender account does not exist on this '
                              'server'),
     'soft', 'record', 'sender-rejected'),
    ('mailbox-unavailable-because-the-sender-is-blocked',
     samples.postfix_prose(R, '550 Mailbox unavailable: sender blocked'),
     'soft', 'record', 'sender-rejected'),
    ('mailbox-unavailable-is-ambiguous',
     samples.postfix_prose(R, '550 Requested action not taken: mailbox '
                              'unavailable', command='end of DATA'),
     'hard', 'count', 'mailbox-not-found'),
    ('user-unknown-without-code',
     samples.gmail(R, 'User unknown'),
     'hard', 'count', 'user-unknown-unconfirmed'),
    ('recipient-no-longer-on-the-server',
     samples.rfc3464(R, '5.0.0', '550 Recipient no longer on server'),
     'hard', 'count', 'mailbox-disabled'),
    ('an-account-that-may-not-exist',
     samples.rfc3464(R, '5.0.0', '550 The mail server could not deliver mail '
                     'to bart@example.org. The account or domain may not exist'),
     'hard', 'count', 'mailbox-not-found'),
    # In the server's own language (raw UTF-8 in the report's fields):
    # counted, never removed, and after DATA still a filter's.
    ('user-unknown-in-german',
     samples.rfc3464(R, '5.0.0', '550 Empfänger unbekannt'),
     'hard', 'count', 'user-unknown-in-another-language'),
    ('user-unknown-in-russian',
     samples.rfc3464(R, '5.0.0', '550 Пользователь не найден'),
     'hard', 'count', 'user-unknown-in-another-language'),
    ('user-unknown-in-japanese',
     samples.rfc3464(R, '5.0.0', '550 宛先不明'),
     'hard', 'count', 'user-unknown-in-another-language'),
    ('user-unknown-in-spanish-after-data-is-a-filter',
     samples.sendmail_transcript(R, '550 Usuario desconocido',
                                 last_command='DATA'),
     'soft', 'record', 'user-unknown-after-data'),
    # Words and code disagree: never removed.
    ('user-unknown-code-but-size-words',
     samples.rfc3464(R, '5.1.1', '552 5.1.1 message size exceeds the limit '
                     'for this recipient'),
     'soft', 'record', 'message-too-big'),
    ('user-unknown-words-but-account-disabled',
     samples.rfc3464(R, '5.1.1', '550 5.1.1 user unknown: this account has '
                     'been disabled'),
     'hard', 'count', 'user-unknown-status'),
    ('user-unknown-but-the-account-is-disabled-in-german',
     samples.rfc3464(R, '5.1.1', '550 5.1.1 User unknown; Konto deaktiviert'),
     'hard', 'count', 'user-unknown-status'),
    ('user-unknown-but-try-again-later',
     samples.rfc3464(R, '5.1.1', '550 5.1.1 User unknown - try again later'),
     'hard', 'count', 'user-unknown-status'),
    ('user-unknown-but-over-its-storage-allocation',
     samples.rfc3464(R, '5.1.1', '550 5.1.1 User unknown (the mailbox is over '
                     'its storage allocation)'),
     'hard', 'count', 'user-unknown-status'),
    ('user-unknown-but-a-spam-filter-answered',
     samples.rfc3464(R, '5.1.1', '550 5.1.1 recipient rejected by the '
                     'content filter: user unknown'),
     'soft', 'record', 'spam-or-content'),
    ('status-5-1-1-without-words-only-counts',
     samples.rfc3464(R, '5.1.1', '550 5.1.1 see https://help.example.net/e42'),
     'hard', 'count', 'user-unknown-status'),
    ('no-such-user-under-a-policy-code-counts',
     samples.rfc3464(R, '5.7.1', '550 5.7.1 No such user'),
     'hard', 'count', 'user-unknown-policy-code'),
    ('exchange-resolver-recipient-not-found',
     samples.rfc3464(R, '5.1.1', '550 5.1.1 RESOLVER.ADR.RecipNotFound; '
                     'not found'),
     'hard', 'unsubscribe', 'user-unknown'),
    # A code's RFC 3463 label is the DSN generator's, not the server's.
    ('a-status-label-is-not-the-servers-words',
     samples.rfc3464(R, '5.1.1', '550 5.1.1 (bad destination mailbox '
                     'address)'),
     'hard', 'count', 'user-unknown-status'),
    ('a-size-refusal-under-an-addressing-status',
     samples.rfc3464(R, '5.1.1 (bad destination mailbox address)',
                     '550 RCPT TO:<bart@example.org> max message size '
                     'exceeded'),
     'soft', 'record', 'message-too-big'),
    ('user-unknown-words-beside-a-size-refusal',
     samples.rfc3464(R, '5.1.1', '550 5.1.1 user unknown: message size '
                     'exceeded'),
     'soft', 'record', 'message-too-big'),
    # Hard, in the words servers use, never only recorded.
    ('rcpt-does-not-exist',
     samples.rfc3464(R, '5.0.0', '550 Rcpt <bart@example.org> does not exist'),
     'hard', 'count', 'user-unknown-unconfirmed'),
    ('no-mailbox-found-under-a-policy-code',
     samples.rfc3464(R, '5.7.1', '550 5.7.1 No mailbox found'),
     'hard', 'count', 'user-unknown-policy-code'),
    ('a-deactivated-mailbox',
     samples.rfc3464(R, '5.0.0', '551 bart@example.org is a deactivated '
                     'mailbox'),
     'hard', 'count', 'mailbox-disabled'),
    ('not-an-active-address',
     samples.rfc3464(R, '5.0.0', '550 bart@example.org is not an active '
                     'address at this host'),
     'hard', 'count', 'mailbox-disabled'),
    ('a-machine-code-for-a-bad-recipient',
     samples.rfc3464(R, '5.0.0', '550 BAD_RECIPIENT'),
     'hard', 'count', 'user-unknown-unconfirmed'),
    ('a-domain-that-refuses-all-mail',
     samples.rfc3464(R, '5.0.0', '550 Domain example.org refuses all mail'),
     'hard', 'count', 'host-unknown'),
    ('mailbox-could-not-be-found',
     samples.rfc3464(R, '5.1.1', '550 5.1.1 The recipient mailbox could not '
                     'be found'),
     'hard', 'unsubscribe', 'user-unknown'),
    # Provider-documented dead mailboxes: removed at once there only.
    ('outlook-com-mailbox-unavailable',
     samples.rfc3464(R, '5.5.0', '550 5.5.0 Requested action '
                     'not taken: mailbox unavailable.', mta='eur.olc.'
                     'protection.outlook.com'),
     'hard', 'unsubscribe', 'microsoft-mailbox-unavailable'),
    ('mailbox-unavailable-elsewhere-only-counts',
     samples.rfc3464(R, '5.5.0', '550 5.5.0 Requested action not taken: '
                     'mailbox unavailable.'),
     'hard', 'count', 'mailbox-not-found'),
    # Not failures.
    ('complaint', samples.arf(R), 'complaint', 'record', 'feedback-report'),
    ('vacation', samples.vacation(R), 'soft', 'record', 'auto-reply'),
]


@pytest.mark.parametrize('message, classification, action, rule',
                         [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_default_policy(classifier, message, classification, action, rule):
    """The outcome and its reason, as the named rule gives them: another
    rule with the same outcome and reason may decide (rules can be
    reordered and refined without rewriting this table)."""
    _report, decisions = classifier.classify(message)
    assert [d.recipient.address for d in decisions] == [R]
    decision = decisions[0]
    assert (decision.classification, decision.action, decision.reason) == (
        classification, action, reason_of(classifier, rule)), \
        decision.explain()


def reason_of(classifier, name):
    """The reason word of the default rule called `name`."""
    [rule] = [rule for rule in classifier.ruleset.rules if rule.name == name]
    return rule.reason


def test_every_decision_is_explained(classifier):
    _report, [decision] = classifier.classify(samples.rfc3464(
        R, '5.1.1', '550 5.1.1 <bart@example.org>: User unknown'))
    explanation = decision.explain()
    assert 'user-unknown' in explanation
    assert '5.1.1' in explanation
    assert 'User unknown' in explanation


def test_success_notice_has_no_decision(classifier):
    report, decisions = classifier.classify(samples.delivered(R))
    assert report.kind == 'delivered'
    assert decisions == []


def test_several_recipients_each_decided(classifier):
    message = samples.rfc3464(
        R, '5.1.1', '550 5.1.1 User unknown',
        extra_recipients=[('cris@example.org', '4.2.2',
                           '452 4.2.2 Mailbox full', 'delayed')])
    _report, decisions = classifier.classify(message)
    verdicts = {d.recipient.address: (d.classification, d.action)
                for d in decisions}
    assert verdicts == {R: ('hard', 'unsubscribe'),
                        'cris@example.org': ('soft', 'record')}


@pytest.mark.parametrize('written, read', [
    ('smtp=bart@example.org', 'bart@example.org'),
    ("'bart@example.org'", 'bart@example.org'),
    ('rfc822=Bart@Example.ORG.', 'bart@example.org'),
    ("o'brien@example.org", "o'brien@example.org"),
    # RFC 5322 atext: '/' may stand in a local part.
    ('<fran/ops+list@example.org>', 'fran/ops+list@example.org'),
    ('ant-bounces@example.com', None),
    ('ant-bounces+bart=example.org@example.com', None),
    ('ant-owner@example.com', None),
    ('ant-request@example.com', None),
])
def test_addresses_are_read_without_glued_prefixes_or_list_addresses(
        written, read):
    from mailman_bouncerules.classify.parsing.codes import strip_address
    assert strip_address(written) == read


def test_a_list_system_address_is_never_a_failed_recipient(classifier):
    data = samples.postfix_prose('ant-owner@example.com', '550 No such user')
    _report, decisions = classifier.classify(data)
    assert [d.recipient.address for d in decisions] == []


def test_stock_detector_fills_in_when_the_parser_finds_no_one(
        classifier, monkeypatch):
    from mailman_bouncerules.classify.parsing import bounce
    data = samples.gmail(R, 'User unknown')
    monkeypatch.setattr(bounce.freetext, 'recipients_in_text',
                        lambda *args, **kwargs: iter(()))
    monkeypatch.setattr(bounce, '_returned_recipient', lambda *args: [])
    monkeypatch.setattr(bounce, 'all_failures',
                        lambda message: (frozenset(), frozenset([R.encode()])))
    _report, [decision] = classifier.classify(data)
    # Found by flufl.bounce: no status or code is tied to it, so it is
    # counted at most, never removed.
    assert decision.recipient.address == R
    assert (decision.recipient.status, decision.recipient.smtp_code) == (
        None, None)
    assert decision.action != 'unsubscribe'


TWO_IN_ONE_TRANSCRIPT = b"""\
From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>
To: ant-bounces@example.com
Subject: Returned mail: see transcript for details

   ----- The following addresses had permanent fatal errors -----
<anne@example.org>
    (reason: 550 5.1.1 <anne@example.org>... User unknown)
<bert@example.net>
    (reason: 550 <bert@example.net>... User unknown)

   ----- Transcript of session follows -----
... while talking to mx.example.org.:
>>> RCPT To:<anne@example.org>
<<< 550 5.1.1 <anne@example.org>... User unknown
... while talking to mx.example.net.:
>>> DATA
<<< 550 <bert@example.net>... User unknown
"""


def test_each_recipient_gets_only_its_own_lines(classifier):
    """Anne was refused at RCPT TO, Bert after DATA (a filter's words):
    Bert's lines run into the transcript, but Anne's command there is
    never his, so he is never removed at once."""
    _report, decisions = classifier.classify(TWO_IN_ONE_TRANSCRIPT)
    by_address = {d.recipient.address: d for d in decisions}
    anne, bert = by_address['anne@example.org'], by_address['bert@example.net']
    assert (anne.recipient.smtp_command, anne.action) == ('RCPT', 'unsubscribe')
    assert bert.recipient.smtp_command == 'DATA'
    assert (bert.rule, bert.action) == ('user-unknown-after-data', 'record')
    assert 'RCPT To:<anne' not in bert.recipient.diagnostic


def test_a_hidden_redirect_fails_for_the_address_it_came_from(classifier):
    """Exim hides where it redirected a recipient: the failure is the
    list's recipient's, counted (its own address exists), and the hidden
    address is no recipient of the list."""
    data = b"""\
From: Mail Delivery System <Mailer-Daemon@mx.example.com>
To: ant-bounces@example.com
Subject: Mail delivery failed: returning message to sender

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  undisclosed address (generated from kijitora@example.jp)
    host mx.example.jp [192.0.2.1]
    SMTP error from remote mail server after RCPT TO:<hidden@elsewhere.example>:
    550 5.1.1 User unknown
"""
    _report, decisions = classifier.classify(data)
    [decision] = decisions
    assert decision.recipient.address == 'kijitora@example.jp'
    assert (decision.classification, decision.action) == ('hard', 'count')


def test_an_address_with_a_hash_is_read_whole(classifier):
    data = samples.postfix_prose('kijitora#neko@example.jp',
                                 '550 5.1.1 <kijitora#neko@example.jp>: '
                                 'Recipient address rejected: User unknown')
    _report, decisions = classifier.classify(data)
    assert [d.recipient.address for d in decisions] == [
        'kijitora#neko@example.jp']


def test_raw_8bit_report_fields_are_read_as_text(classifier):
    """A server's reply in its own language, raw in the Diagnostic-Code:
    UTF-8, or Windows-1252 when it is not UTF-8, never replacement marks."""
    utf8 = samples.rfc3464(R, '5.0.0', '550 Adresse inexistante: Zoë')
    latin1 = utf8.replace('Zoë'.encode(), 'Zoë'.encode('cp1252'))
    for message in (utf8, latin1):
        [decision] = classifier.classify(message)[1]
        assert 'Adresse inexistante: Zoë' in decision.recipient.diagnostic
        assert decision.rule == 'user-unknown-in-another-language'


PERSONS_REPLY = (
    'From: Bart <bart@example.org>\nTo: ant-bounces@example.com\n'
    '{extra}Subject: {subject}\nMessage-ID: <r1@example.org>\n\n'
    'Why did I get this? It said 550 5.1.1 user unknown for '
    'carl@example.net.\n')


@pytest.mark.parametrize('extra, subject, read', [
    # A person's words are no notice, whatever they quote.
    ('', 'hello', []),
    ('', 'Re: Undelivered Mail Returned to Sender', []),
    # Sent with a null envelope sender, as Mailman's LMTP runner records
    # it, or with a bounce's subject: a mail system's notice.
    ('X-MailFrom: \n', 'hello', ['carl@example.net']),
    ('Return-Path: <>\n', 'hello', ['carl@example.net']),
    ('', 'Unzustellbar: hello', ['carl@example.net']),
    ('', 'メールエラー通知', ['carl@example.net']),
])
def test_prose_names_failed_recipients_only_in_a_mail_systems_notice(
        classifier, extra, subject, read):
    message = PERSONS_REPLY.format(extra=extra, subject=subject)
    _report, decisions = classifier.classify(message.encode())
    assert [d.recipient.address for d in decisions] == read


NOTICE = ('From: MAILER-DAEMON@relay.example.com\nTo: ant-bounces@example.com\n'
          'Subject: Returned mail: see transcript for details\n'
          'Message-ID: <n1@relay.example.com>\n\n{body}')


def decided(classifier, body):
    _report, decisions = classifier.classify(
        NOTICE.format(body=body).encode())
    return {d.recipient.address: (d.classification, d.action, d.rule)
            for d in decisions}


def test_a_permanent_answer_outweighs_connection_words(classifier):
    """The receiving server answered 550 to RCPT TO: the words about
    connecting are the notice's boilerplate, not this failure."""
    assert decided(classifier, (
        'Unable to deliver message to the following recipients, due to '
        'being unable to connect successfully to the destination mail '
        'server.\n\nbart@example.org\n\nRemote host said: 550 5.1.1 No such '
        'user here (in reply to RCPT TO command)\n')) == {
        R: ('hard', 'unsubscribe', 'user-unknown')}
    assert decided(classifier, (
        '<bart@example.org>: connect to mx.example.org[192.0.2.1]:25: '
        'Connection timed out\n'))[R][2] == 'network-error'


def test_user_unknown_beside_a_deferral_is_counted_not_removed(classifier):
    assert decided(classifier, (
        '   ----- Transcript of session follows -----\n'
        'While talking to mx.example.org:\n'
        '>>> RCPT To:<bart@example.org>\n'
        '<<< 550 <bart@example.org>, User Unknown\n'
        '550 <bart@example.org>... User unknown\n'
        '421 example.org (smtp)... Deferred: Connection timed out during '
        'user open with example.org\n')) == {
        R: ('hard', 'count', 'user-unknown-unconfirmed')}


def test_sendmails_host_line_belongs_to_the_address_below_it(classifier):
    """'550 example.net (smtp)... 550 Host unknown' is written just before
    the address it is about: not part of the recipient above."""
    found = decided(classifier, (
        '554 <bart@example.org>... Remote protocol error: Connection reset '
        'by peer during result wait with example.org\n'
        '550 example.net (smtp)... 550 Host unknown\n'
        '554 <carl@example.net>... 550 Host unknown (Authoritative answer '
        'from name server)\n'))
    assert found[R][:2] == ('soft', 'record')
    assert found['carl@example.net'][:2] == ('hard', 'count')


def test_an_smtputf8_report_is_read_per_recipient(classifier):
    """RFC 6533: message/global-delivery-status, utf-8 address types and
    raw UTF-8 in the fields; the email package parses it as one message
    whose body holds the per-recipient fields."""
    address = 'bärt@exämple.org'
    message = samples.rfc3464(
        address, '5.1.1', '550 5.1.1 <%s>: user unknown' % address).replace(
        b'rfc822;', b'utf-8;').replace(
        b'message/delivery-status', b'message/global-delivery-status')
    [decision] = classifier.classify(message)[1]
    assert (decision.recipient.address, decision.recipient.status,
            decision.rule) == (address, '5.1.1', 'user-unknown')


def test_a_pipelined_refusal_after_data_answered_rcpt_to(classifier):
    """PIPELINING: the RCPT TO's refusal shows after '>>> DATA', and DATA's
    own reply says no recipient was valid.  A lone reply to DATA stays a
    reply to DATA (a filter's)."""
    transcript = (
        '   ----- Transcript of session follows -----\n'
        '... while talking to mx.example.org.:\n'
        '>>> DATA\n'
        '<<< 550 5.1.1 <bart@example.org>... User unknown\n'
        '550 5.1.1 <bart@example.org>... User unknown\n'
        '{data_reply}')
    pipelined = decided(classifier, transcript.format(
        data_reply='<<< 554 5.5.1 Error: no valid recipients\n'))
    assert pipelined == {R: ('hard', 'unsubscribe', 'user-unknown')}
    assert classifier.classify(NOTICE.format(body=transcript.format(
        data_reply='<<< 554 5.5.1 Error: no valid recipients\n')).encode()
    )[1][0].recipient.smtp_command == 'RCPT'
    alone = classifier.classify(NOTICE.format(body=transcript.format(
        data_reply='')).encode())[1][0]
    assert alone.recipient.smtp_command == 'DATA'


QUOTED_POST = ('From: dave@example.com\nTo: ant@example.com\n'
               'Subject: why does this bounce?\nMessage-ID: <post-9@example.com>\n'
               '\nI keep getting this:\n<carl@example.net>: host mx.example.net'
               '[192.0.2.7] said: 550 5.1.1 <carl@example.net>: Recipient '
               'address rejected: User unknown (in reply to RCPT TO command)\n')


@pytest.mark.parametrize('marker', [
    '===== Begin of the returned message =====\n',
    '',     # the original's header block, inline, with nothing before it
])
def test_a_returned_post_quoting_a_bounce_names_no_one(classifier, marker):
    """A list about mail gets posts that quote bounces: the returned copy
    of such a post is the original, not the notice, even when the MTA
    marks it with no words we know."""
    body = ('Your message could not be delivered to bart@example.org.\n'
            'Reason: 550 5.1.1 <bart@example.org>: Recipient address '
            'rejected: User unknown (in reply to RCPT TO command)\n\n'
            + marker + QUOTED_POST)
    report, decisions = classifier.classify(NOTICE.format(body=body).encode())
    assert [d.recipient.address for d in decisions] == [R]
    assert report.original.message_id == '<post-9@example.com>'


def test_an_auto_reply_from_an_international_address_names_it(classifier):
    """Raw UTF-8 in From and Subject is read as text here too (the same
    reading as a report's fields), not dropped."""
    message = ('From: Bärt <bärt@exämple.org>\nTo: ant-bounces@example.com\n'
               'Subject: Abwesenheit: hallo\nAuto-Submitted: auto-replied\n\n'
               'Bin weg.\n').encode()
    [decision] = classifier.classify(message)[1]
    assert (decision.recipient.address, decision.recipient.diagnostic,
            decision.rule) == ('bärt@exämple.org',
                               'auto-reply: Abwesenheit: hallo', 'auto-reply')


def test_a_recipient_whose_own_line_says_delivered_is_no_failure(classifier):
    """A notice that lists every recipient names the delivered ones too."""
    assert decided(classifier, (
        'This is the mail system at host relay.example.com.\n\n'
        'Delivery to bart@example.org failed permanently:\n'
        '    550 5.1.1 <bart@example.org>: Recipient address rejected: '
        'User unknown\n\n'
        'Delivery to carl@example.net succeeded.\n\n'
        'Delivery to dave@example.com was not delivered: 550 5.2.2 '
        'mailbox full\n')) == {
        R: ('hard', 'unsubscribe', 'user-unknown'),
        'dave@example.com': ('soft', 'record', 'mailbox-full')}


def test_the_server_s_words_start_where_the_server_does(classifier):
    """"<carl@...>: host ... said: 550 ..." — the address's closing
    bracket and colon are not part of the diagnostic; a transcript's
    ">>>" is kept."""
    _report, [decision] = classifier.classify(NOTICE.format(body=(
        'This is the mail system at host relay.example.com.\n\n'
        '<carl@example.net>: host mx.example.net[192.0.2.7] said: 550 5.1.1 '
        'User unknown (in reply to RCPT TO command)\n')).encode())
    assert decision.recipient.diagnostic.endswith(
        'relay.example.com. host mx.example.net[192.0.2.7] said: 550 5.1.1 '
        'User unknown (in reply to RCPT TO command)')
    _report, [decision] = classifier.classify(NOTICE.format(body=(
        '   ----- Transcript of session follows -----\n'
        '... while talking to mx.example.org.:\n'
        '>>> RCPT To:<bart@example.org>\n'
        '<<< 550 5.1.1 <bart@example.org>... User unknown\n')).encode())
    assert decision.recipient.smtp_command == 'RCPT'


def test_a_groupware_server_s_own_directory_lookup_removes(classifier):
    """Domino and Exchange 2000/2003 report a user missing from the
    directory of the server that holds the mailbox, with no SMTP reply;
    Exchange's 'not recognized' without its Unknown Recipient status is
    also its routing fault, and only counted."""
    domino = decided(classifier, (
        'Your message was not delivered to: bart@example.org\n'
        'because: User Bart Member (bart@example.org) not listed in Domino '
        'Directory\n'))
    assert domino[R] == ('hard', 'unsubscribe',
                         'user-unknown-in-receiving-directory')
    exchange = ('Your message did not reach some or all of the intended '
                'recipients.\n\nbart@example.org on 1/2/2003 10:00 AM\n'
                '  The recipient name is not recognized\n'
                '  MSEXCH:IMS:EXAMPLE:SITE:SERVER1 0 (000C05A6) %s\n')
    assert decided(classifier, exchange % 'Unknown Recipient')[R][1] == \
        'unsubscribe'
    assert decided(classifier, exchange % 'Host Unknown')[R][1] != \
        'unsubscribe'
    # Its words beside a full mailbox: counted, never removed.
    assert decided(classifier, (
        'bart@example.org: User not listed in public Name & Address Book; '
        'mailbox full\n'))[R][1] != 'unsubscribe'


def test_each_distinct_reading_is_decided_once():
    """Thirty members at one domain refused alike: one decision, thirty
    copies, each with its own recipient; a member elsewhere or refused
    otherwise is decided on its own."""
    same = '550 5.1.1 User unknown'
    extra = [('m%d@example.org' % n, '5.1.1', same, 'failed')
             for n in range(29)]
    extra += [('zed@example.net', '5.1.1', same, 'failed'),
              ('amy@example.org', '4.2.2', '452 4.2.2 Mailbox full',
               'failed')]
    message = samples.rfc3464(R, '5.1.1', same, extra_recipients=extra)
    classifier = Classifier()
    decided = []
    decide = classifier.ruleset.decide
    classifier.ruleset.decide = lambda kind, recipient: decided.append(
        recipient.address) or decide(kind, recipient)
    report, decisions = classifier.classify(message)
    assert decided == [R, 'zed@example.net', 'amy@example.org']
    assert [d.recipient.address for d in decisions] == (
        [R] + [address for address, *_rest in extra])
    alone = Classifier()
    assert [(d.rule, d.action, str(d.evidence)) for d in decisions] == [
        (d.rule, d.action, str(d.evidence))
        for d in (alone.ruleset.decide(report.kind, d.recipient)
                  for d in decisions)]


def test_recipients_alike_in_what_rules_read_differ_in_nothing_they_read():
    """Every field of a recipient's report is in what the rules read, but
    its addresses: those only through the domain (a new field must be
    added there, or decisions would be shared that should not be)."""
    report = RecipientReport(address='bart@example.org')
    for field in fields(RecipientReport):
        if field.name == 'original_address':
            continue
        changed = replace(report, **{field.name: 'x@example.net'})
        assert what_rules_read(changed) != what_rules_read(report), field.name
    assert what_rules_read(replace(report, address='amy@example.org')) == \
        what_rules_read(report)
