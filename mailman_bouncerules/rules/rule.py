"""A rule: a few tests on a recipient's report, all of which must pass.

Each test is optional; a rule names at least one.  Within a test the listed
values are alternatives.  When a rule matches, it says which values matched,
so every decision can be explained by the code and words that caused it.
"""

import re
from dataclasses import dataclass, field

from public import public
from zope.interface import implementer

from mailman_bouncerules.interfaces import IRule
from mailman_bouncerules.rules.prefilter import (
    passes, required_literals, split_alternatives)

CLASSIFICATIONS = ('hard', 'soft', 'complaint')
ACTIONS = ('unsubscribe', 'count', 'record')
SEVERITIES = ('permanent', 'temporary')


@public
@dataclass(frozen=True)
class Evidence:
    """What in the report made a rule match."""
    status: str | None = None
    smtp_code: str | None = None
    text: str | None = None
    facts: tuple = ()       # e.g. ('kind autoreply', 'answer to DATA')

    def __str__(self):
        parts = list(self.facts)
        if self.status:
            parts.append('status %s' % self.status)
        if self.smtp_code:
            parts.append('reply %s' % self.smtp_code)
        if self.text:
            parts.append('text "%s"' % self.text)
        return ', '.join(parts)


@public
def severity_of(recipient):
    """Temporary or permanent, by the strongest signal the report has."""
    if recipient.action == 'delayed':
        return 'temporary'
    if recipient.status:
        return 'temporary' if recipient.status[0] == '4' else 'permanent'
    if recipient.smtp_code:
        return 'temporary' if recipient.smtp_code[0] == '4' else 'permanent'
    return 'permanent'


@public
def code_pattern(pattern):
    """'5.1.1' matches exactly, '5.7.*' a subject, '5.*' a class, '*' any."""
    parts = pattern.split('.')
    if parts[-1] == '*':
        prefix = '.'.join(parts[:-1])
        return lambda code: code is not None and (
            not prefix or code == prefix or code.startswith(prefix + '.'))
    return lambda code: code == pattern


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
    _status_tests: tuple = field(default=(), compare=False, repr=False)
    _smtp_tests: tuple = field(default=(), compare=False, repr=False)
    _searches: tuple = field(default=(), compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, '_status_tests',
                           tuple(code_pattern(p) for p in self.statuses))
        object.__setattr__(self, '_smtp_tests', tuple(
            re.compile(p.replace('*', r'\d*')) for p in self.smtp_codes))
        object.__setattr__(self, '_searches', tuple(
            (branch, required_literals(branch.pattern))
            for regex in self.texts for branch in split_alternatives(regex)))

    def match(self, kind, recipient):
        facts = []
        if self.kinds:
            if kind not in self.kinds:
                return None
            facts.append('kind %s' % kind)
        if self.dsn_actions:
            if recipient.action not in self.dsn_actions:
                return None
            facts.append('action %s' % recipient.action)
        if self.severities:
            severity = severity_of(recipient)
            if severity not in self.severities:
                return None
            facts.append(severity)
        if self.smtp_commands:
            if recipient.smtp_command not in self.smtp_commands:
                return None
            facts.append('answer to %s' % recipient.smtp_command)
        status = smtp_code = text = None
        if self._status_tests:
            if not any(test(recipient.status) for test in self._status_tests):
                return None
            status = recipient.status
        if self.smtp_codes:
            if not any(test.fullmatch(recipient.smtp_code or '')
                       for test in self._smtp_tests):
                return None
            smtp_code = recipient.smtp_code
        if self.texts:
            diagnostic = recipient.diagnostic or ''
            folded = diagnostic.casefold()
            found = None
            for regex, literals in self._searches:
                if not passes(literals, folded):
                    continue
                found = regex.search(diagnostic)
                if found:
                    break
            if found is None:
                return None
            text = found.group(0)
        return Evidence(status=status, smtp_code=smtp_code, text=text,
                        facts=tuple(facts))
