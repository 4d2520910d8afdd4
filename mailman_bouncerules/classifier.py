"""Parse a bounce and apply the rules: the whole classification step."""

from public import public
from zope.interface import implementer

from mailman_bouncerules.interfaces import IClassifier
from mailman_bouncerules.parsing import parse_bounce
from mailman_bouncerules.rules.ruleset import RuleSet


@public
@implementer(IClassifier)
class Classifier:

    def __init__(self, ruleset=None):
        self.ruleset = ruleset if ruleset is not None else RuleSet.from_files()

    def classify(self, message):
        """Return the report and one decision per failed recipient.

        Success and relay notices name recipients too, but they are no
        failure and get no decision.
        """
        report = parse_bounce(message)
        decisions = [self.ruleset.decide(report.kind, recipient)
                     for recipient in report.failures]
        return report, decisions
