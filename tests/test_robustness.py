"""Bad input never raises out of the parser and always gives a clear result."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailman_bouncerules.classify.classifier import Classifier
from mailman_bouncerules.classify.parsing import parse_bounce
from mailman_bouncerules.interfaces import Kind
from mailman_bouncerules.tools.testing import samples


@pytest.fixture(scope='module')
def classifier():
    return Classifier()


@pytest.mark.parametrize('data', [
    b'',
    b'\r\n\r\n',
    b'Subject: hello\n\nJust a note, nothing bounced.\n',
    b'From: x\nContent-Type: multipart/report; boundary="never-closed"\n\n'
    b'--never-closed\nContent-Type: message/delivery-status\n\n'
    b'Final-Recipient: rfc822;',
    b'From: \xff\xfe\x00broken\nSubject: =?bogus?Q?x?=\n'
    b'Content-Type: text/plain; charset=no-such-charset\n\n\xff\xfe\xfd',
    bytes(range(256)) * 64,
    b'Content-Type: multipart/mixed\n\nno boundary parameter at all\n',
], ids=['empty', 'blank-lines', 'plain-mail', 'truncated-dsn', 'bad-charset',
        'binary-garbage', 'multipart-no-boundary'])
def test_garbage_gives_a_result(classifier, data):
    report, decisions = classifier.classify(data)
    assert report.kind in (Kind.NOT_BOUNCE, Kind.BOUNCE, Kind.DELIVERED,
                           Kind.AUTOREPLY, Kind.FEEDBACK)
    for decision in decisions:
        # Nothing read from garbage may remove anyone.
        assert decision.action != 'unsubscribe'


def test_plain_mail_is_not_a_bounce():
    report = parse_bounce(b'From: anne@example.com\nTo: ant@example.com\n'
                          b'Subject: Lunch?\n\nShall we meet at noon?\n')
    assert report.kind == Kind.NOT_BOUNCE
    assert report.recipients == []


def test_huge_message_is_bounded(classifier):
    attachment = b'A' * (20 * 1024 * 1024)
    data = samples.rfc3464('bart@example.org', '5.1.1',
                           '550 5.1.1 User unknown') + attachment
    _report, decisions = classifier.classify(data)
    assert [d.recipient.address for d in decisions] == ['bart@example.org']
    assert decisions[0].action == 'unsubscribe'


def test_deeply_nested_mime(classifier):
    depth = 500
    opening = ''.join(
        'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i)
        for i in range(depth))
    data = ('From: MAILER-DAEMON@example.net\nSubject: Undelivered\n'
            + opening + 'Content-Type: text/plain\n\nnothing here\n').encode()
    report, decisions = classifier.classify(data)
    assert decisions == [] or all(d.action != 'unsubscribe' for d in decisions)
    assert report.kind in (Kind.NOT_BOUNCE, Kind.BOUNCE)


def test_crlf_and_iso_2022_jp():
    text = 'ユーザーが見つかりません'.encode('iso-2022-jp')
    data = (b'From: MAILER-DAEMON@example.jp\r\nTo: ant-bounces@example.com\r\n'
            b'Subject: Returned mail\r\n'
            b'Content-Type: text/plain; charset=ISO-2022-JP\r\n\r\n'
            + text + b'\r\n\r\n<bart@example.jp>:\r\n'
            b'550 5.1.1 <bart@example.jp>: User unknown\r\n')
    report = parse_bounce(data)
    [recipient] = report.recipients
    assert recipient.address == 'bart@example.jp'
    assert recipient.status == '5.1.1'


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096))
def test_fuzz_bytes_never_raise(data):
    parse_bounce(data)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=600))
def test_fuzz_dsn_fields_never_raise(text):
    data = samples.rfc3464('bart@example.org', '5.1.1', text.replace('\n', ' '))
    parse_bounce(data)
    parse_bounce(data.replace(b'5.1.1', text.encode('utf-8', 'replace')[:40]))


RULE_WORDS = ['[rule.x]', '[rule.user-unknown]', '[words.w]', '[other]',
              'text: (', 'text: @w', 'text: ok', 'status: 5.1.*',
              'status: 9.9', 'smtp_code: 55*', 'classification: hard',
              'classification: soft', 'action: count', 'action: record',
              'action: unsubscribe', 'kind: feedback', 'severity: temporary',
              'enabled: no', 'colour: red', '  continued', '=', ':', '%(x)s']


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(RULE_WORDS) | st.text(max_size=20),
                max_size=12))
def test_fuzz_rule_files_load_or_fail_clearly(tmp_path_factory, lines):
    """Any text: the rules load, or RulesError says why; nothing else."""
    from mailman_bouncerules.classify.rules.loader import RulesError, load_rules
    path = tmp_path_factory.mktemp('rules') / 'fuzz.cfg'
    path.write_text('\n'.join(lines), encoding='utf-8', errors='replace')
    try:
        rules = load_rules(path)
    except RulesError as error:
        assert str(path) in str(error)
    else:
        assert all(rule.action in ('unsubscribe', 'count', 'record')
                   for rule in rules)


def test_property_tests_never_measure_wall_time():
    """conftest's Hypothesis profile: no deadline per example, no "input
    generation is slow" check, whatever machine runs them."""
    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis_settings
    assert hypothesis_settings.default.deadline is None
    assert HealthCheck.too_slow in \
        hypothesis_settings.default.suppress_health_check
