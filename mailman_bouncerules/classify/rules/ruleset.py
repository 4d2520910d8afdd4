"""The rules in force, tried in order, and the decisions they make."""

from dataclasses import dataclass
from functools import cached_property

from public import public
from zope.interface import implementer

from mailman_bouncerules.classify.prefilter import LiteralScanner
from mailman_bouncerules.classify.report import RecipientReport
from mailman_bouncerules.classify.rules.loader import load_rules
from mailman_bouncerules.classify.rules.rule import Evidence, Reading, Rule
from mailman_bouncerules.interfaces import IRuleSet, Kind

# When no rule matches, the safe choice: keep a record, touch nobody.
UNMATCHED = 'no-rule-matched'
# How many decisions a rule set makes before it scans for all its rules'
# literals at once (see `RuleSet.decide`).
SCANNER_AFTER = 20
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
        # Each rule with what lets one set test skip it: the places one of
        # which it needs (a provider's rules are a third of the file and
        # match only at that provider), and the literals one of which its
        # words need (known once the rule set scans, see `_scanned`).
        self._tried: list[Tried] = [(rule, rule.places, None)
                                    for rule in self.rules]

    @classmethod
    def from_files(cls, admin_path: str | None = None) -> "RuleSet":
        return cls(load_rules(admin_path))

    @cached_property
    def _scanned(self) -> list[Tried]:
        """`_tried` with the literals one of which a rule's words need,
        where they must match: most rules' words are missing from most
        diagnostics, and where the scan found none of the literals the
        rule cannot match."""
        return [(rule, places, rule.needed_literals)
                for rule, places, _needed in self._tried]

    @cached_property
    def _scanner(self) -> LiteralScanner:
        """All the rules' literals, found in one pass per diagnostic
        instead of one search per literal and rule."""
        return LiteralScanner(literal for rule in self.rules
                              for literal in rule.gate_literals)

    def decide(self, kind: Kind, recipient: RecipientReport) -> Decision:
        # Building the scanner reads every rule's words, a few times the
        # cost of one decision's reading: a command that decides a bounce
        # or two does better without it, a runner far better with it.
        self._decisions += 1
        if self._decisions <= SCANNER_AFTER:
            reading, tried = Reading.of(recipient), self._tried
        else:
            reading = Reading.of(recipient, self._scanner)
            tried = self._scanned
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
