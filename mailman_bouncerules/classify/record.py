"""A classification as JSON: the contract of `classify --json` and of the
REST `classify` resource (other tools rely on it)."""

from typing import Any

from public import public

from mailman_bouncerules.classify.report import BounceReport
from mailman_bouncerules.classify.rules.ruleset import Decision


@public
def as_record(path: str | None, report: BounceReport,
              decisions: list[Decision]) -> dict[str, Any]:
    """The JSON contract of `classify --json` (other tools rely on it)."""
    return {
        'file': path,
        'kind': report.kind,
        'recipients': [{
            'address': decision.recipient.address,
            'status': decision.recipient.status,
            'smtp_code': decision.recipient.smtp_code,
            'diagnostic': decision.recipient.diagnostic,
            'classification': decision.classification,
            'action': decision.action,
            'rule': decision.rule,
        } for decision in decisions],
        'problems': list(report.problems),
    }
