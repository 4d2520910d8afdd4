"""Parse a bounce and apply the rules: the whole classification step."""

from dataclasses import replace
from email.message import Message

from public import public
from zope.interface import implementer

from mailman_bouncerules.classify.parsing import parse_bounce
from mailman_bouncerules.classify.parsing.budget import ReadingLimits
from mailman_bouncerules.classify.report import BounceReport
from mailman_bouncerules.classify.rules.rule import what_rules_read
from mailman_bouncerules.classify.rules.ruleset import Decision, RuleSet
from mailman_bouncerules.interfaces import IClassifier

DEFAULT_LIMITS = ReadingLimits()


@public
@implementer(IClassifier)
class Classifier:

    def __init__(self, ruleset: RuleSet | None = None,
                 limits: ReadingLimits = DEFAULT_LIMITS) -> None:
        self.ruleset = ruleset if ruleset is not None else RuleSet.from_files()
        self.limits = limits

    def classify(self, message: bytes | str | Message
                 ) -> tuple[BounceReport, list[Decision]]:
        """Return the report and one decision per failed recipient.

        Success and relay notices name recipients too, but they are no
        failure and get no decision.  Reading and deciding share one
        budget (`limits`): recipients left when it runs out get no
        decision, and the report's `problems` says so.
        """
        reading = self.limits.start()
        report = parse_bounce(message, reading)
        decisions = []
        # A notice often says the same of many recipients (one domain's
        # members, one filter's refusal): each distinct reading is decided
        # once.
        decided: dict[tuple, Decision] = {}
        for recipient in report.failures:
            if reading.out_of_time():
                report.problems.extend(reading.problems)
                break
            alike = what_rules_read(recipient)
            if alike in decided:
                decisions.append(replace(decided[alike], recipient=recipient))
            else:
                decided[alike] = self.ruleset.decide(report.kind, recipient)
                decisions.append(decided[alike])
        return report, decisions
