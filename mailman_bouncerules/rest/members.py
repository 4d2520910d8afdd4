"""A list's members, one member, its history and what an owner does to
it (record an open, re-enable, undo)."""

from enum import StrEnum
from typing import Any

from falcon import Request, Response
from mailman.core.api import API31
from mailman.rest.helpers import child, etag, okay

from mailman_bouncerules.app.admin import Row
from mailman_bouncerules.interfaces import Classification, IBounceAdmin, State
from mailman_bouncerules.rest.helpers import (
    ACTOR,
    MAX_ADDRESS_CHARS,
    Action,
    Child,
    Collection,
    Context,
    NotFound,
    PluginResource,
    actor,
    answering,
    boolean,
    path,
    text,
    word_of,
)


class ListMembers(Collection):
    """GET members and their states [?state=hard][&search=text]
    [&held=true][&campaign=<Message-ID>[&bounced=hard]]."""

    filters = (('state', word_of(State)),
               ('search', text(MAX_ADDRESS_CHARS)), ('held', boolean),
               ('campaign', text(998)), ('bounced', word_of(Classification)))

    def __init__(self, admin: IBounceAdmin) -> None:
        self.admin = admin

    @classmethod
    def route(cls, admin: IBounceAdmin, segments: list[str]) -> Child:
        """The collection, or the member the segments name.  A local part
        may hold '/', which the REST server splits on even when sent as
        %2F; a domain never does, so the address ends at the first
        segment with an '@'."""
        if not segments:
            return cls(admin), []
        end = next((index for index, segment in enumerate(segments)
                    if '@' in segment), 0) + 1
        email = '/'.join(segments[:end])
        if len(email) > MAX_ADDRESS_CHARS:
            return NotFound('No such member'), []
        return AMember(admin, email), segments[end:]

    def rows(self, params: dict[str, Any]) -> Any:
        return self.admin.member_rows(params.get('state'),
                                      params.get('search'),
                                      params.get('held', False),
                                      params.get('campaign'),
                                      params.get('bounced'))

    def _resource_as_dict(self, resource: Row, fields: Any = None) -> Row:
        return dict(resource, self_link=API31.path_to(path(
            'lists', self.admin.mlist.list_id, 'members',
            resource['email'])))


class AMember(PluginResource):
    """GET one member's state."""

    def __init__(self, admin: IBounceAdmin, email: str) -> None:
        self.admin = admin
        self.email = email

    def on_get(self, request: Request, response: Response) -> None:
        with answering(response):
            okay(response, etag(self.admin.member(self.email)))

    @child()
    def history(self, context: Context, segments: list[str]) -> Child:
        return MemberHistory(self.admin, self.email), []

    @child()
    def opens(self, context: Context, segments: list[str]) -> Child:
        return RecordOpen(self.admin, self.email), []

    @child()
    def reenable(self, context: Context, segments: list[str]) -> Child:
        return Reenable(self.admin, self.email), []

    @child()
    def undo(self, context: Context, segments: list[str]) -> Child:
        return Undo(self.admin, self.email), []


class HistoryOrder(StrEnum):
    OLDEST = 'oldest'
    NEWEST = 'newest'


class MemberHistory(Collection):
    """GET the member's history, oldest first, or newest first with
    order=newest (a page of the newest events: what a panel shows
    first)."""

    filters = (('order', word_of(HistoryOrder)),)

    def __init__(self, admin: IBounceAdmin, email: str) -> None:
        self.admin = admin
        self.email = email

    def rows(self, params: dict[str, Any]) -> list[Row]:
        return self.admin.history(
            self.email, newest_first=params.get('order') is HistoryOrder.NEWEST)


class _MemberAction(Action):

    def __init__(self, admin: IBounceAdmin, email: str) -> None:
        self.admin = admin
        self.email = email


class RecordOpen(_MemberAction):
    """POST an open of a campaign [campaign=<Message-ID>]."""

    accepts = (('campaign', text(998)),)

    def act(self, params: dict[str, Any]) -> Row:
        return self.admin.record_open(self.email, params.get('campaign'))


class Reenable(_MemberAction):
    """POST: deliver to the member again."""

    def act(self, params: dict[str, Any]) -> Row:
        return self.admin.reenable(self.email)


class Undo(_MemberAction):
    """POST: take back the last removal or confirmation [by=<who>]."""

    accepts = (('by', ACTOR),)

    def act(self, params: dict[str, Any]) -> Row:
        return self.admin.undo(self.email, actor(params))
