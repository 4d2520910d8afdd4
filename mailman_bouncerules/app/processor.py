"""The IBounceProcessor that replaces Mailman's day-counting score.

Mailman's outgoing runner hands refusals at SMTP time to this utility; the
stock bounce runner would too.  Here they go through the rules like any
other bounce.  Mailman's periodic scoring and its warn-then-remove cycle
run only for lists in shadow mode (where stock Mailman stays in charge):
elsewhere a confirmed member stays subscribed until an admin decides.
"""

from collections.abc import Iterable

from mailman.config import config
from mailman.email.message import Message
from mailman.interfaces.bounce import BounceContext, IBounceProcessor
from mailman.interfaces.listmanager import IListManager
from mailman.interfaces.mailinglist import IMailingList
from mailman.model.bounce import BounceEvent, BounceProcessor
from public import public
from zope.component import getUtility
from zope.interface import implementer

from mailman_bouncerules.app.bounces import BounceHandler
from mailman_bouncerules.app.shadow import (
    in_shadow,
    in_stock_pass,
    stock_warnings_and_removals,
)


@public
@implementer(IBounceProcessor)
class RulesBounceProcessor:

    def __init__(self) -> None:
        self._stock = BounceProcessor()

    def register(self, mlist: IMailingList, email: str, msg: Message,
                 context: BounceContext | None = None) -> None:
        """A permanent failure for `email`; `context` (normal or probe)
        does not change how the rules read it."""
        if not mlist.process_bounces:
            return None
        if in_shadow(config.db.store, mlist.list_id):
            self._stock.register(mlist, email, msg, context)
            if in_stock_pass():
                return None     # the runner already recorded it our way
        BounceHandler().handle_smtp_failure(mlist, email, msg)
        return None

    def process_event(self, event: BounceEvent) -> None:
        """Stock events exist only for lists in shadow mode."""
        if in_shadow(config.db.store, event.list_id) and \
                getUtility(IListManager).get_by_list_id(event.list_id):
            self._stock.process_event(event)
        else:
            event.processed = True

    def send_warnings_and_remove(self) -> None:
        stock_warnings_and_removals(config.db.store)

    @property
    def events(self) -> Iterable[BounceEvent]:
        return self._stock.events

    @property
    def unprocessed(self) -> Iterable[BounceEvent]:
        return self._stock.unprocessed
