"""The literal prefilter may skip an expression only when it cannot match."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailman_bouncerules.classify.prefilter import (
    LiteralScanner,
    passes,
    required_literals,
    split_alternatives,
)
from mailman_bouncerules.classify.report import RecipientReport
from mailman_bouncerules.classify.rules.loader import load_rules
from mailman_bouncerules.classify.rules.rule import CodeFacts, Reading, Rule
from mailman_bouncerules.classify.rules.ruleset import SCANNER_AFTER, RuleSet
from mailman_bouncerules.interfaces import Kind, Severity

DEFAULT_BRANCHES = [branch for rule in load_rules() for regex in rule.texts
                    for branch in split_alternatives(regex)]


def test_literals_of_simple_patterns():
    assert required_literals(r'\bno such (?:user|mailbox)\b') == [
        {'no such '}, {'user', 'mailbox'}]
    assert required_literals(r'\bSPAM\b|\bjunk\b') == [{'spam', 'junk'}]
    assert required_literals(r'.*') is None
    assert required_literals(r'(?:ab)?') is None


def test_split_respects_groups_classes_and_escapes():
    parts = split_alternatives(re.compile(r'a(b|c)|[|x]|d\|e|f'))
    assert [p.pattern for p in parts] == ['a(b|c)', '[|x]', r'd\|e', 'f']


def test_every_default_expression_has_a_prefilter():
    assert all(required_literals(b.pattern) for b in DEFAULT_BRANCHES)


# Words from the default rules' own vocabulary make matches likely, so the
# property is tested where it matters, not only on random noise.
WORDS = ['user', 'unknown', 'mailbox', 'full', 'no', 'such', 'spam', 'SPF',
         'quota', 'exceeded', 'Host', 'not', 'found', 'blocked', '5.7.1',
         'relay', 'denied', 'does', 'exist', 'is', 'the', 'account', ':', '-']


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=8), max_size=12))
def test_prefilter_never_hides_a_match(words):
    text = ' '.join(words)
    folded = text.casefold()
    for branch in DEFAULT_BRANCHES:
        if branch.search(text):
            assert passes(required_literals(branch.pattern), folded), (
                branch.pattern, text)


@pytest.mark.parametrize('text', [
    'Mailbox is FULL', 'User Unknown', 'no such user here', 'ÜSER unknown',
    '550 5.7.1 spam', 'K\u212aelvin unknown'])
def test_prefilter_agrees_on_examples(text):
    for branch in DEFAULT_BRANCHES:
        if branch.search(text):
            assert passes(required_literals(branch.pattern), text.casefold())


def _rule_with_words(*lines):
    return Rule(name='words', classification='hard', action='count',
                reason='test', texts=tuple(re.compile(line, re.IGNORECASE)
                                           for line in lines))


def _evidence(rule, words):
    evidence = rule.match('bounce', RecipientReport(
        address='anne@example.org', diagnostic=words))
    return evidence and evidence.text


def test_only_the_branches_whose_words_appear_are_tried_in_their_order():
    rule = _rule_with_words(r'mailbox (?:is )?full|no such user',
                            r'quota exceeded')
    assert _evidence(rule, 'Quota exceeded; no such user') == 'no such user'
    assert _evidence(rule, 'quota EXCEEDED') == 'quota EXCEEDED'
    assert _evidence(rule, 'mailbox is full, quota exceeded') == \
        'mailbox is full'
    assert _evidence(rule, 'user unknown') is None


# Literals that overlap, nest and share prefixes, as the rules' do.
SCANNED = ['user', 'user unknown', 'unknown', 'know', 'ser', 'no such',
           'no such user', 'such', 'a.b', '(x)', 'ss', 'uu']


@settings(max_examples=500)
@given(st.lists(st.sampled_from(SCANNED + ['u', 's', ' ', 'n', 'o', 'x']),
                max_size=12))
def test_the_scanner_finds_exactly_the_literals_the_text_holds(pieces):
    text = ''.join(pieces)
    assert LiteralScanner(SCANNED).present(text) == {
        literal for literal in SCANNED if literal in text}


def test_a_scanner_of_no_literals_finds_none():
    assert LiteralScanner([]).present('user unknown') == frozenset()


def test_the_rule_sets_scan_decides_as_each_rule_searching_alone():
    rules = load_rules()
    report = RecipientReport(
        address='anne@example.org', status='5.1.1', smtp_code='550',
        diagnostic='550 5.1.1 <anne@example.org>: Recipient address '
                   'rejected: User unknown in local recipient table')
    alone = [rule.match('bounce', report) for rule in rules]
    scanner = LiteralScanner(literal for rule in rules
                             for literal in rule.gate_literals)
    reading = Reading.of(report, scanner)
    assert reading.present
    assert [rule.match('bounce', report, reading) for rule in rules] == alone


def test_a_rule_set_scans_for_all_literals_only_once_it_decides_often():
    ruleset = RuleSet(load_rules())
    report = RecipientReport(address='anne@example.org', status='5.1.1',
                             diagnostic='550 5.1.1 User unknown')
    first = ruleset.decide(Kind.BOUNCE, report)
    assert '_scanner' not in vars(ruleset)      # one bounce: no scan built
    for _decision in range(SCANNER_AFTER):
        later = ruleset.decide(Kind.BOUNCE, report)
    assert '_scanner' in vars(ruleset)
    assert (later.rule, later.evidence) == (first.rule, first.evidence)


def test_what_the_codes_alone_say_of_a_rule():
    either = Rule(name='either', classification='hard', action='count',
                  reason='test', statuses=('5.1.1',),
                  any_of=frozenset(('status', 'text')),
                  texts=(re.compile('no such user'),))
    words = _rule_with_words(r'no such user')
    codes = Rule(name='codes', classification='hard', action='count',
                 reason='test', statuses=('5.1.1',), smtp_commands=('RCPT',),
                 any_of=frozenset(('status', 'smtp_command')))

    def facts(status, command=None):
        return CodeFacts(Kind.BOUNCE, 'failed', Severity.PERMANENT,
                         command, status, '550')
    # Its status alone can do; without it, only its words can.
    assert either.on_codes(facts('5.1.1')) == (False, False)
    assert either.on_codes(facts('5.2.2')) == (False, True)
    assert words.on_codes(facts('5.2.2')) == (False, True)
    assert codes.on_codes(facts('5.2.2')) == (True, False)
    assert codes.on_codes(facts('5.2.2', 'RCPT')) == (False, False)
