"""The bounce runner: every message to a list's -bounces address.

For lists in shadow mode the stock runner's work is done as well.  Unlike
the stock runner it keeps temporary failures (they are soft bounces
worth recording) and reads status codes and reasons, not just addresses.
A message that makes the handler raise is shunted by Mailman's Runner base
class, its transaction rolled back, and the runner goes on.

Each bounce's effects are committed before `_dispose` returns: Mailman's
runner removes the queue file first and commits only after its periodic
pass, so a crash in between would lose a bounce.  Committed first, a crash
before the file is removed only re-delivers it, and the duplicate check
makes that harmless.
"""

import time

from mailman.config import config
from mailman.email.message import Message
from mailman.interfaces.mailinglist import IMailingList
from mailman.runners.bounce import BounceRunner
from public import public
from sqlalchemy.orm import configure_mappers

from mailman_bouncerules.app.availability import plugin_active
from mailman_bouncerules.app.breaker import send_breaker_digests
from mailman_bouncerules.app.handling import BounceHandler
from mailman_bouncerules.app.probes import process_due_probes
from mailman_bouncerules.app.reports import send_due_reports
from mailman_bouncerules.app.shadow import any_shadow, in_shadow, stock_pass

# Seconds between two looks for due probes and owner reports.
DUE_WORK_EVERY = 60.0


@public
class RulesBounceRunner(BounceRunner):

    _due_checked_at = float('-inf')

    def __init__(self, name: str, slice: int | None = None) -> None:
        """Do the process's one-time set-up before the first queue file.

        Mailman counts the times a queue file was being processed when its
        runner died, and after the third moves it to the `bad` queue.  The
        file a restarted runner takes first is the one that was in flight;
        if SQLAlchemy's mapper set-up (most of a fresh process's first
        bounce, several times an ordinary one) ran inside that file's
        attempt, a runner restarted again and again would push an innocent
        bounce out of the queue.
        """
        super().__init__(name, slice)
        configure_mappers()

    def _dispose(self, mlist: IMailingList, msg: Message,
                 msgdata: dict) -> bool:
        if not plugin_active():
            # The plugin could not start: stock Mailman's runner it is.
            return super()._dispose(mlist, msg, msgdata)
        if not mlist.process_bounces:
            return False
        shadow = in_shadow(config.db.store, mlist.list_id)
        BounceHandler().handle(mlist, msg, msgdata.get('received_time'),
                               forward=not shadow)
        if shadow:
            # Stock Mailman stays in charge of a list in shadow mode.
            with stock_pass():
                super()._dispose(mlist, msg, msgdata)
        config.db.commit()
        return False

    def _do_periodic(self) -> None:
        """Stock's periodic pass (scoring, warnings, removals) when a list
        is in shadow mode, then the probes, breaker digests and owner
        reports that are due.

        Mailman calls this after every bounce: without shadow lists, stock's
        cycle (two queries over all members) is skipped altogether, and due
        probes and reports are looked for once a minute (queued probes wait
        for an hourly budget, reports for a day).
        """
        if not plugin_active():
            return super()._do_periodic()
        if any_shadow(config.db.store):
            super()._do_periodic()
        if time.monotonic() - self._due_checked_at >= DUE_WORK_EVERY:
            self._due_checked_at = time.monotonic()
            process_due_probes(config.db.store)
            send_breaker_digests(config.db.store)
            send_due_reports(config.db.store)
