"""What list admins ask and do: the one implementation behind the
`mailman bouncerules` commands and the REST resources.

Errors are `AdminError`s with a message fit to show; the command line
prints them, REST turns them into 400 or 404.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from typing import Any

from mailman.config import config
from mailman.interfaces.listmanager import IListManager
from mailman.interfaces.mailinglist import IMailingList
from mailman.interfaces.member import DeliveryStatus, IMember, MemberRole
from mailman.model.address import Address
from mailman.model.member import Member
from mailman.model.user import User
from mailman.utilities.datetime import now
from public import public
from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select
from zope.component import getUtility
from zope.interface import implementer

from mailman_bouncerules.app import shadow, tracking
from mailman_bouncerules.app.campaigns import (
    campaign_kind,
    find_campaign,
    latest_campaign,
    latest_sequence,
)
from mailman_bouncerules.app.holds import HeldDecisions
from mailman_bouncerules.app.ledger import Ledger
from mailman_bouncerules.app.probes import send_queued_probes
from mailman_bouncerules.interfaces import (
    Classification,
    EventName,
    EvidenceLevel,
    IBounceAdmin,
    ReportFrequency,
)
from mailman_bouncerules.model.storage import (
    insert_ignoring_duplicates,
    lock_rows,
)
from mailman_bouncerules.model.tables import (
    CONFIRMED,
    HARD,
    HELD,
    OK,
    PROBES_OPEN,
    REMOVED,
    SOFT,
    STATES,
    Campaign,
    Event,
    HeldDecision,
    Hold,
    ListSettings,
    MemberState,
    Probe,
)

# One answer of the admin contract (CLI --json, REST): JSON-able.
Row = dict[str, Any]

@public
class AdminError(Exception):
    """A request that cannot be done as asked: malformed (REST's 400)."""


@public
class NotFoundError(AdminError):
    """What the request names does not exist (404)."""


@public
class ConflictError(AdminError):
    """The state of what the request names does not allow it, as of an
    action someone already took (409)."""


@public
def find_list(spec: str) -> IMailingList:
    """A list by posting address (ant@example.com) or List-ID."""
    mlist = getUtility(IListManager).get(spec.strip()) if spec else None
    if mlist is None:
        raise NotFoundError('No such list: %s' % spec)
    return mlist


@public
@implementer(IBounceAdmin)
class ListAdmin:
    """Reports and actions for one list (`IBounceAdmin(mlist)`)."""

    def __init__(self, mlist: IMailingList) -> None:
        self.mlist = mlist
        self.store = config.db.store
        self.ledger = Ledger(mlist, self.store)

    def members(self, state: str | None = None) -> list[Row]:
        """One row per current member (or, for state removed, per removed
        address), its state and last bounce, sorted by address."""
        return list(self.member_rows(state))

    def member_rows(self, state: str | None = None,
                    search: str | None = None,
                    held: bool = False, campaign: str | None = None,
                    bounced: str | None = None) -> MemberRows:
        """The same rows as a sequence the database pages: its length is
        one count, a slice one query (a REST page of a 100,000-member
        roster loads that page alone).  `search`: only addresses that
        contain it (case-insensitive), as a panel's search box asks;
        `held`: only members an open circuit-breaker hold keeps a change
        back for; `campaign` (a Message-ID): only members with a bounce
        attributed to it, of classification `bounced` if given (a panel's
        link from a campaign's "hard: 20")."""
        if state is not None and state not in STATES:
            raise AdminError('Unknown state %r; one of %s'
                             % (state, ', '.join(STATES)))
        found = None
        if campaign:
            found = find_campaign(self.store, self.mlist.list_id, campaign)
            if found is None:
                raise NotFoundError('No campaign %s on %s'
                                    % (campaign, self.mlist.list_id))
        return MemberRows(self, state, (search or '').strip().lower() or None,
                          held, found.message_id if found else None, bounced)

    def member(self, email: str) -> Row:
        """One member's row, as `members()` shows it, or a removed
        address's (state removed); with `actions`, what the server would
        accept for it now (`reenable`, `undo`), so that a panel offers
        only those."""
        email = (email or '').strip()
        member = self.mlist.members.get_member(email)
        state = self.ledger.state_of(email)
        if member is None and (state is None or state.state != REMOVED):
            raise NotFoundError('%s is not a member of %s'
                                % (email, self.mlist.list_id))
        email = member.address.email.lower() if member else email.lower()
        row = _member_row(email, state, self._verifying(email).get(email),
                          self._held(email).get(email))
        row['actions'] = self._actions(member, email, state)
        return row

    def _actions(self, member: IMember | None, email: str,
                 state: MemberState | None) -> list[str]:
        """The actions `reenable()` and `undo()` would accept now."""
        actions = []
        if member is not None and (
                (state is not None and state.state != OK)
                or member.preferences.delivery_status
                is DeliveryStatus.by_bounces):
            actions.append('reenable')
        if state is not None and \
                self.ledger.history.last_undoable(email) is not None:
            actions.append('undo')
        return actions

    def _verifying(self, email: str | None = None) -> dict[str, Row]:
        """{email: the change waiting for its probe} of open probes."""
        query = select(Probe.email, Probe.change, Probe.status).filter_by(
            list_id=self.mlist.list_id).filter(Probe.status.in_(PROBES_OPEN))
        if email is not None:
            query = query.filter_by(email=email.lower())
        return {row.email: {'change': row.change, 'probe': row.status}
                for row in self.store.execute(query)}

    def _held(self, email: str | None = None) -> dict[str, Row]:
        """{email: the change an open circuit-breaker hold keeps back}."""
        query = _under_open_holds(
            select(HeldDecision.email, HeldDecision.change,
                   HeldDecision.hold_id), self.mlist.list_id)
        if email is not None:
            query = query.where(HeldDecision.email == email.lower())
        return {row.email: {'hold': row.hold_id, 'change': row.change}
                for row in self.store.execute(query)}

    def history(self, email: str, newest_first: bool = False) -> list[Row]:
        order = ((Event.at.desc(), Event.id.desc()) if newest_first
                 else (Event.at, Event.id))
        events = self.store.scalars(
            select(Event).filter_by(list_id=self.mlist.list_id,
                                    email=email.strip().lower())
            .order_by(*order)).all()
        if not events and self.mlist.members.get_member(email) is None:
            raise NotFoundError('No history for %s on %s'
                             % (email, self.mlist.list_id))
        return [_event_row(event) for event in events]

    def stats(self) -> Row:
        """The counts, as two SQL aggregates (never a member loaded): each
        current member's state, and the removed ones."""
        by_state = dict(self.store.execute(_member_states(
            self.mlist.list_id)).all())
        removed = self.store.scalar(
            select(func.count()).select_from(MemberState).filter_by(
                list_id=self.mlist.list_id, state=REMOVED))
        # Members whose decisions wait for an owner under an open hold.
        held = self.store.scalar(_under_open_holds(
            select(func.count(func.distinct(HeldDecision.email)))
            .select_from(HeldDecision), self.mlist.list_id))
        # Hard failures nothing verified, in the last week: reports anyone
        # could have sent, counted apart from the members' states.
        unverified = self.store.scalar(
            select(func.count()).select_from(Event).filter_by(
                list_id=self.mlist.list_id, event=EventName.BOUNCE,
                classification=Classification.HARD,
                evidence=EvidenceLevel.UNVERIFIED.value).filter(
                Event.at > now() - datetime.timedelta(days=7)))
        members = sum(by_state.values())
        return {
            'members': members,
            'active': members - by_state.get(CONFIRMED, 0),
            'soft': by_state.get(SOFT, 0),
            'hard': by_state.get(HARD, 0),
            'confirmed': by_state.get(CONFIRMED, 0),
            'removed': removed,
            'held': held,
            'unverified_reports': unverified,
            'shadow': shadow.in_shadow(self.store, self.mlist.list_id),
        }

    def record_open(self, email: str, campaign: str | None = None) -> Row:
        """An open of `campaign` (Message-ID; default: the newest one), as
        an ESP's webhook or another tracker reports it."""
        member = self._member(email)
        if campaign:
            found = find_campaign(self.store, self.mlist.list_id, campaign)
        else:
            found = latest_campaign(self.store, self.mlist.list_id,
                                    campaign_kind(member))
        if found is None:
            raise NotFoundError('No campaign %s on %s' % (
                campaign or 'sent yet', self.mlist.list_id))
        reset = tracking.record_open(self.mlist, member, member.address.email,
                                     found, EventName.OPEN)
        return {'email': member.address.email, 'reset': reset,
                'campaign': found.message_id,
                **self._state(member.address.email)}

    def reenable(self, email: str) -> Row:
        """Deliver again and clear the state; a member with nothing to
        clear is left alone (no history row for a no-op)."""
        member = self._member(email)
        # Locked before the check: of two re-enables at once, the second
        # sees what the first did.
        state = self.ledger.locked_state(member.address.email)
        if (state is None or state.state == OK) and \
                member.preferences.delivery_status is not DeliveryStatus.by_bounces:
            raise ConflictError('%s is not disabled or counted by bounces'
                             % member.address.email)
        self.ledger.reenable(member, member.address.email,
                             latest_sequence(self.store, self.mlist, member))
        return {'email': member.address.email,
                **self._state(member.address.email)}

    def undo(self, email: str, actor: str) -> Row:
        """Take back the plugin's last removal or confirmation of EMAIL.

        The member's row is locked before anything is read: of two undos
        at once (a double click; Mailman's REST has several workers), the
        second waits for the first and then finds it done (409), so no
        member is subscribed twice."""
        email = (email or '').strip().lower()
        if self.ledger.state_of(email) is None:
            raise NotFoundError('Nothing to undo for %s on %s'
                             % (email, self.mlist.list_id))
        self.ledger.locked_state(email)
        member = self.mlist.members.get_member(email)
        try:
            undone = self.ledger.undo(email, actor,
                                      latest_sequence(self.store, self.mlist, member))
        except LookupError:
            done = self.ledger.history.last_change(email)
            if done is not None:
                raise ConflictError('%s on %s was already %s by %s at %s' % (
                    email, self.mlist.list_id,
                    'undone' if done.event == EventName.UNDO
                    else 're-enabled', done.actor or 'an owner',
                    done.at.isoformat())) from None
            raise NotFoundError('Nothing to undo for %s on %s'
                             % (email, self.mlist.list_id)) from None
        return {'email': email, 'undone': undone.event,
                'of': undone.at.isoformat(), **self._state(email)}

    def holds(self) -> list[Row]:
        """The circuit breaker's trips on this list, newest first."""
        rows = []
        for hold in self.store.scalars(select(Hold).filter_by(
                list_id=self.mlist.list_id).order_by(Hold.id.desc())):
            campaign = (self.store.get(Campaign, hold.campaign_id)
                        if hold.campaign_id is not None else None)
            held = dict(self.store.execute(select(
                HeldDecision.email, HeldDecision.change).filter_by(
                hold_id=hold.id).order_by(HeldDecision.email)).all())
            rows.append({
                'id': hold.id, 'status': hold.status,
                'campaign': campaign.message_id if campaign else None,
                'domain': hold.domain,
                'scope': ('all domains' if hold.domain == '*'
                          else 'addresses at %s' % hold.domain),
                'rule': hold.rule,
                'failures': hold.failures, 'recipients': hold.recipients,
                'held': sorted(held),
                # What releasing the hold would do to each member.
                'members': [{'email': email, 'change': change}
                            for email, change in sorted(held.items())],
                'sample': hold.sample,
                'tripped_at': hold.tripped_at.isoformat(),
                'decided_by': hold.actor})
        return rows

    def decide_hold(self, hold_id: int, release: bool, actor: str) -> Row:
        """Release or discard a hold.  Its row is locked before its status
        is read: of a release and a discard at once, the second waits and
        then answers that the hold was already decided (409)."""
        lock_rows(self.store, Hold, id=hold_id)
        hold = self.store.scalars(select(Hold).filter_by(
            id=hold_id).with_for_update()).one_or_none()
        if hold is None or hold.list_id != self.mlist.list_id:
            raise NotFoundError('No hold %s on %s' % (hold_id,
                                                   self.mlist.list_id))
        if hold.status != HELD:
            raise ConflictError('Hold %s was already %s by %s' % (
                hold_id, hold.status, hold.actor or 'an owner'))
        held = HeldDecisions(self.ledger)
        (held.release if release else held.discard)(hold, actor)
        return next(row for row in self.holds() if row['id'] == hold_id)

    def configure(self, confirm_after: int | None = None,
                  tracking_on: bool | None = None,
                  shadow_on: bool | None = None,
                  report: str | None = None) -> Row:
        """Change what is given; return all the list's settings."""
        if confirm_after is not None and confirm_after < 1:
            raise AdminError('confirm_after must be at least 1')
        if report is not None and report not in tuple(ReportFrequency):
            raise AdminError('report must be one of %s'
                             % ', '.join(ReportFrequency))
        insert_ignoring_duplicates(self.store, ListSettings,
                                   list_id=self.mlist.list_id,
                                   post_sequence=0, digest_sequence=0)
        settings = self.store.get(ListSettings, self.mlist.list_id)
        if confirm_after is not None:
            settings.confirm_after = confirm_after
        if tracking_on is not None:
            settings.tracking = bool(tracking_on)
        if report is not None:
            settings.report = report
        if shadow_on is not None:
            was = shadow.in_shadow(self.store, self.mlist.list_id)
            settings.shadow = bool(shadow_on)
            if was and not shadow_on:
                shadow.end_shadow(self.ledger)
                shadow.forget_stock_events(self.store, self.mlist.list_id)
                # The probes it asked for go now, not at the bounce
                # runner's next pass.
                send_queued_probes(self.store, list_id=self.mlist.list_id)
        self.ledger = Ledger(self.mlist, self.store)
        return self.settings()

    def settings(self) -> Row:
        settings = self.store.get(ListSettings, self.mlist.list_id)
        return {'list_id': self.mlist.list_id,
                'confirm_after': self.ledger.confirm_after(),
                'tracking': tracking.tracking_enabled(self.store,
                                                      self.mlist.list_id),
                'shadow': shadow.in_shadow(self.store, self.mlist.list_id),
                'report': settings.report if settings else 'off'}

    def open_rates(self) -> list[Row]:
        return tracking.open_rates(self.store, self.mlist.list_id)

    def _member(self, email: str) -> IMember:
        member = self.mlist.members.get_member((email or '').strip())
        if member is None:
            raise NotFoundError('%s is not a member of %s'
                             % (email, self.mlist.list_id))
        return member

    def _state(self, email: str) -> Row:
        row = _member_row(email.lower(), self.ledger.state_of(email))
        return {'state': row['state'], 'run': row['run']}


def _roster(list_id: str) -> tuple[Select, Any, Any]:
    """(query, email, state) over the list's current members, as Mailman's
    roster counts them (subscribed by address, or by user through the
    user's preferred address), each beside its state row if it has one
    (none: ok).  Callers choose the columns (`with_only_columns`)."""
    own, preferred = aliased(Address), aliased(Address)
    email = func.lower(func.coalesce(own.email, preferred.email))
    state = func.coalesce(MemberState.state, OK)
    query = (select(email)
             .select_from(Member)
             .outerjoin(own, own.id == Member.address_id)
             .outerjoin(User, User.id == Member.user_id)
             .outerjoin(preferred, preferred.id == User._preferred_address_id)
             .outerjoin(MemberState, and_(MemberState.list_id == list_id,
                                          MemberState.email == email))
             .where(Member.list_id == list_id,
                    Member.role == MemberRole.member))
    return query, email, state


def _under_open_holds(query: Select, list_id: str) -> Select:
    """`query` over the list's held decisions, those of open holds only."""
    return (query.join(Hold, Hold.id == HeldDecision.hold_id)
            .where(HeldDecision.list_id == list_id, Hold.status == HELD))


def _member_states(list_id: str) -> Select:
    """(state, how many) of the list's current members."""
    query, _email, state = _roster(list_id)
    return query.with_only_columns(state, func.count()).group_by(state)


@public
class MemberRows(Sequence):
    """A list's member rows, paged by the database (see members())."""

    def __init__(self, admin: ListAdmin, state: str | None,
                 search: str | None = None, held: bool = False,
                 campaign: str | None = None,
                 bounced: str | None = None) -> None:
        self.admin, self.state, self.search = admin, state, search
        self.held, self.campaign, self.bounced = held, campaign, bounced
        self.list_id = admin.mlist.list_id

    def _query(self) -> tuple[Select, Any]:
        """(query, email) of the rows wanted."""
        if self.state == REMOVED:
            # Removed addresses are no longer members: our rows alone.
            query, email = select(MemberState.email).where(
                MemberState.list_id == self.list_id,
                MemberState.state == REMOVED), MemberState.email
        else:
            query, email, state = _roster(self.list_id)
            if self.state is not None:
                query = query.where(state == self.state)
        if self.search:
            # Addresses are stored and compared lower-cased; the search
            # text is a literal, never a LIKE pattern.
            query = query.where(email.contains(self.search, autoescape=True))
        if self.held:
            query = query.where(email.in_(_under_open_holds(
                select(HeldDecision.email), self.list_id)))
        if self.campaign:
            bounced = select(Event.email).where(
                Event.list_id == self.list_id, Event.event == EventName.BOUNCE,
                Event.campaign == self.campaign)
            if self.bounced:
                bounced = bounced.where(Event.classification == self.bounced)
            query = query.where(email.in_(bounced))
        return query, email

    def __len__(self) -> int:
        query, _email = self._query()
        return self.admin.store.scalar(query.with_only_columns(func.count()))

    def __getitem__(self, index: Any) -> Any:
        if not isinstance(index, slice):
            return self[index:index + 1][0] if index >= 0 else list(self)[index]
        start, stop, step = index.indices(len(self))
        if step != 1:
            return list(self)[index]
        query, email = self._query()
        query = (query.with_only_columns(email, MemberState).order_by(email)
                 .offset(start).limit(max(0, stop - start)))
        rows = self.admin.store.execute(query).all()
        verifying, held = self.admin._verifying(), self.admin._held()
        return [_member_row(address, row_state, verifying.get(address),
                            held.get(address))
                for address, row_state in rows]

    def __iter__(self) -> Iterator[Row]:
        return iter(self[0:len(self)])


def _member_row(email: str, state: MemberState | None,
                verifying: Row | None = None, held: Row | None = None) -> Row:
    """`shadow`: the state is what shadow mode would have done;
    `verifying`: a change waits for its probe ({'change', 'probe'});
    `held`: a change an open circuit-breaker hold keeps back ({'hold',
    'change'})."""
    if state is None:
        return {'email': email, 'state': OK, 'run': 0, 'last_bounce': None,
                'shadow': False, 'verifying': verifying, 'held': held}
    last = None
    if state.last_bounce_at is not None:
        last = {'time': state.last_bounce_at.isoformat(),
                'classification': state.last_classification,
                'rule': state.last_rule, 'status': state.last_status,
                'smtp_code': state.last_smtp_code,
                'campaign': state.last_campaign,
                'evidence': state.last_evidence}
    return {'email': email, 'state': state.state, 'run': state.run,
            'last_bounce': last, 'shadow': state.shadow,
            'verifying': verifying, 'held': held}


def _event_row(event: Event) -> Row:
    return {name: getattr(event, name) for name in (
        'event', 'classification', 'action', 'rule', 'reason', 'status',
        'smtp_code', 'campaign', 'attribution', 'counted', 'diagnostic',
        'detail', 'actor', 'evidence')} | {'time': event.at.isoformat()}
