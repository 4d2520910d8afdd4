"""Shadow mode: the plugin decides and records, stock Mailman acts.

A list owner who wants to see what the rules would do before trusting them
puts the list in shadow mode (or the whole site, by default).  The plugin
then classifies, attributes and keeps its full state and history, marking
what it *would* have done, while Mailman's own day-counting processor,
warnings and removals run for that list exactly as without the plugin.

Switching shadow mode off enforces the recorded state silently: members
that would have been confirmed stop receiving mail, members that would have
been removed are removed, and no old decision is replayed as mail.
"""

import datetime
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from mailman.app.membership import delete_member
from mailman.app.notifications import (
    send_admin_removal_notice,
    send_user_disable_warning,
)
from mailman.interfaces.listmanager import IListManager
from mailman.interfaces.member import (
    IMember,
    IMembershipManager,
    NotAMemberError,
)
from mailman.model.bounce import BounceEvent
from mailman.utilities.datetime import now
from public import public
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from zope.component import getUtility

from mailman_bouncerules.app import machine
from mailman_bouncerules.app.campaigns import campaign_kind, find_campaign
from mailman_bouncerules.app.decisions import StoredDecision
from mailman_bouncerules.app.ledger import Ledger, Request
from mailman_bouncerules.app.machine import standing_of, take
from mailman_bouncerules.app.policy import ListPolicy
from mailman_bouncerules.config.settings import in_words, settings
from mailman_bouncerules.interfaces import EventName, EvidenceLevel, State
from mailman_bouncerules.model.tables import (
    ListSettings,
    MemberState,
    ShadowDecision,
)

log = logging.getLogger('mailman.bounce')

# Set while the runner lets stock Mailman see a shadow list's bounce.
_stock_pass = ContextVar('bouncerules_stock_pass', default=False)


@public
def site_default() -> bool:
    return settings().shadow_mode


@public
def in_shadow(store: Session, list_id: str) -> bool:
    return ListPolicy.of(store, list_id).shadow


@public
def any_shadow(store: Session) -> bool:
    """Is stock Mailman in charge of any list (so its cycle must run)?"""
    return site_default() or store.scalar(
        select(ListSettings.list_id).filter_by(shadow=True).limit(1)
    ) is not None


@public
@contextmanager
def stock_pass() -> Iterator[None]:
    token = _stock_pass.set(True)
    try:
        yield
    finally:
        _stock_pass.reset(token)


@public
def in_stock_pass() -> bool:
    return _stock_pass.get()


@public
def forget_stock_events(store: Session, list_id: str) -> None:
    """Shadow mode ended: stock's pending scores for the list are moot."""
    store.execute(update(BounceEvent).filter_by(
        list_id=list_id, processed=False).values(processed=True))


@public
def stock_warnings_and_removals(store: Session) -> None:
    """Mailman's warn-then-remove cycle, for shadow lists only.

    The same steps as stock `BounceProcessor.send_warnings_and_remove`,
    limited to lists in shadow mode: everywhere else a member disabled by
    bounces is one this plugin confirmed, and it stays until an admin
    decides.
    """
    manager = getUtility(IMembershipManager)
    lists = {}

    def shadowed(member: IMember) -> bool:
        if member.list_id not in lists:
            lists[member.list_id] = in_shadow(store, member.list_id)
        return lists[member.list_id]

    for member in list(manager.memberships_pending_warning()):
        if shadowed(member):
            send_user_disable_warning(member.mailing_list,
                                      member.address.email,
                                      member.preferred_language)
            member.total_warnings_sent += 1
            member.last_warning_sent = now()
    for member in list(manager.memberships_pending_removal()):
        if not shadowed(member):
            continue
        mlist = getUtility(IListManager).get_by_list_id(member.list_id)
        notify_owner = mlist.bounce_notify_owner_on_removal
        email, name = member.address.email, member.display_name
        try:
            delete_member(mlist, email,
                          admin_notif=False if notify_owner else None,
                          userack=True)
        except NotAMemberError:
            continue
        if notify_owner:
            send_admin_removal_notice(mlist, email, name)
        log.info('Removed %s from %s for excessive bounces (stock Mailman, '
                 'list in shadow mode)', email, mlist.list_id)


@public
def end_shadow(ledger: Ledger, at: datetime.datetime | None = None) -> int:
    """Shadow mode ends for the ledger's list: act on what it recorded
    that still holds.

    A recorded removal or confirmation is carried out, silently (no old
    decision is mailed), only if it is recent (`shadow_enforce_within`),
    was not voided since by a sign of life (an open, a post: see
    `Ledger.reset`), and rests on verified evidence; one on unverified
    evidence gets its probe first.  Each carried-out change keeps the
    snapshot that `undo` needs.  Returns how many were carried out.
    """
    at = at or now()
    ledger.shadow = False
    store, list_id = ledger.store, ledger.list_id
    within = settings().shadow_enforce_within
    recorded = {row.email: row for row in store.scalars(
        select(ShadowDecision).filter_by(list_id=list_id))}
    carried_out = 0
    for state in store.scalars(select(MemberState).filter_by(
            list_id=list_id, shadow=True)).all():
        state.shadow = False
        member = ledger.mlist.members.get_member(state.email)
        decision = recorded.get(state.email)
        if member is None or decision is None or \
                state.state not in (State.CONFIRMED, State.REMOVED):
            continue
        evidence = EvidenceLevel.of(decision.evidence)
        take(state, machine.after_shadow_ends(
            standing_of(state), ledger.current_run(
                state.email, campaign_kind(member), state.reset_after)))
        if at - decision.decided_at > within:
            ledger.history.record(
                state.email, EventName.NOT_ENFORCED, at,
                detail='shadow mode ended: the recorded %s is older than '
                '%s' % (decision.change, in_words(within)))
        else:
            ledger.carry_out(member, state.email, state, decision.change, at,
                             Request(StoredDecision.of(
                                 decision, 'recorded in shadow mode'),
                                 find_campaign(store, list_id,
                                               decision.campaign),
                                 evidence, notify=False,
                                 probe_note='shadow mode ended: '))
            if evidence.verified:
                carried_out += 1
        ledger.mirror(member, state, None)
    store.execute(delete(ShadowDecision).filter_by(list_id=list_id))
    return carried_out
