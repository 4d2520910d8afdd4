"""The decisions the plugin carries out: one the rules just made, or one
kept to be carried out later (held by the circuit breaker, recorded in
shadow mode, waiting for a probe)."""

from public import public

from mailman_bouncerules.classify.report import RecipientReport
from mailman_bouncerules.classify.rules.ruleset import Decision
from mailman_bouncerules.model.tables import Event, HeldDecision

# HeldDecision and DECISION_FIELDS below copy a decision field for field.
DECISION_FIELDS = ('classification', 'action', 'rule', 'reason', 'status',
                   'smtp_code', 'diagnostic', 'evidence')


@public
class StoredDecision:
    """A decision as it was kept (a held decision, or the history row that
    asked for a probe or recorded it in shadow mode), to carry it out
    later."""

    def __init__(self, event: Event | HeldDecision,
                 how: str = 'held by the circuit breaker and released') -> None:
        self.how = how
        self.classification = event.classification
        self.action = event.action
        self.rule = event.rule
        self.reason = event.reason
        self.recipient = RecipientReport(
            address=event.email, status=event.status,
            smtp_code=event.smtp_code, diagnostic=event.diagnostic)

    def explain(self) -> str:
        return 'rule %s (%s), %s' % (self.rule, self.reason, self.how)


# What the ledger carries out: a decision of the rules, or one the history
# kept (held by the breaker, recorded in shadow mode, waiting for a probe).
AnyDecision = Decision | StoredDecision
