"""The bounce ledger of a list: decisions in, member states out.

Everything that changes a member's bounce state goes through here, inside
the caller's transaction, with the member's row locked: several runner
processes may handle bounces of the same member at once.

The confirmed state depends only on *which* campaigns hard-bounced, never
on the order bounces arrive in: a member is confirmed when the set of its
counted hard-bounced campaigns holds `confirm_after` consecutive sequence
numbers.  A reset (an open, a post, a re-enable) moves a watermark: hard
bounces of campaigns up to it no longer count.
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

import zope.event
from mailman.app.membership import delete_member
from mailman.interfaces.action import Action as ModerationAction
from mailman.interfaces.mailinglist import IMailingList
from mailman.interfaces.member import (
    DeliveryMode,
    DeliveryStatus,
    IMember,
    MemberRole,
    NotAMemberError,
)
from mailman.interfaces.usermanager import IUserManager
from mailman.utilities.datetime import now
from public import public
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from zope.component import getUtility

from mailman_bouncerules.app import machine, notices
from mailman_bouncerules.app.breaker import CircuitBreaker
from mailman_bouncerules.app.campaigns import (
    campaign_kind,
    find_campaign,
    longest_run_through,
)
from mailman_bouncerules.app.decisions import AnyDecision, StoredDecision
from mailman_bouncerules.app.events import (
    BounceClassified,
    BounceConfirmed,
    BounceRunReset,
    MemberRemoved,
)
from mailman_bouncerules.app.holds import HeldDecisions
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
from mailman_bouncerules.config.settings import settings
from mailman_bouncerules.interfaces import (
    Action,
    Classification,
    EventName,
    EvidenceLevel,
)
from mailman_bouncerules.model.storage import (
    insert_ignoring_duplicates,
    upsert_locked,
)
from mailman_bouncerules.model.tables import (
    CONFIRMED,
    OK,
    REMOVED,
    Campaign,
    Event,
    HardBounce,
    Hold,
    MemberState,
    Probe,
)

log = logging.getLogger('mailman.bounce')

DIAGNOSTIC_LIMIT = 2000
# Anyone can mail the -bounces address: what an unverified notice leaves
# in a member's history is bounded, in size and in number (the newest
# uncounted ones are kept; counted ones are at most one per campaign).
UNVERIFIED_DIAGNOSTIC_LIMIT = 300
UNVERIFIED_KEPT = 100
# The changes an owner can undo.
UNDOABLE = (EventName.REMOVED, EventName.CONFIRMED)


@public
def member_snapshot(member: IMember | None) -> dict[str, Any] | None:
    """The member's own settings, as undo restores them (JSON-able)."""
    if member is None:
        return None
    preferences = member.preferences
    snapshot = {'display_name': member.display_name}
    for name in ('delivery_mode', 'delivery_status'):
        value = getattr(preferences, name)
        snapshot[name] = value.name if value is not None else None
    for name in ('acknowledge_posts', 'receive_list_copy',
                 'receive_own_postings', 'hide_address'):
        snapshot[name] = getattr(preferences, name)
    action = member.moderation_action
    snapshot['moderation_action'] = action.name if action is not None else None
    return snapshot


