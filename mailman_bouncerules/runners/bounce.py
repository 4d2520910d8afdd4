"""The bounce runner: every message to a list's -bounces address.

For lists in shadow mode the stock runner's work is done as well.  Unlike
the stock runner it keeps temporary failures (they are soft bounces
worth recording) and reads status codes and reasons, not just addresses.

**One commit for a batch of bounces.**  A commit is most of what a bounce
costs (SQLite syncs the file, PostgreSQL its log, and every row the
session holds is read again after it), so the runner handles up to
`BATCH` queue files in one transaction, commits, and only then removes
their files.  Until then each file is the switchboard's backup (`.bak`),
so a crash loses nothing: the restarted runner recovers the backups, and
since nothing of the batch was committed, nothing is counted twice.  A
crash after the commit and before the files are removed re-delivers
bounces whose seen keys make them no-ops.

A file that makes the handler raise is shunted, as Mailman's Runner does:
the batch is rolled back and its files handled one at a time, each in its
own transaction.  A file recovered after a crash (Mailman counts them) is
handled alone too, so that a message that kills its runner takes no
innocent file with it to the bad queue.
"""

import logging
import time
from dataclasses import dataclass

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
# Queue files handled in one transaction.  More saves little once the
# commit is shared; fewer bounds what a rolled-back batch handles again.
BATCH = 50


@dataclass(frozen=True, eq=False)
class Queued:
    """A queue file taken for a batch: its name, message and metadata."""
    filebase: str
    msg: Message
    msgdata: dict


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
        """Handle one bounce in the batch's transaction (no commit)."""
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
        return False

    def _one_iteration(self) -> int:
        """A pass over the queue, a batch at a time, then the probes it
        asked for (after a storm of bounces, one batch for all of them)."""
        if not plugin_active() or self.switchboard is None:
            return super()._one_iteration()
        files = self.switchboard.files
        for start in range(0, len(files), BATCH):
            self._handle_batch(self._dequeued(files[start:start + BATCH]))
            self._do_periodic()
            config.db.commit()
            if self._short_circuit():
                break
        if files:
            try:
                send_queued_probes(config.db.store)
                config.db.commit()
            except Exception:
                # They stay queued: the periodic pass tries them again.
                log.exception('bouncerules: sending queued probes failed')
                config.db.abort()
        return len(files)

    def _dequeued(self, filebases: list[str]) -> list[Queued]:
        """The batch's files, read and kept as backups; one that cannot be
        read is preserved in the bad queue, as Mailman's Runner does."""
        queued = []
        for filebase in filebases:
            try:
                msg, msgdata = self.switchboard.dequeue(filebase)
            except Exception as error:
                self._log(error)
                log.error('bouncerules: skipping and preserving an '
                          'unreadable queue file: %s', filebase)
                self.switchboard.finish(filebase, preserve=True)
                continue
            queued.append(Queued(filebase, msg, msgdata))
        return queued

    def _handle_batch(self, batch: list[Queued]) -> None:
        """The batch in one transaction; if any file raises, each file
        again in its own (see the module's docstring)."""
        together = [each for each in batch
                    if not each.msgdata.get('_bak_count')]
        try:
            for each in together:
                self._process_one_file(each.msg, each.msgdata)
            config.db.commit()
        except Exception:
            config.db.abort()
            log.exception('bouncerules: a batch of %d bounces was rolled '
                          'back; handling them one at a time',
                          len(together))
            together = []
        for each in together:
            self.switchboard.finish(each.filebase)
        for each in batch:
            if each not in together:
                self._handle_alone(each)

    def _handle_alone(self, queued: Queued) -> None:
        """One file in its own transaction; shunted if it raises."""
        try:
            self._process_one_file(queued.msg, queued.msgdata)
            config.db.commit()
            self.switchboard.finish(queued.filebase)
        except Exception as error:
            config.db.abort()
            self._log(error)
            queued.msgdata['whichq'] = self.switchboard.name
            try:
                shunted = config.switchboards['shunt'].enqueue(
                    queued.msg, queued.msgdata)
                log.error('SHUNTING: %s', shunted)
                self.switchboard.finish(queued.filebase)
            except Exception as shunt_error:
                self._log(shunt_error)
                log.error('SHUNTING FAILED, preserving original entry: %s',
                          queued.filebase)
                self.switchboard.finish(queued.filebase, preserve=True)

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
