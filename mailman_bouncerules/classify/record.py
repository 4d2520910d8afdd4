"""A classification as JSON: the contract of `classify --json` and of the
REST `classify` resource (other tools rely on it)."""

from typing import Any

from public import public

from mailman_bouncerules.classify.report import BounceReport
from mailman_bouncerules.classify.rules.ruleset import Decision, RuleSet


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


@public
def trail(ruleset: RuleSet, kind: str,
          decision: Decision) -> list[tuple[str, str | None]]:
    """Each rule tried before the one that decided, with the first of its
    tests that failed (the `explain` trail)."""
    tried = []
    for rule in ruleset.rules:
        if rule.name == decision.rule:
            break
        tried.append((rule.name, rule.why_not(kind, decision.recipient)))
    return tried


@public
def as_explained_record(report: BounceReport, decisions: list[Decision],
                        ruleset: RuleSet) -> dict[str, Any]:
    """`as_record` with, per recipient, why its rule decided (`why`) and
    the rules tried before it (`tried`: [rule, the test that failed])."""
    record = as_record(None, report, decisions)
    for entry, decision in zip(record['recipients'], decisions, strict=True):
        entry['why'] = decision.explain()
        entry['tried'] = [list(step) for step in trail(
            ruleset, report.kind, decision)]
    return record
