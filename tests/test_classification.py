"""The default policy, table-driven over the MTA styles in samples.py."""

import pytest

from mailman_bouncerules.classify.classifier import Classifier
from mailman_bouncerules.tools.testing import samples

R = 'bart@example.org'


@pytest.fixture(scope='module')
def classifier():
    return Classifier()


CASES = [
    # (id, message, classification, action, rule)
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
    ('mailbox-unavailable-is-ambiguous',
     samples.postfix_prose(R, '550 Requested action not taken: mailbox '
                              'unavailable', command='end of DATA'),
     'hard', 'count', 'mailbox-not-found'),
    ('user-unknown-without-code',
     samples.gmail(R, 'User unknown'),
     'hard', 'count', 'user-unknown-unconfirmed'),
    # Not failures.
    ('complaint', samples.arf(R), 'complaint', 'record', 'feedback-report'),
    ('vacation', samples.vacation(R), 'soft', 'record', 'auto-reply'),
]


@pytest.mark.parametrize('message, classification, action, rule',
                         [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_default_policy(classifier, message, classification, action, rule):
    _report, decisions = classifier.classify(message)
    assert [d.recipient.address for d in decisions] == [R]
    decision = decisions[0]
    assert (decision.classification, decision.action, decision.rule) == (
        classification, action, rule), decision.explain()


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
