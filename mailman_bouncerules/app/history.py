"""A list's history: every row is written here, and only undo's "what
was the last change" and the owners' views read it.

No decision is taken from the history: what a bounce needs is on the
member's row and in the typed tables (campaigns, hard bounces, probes,
holds).  The history says what happened and why, for owners and for
`undo`, which restores what a removal or confirmation snapshot kept.
"""

import datetime
import json
from typing import Any

from public import public
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from mailman_bouncerules.app.decisions import AnyDecision
from mailman_bouncerules.interfaces import EventName, EvidenceLevel
from mailman_bouncerules.model.tables import Campaign, Event

DIAGNOSTIC_LIMIT = 2000
# Anyone can mail the -bounces address: what an unverified notice leaves
# in a member's history is bounded, in size and in number (the newest
# uncounted ones are kept; counted ones are at most one per campaign).
UNVERIFIED_DIAGNOSTIC_LIMIT = 300
UNVERIFIED_KEPT = 100
# The changes an owner can undo.
UNDOABLE = (EventName.REMOVED, EventName.CONFIRMED)


@public
def diagnostic_limit(evidence: EvidenceLevel | None) -> int:
    """How much of the server's words is kept: less of what anyone could
    have written."""
    if evidence is None or evidence.verified:
        return DIAGNOSTIC_LIMIT
    return UNVERIFIED_DIAGNOSTIC_LIMIT


@public
class History:
    """One list's history rows."""

    def __init__(self, list_id: str, store: Session) -> None:
        self.list_id = list_id
        self.store = store

    def record(self, email: str, name: str, at: datetime.datetime,
               decision: AnyDecision | None = None,
               campaign: Campaign | None = None,
               attribution: str | None = None, counted: bool = False,
               detail: str | None = None,
               snapshot: dict[str, Any] | None = None,
               actor: str | None = None, hold_id: int | None = None,
               evidence: EvidenceLevel | None = None) -> Event:
        """Add one row; the decision's words are bounded, more tightly for
        evidence anyone could have written."""
        what: dict[str, Any] = {}
        if decision is not None:
            recipient = decision.recipient
            limit = diagnostic_limit(evidence)
            what = dict(classification=decision.classification,
                        action=decision.action, rule=decision.rule,
                        reason=decision.reason, status=recipient.status,
                        smtp_code=recipient.smtp_code,
                        diagnostic=(recipient.diagnostic or '')[:limit])
        event = Event(list_id=self.list_id, email=email.lower(), event=name,
                      at=at, counted=counted, detail=detail,
                      evidence=evidence.value if evidence else None,
                      attribution=attribution, actor=actor, hold_id=hold_id,
                      snapshot=json.dumps(snapshot) if snapshot else None,
                      campaign=campaign.message_id if campaign else None,
                      **what)
        self.store.add(event)
        return event

    def record_all(self, rows: list[tuple[str, str, datetime.datetime,
                                          str]]) -> None:
        """Rows that carry no decision, (email, name, at, detail) each,
        in one statement (a batch of probes writes them)."""
        if rows:
            self.store.execute(insert(Event), [dict(
                list_id=self.list_id, email=email.lower(), event=name, at=at,
                detail=detail, counted=False)
                for email, name, at, detail in rows])

    def bound_unverified(self, email: str) -> None:
        """Keep the newest UNVERIFIED_KEPT uncounted unverified bounces of
        `email`: a flood of forged notices cannot grow its history."""
        surplus = select(Event.id).filter_by(
            list_id=self.list_id, email=email.lower(), event=EventName.BOUNCE,
            evidence=EvidenceLevel.UNVERIFIED.value, counted=False).order_by(
            Event.id.desc()).offset(UNVERIFIED_KEPT).scalar_subquery()
        self.store.flush()
        # No session object is kept in step (SQLAlchemy 1.4 would try to
        # evaluate the subquery in Python): these rows are not loaded.
        self.store.execute(delete(Event).where(Event.id.in_(surplus))
                           .execution_options(synchronize_session=False))

    def last_change(self, email: str) -> Event | None:
        """The newest removal, confirmation, undo or re-enable of
        `email`."""
        return self.store.scalars(select(Event).filter_by(
            list_id=self.list_id, email=email.lower()).filter(
            Event.event.in_(UNDOABLE + (EventName.UNDO, EventName.REENABLE)))
            .order_by(Event.at.desc(), Event.id.desc()).limit(1)).first()

    def last_undoable(self, email: str) -> Event | None:
        """The plugin's removal or confirmation of `email`, if nothing
        took it back since."""
        last = self.last_change(email)
        return last if last is not None and last.event in UNDOABLE else None
