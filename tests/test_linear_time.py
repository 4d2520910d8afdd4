"""Crafted bounces take time linear in their size, and a budget caps them.

A -bounces address is public: each family of testing/crafted.py hits a
shape that once made an expression backtrack (a 64 KiB line of '-' took
558 s).  Four times the input may take at most eight times the work;
quadratic work would take sixteen.  Work is this process's CPU time, the
best of several rounds, so another job on the machine cannot make a
linear reader look quadratic (wall time could: a busy second core once
made one look 3.9x for twice the input).  The absolute figures are the
benchmark's (tools/bench.py).
"""

import email
import re
import time
from email.policy import compat32

import pytest

from mailman_bouncerules.classify.classifier import Classifier
from mailman_bouncerules.classify.parsing import dsn, freetext, mime
from mailman_bouncerules.classify.parsing.budget import ReadingLimits
from mailman_bouncerules.classify.rules.backtracking import backtracking_risk
from mailman_bouncerules.classify.rules.loader import RulesError, load_rules
from mailman_bouncerules.tools.testing import samples
from mailman_bouncerules.tools.testing.crafted import FAMILIES


def _best_cpu_seconds(function, argument, rounds=5):
    best = float('inf')
    for _round in range(rounds):
        started = time.process_time()
        function(argument)
        best = min(best, time.process_time() - started)
    return best


def _grows_linearly(function, small, large):
    """CPU time for `large` (four times `small`) at most twice the linear
    share; 10 ms of slack absorb the clock's resolution on tiny inputs."""
    first = _best_cpu_seconds(function, small)
    second = _best_cpu_seconds(function, large)
    assert second <= 8 * first + 0.01, (first, second)


@pytest.fixture(scope='module')
def classifier():
    return Classifier()


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_a_crafted_message_takes_linear_time(classifier, family):
    # Below the per-part cap (64 KiB of text), so the size really grows.
    make = FAMILIES[family]
    parsed = [email.message_from_bytes(make(size), policy=compat32)
              for size in (15 * 1024, 60 * 1024)]
    _grows_linearly(classifier.classify, *parsed)


