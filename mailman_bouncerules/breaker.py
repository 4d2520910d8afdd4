"""The circuit breaker: no mass removals when the list server is the problem.

When, within one campaign, an unusual share of the recipients at one
receiving domain (or of all recipients) fail with the same rule, the cause
is almost never that many dead mailboxes at once: the list server got
blocklisted, or the provider is having an outage, whatever its replies say
("550 5.1.1 user unknown" included).  The breaker then trips: every removal
and confirmation for that campaign and domain is held, the ones already
made in that campaign are taken back, and the list owners are told once.
An admin releases the held decisions (they are applied then) or discards
them (and the hard bounces of that campaign at that domain stop counting).
"""

import logging

from mailman.utilities.datetime import now
from public import public
from sqlalchemy import delete, func, select, update

from mailman_bouncerules import notices
from mailman_bouncerules.campaigns import campaign_kind, longest_run_through
from mailman_bouncerules.model import (
    CONFIRMED, DISCARDED, HARD, HELD, OK, RELEASED, SOFT, Campaign,
    CampaignDomain, Event, Failures, HardBounce, Hold)
from mailman_bouncerules.report import RecipientReport
from mailman_bouncerules.settings import plugin_settings
from mailman_bouncerules.storage import insert_ignoring_duplicates

log = logging.getLogger('mailman.bounce')

ALL_DOMAINS = '*'
DEFAULT_MIN_FAILURES = 20
DEFAULT_SHARE = 0.3


@public
def thresholds():
    """(minimum failures, minimum share of recipients) that trip."""
    settings = plugin_settings()
    return (int(settings.get('breaker_min_failures', '') or
                DEFAULT_MIN_FAILURES),
            float(settings.get('breaker_share', '') or DEFAULT_SHARE))


def domain_of(email):
    return email.rpartition('@')[2].lower()


@public
class CircuitBreaker:

    def __init__(self, mlist, store):
        self.mlist = mlist
        self.store = store

    def active_hold(self, campaign, email):
        """The hold that keeps back decisions for `email` in `campaign`."""
        if campaign is None:
            return None
        return self.store.scalars(select(Hold).filter_by(
            campaign_id=campaign.id, status=HELD).filter(Hold.domain.in_(
                (domain_of(email), ALL_DOMAINS)))).first()

    def observe(self, campaign, email, decision):
        """After a hard bounce is recorded: trip if its rule now fails an
        unusual share of the domain's (or the campaign's) recipients.
        Returns the hold it created, or None."""
        if campaign is None or decision.classification != 'hard':
            return None
        minimum, share = thresholds()
        first = self._first_failure(campaign, email, decision.rule)
        for scope in (domain_of(email), ALL_DOMAINS):
            failures = self._count(campaign, scope, decision.rule, first)
            recipients = self._recipients(campaign, scope)
            if recipients and failures >= minimum and \
                    failures >= share * recipients:
                return self._trip(campaign, scope, decision, failures,
                                  recipients)
        return None

    def _first_failure(self, campaign, email, rule):
        """Is this the member's only bounce of `campaign` by `rule`?
        (Several bounces of one member count once.)"""
        return self.store.scalar(select(func.count()).select_from(
            Event).filter_by(list_id=self.mlist.list_id, email=email.lower(),
                             event='bounce', campaign=campaign.message_id,
                             rule=rule)) <= 1

    def _count(self, campaign, scope, rule, increment):
        key = dict(campaign_id=campaign.id, domain=scope, rule=rule)
        insert_ignoring_duplicates(self.store, Failures, failures=0, **key)
        if increment:
            self.store.execute(update(Failures).filter_by(**key).values(
                failures=Failures.failures + 1))
        return self.store.scalar(select(Failures.failures).filter_by(**key))

    def _recipients(self, campaign, scope):
        if scope == ALL_DOMAINS:
            return campaign.recipients or 0
        return self.store.scalar(select(CampaignDomain.recipients).filter_by(
            campaign_id=campaign.id, domain=scope)) or 0

    def _trip(self, campaign, scope, decision, failures, recipients):
        created = insert_ignoring_duplicates(
            self.store, Hold, list_id=self.mlist.list_id,
            campaign_id=campaign.id, domain=scope, rule=decision.rule,
            failures=failures, recipients=recipients,
            sample=(decision.recipient.diagnostic or '')[:500],
            tripped_at=now(), status=HELD)
        hold = self.store.scalars(select(Hold).filter_by(
            campaign_id=campaign.id, domain=scope)).one()
        if not created:
            return None         # tripped before (another process, or scope)
        log.warning('bouncerules: circuit breaker tripped on %s, campaign %s, '
                    'domain %s: %d of %d recipients failed by rule %s',
                    self.mlist.list_id, campaign.message_id, scope, failures,
                    recipients, decision.rule)
        notices.breaker_tripped(self.mlist, campaign, hold)
        return hold


