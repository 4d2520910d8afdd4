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

import logging
import time

from mailman.config import config
from mailman.email.message import Message
from mailman.interfaces.mailinglist import IMailingList
from mailman.runners.bounce import BounceRunner
from public import public
from sqlalchemy.orm import configure_mappers

from mailman_bouncerules.app.availability import plugin_active
from mailman_bouncerules.app.bounces import BounceHandler
from mailman_bouncerules.app.breaker import send_breaker_digests
from mailman_bouncerules.app.policy import ListPolicy
from mailman_bouncerules.app.probes import (
    process_due_probes,
    send_queued_probes,
)
from mailman_bouncerules.app.reports import send_due_reports
from mailman_bouncerules.app.retention import prune
from mailman_bouncerules.app.shadow import any_shadow, stock_pass

log = logging.getLogger('mailman.bounce')

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
        policy = ListPolicy.of(config.db.store, mlist.list_id)
        BounceHandler().handle(mlist, msg, msgdata.get('received_time'),
                               forward=not policy.shadow, policy=policy)
        if policy.shadow:
            # Stock Mailman stays in charge of a list in shadow mode.
            with stock_pass():
                super()._dispose(mlist, msg, msgdata)
        config.db.commit()
        return False

    def _one_iteration(self) -> int:
        """A pass over the queue, then the probes it asked for, in one
        batch (after a storm of bounces, one batch for all of them)."""
        handled = super()._one_iteration()
        if handled and plugin_active():
            try:
                send_queued_probes(config.db.store)
                config.db.commit()
            except Exception:
                # They stay queued: the periodic pass tries them again.
                log.exception('bouncerules: sending queued probes failed')
                config.db.abort()
        return handled

    def _do_periodic(self) -> None:
        """Stock's periodic pass (scoring, warnings, removals) when a list
        is in shadow mode, then the probes, breaker digests and owner
        reports that are due.

        Mailman calls this after every bounce; this work is done once a
        minute (stock's cycle, two queries over all members, only while a
        list is in shadow mode; queued probes wait for an hourly budget,
        reports for a day).
        """
        if not plugin_active():
            return super()._do_periodic()
        if time.monotonic() - self._due_checked_at < DUE_WORK_EVERY:
            return None
        self._due_checked_at = time.monotonic()
        if any_shadow(config.db.store):
            super()._do_periodic()
        process_due_probes(config.db.store)
        send_breaker_digests(config.db.store)
        send_due_reports(config.db.store)
        prune(config.db.store)
        return None
