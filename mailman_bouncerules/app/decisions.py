"""The decisions the plugin carries out: one the rules just made, or one
kept to be carried out later (held by the circuit breaker, recorded in
shadow mode, waiting for a probe)."""

from public import public

from mailman_bouncerules.classify.report import RecipientReport
from mailman_bouncerules.classify.rules.ruleset import Decision
from mailman_bouncerules.model.tables import (
    HeldDecision,
    Probe,
    ShadowDecision,
)

# HeldDecision and DECISION_FIELDS below copy a decision field for field.
DECISION_FIELDS = ('classification', 'action', 'rule', 'reason', 'status',
                   'smtp_code', 'diagnostic', 'evidence')


@public
class StoredDecision:
    """A decision as it was kept (held under a circuit-breaker hold, with
    a probe, recorded in shadow mode), to carry it out
    later."""

    def __init__(self, email: str, classification: str | None,
                 action: str | None, rule: str | None, reason: str | None,
                 status: str | None, smtp_code: str | None,
                 diagnostic: str | None, how: str) -> None:
        self.how = how
        self.classification = classification
        self.action = action
        self.rule = rule
        self.reason = reason
        self.recipient = RecipientReport(
            address=email, status=status, smtp_code=smtp_code,
            diagnostic=diagnostic)

    @classmethod
    def of(cls, kept: HeldDecision | ShadowDecision,
           how: str = 'held by the circuit breaker and released'
           ) -> 'StoredDecision':
        return cls(kept.email, kept.classification, kept.action, kept.rule,
                   kept.reason, kept.status, kept.smtp_code, kept.diagnostic,
                   how)

    @classmethod
    def of_probe(cls, probe: Probe) -> 'StoredDecision':
        return cls(probe.email, probe.classification, probe.action,
                   probe.rule, probe.reason, probe.reply_status,
                   probe.smtp_code, probe.diagnostic,
                   'verified by a probe that bounced')

    def explain(self) -> str:
        return 'rule %s (%s), %s' % (self.rule, self.reason, self.how)


# What the ledger carries out: a decision of the rules, or one the history
# kept (held by the breaker, recorded in shadow mode, waiting for a probe).
AnyDecision = Decision | StoredDecision
