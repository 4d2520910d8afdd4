"""A rule: a few tests on a recipient's report, all of which must pass.

Each test is optional; a rule names at least one.  Within a test the listed
values are alternatives.  When a rule matches, it says which values matched,
so every decision can be explained by the code and words that caused it.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from public import public
from zope.interface import implementer

from mailman_bouncerules.classify.parsing.codes import without_status_labels
from mailman_bouncerules.classify.prefilter import (
    LiteralScanner,
    passes,
    required_literals,
    split_alternatives,
)
from mailman_bouncerules.classify.report import RecipientReport
from mailman_bouncerules.interfaces import Action, Classification, IRule, Severity

# An expression with the literal sets one of each of which it needs.
Search = tuple[re.Pattern[str], list[set[str]] | None]

CLASSIFICATIONS = tuple(Classification)
ACTIONS = tuple(Action)
SEVERITIES = tuple(Severity)


@public
@dataclass(frozen=True)
class Evidence:
    """What in the report made a rule match."""
    status: str | None = None
    smtp_code: str | None = None
    text: str | None = None
    facts: tuple = ()       # e.g. ('kind autoreply', 'answer to DATA')

    def __str__(self) -> str:
        parts = list(self.facts)
        if self.status:
            parts.append('status %s' % self.status)
        if self.smtp_code:
            parts.append('reply %s' % self.smtp_code)
        if self.text:
            parts.append('text "%s"' % self.text)
        return ', '.join(parts)


@public
def severity_of(recipient: RecipientReport) -> Severity:
    """Temporary or permanent, by the strongest signal the report has."""
    if recipient.action == 'delayed':
        return Severity.TEMPORARY
    code = recipient.status or recipient.smtp_code
    if code:
        return Severity.TEMPORARY if code[0] == '4' else Severity.PERMANENT
    return Severity.PERMANENT


@public
def suffixes(name: str | None) -> frozenset[str]:
    """A host or domain name and every parent: mx7.am0.yahoodns.net,
    am0.yahoodns.net, yahoodns.net, net."""
    name = (name or '').strip().rstrip('.').lower()
    found = set()
    while name:
        found.add(name)
        name = name.partition('.')[2]
    return frozenset(found)


@public
@dataclass(frozen=True)
class Reading:
    """What the rules read of one recipient, worked out once per decision
    instead of once for each of the fifty rules tried."""
    folded: str                     # the diagnostic, case-folded
    severity: Severity
    domains: frozenset[str]         # the recipient's domain and parents
    hosts: frozenset[str]           # the remote and reporting MTAs', ditto
    # The rules' literals the folded diagnostic holds, when a rule set
    # scanned for them all at once; None: each rule looks for its own.
    present: frozenset[str] | None = None

    @classmethod
    def of(cls, recipient: RecipientReport,
           scanner: LiteralScanner | None = None) -> 'Reading':
        # A code's RFC 3463 label is the DSN generator's, not the server's
        # words.
        folded = without_status_labels(recipient.diagnostic or '').casefold()
        return cls(
            folded=folded,
            severity=severity_of(recipient),
            domains=suffixes(recipient.address.rpartition('@')[2]),
            hosts=suffixes(recipient.remote_mta)
            | suffixes(recipient.reporting_mta),
            present=scanner.present(folded) if scanner else None)


# The tests that read only the notice's kind and the recipient's codes.
CODE_TESTS = frozenset(('kind', 'dsn_action', 'severity', 'smtp_command',
                        'status', 'smtp_code'))


@public
class CodeFacts(NamedTuple):
    """What the tests on the kind and the codes read: recipients alike in
    it pass and fail the same of those tests, so a rule set works out
    once which rules they leave."""
    kind: str
    action: str | None
    severity: Severity
    smtp_command: str | None
    status: str | None
    smtp_code: str | None

    @classmethod
    def of(cls, kind: str, recipient: RecipientReport,
           reading: Reading) -> 'CodeFacts':
        return cls(kind, recipient.action, reading.severity,
                   recipient.smtp_command, recipient.status,
                   recipient.smtp_code)


@public
def what_rules_read(recipient: RecipientReport) -> tuple:
    """Everything of a recipient that a rule's tests or its evidence read:
    two recipients alike in it get the same decision.  (Its address only
    through its domain.)"""
    return (recipient.action, recipient.status, recipient.smtp_code,
            recipient.diagnostic, recipient.smtp_command,
            recipient.remote_mta, recipient.reporting_mta,
            recipient.address.rpartition('@')[2])


@public
@implementer(IRule)
@dataclass(frozen=True)
class Rule:
    name: str
    classification: str
    action: str
    reason: str
    description: str = ''
    kinds: frozenset = frozenset()
    dsn_actions: frozenset = frozenset()
    severities: frozenset = frozenset()
    smtp_commands: frozenset = frozenset()
    statuses: tuple = ()
    smtp_codes: tuple = ()
    texts: tuple = ()                       # compiled regular expressions
    vetoes: tuple = ()                      # `unless`: words that veto it
    any_of: frozenset = frozenset()         # tests of which one suffices
    domains: tuple = ()                     # the recipient's, or a parent
    hosts: tuple = ()                       # the remote or reporting MTA's
    source: str = ''                        # where its facts come from
    examples: tuple = ()                    # wordings it must decide
    origin: str = ''                        # the file it was read from
    _exact_statuses: frozenset = field(default=frozenset(), compare=False,
                                       repr=False)
    _status_prefixes: tuple = field(default=(), compare=False, repr=False)
    _smtp_tests: tuple = field(default=(), compare=False, repr=False)
    _domain_set: frozenset = field(default=frozenset(), compare=False,
                                   repr=False)
    _host_set: frozenset = field(default=frozenset(), compare=False,
                                 repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, '_exact_statuses', frozenset(
            p for p in self.statuses if not p.endswith('*')))
        object.__setattr__(self, '_status_prefixes', tuple(
            p[:-1] for p in self.statuses if p.endswith('*')))
        object.__setattr__(self, '_smtp_tests', tuple(
            re.compile(p.replace('*', r'\d*')) for p in self.smtp_codes))
        object.__setattr__(self, '_domain_set', frozenset(self.domains))
        object.__setattr__(self, '_host_set', frozenset(self.hosts))

    @cached_property
    def _searches(self) -> tuple[Search, ...]:
        """Each top-level alternative of the words, compiled alone, with the
        literals it needs.  Worked out when the rule first reads words, not
        at load: a command that classifies one bounce reaches few rules'
        words, and this is most of the cost of loading the rules."""
        return _split_searches(self.texts)

    @cached_property
    def _gate(self) -> dict[str, tuple[int, ...]] | None:
        return _gate(self._searches)

    @cached_property
    def gate_literals(self) -> frozenset[str]:
        """The literals of which the diagnostic must hold one for the
        rule's words to match; empty when that cannot be told (or the
        rule has no words), and the words are then always searched."""
        return frozenset(self._gate or ())

    @cached_property
    def _veto_searches(self) -> tuple[Search, ...]:
        """The `unless` words as the text's are: each alternative alone,
        with the literals it needs (worked out on first use)."""
        return _split_searches(self.vetoes)

    @property
    def places(self) -> frozenset[str] | None:
        """The domains and hosts of which one must be the recipient's (or
        its MTAs') for the rule to match at all; None when the rule can
        match anywhere.  A rule set skips a provider's rules by this."""
        tests = {'domain'} if self.domains else set()
        if self.hosts:
            tests.add('host')
        if not tests:
            return None
        if tests - self.any_of or (self.any_of and self.any_of <= tests):
            return self._domain_set | self._host_set
        return None

    def match(self, kind: str, recipient: RecipientReport,
              reading: Reading | None = None) -> Evidence | None:
        """The evidence if every test passes, else None.

        `reading` is what a rule set worked out of the recipient once for
        all its rules.
        """
        failed, text, matched = self._first_failed(
            kind, recipient, reading or Reading.of(recipient))
        if failed is not None:
            return None
        return Evidence(
            status=recipient.status if 'status' in matched else None,
            smtp_code=recipient.smtp_code if 'smtp_code' in matched else None,
            text=text,
            facts=self._facts(kind, recipient))

    def why_not(self, kind: str, recipient: RecipientReport) -> str | None:
        """The name of the first test that fails (`explain`), or None."""
        return self._first_failed(kind, recipient, Reading.of(recipient))[0]

    def _first_failed(self, kind: str, recipient: RecipientReport,
                      reading: Reading
                      ) -> tuple[str | None, str | None, set[str]]:
        """(the first failing test's key, the matched text, the keys of the
        alternative tests that passed).

        Tests named in `any_of` are alternatives: one of them passing is
        enough; every other test must pass.
        """
        matched: set[str] = set()
        failed = self._code_tests(CodeFacts.of(kind, recipient, reading),
                                  matched)
        if failed is not None:
            return failed, None, matched
        if self.domains:
            if not self._domain_set.isdisjoint(reading.domains):
                matched.add('domain')
            elif 'domain' not in self.any_of:
                return 'domain', None, matched
        if self.hosts:
            if not self._host_set.isdisjoint(reading.hosts):
                matched.add('host')
            elif 'host' not in self.any_of:
                return 'host', None, matched
        if self.any_of and 'text' not in self.any_of \
                and not matched & self.any_of:
            # Every alternative has failed: no need to search the words
            # (the costly test; a provider's rules are skipped here).
            return 'any_of', None, matched
        text = None
        if self.texts and not ('text' in self.any_of
                               and matched & self.any_of):
            text = self._search(recipient.diagnostic or '', reading)
            if text is not None:
                matched.add('text')
            elif 'text' not in self.any_of:
                return 'text', None, matched
        if self.any_of and not matched & self.any_of:
            return 'any_of', None, matched
        if self.vetoes and self._vetoed(recipient.diagnostic or ''):
            return 'unless', None, matched  # the notice says something else
        return None, text, matched

    def on_codes(self, facts: 'CodeFacts') -> tuple[bool, bool]:
        """What the notice's kind and the recipient's codes alone say of
        the rule: (whether it fails, whatever its words, domain and hosts;
        whether its words must then match for it to match)."""
        matched: set[str] = set()
        if self._code_tests(facts, matched) is not None:
            return True, False
        if self.any_of and not matched & self.any_of:
            # No code among the alternatives passed: the others decide.
            others = self.any_of - CODE_TESTS
            if not others:
                return True, False
            if others == {'text'}:
                return False, True
        return False, bool(self.texts) and 'text' not in self.any_of

    def _code_tests(self, facts: 'CodeFacts', matched: set[str]) -> str | None:
        """The first of the tests on the kind and the codes that fails, or
        None; `matched` gains those named in `any_of` that pass."""
        if self.kinds and facts.kind not in self.kinds:
            return 'kind'
        if self.dsn_actions and facts.action not in self.dsn_actions:
            return 'dsn_action'
        if self.severities and facts.severity not in self.severities:
            return 'severity'
        if self.smtp_commands:
            if facts.smtp_command in self.smtp_commands:
                matched.add('smtp_command')
            elif 'smtp_command' not in self.any_of:
                return 'smtp_command'
        if self.statuses:
            if self._status_matches(facts.status):
                matched.add('status')
            elif 'status' not in self.any_of:
                return 'status'
        if self.smtp_codes:
            if any(test.fullmatch(facts.smtp_code or '')
                   for test in self._smtp_tests):
                matched.add('smtp_code')
            elif 'smtp_code' not in self.any_of:
                return 'smtp_code'
        return None

    def _status_matches(self, status: str | None) -> bool:
        return status is not None and (
            status in self._exact_statuses
            or status.startswith(self._status_prefixes))

    def _search(self, diagnostic: str, reading: Reading) -> str | None:
        gate = self._gate
        if gate is None:
            branches: Iterable[int] = range(len(self._searches))
        else:
            possible: set[int] = set()
            if reading.present is not None:
                for literal in reading.present & self.gate_literals:
                    possible.update(gate[literal])
            else:
                for literal, indices in gate.items():
                    if literal in reading.folded:
                        possible.update(indices)
            branches = sorted(possible)     # in order: the first match is
        for index in branches:              # the evidence
            regex, literal_sets = self._searches[index]
            if passes(literal_sets, reading.folded):
                found = regex.search(diagnostic)
                if found:
                    return found.group(0)
        return None

    def _vetoed(self, diagnostic: str) -> bool:
        """Do the `unless` words appear anywhere in the diagnostic?  Codes'
        labels included: a veto errs toward keeping the member."""
        folded = diagnostic.casefold()
        for regex, literal_sets in self._veto_searches:
            if passes(literal_sets, folded) and regex.search(diagnostic):
                return True
        return False

    def _facts(self, kind: str, recipient: RecipientReport) -> tuple[str, ...]:
        facts: list[str] = []
        if self.kinds:
            facts.append('kind %s' % kind)
        if self.dsn_actions:
            facts.append('action %s' % recipient.action)
        if self.severities:
            facts.append(severity_of(recipient))
        if self.smtp_commands:
            facts.append('answer to %s' % recipient.smtp_command)
        if self.domains:
            facts.append('domain %s' % recipient.address.rpartition('@')[2])
        host = recipient.remote_mta or recipient.reporting_mta
        if self.hosts and host:
            facts.append('host %s' % host)
        return tuple(facts)


def _split_searches(regexes: Iterable[re.Pattern[str]]) -> tuple[Search, ...]:
    """Each top-level alternative of `regexes`, compiled alone, with the
    literals it needs."""
    return tuple((branch, required_literals(branch.pattern))
                 for regex in regexes for branch in split_alternatives(regex))


def _gate(searches: Iterable[tuple[re.Pattern[str], list[set[str]] | None]]
          ) -> dict[str, tuple[int, ...]] | None:
    """{literal: the branches that need it}, with one literal set of each
    branch, its most selective.  A text holding none of the literals
    matches no branch, and a single pass over them says so; one that
    holds some can match only the branches those literals are for, and
    only those are tried."""
    gate: dict[str, list[int]] = {}
    for index, (_regex, literal_sets) in enumerate(searches):
        if literal_sets is None:
            return None
        for literal in max(literal_sets,
                           key=lambda literals: min(map(len, literals))):
            gate.setdefault(literal, []).append(index)
    return {literal: tuple(indices) for literal, indices in gate.items()}
