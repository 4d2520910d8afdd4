"""Mailman events the plugin listens to."""

import logging

from mailman.config import config
from mailman.interfaces.chain import AcceptEvent
from public import public

from mailman_bouncerules.app.campaigns import latest_sequence
from mailman_bouncerules.interfaces import EventName, IBounceStandings

log = logging.getLogger('mailman.bounce')


@public
def on_event(event: object) -> None:
    """zope.event subscriber: a member's accepted post resets the run.

    Someone who can post has a working mailbox (or at least a working
    sender): hard bounces of campaigns before the post no longer count.
    """
    if not isinstance(event, AcceptEvent):
        return
    mlist = event.mlist
    sender = event.msgdata.get('original_sender') or event.msg.sender
    if not sender:
        return
    member = mlist.members.get_member(sender)
    if member is None:
        return
    ledger = IBounceStandings(mlist)
    state = ledger.state_of(sender)
    if state is None or (state.run == 0 and state.state == 'ok'):
        return
    ledger.reset(member, sender, EventName.POST,
                 latest_sequence(config.db.store, mlist, member))
