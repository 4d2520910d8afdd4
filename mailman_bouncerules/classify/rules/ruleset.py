"""The rules in force, tried in order, and the decisions they make."""

from dataclasses import dataclass
from functools import cached_property, lru_cache

from public import public
from zope.interface import implementer

from mailman_bouncerules.classify.prefilter import LiteralScanner
from mailman_bouncerules.classify.report import RecipientReport
from mailman_bouncerules.classify.rules.loader import load_rules
from mailman_bouncerules.classify.rules.rule import (
    CodeFacts,
    Evidence,
    Reading,
    Rule,
)
from mailman_bouncerules.interfaces import IRuleSet, Kind

# When no rule matches, the safe choice: keep a record, touch nobody.
UNMATCHED = 'no-rule-matched'
# How many decisions a rule set makes before it scans for all its rules'
# literals at once (see `RuleSet.decide`).
SCANNER_AFTER = 20
# How many kinds of codes a rule set keeps the rules left for: real
# notices come with a few dozen, and crafted ones cannot make it grow.
CODE_FACTS_KEPT = 512
# A rule, the places one of which it needs, the literals one of which its
# words need (None: no such test).
Tried = tuple[Rule, frozenset[str] | None, frozenset[str] | None]


@public
@dataclass(frozen=True)
class Decision:
    """What a bounce means for one recipient, and why."""
    recipient: RecipientReport
    classification: str
    action: str
    rule: str
    reason: str
    evidence: Evidence

    def explain(self) -> str:
        return 'rule %s (%s): %s' % (self.rule, self.reason,
                                     str(self.evidence) or 'no rule matched')


@public
@implementer(IRuleSet)
class RuleSet:

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = list(rules)
        self._decisions = 0
        # A provider's rules are a third of the file and match only at that
        # provider: one set test skips each of them elsewhere.
        self._places = [(rule, rule.places) for rule in self.rules]
        # Most rules fail on the kind or the codes alone, and notices come
        # with few kinds of codes: the rules left are kept per kind.
        self._passing = lru_cache(maxsize=CODE_FACTS_KEPT)(
            self._passing_on_codes)

    @classmethod
    def from_files(cls, admin_path: str | None = None) -> "RuleSet":
        return cls(load_rules(admin_path))

    @cached_property
    def _scanner(self) -> LiteralScanner:
        """All the rules' literals, found in one pass per diagnostic
        instead of one search per literal and rule."""
        return LiteralScanner(literal for rule in self.rules
                              for literal in rule.gate_literals)

    def _passing_on_codes(self, facts: CodeFacts,
                          scanning: bool) -> list[Tried]:
        """The rules that `facts` alone do not fail, each with the places
        one of which it needs and, when the rule set scans, the literals
        one of which its words need (most rules' words are missing from
        most diagnostics: where the scan found none, the rule is
        skipped)."""
        passing: list[Tried] = []
        for rule, places in self._places:
            fails, words_needed = rule.on_codes(facts)
            if not fails:
                passing.append((rule, places, rule.gate_literals or None
                                if scanning and words_needed else None))
        return passing

    def decide(self, kind: Kind, recipient: RecipientReport) -> Decision:
        # Building the scanner reads every rule's words, a few times the
        # cost of one decision's reading: a command that decides a bounce
        # or two does better without it, a runner far better with it.
        self._decisions += 1
        scanning = self._decisions > SCANNER_AFTER
        reading = Reading.of(recipient, self._scanner if scanning else None)
        tried = self._passing(CodeFacts.of(kind, recipient, reading),
                              scanning)
        places = reading.domains | reading.hosts
        present = reading.present or frozenset()
        for rule, rule_places, needed in tried:
            if rule_places is not None and rule_places.isdisjoint(places):
                continue
            if needed is not None and needed.isdisjoint(present):
                continue
            evidence = rule.match(kind, recipient, reading)
            if evidence is not None:
                return Decision(recipient, rule.classification, rule.action,
                                rule.name, rule.reason, evidence)
        return Decision(recipient, 'soft', 'record', UNMATCHED, 'undefined',
                        Evidence())