@public
class Ledger:
    """One list's bounce states and history."""

    def __init__(self, mlist: IMailingList, store: Session,
                 policy: ListPolicy | None = None) -> None:
        self.mlist = mlist
        self.store = store
        self.list_id = mlist.list_id
        self.policy = policy or ListPolicy.of(store, mlist.list_id)
        # Shadow mode: decide and record as always, change nothing.
        self.shadow = self.policy.shadow
        self.prober = Prober(mlist, store)
        self.holds = HeldDecisions(self)

    # -- reading --------------------------------------------------------

    def confirm_after(self) -> int:
        return self.policy.confirm_after

    def state_of(self, email: str, lock: bool = False) -> MemberState | None:
        query = select(MemberState).filter_by(list_id=self.list_id,
                                              email=email.lower())
        if lock:
            query = query.with_for_update()
        return self.store.scalars(query).one_or_none()

    # -- writing --------------------------------------------------------

    def locked_state(self, email: str) -> MemberState:
        """The member's state row, created if new, locked for this
        transaction (PostgreSQL; SQLite serialises writers anyway)."""
        return upsert_locked(self.store, MemberState, dict(
            list_id=self.list_id, email=email.lower(), state=OK, run=0,
            reset_after=0), ('list_id', 'email'))

    def apply(self, member: IMember, email: str, decision: Decision,
              campaign: Campaign | None, attribution: str, at: datetime.datetime,
              evidence: EvidenceLevel = EvidenceLevel.UNVERIFIED,
              probe: Probe | None = None,
              may_probe: bool = True) -> MemberState:
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
                   and self._count(state, campaign))
        newest = through = 0
        confirm_after = None        # a settings query, for counted bounces
        if counted and campaign is not None and state.state != CONFIRMED:
            confirm_after = self.confirm_after()
            sequences = self._hard_sequences(state.email, campaign.kind,
                                             state.reset_after)
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
        # Decide, then write.
        standing, change = machine.after_bounce(standing_of(state), Bounce(
            Classification(decision.classification), Action(decision.action),
            campaign is not None, counted, newest, through, probe_change),
            confirm_after)
        recipient = decision.recipient
        state.last_bounce_at = at
        state.last_classification = decision.classification
        state.last_rule = decision.rule
        state.last_status = recipient.status
        state.last_smtp_code = recipient.smtp_code
        if probe is None:
            # A probe is no campaign: the last campaign bounced stays.
            state.last_campaign = campaign.message_id if campaign else None
        state.last_evidence = evidence.value
        if evidence.verified:
            state.verified_failure_at = at
        take(state, standing)
        event = self.record_event(email, EventName.BOUNCE, at, decision=decision,
                                  campaign=campaign, attribution=attribution,
                                  counted=counted, evidence=evidence,
                                  detail=str(decision.evidence) or None)
        if not evidence.verified and not counted:
            state.unverified_kept += 1
            if state.unverified_kept > UNVERIFIED_KEPT:
                self._bound_unverified(email)
                state.unverified_kept = UNVERIFIED_KEPT
        zope.event.notify(BounceClassified(self.mlist, email, decision,
                                           campaign, counted))
        if tripped is not None and tripped.campaign_id is not None \
                and campaign is not None:
            self.holds.take_back(tripped, campaign, at)
        if change is not None:
            carried: AnyDecision = decision
            if probe is not None and probe_change is not None:
                carried = self._waiting_decision(probe, decision, change)
            self._enforce(member, email, state, change, carried, campaign,
                          at, evidence, event, breaker, may_probe, probes)
        self.mirror(member, state, at)
        self.store.flush()
        return state

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
        if change is not Change.REMOVE or decision.action == 'unsubscribe':
            return decision
        asked = self.store.get(Event, probe.event_id) if probe.event_id else None
        return (StoredDecision(asked, 'verified by a probe that bounced')
                if asked is not None else decision)

    def _enforce(self, member: IMember, email: str, state: MemberState,
                 change: Change, decision: AnyDecision,
                 campaign: Campaign | None, at: datetime.datetime,
                 evidence: EvidenceLevel, event: Event,
                 breaker: CircuitBreaker, may_probe: bool,
                 probes: ProbeFacts | None) -> None:
        """A bounce called for a removal or confirmation: find the hold
        that covers it (verified evidence only) and carry it out as the
        state machine says."""
        hold = None
        if evidence.verified:
            hold = breaker.active_hold(campaign, email)
            if hold is None and not self.shadow:
                hold = breaker.cap_hold(at)
            if hold is None:
                self.prober.supersede(
                    email, at, 'verified evidence (%s)' % evidence.value)
        self.carry_out(member, email, state, change, at, decision=decision,
                       campaign=campaign, evidence=evidence, asked_by=event,
                       hold=hold, may_probe=may_probe, probes=probes)

    def carry_out(self, member: IMember | None, email: str, state: MemberState,
                  change: Change, at: datetime.datetime, *,
                  decision: AnyDecision | None = None,
                  campaign: Campaign | None = None,
                  evidence: EvidenceLevel = EvidenceLevel.UNVERIFIED,
                  asked_by: Event | None = None, hold: Hold | None = None,
                  verified: bool | None = None, notify: bool = True,
                  probe_note: str = '', may_probe: bool = True,
                  probes: ProbeFacts | None = None) -> None:
        """Carry out, or keep back, a removal or confirmation: the state
        machine's `enforce` says which effect; this executes it.

        `verified`: whether the evidence counts as verified (default: the
        evidence's own level; an owner releasing a hold verifies it);
        `hold`: the circuit-breaker hold that covers the member;
        `asked_by`: the history row that asked (a probe's reason);
        `notify`: whether the owners are told; `probe_note`: what precedes
        the history's words when a probe is asked for instead;
        `may_probe`: false when the notice was one suspicious report of
        many members, of whom this one was not among those probed;
        `probes`: what a probe request needs, if already read.
        """
        verified = evidence.verified if verified is None else verified
        newest = 0
        if change is Change.CONFIRM:
            newest = self._newest_run(member, email, state, campaign)
        standing, effect = machine.enforce(
            standing_of(state), change, verified=verified,
            shadow=self.shadow, held=hold is not None, newest_run=newest)
        take(state, standing)
        if effect is Effect.PROBE and asked_by is not None and not may_probe:
            self.record_event(email, EventName.UNVERIFIED, at,
                              campaign=campaign, evidence=evidence,
                              detail='would %s on verified evidence; not '
                              'probed: one unverified notice named many '
                              'members (a suspicious report)' % change)
        elif effect is Effect.PROBE and asked_by is not None:
            probe, why = self.prober.request(
                email, change, asked_by, campaign, at,
                probes or self._probe_facts(state, at))
            if probe is not None:
                state.probed_at = probe.created_at
            self.record_event(email, EventName.VERIFYING if probe else (
                EventName.NOT_ENFORCED if probe_note
                else EventName.UNVERIFIED), at,
                campaign=campaign, evidence=evidence,
                detail='%swould %s on verified evidence; %s'
                % (probe_note, change, why))
        elif effect is Effect.HOLD and hold is not None:
            self.holds.hold(email, hold, change, decision, campaign, at,
                            evidence)
        elif effect is Effect.SHADOW:
            state.changed_at = at
            self.record_event(
                email, EventName('would-%s' % change), at, decision=decision,
                campaign=campaign, evidence=evidence,
                detail='shadow mode' if change is Change.REMOVE else
                'shadow mode: hard bounces in %d consecutive campaigns'
                % state.run)
        elif effect is Effect.REMOVE:
            self._remove(member, email, state, decision, at, campaign,
                         evidence, notify)
        elif effect is Effect.CONFIRM:
            self._confirm(member, email, state, at, campaign, evidence,
                          notify)

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
            self.record_event(email, why, at, detail='no reset: member is %s'
                              % state.state)
            return False
        self.prober.supersede(
            email, at, 'the member showed life (%s)' % why)
        state.reset_after = reset_after
        take(state, standing)
        state.changed_at = at
        self.record_event(email, why, at, detail='hard bounces up to campaign %d '
                          'no longer count' % state.reset_after)
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
        if member is not None:
            member.preferences.delivery_status = DeliveryStatus.enabled
        self.prober.supersede(email, at, 're-enabled')
        self.record_event(email, EventName.REENABLE, at)
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
        undone = self.last_undoable(email)
        if undone is None:
            raise LookupError(email)
        snapshot = json.loads(undone.snapshot or '{}')
        member = self.mlist.members.get_member(email)
        if undone.event == EventName.REMOVED and member is None:
            member = self._resubscribe(email, snapshot)
        elif member is not None:
            member.preferences.delivery_status = DeliveryStatus[
                snapshot.get('delivery_status') or 'enabled']
        state = self.locked_state(email)
        take(state, machine.after_undo(standing_of(state)))
        state.changed_at = at
        state.reset_after = max(state.reset_after, latest_sequence or 0)
        self.prober.supersede(email, at, 'undone')
        self.record_event(email, EventName.UNDO, at, actor=actor,
                          detail='undid the %s of %s' % (
                        'removal' if undone.event == EventName.REMOVED
                        else 'confirmation', undone.at.isoformat()))
        self.mirror(member, state, None)
        zope.event.notify(BounceRunReset(self.mlist, email, EventName.UNDO))
        return undone

    def last_undoable(self, email: str) -> Event | None:
        """The plugin's removal or confirmation of `email`, if nothing
        took it back since."""
        last = self.last_change(email)
        return last if last is not None and last.event in UNDOABLE else None

    def last_change(self, email: str) -> Event | None:
        """The newest removal, confirmation, undo or re-enable of
        `email`."""
        return self.store.scalars(select(Event).filter_by(
            list_id=self.list_id, email=email.lower()).filter(
            Event.event.in_(UNDOABLE + (EventName.UNDO, EventName.REENABLE)))
            .order_by(Event.at.desc(), Event.id.desc()).limit(1)).first()

    def _resubscribe(self, email: str, snapshot: dict[str, Any]) -> IMember:
        users = getUtility(IUserManager)
        address = users.get_address(email) or users.create_address(
            email, snapshot.get('display_name'))
        if address.verified_on is None:
            address.verified_on = now()
        member = self.mlist.subscribe(address, MemberRole.member,
                                      send_welcome_message=False)
        preferences = member.preferences
        for name, enum in (('delivery_mode', DeliveryMode),
                           ('delivery_status', DeliveryStatus)):
            if snapshot.get(name):
                setattr(preferences, name, enum[snapshot[name]])
        for name in ('acknowledge_posts', 'receive_list_copy',
                     'receive_own_postings', 'hide_address'):
            if snapshot.get(name) is not None:
                setattr(preferences, name, snapshot[name])
        if snapshot.get('moderation_action'):
            member.moderation_action = ModerationAction[
                snapshot['moderation_action']]
        return member

    def enforce_recorded(self, at: datetime.datetime | None = None) -> int:
        """Shadow mode ends: act on what it recorded that still holds.

        A recorded removal or confirmation is carried out, silently (no old
        decision is mailed), only if it is recent (`shadow_enforce_days`),
        was not voided since by a sign of life (an open, a post: see
        `reset`), and rests on verified evidence; one on unverified
        evidence gets its probe first.  Each carried-out change keeps the
        snapshot that `undo` needs.  Returns how many were carried out.
        """
        at = at or now()
        self.shadow = False
        recent = datetime.timedelta(days=settings().shadow_enforce_days)
        carried_out = 0
        for state in self.store.scalars(select(MemberState).filter_by(
                list_id=self.list_id, shadow=True)).all():
            state.shadow = False
            member = self.mlist.members.get_member(state.email)
            recorded = self.store.scalars(select(Event).filter_by(
                list_id=self.list_id, email=state.email).filter(
                Event.event.in_((EventName.WOULD_REMOVE,
                                 EventName.WOULD_CONFIRM))).order_by(
                Event.at.desc(), Event.id.desc())).first()
            if member is None or recorded is None or \
                    state.state not in (CONFIRMED, REMOVED):
                continue
            change = (Change.REMOVE if recorded.event == EventName.WOULD_REMOVE
                      else Change.CONFIRM)
            evidence = EvidenceLevel.of(recorded.evidence)
            campaign = find_campaign(self.store, self.list_id,
                                     recorded.campaign)
            take(state, machine.after_shadow_ends(
                standing_of(state), self.current_run(
                    state.email, campaign_kind(member), state.reset_after)))
            if at - recorded.at > recent:
                self.record_event(state.email, EventName.NOT_ENFORCED, at,
                                  detail='shadow mode ended: the recorded %s is '
                                  'older than %d days' % (
                                change, settings().shadow_enforce_days))
            else:
                self.carry_out(
                    member, state.email, state, change, at,
                    decision=StoredDecision(recorded, 'recorded in shadow mode'),
                    campaign=campaign, evidence=evidence, asked_by=recorded,
                    notify=False, probe_note='shadow mode ended: ')
                if evidence.verified:
                    carried_out += 1
            self.mirror(member, state, None)
        return carried_out

    # -- internals ------------------------------------------------------

    def _bound_unverified(self, email: str) -> None:
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

    def _count(self, state: MemberState, campaign: Campaign) -> bool:
        """Count a hard bounce once per campaign; False if already counted
        or voided by a later reset.

        Late bounces still count after a confirmation, so that what is
        recorded does not depend on the order bounces arrived in.
        """
        if campaign.sequence <= state.reset_after:
            return False
        return insert_ignoring_duplicates(
            self.store, HardBounce, list_id=self.list_id, email=state.email,
            kind=campaign.kind, sequence=campaign.sequence)

    def _hard_sequences(self, email: str, kind: str, after: int) -> set[int]:
        return set(self.store.scalars(
            select(HardBounce.sequence).filter_by(
                list_id=self.list_id, email=email.lower(), kind=kind).filter(
                HardBounce.sequence > after)))

    def current_run(self, email: str, kind: str, after: int) -> int:
        """The run ending at the member's newest counted hard bounce."""
        sequences = self._hard_sequences(email, kind, after)
        return longest_run_through(sequences, max(sequences)) if sequences else 0

    def _newest_run(self, member: IMember | None, email: str,
                    state: MemberState, campaign: Campaign | None) -> int:
        """The run ending at the member's newest counted hard bounce of
        the campaign's kind (the member's own kind without a campaign)."""
        kind = campaign.kind if campaign is not None else campaign_kind(member)
        sequences = self._hard_sequences(email, kind, state.reset_after)
        return longest_run_through(sequences, max(sequences)) if sequences else 0

    def _confirm(self, member: IMember | None, email: str, state: MemberState,
                 at: datetime.datetime, campaign: Campaign | None,
                 evidence: EvidenceLevel, notify: bool) -> None:
        """Execute a confirmation: delivery stops, the owners are told."""
        kind = campaign.kind if campaign is not None else campaign_kind(member)
        sequences = self._hard_sequences(email, kind, state.reset_after)
        state.changed_at = at
        snapshot = member_snapshot(member)
        if member is not None:
            member.preferences.delivery_status = DeliveryStatus.by_bounces
        campaigns = self.store.scalars(select(Campaign.message_id).filter_by(
            list_id=self.list_id, kind=kind).filter(
            Campaign.sequence.in_(sorted(sequences))).order_by(
            Campaign.sequence)).all()
        self.record_event(email, EventName.CONFIRMED, at, campaign=campaign,
                          detail='hard bounces in %d consecutive campaigns'
                          % state.run, snapshot=snapshot, evidence=evidence)
        log.info('bouncerules: %s confirmed bouncing on %s (%d campaigns, %s)',
                 email, self.list_id, state.run, evidence.value)
        if notify and self.mlist.bounce_notify_owner_on_disable:
            notices.confirmed(self.mlist, email, state, campaigns)
        zope.event.notify(BounceConfirmed(self.mlist, email, state.run))

    def _remove(self, member: IMember | None, email: str, state: MemberState,
                decision: AnyDecision | None, at: datetime.datetime,
                campaign: Campaign | None, evidence: EvidenceLevel,
                notify: bool) -> None:
        """Execute a removal: the member is unsubscribed, the owners told."""
        state.changed_at = at
        self.record_event(email, EventName.REMOVED, at, decision=decision,
                          campaign=campaign,
                          snapshot=member_snapshot(member), evidence=evidence)
        if member is None:
            return
        try:
            # No goodbye to a dead mailbox, and Mailman's own owner notice
            # is replaced by ours, which says why.
            delete_member(self.mlist, email, admin_notif=False, userack=False)
        except NotAMemberError:
            return
        log.info('bouncerules: removed %s from %s: %s (%s)', email,
                 self.list_id, decision.explain() if decision else '-',
                 evidence.value)
        if notify and decision is not None and \
                self.mlist.bounce_notify_owner_on_removal:
            notices.removed(self.mlist, email, decision, evidence)
        zope.event.notify(MemberRemoved(self.mlist, email, decision))

    def mirror(self, member: IMember | None, state: MemberState,
               at: datetime.datetime | None) -> None:
        """Keep Mailman's own fields meaningful for existing tools (in
        shadow mode they are stock Mailman's)."""
        if member is None or state.state == REMOVED or self.shadow:
            return
        member.bounce_score = state.run
        if at is not None:
            member.last_bounce_received = at

    def record_event(self, email: str, name: str, at: datetime.datetime,
                     decision: AnyDecision | None = None,
                     campaign: Campaign | None = None,
                     attribution: str | None = None, counted: bool = False,
                     detail: str | None = None,
                     snapshot: dict[str, Any] | None = None,
                     actor: str | None = None, hold_id: int | None = None,
                     evidence: EvidenceLevel | None = None) -> Event:
        what: dict[str, Any] = {}
        if decision is not None:
            recipient = decision.recipient
            limit = (DIAGNOSTIC_LIMIT if evidence is None or evidence.verified
                     else UNVERIFIED_DIAGNOSTIC_LIMIT)
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
