"""Retention: what is old is deleted, a bounded batch at a time.

Run by the bounce runner's periodic pass.  Each step deletes at most
`BATCH` rows, oldest first, through an index on their time, so a pass
costs the same on a table of a thousand rows as on one of a hundred
million, and a site that ran for years catches up over a few passes.

What is never deleted: what a current decision still needs.  Campaigns
and counted hard bounces make runs (a hard bounce stops counting only
when a reset voids it); removals, confirmations, undos and re-enables
are what `undo` reads; a held decision stays while its hold is open, a
probe (with the decision it waits to carry out) while it is; member rows
stay while the member has any state.
"""

import datetime
import logging
from typing import Any

from mailman.utilities.datetime import now
from public import public
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mailman_bouncerules.app.breaker import hour_of
from mailman_bouncerules.config.settings import settings
from mailman_bouncerules.interfaces import EventName
from mailman_bouncerules.model.tables import (
    HELD,
    PROBES_OPEN,
    Event,
    HeldDecision,
    Hold,
    Probe,
    SeenBounce,
    SpentEvidence,
    WindowFailures,
)

log = logging.getLogger('mailman.bounce')

# The most rows one step deletes in one pass.
BATCH = 1000
# A bounce delivered twice arrives within the days a mail system retries
# (about five: RFC 5321, 4.5.4.1); a month covers any queue.
SEEN_KEPT = datetime.timedelta(days=30)
# What `undo` and the owner's "last change" read: kept whatever their age.
KEPT_EVENTS = (EventName.REMOVED, EventName.CONFIRMED, EventName.UNDO,
               EventName.REENABLE)


@public
def prune(store: Session, at: datetime.datetime | None = None) -> int:
    """One pass of every step; returns how many rows were deleted."""
    at = at or now()
    known = settings()
    history = at - known.history_lifetime
    deleted = _oldest(store, SeenBounce, SeenBounce.seen_at, at - SEEN_KEPT)
    deleted += _expired_windows(store, at)
    # Spent tokens matter while a token could still verify.
    spent_kept = max(known.return_token_lifetime, known.probe_expiry)
    deleted += _oldest(store, SpentEvidence, SpentEvidence.spent_at,
                       at - 2 * spent_kept)
    # A probe that found the mailbox alive holds off the next one for
    # probe_cooldown.
    probes_kept = max(history, at - known.probe_cooldown)
    deleted += _oldest(store, Probe, Probe.decided_at, probes_kept,
                       Probe.status.not_in(PROBES_OPEN))
    deleted += _oldest(store, HeldDecision, HeldDecision.held_at, history,
                       HeldDecision.hold_id.not_in(
                           select(Hold.id).filter(Hold.status == HELD)))
    deleted += _oldest(store, Hold, Hold.decided_at, history,
                       Hold.status != HELD)
    deleted += _old_history(store, history)
    if deleted:
        log.info('bouncerules: pruned %d old rows', deleted)
    return deleted


def _oldest(store: Session, table: type, column: Any,
            before: datetime.datetime | int, *where: Any) -> int:
    """Delete about BATCH rows of `table` whose `column` is before
    `before`, oldest first: those up to the time of the BATCH-th oldest
    (a range of the column's index, whatever the table's key)."""
    last = store.scalar(select(column).filter(column < before, *where)
                        .order_by(column).offset(BATCH - 1).limit(1))
    through = column < before if last is None else column <= last
    result = store.execute(delete(table).where(through, *where)
                           .execution_options(synchronize_session=False))
    return result.rowcount              # type: ignore[attr-defined]


def _expired_windows(store: Session, at: datetime.datetime) -> int:
    """Hourly failure counts older than the breaker's window (at most
    one row a list, hour, bucket and domain: a few per pass)."""
    first_hour = hour_of(at) - settings().breaker_window_hours
    return _oldest(store, WindowFailures, WindowFailures.hour, first_hour)


def _old_history(store: Session, before: datetime.datetime) -> int:
    """History rows older than `history_lifetime`, except those `undo` reads."""
    return _oldest(store, Event, Event.at, before,
                   Event.event.not_in(KEPT_EVENTS))
