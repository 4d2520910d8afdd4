"""The IBounceProcessor that replaces Mailman's day-counting score.

Mailman's outgoing runner hands refusals at SMTP time to this utility; the
stock bounce runner would too.  Here they go through the rules like any
other bounce.  Mailman's periodic scoring and its warn-then-remove cycle
have nothing to do: this plugin keeps no stock bounce events, and a
confirmed member stays subscribed until an admin decides.
"""

from mailman.interfaces.bounce import IBounceProcessor
from public import public
from zope.interface import implementer

from mailman_bouncerules.handling import BounceHandler


@public
@implementer(IBounceProcessor)
class RulesBounceProcessor:

    def register(self, mlist, email, msg, context=None):
        """A permanent failure for `email`; `context` (normal or probe)
        does not change how the rules read it."""
        if not mlist.process_bounces:
            return None
        BounceHandler().handle_smtp_failure(mlist, email, msg)
        return None

    def process_event(self, event):
        """Stock events are never created, so never processed."""

    def send_warnings_and_remove(self):
        """Confirmed members are not removed behind the admin's back."""

    @property
    def events(self):
        return iter(())

    @property
    def unprocessed(self):
        return iter(())
