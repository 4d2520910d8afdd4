"""Decisions a circuit-breaker trip holds, until an admin decides.

The breaker (breaker.py) says when to hold and the ledger keeps a removal
or confirmation back under the hold (Effect.HOLD); this module takes back
what the tripping campaign already did, and releases or discards what a
hold keeps, through the ledger.  It uses the ledger; the ledger does not
know it.
"""

from collections.abc import Sequence
from datetime import datetime

from mailman.utilities.datetime import now
from public import public
from sqlalchemy import delete, select

from mailman_bouncerules.app import machine
from mailman_bouncerules.app.campaigns import campaign_kind, find_campaign
from mailman_bouncerules.app.decisions import DECISION_FIELDS, StoredDecision
from mailman_bouncerules.app.ledger import Ledger, Request
from mailman_bouncerules.app.machine import Change, standing_of, take
from mailman_bouncerules.interfaces import EventName, EvidenceLevel, HoldStatus
from mailman_bouncerules.model.tables import (
    DISCARDED,
    RELEASED,
    Campaign,
    Event,
    HardBounce,
    HeldDecision,
    Hold,
)


@public
class HeldDecisions:
    """The decisions a circuit-breaker trip holds: take back what the
    trip's campaign already did, and carry them out or drop them when an
    admin decides."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.mlist, self.store, self.list_id = (
            ledger.mlist, ledger.store, ledger.list_id)
        self.history = ledger.history

    def take_back(self, hold: Hold, campaign: Campaign, at: datetime) -> None:
        """The breaker tripped: removals and confirmations this campaign
        already caused in the hold's scope are undone and held instead."""
        done = self.store.scalars(select(Event).filter_by(
            list_id=self.list_id, campaign=campaign.message_id).filter(
            Event.event.in_((EventName.REMOVED, EventName.CONFIRMED)))).all()
        for event in done:
            if hold.domain not in ('*', event.email.rpartition('@')[2]):
                continue
            undoable = self.history.last_undoable(event.email)
            if undoable is None or undoable.id != event.id:
                continue
            self.ledger.undo(event.email, 'circuit-breaker', 0, at)
            state = self.ledger.locked_state(event.email)
            take(state, machine.held_back(standing_of(state)))
            change = (Change.REMOVE if event.event == EventName.REMOVED
                      else Change.CONFIRM)
            held = self.history.record(
                event.email, EventName.HELD, at, campaign=campaign,
                hold_id=hold.id, detail='would %s' % change)
            copied = {name: getattr(event, name) for name in DECISION_FIELDS}
            for name, value in copied.items():
                setattr(held, name, value)
            self.store.add(HeldDecision(
                hold_id=hold.id, list_id=self.list_id, email=event.email,
                change=change, held_at=at, campaign=campaign.message_id,
                **copied))

    def release(self, hold: Hold, actor: str, at: datetime | None = None) -> None:
        """Apply what the hold kept back, now: the owner's release stands
        for the verification the evidence had."""
        at = at or now()
        for held in self._held(hold):
            member = self.mlist.members.get_member(held.email)
            state = self.ledger.locked_state(held.email)
            if member is None:
                continue
            self.ledger.carry_out(
                member, held.email, state, held.change, at, Request(
                    StoredDecision.of(held), find_campaign(
                        self.store, self.list_id, held.campaign),
                    EvidenceLevel.of(held.evidence), verified=True))
            self.ledger.mirror(member, state, None)
        self._decide(hold, RELEASED, actor, at)

    def discard(self, hold: Hold, actor: str, at: datetime | None = None) -> None:
        """Drop what the hold kept back; for a campaign's hold, the hard
        bounces of that campaign in the hold's scope stop counting."""
        at = at or now()
        held = {each.email for each in self._held(hold)}
        counted = []
        campaign = (self.store.get(Campaign, hold.campaign_id)
                    if hold.campaign_id is not None else None)
        if campaign is not None:
            counted = [email for email in self.store.scalars(
                select(HardBounce.email).filter_by(
                    list_id=self.list_id, kind=campaign.kind,
                    sequence=campaign.sequence))
                if hold.domain in ('*', email.rpartition('@')[2])]
            self.store.execute(delete(HardBounce).filter_by(
                list_id=self.list_id, kind=campaign.kind,
                sequence=campaign.sequence).filter(
                HardBounce.email.in_(counted)))
        for email in set(counted) | held:
            state = self.ledger.locked_state(email)
            member = self.mlist.members.get_member(email)
            take(state, machine.after_discard(
                standing_of(state), self.ledger.current_run(
                    email, campaign_kind(member), state.reset_after)))
            self.ledger.mirror(member, state, None)
        self._decide(hold, DISCARDED, actor, at)

    def _held(self, hold: Hold) -> Sequence[HeldDecision]:
        return self.store.scalars(select(HeldDecision).filter_by(
            hold_id=hold.id).order_by(HeldDecision.id)).all()

    def _decide(self, hold: Hold, status: HoldStatus, actor: str, at: datetime) -> None:
        hold.status, hold.actor, hold.decided_at = status, actor, at
        for email in sorted({each.email for each in self._held(hold)}):
            self.history.record(email, status, at, actor=actor,
                                hold_id=hold.id)
