"""The lists, one list (its counts and settings), its campaigns."""

from typing import Any

from falcon import Request, Response
from mailman.core.api import API31
from mailman.interfaces.listmanager import IListManager
from mailman.interfaces.mailinglist import IMailingList
from mailman.rest.helpers import child, etag, no_content, okay
from zope.component import getUtility

from mailman_bouncerules.app.admin import Row
from mailman_bouncerules.interfaces import IBounceAdmin, ReportFrequency
from mailman_bouncerules.rest.helpers import (
    Child,
    Collection,
    Context,
    PluginResource,
    answering,
    boolean,
    fields,
    path,
    refused_while_inactive,
    trimmed,
    whole_number,
    word_of,
)
from mailman_bouncerules.rest.holds import ListHolds
from mailman_bouncerules.rest.members import ListMembers


class AllLists(Collection):
    """GET lists: every list with its counts."""

    def rows(self, params: dict[str, Any]) -> list[Row]:
        return [dict(list_id=mlist.list_id, **IBounceAdmin(mlist).stats())
                for mlist in getUtility(IListManager).mailing_lists]

    def _resource_as_dict(self, resource: Row, fields: Any = None) -> Row:
        return dict(resource, self_link=API31.path_to(
            path('lists', resource['list_id'])))


class AList(PluginResource):
    """GET a list's counts and settings; PATCH its settings."""

    def __init__(self, mlist: IMailingList) -> None:
        self.admin = IBounceAdmin(mlist)

    def on_get(self, request: Request, response: Response) -> None:
        okay(response, etag(dict(self.admin.settings(), **self.admin.stats())))

    def on_patch(self, request: Request, response: Response) -> None:
        if refused_while_inactive(response):
            return
        with answering(response):
            params = fields(request, confirm_after=whole_number(1, 1000),
                            tracking=boolean, shadow=boolean,
                            report=word_of(ReportFrequency))
            self.admin.configure(params.get('confirm_after'),
                                 params.get('tracking'), params.get('shadow'),
                                 params.get('report'))
            no_content(response)

    @child()
    def stats(self, context: Context, segments: list[str]) -> Child:
        return ListStats(self.admin), []

    @child()
    def campaigns(self, context: Context, segments: list[str]) -> Child:
        return ListCampaigns(self.admin), []

    @child()
    def members(self, context: Context, segments: list[str]) -> Child:
        return ListMembers.route(self.admin, trimmed(segments))

    @child()
    def holds(self, context: Context, segments: list[str]) -> Child:
        return ListHolds.route(self.admin, trimmed(segments))


class ListStats:
    """GET the counts alone."""

    def __init__(self, admin: IBounceAdmin) -> None:
        self.admin = admin

    def on_get(self, request: Request, response: Response) -> None:
        okay(response, etag(self.admin.stats()))


class ListCampaigns(Collection):
    """GET each campaign's open rate."""

    def __init__(self, admin: IBounceAdmin) -> None:
        self.admin = admin

    def rows(self, params: dict[str, Any]) -> list[Row]:
        return self.admin.open_rates()
