"""The circuit breaker's holds on a list, and an owner's release or
discard of one."""

from typing import Any

from mailman_bouncerules.app.admin import Row
from mailman_bouncerules.interfaces import IBounceAdmin
from mailman_bouncerules.rest.helpers import (
    ACTOR,
    Action,
    Child,
    Collection,
    NotFound,
    actor,
    whole_number,
)

# Hold ids are the database's 32-bit integers.
MAX_HOLD_ID = 2 ** 31 - 1


class ListHolds(Collection):
    """GET the list's holds, newest first."""

    def __init__(self, admin: IBounceAdmin) -> None:
        self.admin = admin

    @classmethod
    def route(cls, admin: IBounceAdmin, segments: list[str]) -> Child:
        """The collection, or holds/<id>/release or holds/<id>/discard."""
        if not segments:
            return cls(admin), []
        if len(segments) == 2 and segments[1] in ('release', 'discard'):
            try:
                hold_id = whole_number(1, MAX_HOLD_ID)(segments[0])
            except ValueError:
                return NotFound('No hold %s' % segments[0][:20]), []
            return DecideHold(admin, hold_id, segments[1] == 'release'), []
        return NotFound('Use holds/<id>/release or holds/<id>/discard'), []

    def rows(self, params: dict[str, Any]) -> list[Row]:
        return self.admin.holds()


class DecideHold(Action):
    """POST: release a hold (apply what it held) or discard it [by=<who>]."""

    accepts = (('by', ACTOR),)

    def __init__(self, admin: IBounceAdmin, hold_id: int, release: bool) -> None:
        self.admin = admin
        self.hold_id = hold_id
        self.release = release

    def act(self, params: dict[str, Any]) -> Row:
        return self.admin.decide_hold(self.hold_id, self.release,
                                      actor(params))
