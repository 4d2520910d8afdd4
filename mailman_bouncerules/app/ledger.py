"""The bounce ledger of a list: decisions in, member standings out.

Everything that changes a member's bounce state goes through here, inside
the caller's transaction, with the member's row locked: several runner
processes may handle bounces of the same member at once.

One bounce is one pass: read every fact the decision needs (the member's
row, the runs its counted campaigns make, the breaker's counters, its
probes), ask the state machine once (machine.py), then write: the member's
row once, the history, and the effect's one executor.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import zope.event
from mailman.config import config
from mailman.interfaces.mailinglist import IMailingList
from mailman.interfaces.member import IMember
from mailman.utilities.datetime import now
from public import public
from sqlalchemy import select
from sqlalchemy.orm import Session
from zope.interface import implementer

from mailman_bouncerules.app import machine, membership, notices
from mailman_bouncerules.app.breaker import CircuitBreaker
from mailman_bouncerules.app.campaigns import (
    HardBounces,
    campaign_kind,
    longest_run_through,
)
from mailman_bouncerules.app.decisions import (
    DECISION_FIELDS,
    AnyDecision,
    StoredDecision,
)
from mailman_bouncerules.app.events import (
    BounceClassified,
    BounceConfirmed,
    BounceRunReset,
    MemberRemoved,
)
from mailman_bouncerules.app.history import UNVERIFIED_KEPT, History
from mailman_bouncerules.app.machine import (
    Bounce,
    Change,
    Effect,
    standing_of,
    take,
)
from mailman_bouncerules.app.policy import ListPolicy
from mailman_bouncerules.app.probes import ProbeFacts, Prober
from mailman_bouncerules.classify.rules.ruleset import Decision
from mailman_bouncerules.interfaces import (
    Action,
    Classification,
    EventName,
    EvidenceLevel,
    IBounceStandings,
)
from mailman_bouncerules.model.storage import upsert_locked
from mailman_bouncerules.model.tables import (
    CONFIRMED,
    OK,
    Campaign,
    Event,
    HeldDecision,
    Hold,
    MemberState,
    Probe,
    ShadowDecision,
)

log = logging.getLogger('mailman.bounce')


@public
@dataclass(frozen=True)
class Request:
    """What asks for a removal or confirmation, and on what evidence.

    `verified`: whether it counts as verified, if not as the evidence's
    own level says (an owner releasing a hold verifies it); `notify`:
    whether the owners are told; `probe_note`: what precedes the history's
    words when a probe is asked for instead; `may_probe`: false when the
    notice was one suspicious report of many members, of whom this one
    was not among those probed; `probes`: what a probe request needs, and
    `counted`: the member's counted campaigns of the change's kind after
    its watermark, if already read.
    """

    decision: AnyDecision | None = None
    campaign: Campaign | None = None
    evidence: EvidenceLevel = EvidenceLevel.UNVERIFIED
    verified: bool | None = None
    notify: bool = True
    probe_note: str = ''
    may_probe: bool = True
    probes: ProbeFacts | None = None
    counted: frozenset[int] | None = None

    @property
    def counts_as_verified(self) -> bool:
        return self.evidence.verified if self.verified is None \
            else self.verified


@public
@dataclass(frozen=True)
class Applied:
    """What applying a bounce did: the member's row, and the campaign
    hold it tripped, if any (what that campaign already did is to be
    taken back: holds.py)."""

    state: MemberState
    tripped: Hold | None = None


# An executor of one effect of the state machine: a Ledger method taking
# (member, email, state, change, at, request, hold).
_Executor = Callable[..., None]


@public
@implementer(IBounceStandings)
class Ledger:
    """One list's bounce standings.  The bounce pass builds it with the
    session and the list's policy it already read; elsewhere it is
    `IBounceStandings(mlist)`."""

    def __init__(self, mlist: IMailingList, store: Session | None = None,
                 policy: ListPolicy | None = None) -> None:
        self.mlist = mlist
        self.store = store = store or config.db.store
        self.list_id = mlist.list_id
        self.policy = policy or ListPolicy.of(store, mlist.list_id)
        # Shadow mode: decide and record as always, change nothing.
        self.shadow = self.policy.shadow
        self.prober = Prober(mlist, store)
        self.history = History(self.list_id, store)
        self.hard = HardBounces(self.list_id, store)

    # -- reading --------------------------------------------------------

    def confirm_after(self) -> int:
        return self.policy.confirm_after

    def state_of(self, email: str, lock: bool = False) -> MemberState | None:
        query = select(MemberState).filter_by(list_id=self.list_id,
                                              email=email.lower())
        if lock:
            query = query.with_for_update()
        return self.store.scalars(query).one_or_none()

    def locked_state(self, email: str) -> MemberState:
        """The member's state row, created if new, locked for this
        transaction (PostgreSQL; SQLite serialises writers anyway)."""
        return upsert_locked(self.store, MemberState, dict(
            list_id=self.list_id, email=email.lower(), state=OK, run=0,
            reset_after=0), ('list_id', 'email'))

    def current_run(self, email: str, kind: str, after: int) -> int:
        """The run ending at the member's newest counted hard bounce."""
        return self.hard.newest_run(email, kind, after)

    # -- a bounce -------------------------------------------------------

    def apply(self, member: IMember, email: str, decision: Decision,
              campaign: Campaign | None, attribution: str, at: datetime.datetime,
              evidence: EvidenceLevel = EvidenceLevel.UNVERIFIED,
              probe: Probe | None = None,
              may_probe: bool = True) -> Applied:
        """Record one classified bounce and act on it.

        What follows is the state machine's (machine.py); a removal or
        confirmation it calls for is carried out only on verified
        `evidence`; unverified evidence sends the member a probe instead
        (see probes.py), if `may_probe` (a notice naming many members
        probes only a sample).  `probe`: the bounce is of that probe.

        Only verified failures reach the circuit breaker: a forged notice
        can neither trip it (holding real removals) nor make it take back
        what verified bounces did.  Unverified ones are the owners'
        "unverified reports", counted from the history.
        """
        # Read: every fact the decision needs, before anything is written
        # (one flush at the end writes the member's row once).
        state = self.locked_state(email)
        counted = (decision.action == Action.COUNT and campaign is not None
                   and self.hard.count(email, campaign, state.reset_after))
        newest = through = 0
        confirm_after = None        # asked only for counted bounces
        sequences = None
        if counted and campaign is not None and state.state != CONFIRMED:
            confirm_after = self.confirm_after()
            sequences = frozenset(self.hard.sequences(
                email, campaign.kind, state.reset_after))
            newest = longest_run_through(sequences, max(sequences))
            through = longest_run_through(sequences, campaign.sequence)
        breaker = CircuitBreaker(self.mlist, self.store)
        tripped = (breaker.observe(campaign, email, decision, at)
                   if evidence.verified else None)
        probe_change = None
        if probe is not None and decision.classification == Classification.HARD:
            # The probe went to this address alone and bounced hard: what
            # waited for it is verified now.
            self.prober.bounced(probe, at)
            probe_change = Change(probe.change)
        probes = self._probe_facts(state, at) if not evidence.verified and \
            decision.classification == Classification.HARD else None
        # Decide.
        standing, change = machine.after_bounce(standing_of(state), Bounce(
            Classification(decision.classification), Action(decision.action),
            campaign is not None, counted, newest, through, probe_change),
            confirm_after)
        # Write.
        self._note_bounce(state, decision, campaign, evidence, at,
                          of_probe=probe is not None)
        take(state, standing)
        self.history.record(
            email, EventName.BOUNCE, at, decision=decision, campaign=campaign,
            attribution=attribution, counted=counted, evidence=evidence,
            detail=str(decision.evidence) or None)
        if not evidence.verified and not counted:
            state.unverified_kept += 1
            if state.unverified_kept > UNVERIFIED_KEPT:
                self.history.bound_unverified(email)
                state.unverified_kept = UNVERIFIED_KEPT
        zope.event.notify(BounceClassified(self.mlist, email, decision,
                                           campaign, counted))
        if change is not None:
            carried: AnyDecision = decision
            if probe is not None and probe_change is not None:
                carried = self._waiting_decision(probe, decision, change)
            hold = None
            if evidence.verified:
                hold = breaker.active_hold(campaign, email)
                if hold is None and not self.shadow:
                    hold = breaker.cap_hold(at)
                if hold is None:
                    self.prober.supersede(
                        email, at, 'verified evidence (%s)' % evidence.value)
            self.carry_out(member, email, state, change, at, Request(
                carried, campaign, evidence, may_probe=may_probe,
                probes=probes, counted=sequences), hold)
        self.mirror(member, state, at)
        self.store.flush()
        return Applied(state, tripped if tripped is not None and
                       tripped.campaign_id is not None and campaign is not None
                       else None)

    @staticmethod
    def _note_bounce(state: MemberState, decision: Decision,
                     campaign: Campaign | None, evidence: EvidenceLevel,
                     at: datetime.datetime, of_probe: bool) -> None:
        """What the member's row says of its last bounce."""
        recipient = decision.recipient
        state.last_bounce_at = at
        state.last_classification = decision.classification
        state.last_rule = decision.rule
        state.last_status = recipient.status
        state.last_smtp_code = recipient.smtp_code
        if not of_probe:
            # A probe is no campaign: the last campaign bounced stays.
            state.last_campaign = campaign.message_id if campaign else None
        state.last_evidence = evidence.value
        if evidence.verified:
            state.verified_failure_at = at

    def _probe_facts(self, state: MemberState,
                     at: datetime.datetime) -> ProbeFacts:
        """What a probe request for the member needs (its probes are read
        only if it ever had one)."""
        return ProbeFacts(
            self.prober.recent(state.email, at) if state.probed_at else [],
            state.verified_failure_at is not None)

    def _waiting_decision(self, probe: Probe, decision: AnyDecision,
                          change: Change) -> AnyDecision:
        """The decision to carry out after a probe bounced: a removal waits
        with the decision that asked for it (its rule is why)."""
        if change is not Change.REMOVE or decision.action == Action.UNSUBSCRIBE:
            return decision
        return StoredDecision.of_probe(probe) if probe.rule else decision

    # -- a removal or confirmation ----------------------------------------

    def carry_out(self, member: IMember | None, email: str, state: MemberState,
                  change: Change, at: datetime.datetime, request: Request,
                  hold: Hold | None = None) -> None:
        """Carry out, or keep back, a removal or confirmation: the state
        machine's `enforce` says which effect (`hold`: the circuit-breaker
        hold that covers the member); its executor carries it out."""
        newest = 0
        if change is Change.CONFIRM:
            counted = request.counted
            if counted is None:
                counted = frozenset(self.hard.sequences(
                    email, self._kind(member, request), state.reset_after))
                request = replace(request, counted=counted)
            newest = longest_run_through(counted, max(counted)) \
                if counted else 0
        standing, effect = machine.enforce(
            standing_of(state), change, verified=request.counts_as_verified,
            shadow=self.shadow, held=hold is not None, newest_run=newest)
        take(state, standing)
        if effect is not None:
            _EXECUTORS[effect](self, member, email, state, change, at,
                               request, hold)

    def _probe(self, member: IMember | None, email: str, state: MemberState,
               change: Change, at: datetime.datetime, request: Request,
               hold: Hold | None) -> None:
        """Unverified evidence: the change waits for a probe (unless one
        suspicious report named the member among too many)."""
        if request.decision is None:
            return
        if not request.may_probe:
            self.history.record(
                email, EventName.UNVERIFIED, at, campaign=request.campaign,
                evidence=request.evidence, detail='would %s on verified '
                'evidence; not probed: one unverified notice named many '
                'members (a suspicious report)' % change)
            return
        probe, why = self.prober.request(
            email, change, request.decision, request.evidence,
            request.campaign, at,
            request.probes or self._probe_facts(state, at))
        if probe is not None:
            state.probed_at = probe.created_at
        self.history.record(
            email, EventName.VERIFYING if probe else (
                EventName.NOT_ENFORCED if request.probe_note
                else EventName.UNVERIFIED), at,
            campaign=request.campaign, evidence=request.evidence,
            detail='%swould %s on verified evidence; %s'
            % (request.probe_note, change, why))

    def _hold(self, member: IMember | None, email: str, state: MemberState,
              change: Change, at: datetime.datetime, request: Request,
              hold: Hold | None) -> None:
        """A circuit-breaker hold keeps the change back until an owner
        releases or discards it."""
        if hold is not None:
            event = self.history.record(
                email, EventName.HELD, at, decision=request.decision,
                campaign=request.campaign, hold_id=hold.id,
                detail='would %s' % change, evidence=request.evidence)
            self.store.add(HeldDecision(
                hold_id=hold.id, list_id=self.list_id, email=email.lower(),
                change=change, held_at=at, **{
                    name: getattr(event, name) for name in DECISION_FIELDS},
                campaign=event.campaign))

    def _record_shadow(self, member: IMember | None, email: str,
                       state: MemberState, change: Change,
                       at: datetime.datetime, request: Request,
                       hold: Hold | None) -> None:
        """Shadow mode: what would be done is kept, to be carried out
        when shadow mode ends, and the history says so."""
        state.changed_at = at
        event = self.history.record(
            email, EventName('would-%s' % change), at,
            decision=request.decision, campaign=request.campaign,
            evidence=request.evidence,
            detail='shadow mode' if change is Change.REMOVE else
            'shadow mode: hard bounces in %d consecutive campaigns'
            % state.run)
        # The member's row is locked: no other pass writes this one.
        self.store.merge(ShadowDecision(
            list_id=self.list_id, email=email.lower(), change=change,
            decided_at=at, **{
                name: getattr(event, name) for name in DECISION_FIELDS},
            campaign=event.campaign))

    def _remove(self, member: IMember | None, email: str, state: MemberState,
                change: Change, at: datetime.datetime, request: Request,
                hold: Hold | None) -> None:
        """The member is unsubscribed, the owners told."""
        decision, evidence = request.decision, request.evidence
        state.changed_at = at
        self.history.record(email, EventName.REMOVED, at, decision=decision,
                            campaign=request.campaign,
                            snapshot=membership.member_snapshot(member),
                            evidence=evidence)
        if member is None or not membership.remove(self.mlist, email):
            return
        log.info('bouncerules: removed %s from %s: %s (%s)', email,
                 self.list_id, decision.explain() if decision else '-',
                 evidence.value)
        if request.notify and decision is not None and \
                self.mlist.bounce_notify_owner_on_removal:
            notices.removed(self.mlist, email, decision, evidence)
        zope.event.notify(MemberRemoved(self.mlist, email, decision))

    def _confirm(self, member: IMember | None, email: str, state: MemberState,
                 change: Change, at: datetime.datetime, request: Request,
                 hold: Hold | None) -> None:
        """Delivery stops, the owners are told."""
        kind = self._kind(member, request)
        sequences = request.counted or frozenset()   # carry_out read them
        state.changed_at = at
        snapshot = membership.member_snapshot(member)
        membership.stop_delivery(member)
        self.history.record(email, EventName.CONFIRMED, at,
                            campaign=request.campaign,
                            detail='hard bounces in %d consecutive campaigns'
                            % state.run, snapshot=snapshot,
                            evidence=request.evidence)
        log.info('bouncerules: %s confirmed bouncing on %s (%d campaigns, %s)',
                 email, self.list_id, state.run, request.evidence.value)
        if request.notify and self.mlist.bounce_notify_owner_on_disable:
            notices.confirmed(self.mlist, email, state,
                              self.hard.campaigns(kind, sequences))
        zope.event.notify(BounceConfirmed(self.mlist, email, state.run))

    @staticmethod
    def _kind(member: IMember | None, request: Request) -> str:
        """The kind of campaign a change is about: the campaign's own, or
        the member's kind without a campaign."""
        campaign = request.campaign
        return campaign.kind if campaign is not None else campaign_kind(member)

    # -- signs of life and owners' decisions --------------------------------

    def reset(self, member: IMember | None, email: str, why: str,
              sequence: int | None, at: datetime.datetime | None = None) -> bool:
        """The member showed life: hard bounces up to `sequence` are void.

        Confirmed and removed members are not reset (only an admin's
        re-enable brings a confirmed member back), but what shadow mode
        only recorded is void, and so is a change waiting for its probe.
        Returns True if reset.
        """
        at = at or now()
        state = self.locked_state(email)
        reset_after = max(state.reset_after, sequence or 0)
        standing = machine.after_reset(standing_of(state), self.current_run(
            email, campaign_kind(member), reset_after))
        if standing is None:
            self.history.record(email, why, at, detail='no reset: member is %s'
                                % state.state)
            return False
        self.prober.supersede(
            email, at, 'the member showed life (%s)' % why)
        state.reset_after = reset_after
        take(state, standing)
        state.changed_at = at
        self.history.record(email, why, at, detail='hard bounces up to '
                            'campaign %d no longer count' % state.reset_after)
        self.mirror(member, state, None)
        zope.event.notify(BounceRunReset(self.mlist, email, why))
        return True

    def reenable(self, member: IMember | None, email: str,
                 latest_sequence: int | None,
                 at: datetime.datetime | None = None) -> MemberState:
        """An admin's decision: deliver again and forget the run."""
        at = at or now()
        state = self.locked_state(email)
        take(state, machine.after_reenable(standing_of(state)))
        state.reset_after = max(state.reset_after, latest_sequence or 0)
        state.changed_at = at
        membership.deliver_again(member)
        self.prober.supersede(email, at, 're-enabled')
        self.history.record(email, EventName.REENABLE, at)
        self.mirror(member, state, None)
        zope.event.notify(BounceRunReset(self.mlist, email, EventName.REENABLE))
        return state

    def undo(self, email: str, actor: str, latest_sequence: int | None,
             at: datetime.datetime | None = None) -> Event:
        """Take back the plugin's last removal or confirmation of `email`.

        A removed member is subscribed again with the delivery mode and
        preferences it had, without a welcome message; a confirmed one gets
        its delivery back.  Either way its run starts from zero.  Returns
        the event undone; LookupError if there is nothing to undo.
        """
        at = at or now()
        undone = self.history.last_undoable(email)
        if undone is None:
            raise LookupError(email)
        snapshot = json.loads(undone.snapshot or '{}')
        member = self.mlist.members.get_member(email)
        if undone.event == EventName.REMOVED and member is None:
            member = membership.resubscribe(self.mlist, email, snapshot)
        else:
            membership.deliver_again(member, snapshot)
        state = self.locked_state(email)
        take(state, machine.after_undo(standing_of(state)))
        state.changed_at = at
        state.reset_after = max(state.reset_after, latest_sequence or 0)
        self.prober.supersede(email, at, 'undone')
        self.history.record(email, EventName.UNDO, at, actor=actor,
                            detail='undid the %s of %s' % (
                                'removal' if undone.event == EventName.REMOVED
                                else 'confirmation', undone.at.isoformat()))
        self.mirror(member, state, None)
        zope.event.notify(BounceRunReset(self.mlist, email, EventName.UNDO))
        return undone

    def mirror(self, member: IMember | None, state: MemberState,
               at: datetime.datetime | None) -> None:
        membership.mirror(member, state, at, self.shadow)


_EXECUTORS: dict[Effect, _Executor] = {
    Effect.PROBE: Ledger._probe,
    Effect.HOLD: Ledger._hold,
    Effect.SHADOW: Ledger._record_shadow,
    Effect.REMOVE: Ledger._remove,
    Effect.CONFIRM: Ledger._confirm,
}
