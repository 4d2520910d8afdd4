"""The bounce runner: every message to a list's -bounces address.

Unlike the stock runner it keeps temporary failures (they are soft bounces
worth recording) and reads status codes and reasons, not just addresses.
A message that makes the handler raise is shunted by Mailman's Runner base
class, its transaction rolled back, and the runner goes on.
"""

from mailman.runners.bounce import BounceRunner
from public import public

from mailman_bouncerules.handling import BounceHandler


@public
class RulesBounceRunner(BounceRunner):

    def _dispose(self, mlist, msg, msgdata):
        if not mlist.process_bounces:
            return False
        BounceHandler().handle(mlist, msg, msgdata.get('received_time'))
        return False