# The text-level readers, past every cap: linear on their own.  32 KiB of
# addresses already take tens of milliseconds, far above the clock's
# resolution, so quadratic work (sixteen times) cannot pass for linear.
TEXTS = {
    'returned-marker': (freetext.split_notification,
                        lambda n: 'Failed.\n' + '-' * n + '\n'),
    'html-brackets': (mime.html_to_text, lambda n: '<' * n),
    'html-style': (mime.html_to_text, lambda n: '<style ' * (n // 7)),
    'addresses': (lambda text: list(freetext.recipients_in_text(text)),
                  lambda n: ' '.join('u%06d@example.org' % i
                                     for i in range(n // 19))),
    'to-addresses': (lambda text: list(freetext.recipients_in_text(
        text, unlikely=frozenset('u%06d@example.org' % i
                                 for i in range(0, 10 ** 5, 7)))),
        lambda n: 'from ' + ' '.join('u%06d@example.org' % i
                                     for i in range(n // 19))),
    'folded-field': (dsn.field_blocks, lambda n: 'Diagnostic-Code: smtp;\n'
                     + ' x\n' * (n // 3)),
    'delay-words': (freetext._says_delayed,
                    lambda n: 'Warning: message ' * (n // 17) + 'delayed'),
}


@pytest.mark.parametrize('reader', sorted(TEXTS))
def test_a_text_reader_takes_linear_time(reader):
    function, make = TEXTS[reader]
    _grows_linearly(function, make(32 * 1024), make(128 * 1024))


def test_the_returned_marker_still_needs_its_rule_of_dashes():
    notice = 'Your mail failed.\nThis is a copy of it, said the MTA.\n'
    assert freetext.split_notification(notice) == (notice, '')
    ruled = 'Your mail failed.\n------ This is a copy of the message\nx\n'
    assert freetext.split_notification(ruled)[1].startswith('------ This')
    plain = 'Your mail failed.\nOriginal message follows.\nx\n'
    assert freetext.split_notification(plain)[1].startswith('Original')


def test_hidden_elements_are_found_in_text_whose_lower_case_is_longer():
    # 'İ'.lower() is two characters: positions in a lowered copy drift.
    html = 'İ' * 20 + '<style>x</style>keep <b>this</b> text here'
    assert mime.html_to_text(html).split()[1:] == ['keep', 'this', 'text',
                                                   'here']


def test_an_unclosed_style_element_hides_the_rest():
    assert 'secret' not in mime.html_to_text('<p>a</p><style>x secret')
    assert mime.html_to_text('a<style>x</style>b<script>y</script>c').split() \
        == ['a', 'b', 'c']


def test_recipients_past_the_limit_are_left_out_and_said():
    # The recipient cap alone: a time budget no machine reaches, so a busy
    # CI machine cannot cut the reading short first (it once stopped at
    # 939 recipients after the default two seconds).
    report, decisions = Classifier(limits=ReadingLimits(
        max_seconds=3600.0)).classify(FAMILIES['many-recipients'](1024 * 1024))
    assert len(decisions) == 1000
    assert any('recipients past the first 1000' in problem
               for problem in report.problems)


def test_text_past_the_budget_is_left_out_and_said():
    limits = ReadingLimits(max_chars=1000)
    report, decisions = Classifier(limits=limits).classify(
        FAMILIES['many-parts'](64 * 1024))
    assert 0 < len(decisions) <= 1000 // 58     # of 199 parts of 58 characters
    assert any('past 1000 characters' in problem for problem in report.problems)


def test_a_spent_time_budget_stops_reading_and_says_so():
    data = samples.rfc3464('anne@example.org', '5.1.1', '550 user unknown')
    assert Classifier().classify(data)[1]
    report, decisions = Classifier(
        limits=ReadingLimits(max_seconds=0.0)).classify(data)
    assert decisions == []
    assert any('stopped after' in problem for problem in report.problems)


def test_a_folded_field_is_bounded():
    blocks = dsn.field_blocks('Diagnostic-Code: smtp; 550\n' + ' x\n' * 10 ** 5)
    assert len(blocks[0]['diagnostic-code']) == dsn.MAX_FIELD_CHARS


@pytest.mark.parametrize('pattern', [
    r'(?:user|mailbox)\s+(\S+\s*)+\s+unknown',    # seen: 14 hours on 40 letters
    r'(a+)+$',
    r'(a|ab)*c',
    r'.*.*.*unknown',
    r'(?:(x+))*y',
    # Python backtracks inside an atomic group while matching it (214 s on
    # 24 letters), and through a conditional's branches and the optional
    # turns of a counted repeat (x3.5 per two letters).
    r'(?>(?:user|mailbox)\s+(\S+\s*)+\s+unknown)',
    r'(x)?(?(1)x|(?:\S+\s*)+unknown)',
    r'(?:\w?){24}\w{24}unknown',
    r'(?:\S+\s*)++unknown',
    r'(user)\s+\1',
])
def test_patterns_that_backtrack_are_refused(pattern, tmp_path):
    assert backtracking_risk(pattern, re.IGNORECASE)
    rules = tmp_path / 'rules.cfg'
    rules.write_text('[rule.mine]\nclassification: hard\naction: count\n'
                     'text: %s\n' % pattern)
    with pytest.raises(RulesError) as raised:
        load_rules(str(rules))
    message = str(raised.value)
    assert str(rules) in message and 'mine' in message and pattern in message


@pytest.mark.parametrize('pattern', [
    r'(?:[a-z0-9-]+\.)+[a-z]{2,}',      # each turn ends at a dot
    r'(?:foo|bar)+',
    r'(?:ab{2})+',
    r'\S+@\S+ unknown',
    r'\buser\b.{0,40}\bunknown\b',
])
def test_patterns_that_cannot_backtrack_are_accepted(pattern):
    assert backtracking_risk(pattern, re.IGNORECASE) is None


def test_every_default_pattern_is_safe():
    patterns = [regex.pattern for rule in load_rules() for regex in rule.texts]
    assert len(patterns) > 50
    assert [p for p in patterns if backtracking_risk(p, re.IGNORECASE)] == []
