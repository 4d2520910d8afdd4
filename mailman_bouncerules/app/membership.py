"""What the plugin changes of a member in Mailman itself: a removal
without goodbye, delivery stopped and restored, a removed member back as
it was, and Mailman's own bounce fields kept meaningful."""

from __future__ import annotations

import datetime
from typing import Any

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
from zope.component import getUtility

from mailman_bouncerules.interfaces import State
from mailman_bouncerules.model.tables import MemberState

# The member's own settings a snapshot keeps.
_ENUM_PREFERENCES = (('delivery_mode', DeliveryMode),
                     ('delivery_status', DeliveryStatus))
_PLAIN_PREFERENCES = ('acknowledge_posts', 'receive_list_copy',
                      'receive_own_postings', 'hide_address')


@public
def member_snapshot(member: IMember | None) -> dict[str, Any] | None:
    """The member's own settings, as undo restores them (JSON-able)."""
    if member is None:
        return None
    preferences = member.preferences
    snapshot: dict[str, Any] = {'display_name': member.display_name}
    for name, _enum in _ENUM_PREFERENCES:
        value = getattr(preferences, name)
        snapshot[name] = value.name if value is not None else None
    for name in _PLAIN_PREFERENCES:
        snapshot[name] = getattr(preferences, name)
    action = member.moderation_action
    snapshot['moderation_action'] = action.name if action is not None else None
    return snapshot


@public
def remove(mlist: IMailingList, email: str) -> bool:
    """Unsubscribe `email`, with no goodbye to a dead mailbox and no
    notice from Mailman (the plugin's own says why); False if it was no
    member."""
    try:
        delete_member(mlist, email, admin_notif=False, userack=False)
    except NotAMemberError:
        return False
    return True


@public
def stop_delivery(member: IMember | None) -> None:
    if member is not None:
        member.preferences.delivery_status = DeliveryStatus.by_bounces


@public
def deliver_again(member: IMember | None,
                  snapshot: dict[str, Any] | None = None) -> None:
    """Delivery as it was before the plugin stopped it (enabled, unless
    the snapshot says the member had it otherwise)."""
    if member is not None:
        member.preferences.delivery_status = DeliveryStatus[
            (snapshot or {}).get('delivery_status') or 'enabled']


@public
def resubscribe(mlist: IMailingList, email: str,
                snapshot: dict[str, Any]) -> IMember:
    """A removed member back, with the settings its snapshot kept and no
    welcome message."""
    users = getUtility(IUserManager)
    address = users.get_address(email) or users.create_address(
        email, snapshot.get('display_name'))
    if address.verified_on is None:
        address.verified_on = now()
    member = mlist.subscribe(address, MemberRole.member,
                             send_welcome_message=False)
    preferences = member.preferences
    for name, enum in _ENUM_PREFERENCES:
        if snapshot.get(name):
            setattr(preferences, name, enum[snapshot[name]])
    for name in _PLAIN_PREFERENCES:
        if snapshot.get(name) is not None:
            setattr(preferences, name, snapshot[name])
    if snapshot.get('moderation_action'):
        member.moderation_action = ModerationAction[
            snapshot['moderation_action']]
    return member


@public
def mirror(member: IMember | None, state: MemberState,
           at: datetime.datetime | None, shadow: bool) -> None:
    """Keep Mailman's own fields meaningful for existing tools (in shadow
    mode they are stock Mailman's)."""
    if member is None or state.state == State.REMOVED or shadow:
        return
    member.bounce_score = state.run
    if at is not None:
        member.last_bounce_received = at