@public
class HeldDecisions:
    """What the ledger does with the decisions a trip holds (mixed into
    `Ledger`, whose state and history methods it uses)."""

    def _hold(self, email, hold, decision, campaign, at):
        """Keep a removal back until an admin releases or discards it."""
        state = self.locked_state(email)
        if state.state in (OK, SOFT):
            state.state = HARD
        self._event(email, 'held', at, decision=decision, campaign=campaign,
                    hold_id=hold.id, detail='would remove')

    def _take_back(self, hold, campaign, at):
        """The breaker tripped: removals and confirmations this campaign
        already caused in the hold's scope are undone and held instead."""
        done = self.store.scalars(select(Event).filter_by(
            list_id=self.list_id, campaign=campaign.message_id).filter(
            Event.event.in_(('removed', 'confirmed')))).all()
        for event in done:
            if hold.domain not in ('*', event.email.rpartition('@')[2]):
                continue
            if self._last_undoable(event.email) is not event:
                continue
            self.undo(event.email, 'circuit-breaker', 0, at)
            state = self.locked_state(event.email)
            state.state = HARD
            held = self._event(event.email, 'held', at, campaign=campaign,
                               hold_id=hold.id, detail='would %s' % (
                                   'remove' if event.event == 'removed'
                                   else 'confirm'))
            for name in ('classification', 'action', 'rule', 'reason',
                         'status', 'smtp_code', 'diagnostic'):
                setattr(held, name, getattr(event, name))

    def release(self, hold, actor, at=None):
        """Apply what the hold kept back, now."""
        at = at or now()
        campaign = self.store.get(Campaign, hold.campaign_id)
        for event in self._held_events(hold):
            member = self.mlist.members.get_member(event.email)
            state = self.locked_state(event.email)
            if event.detail == 'would remove':
                if member is not None:
                    self._remove(member, event.email, state,
                                 _StoredDecision(event), at)
            elif member is not None and state.state != CONFIRMED:
                sequences = self._hard_sequences(event.email, campaign.kind,
                                                 state.reset_after)
                self._confirm(member, event.email, state, campaign, sequences,
                              longest_run_through(sequences, max(sequences))
                              if sequences else 0, at)
            self._mirror(member, state, None)
        self._decide(hold, RELEASED, actor, at)

    def discard(self, hold, actor, at=None):
        """Drop what the hold kept back; the hard bounces of that campaign
        in the hold's scope stop counting."""
        at = at or now()
        campaign = self.store.get(Campaign, hold.campaign_id)
        counted = [email for email in self.store.scalars(
            select(HardBounce.email).filter_by(
                list_id=self.list_id, kind=campaign.kind,
                sequence=campaign.sequence))
            if hold.domain in ('*', email.rpartition('@')[2])]
        self.store.execute(delete(HardBounce).filter_by(
            list_id=self.list_id, kind=campaign.kind,
            sequence=campaign.sequence).filter(HardBounce.email.in_(counted)))
        held = {event.email for event in self._held_events(hold)}
        for email in set(counted) | held:
            state = self.locked_state(email)
            member = self.mlist.members.get_member(email)
            state.run = self._current_run(email, campaign_kind(member),
                                          state.reset_after)
            if state.run == 0 and state.state == HARD:
                state.state = OK
            self._mirror(member, state, None)
        self._decide(hold, DISCARDED, actor, at)

    def _held_events(self, hold):
        return self.store.scalars(select(Event).filter_by(
            list_id=self.list_id, event='held', hold_id=hold.id)).all()

    def _decide(self, hold, status, actor, at):
        hold.status, hold.actor, hold.decided_at = status, actor, at
        for email in sorted({e.email for e in self._held_events(hold)}):
            self._event(email, status, at, actor=actor, hold_id=hold.id)


class _StoredDecision:
    """A decision as the history recorded it, to apply it later."""

    def __init__(self, event):
        self.classification = event.classification
        self.action = event.action
        self.rule = event.rule
        self.reason = event.reason
        self.recipient = RecipientReport(
            address=event.email, status=event.status,
            smtp_code=event.smtp_code, diagnostic=event.diagnostic)

    def explain(self):
        return 'rule %s (%s), held by the circuit breaker and released' % (
            self.rule, self.reason)
