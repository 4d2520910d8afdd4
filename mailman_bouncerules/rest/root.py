"""REST resources under /3.1/plugins/bouncerules/ (Mailman's admin auth).

    GET   lists                               every list with its counts
    GET   lists/<list>                        counts and settings of one list
    PATCH lists/<list>                        confirm_after=<n>, tracking=<bool>,
                                              shadow=<bool>, report=off|daily|weekly
    GET   lists/<list>/stats                  the counts alone
    GET   lists/<list>/campaigns              each campaign's open rate
    GET   lists/<list>/members[?state=hard][&search=text]
                                              members and their states
    GET   lists/<list>/members/<email>        one member's state
    GET   lists/<list>/members/<email>/history  (?order=newest)
    POST  lists/<list>/members/<email>/opens  [campaign=<Message-ID>]
    POST  lists/<list>/members/<email>/reenable
    POST  lists/<list>/members/<email>/undo    [by=<who>]
    GET   lists/<list>/holds                  the circuit breaker's holds
    POST  lists/<list>/holds/<id>/release     [by=<who>]  apply them
    POST  lists/<list>/holds/<id>/discard     [by=<who>]  drop them
    POST  classify                            a raw bounce message as body

<list> is a posting address or a List-ID.  Fields come as a form or as a
JSON object and are read by Mailman's `Validator`.  Bad input (an unknown
field, a body that is not an object, a number out of range, a string too
long) gets 400, unknown lists, members, holds and campaigns 404, a wrong
method 405, a form posted to `classify` 415: each with a description,
never a 500.  While the plugin is NOT ACTIVE (stock Mailman in charge,
see availability.py) every change and `classify` answer 503 with the
reason; reads still answer, and the root says `active` and why not.
"""

import json
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

import falcon
from falcon import Request, Response
from mailman.core.api import API31
from mailman.interfaces.listmanager import IListManager
from mailman.interfaces.mailinglist import IMailingList
from mailman.rest.helpers import (
    CollectionMixin,
    bad_request,
    child,
    conflict,
    etag,
    no_content,
    not_found,
    okay,
)
from mailman.rest.validator import Validator
from public import public
from zope.component import getUtility

from mailman_bouncerules.app.admin import (
    AdminError,
    ConflictError,
    ListAdmin,
    NotFoundError,
    Row,
    find_list,
)
from mailman_bouncerules.app.availability import plugin_active, why_inactive
from mailman_bouncerules.classify.record import as_record
from mailman_bouncerules.interfaces import IClassifier, ReportFrequency
from mailman_bouncerules.model.tables import STATES

MAX_MESSAGE_BYTES = 10 * 1024 * 1024
# The longest address SMTP allows (RFC 5321: 64 + 1 + 255).
MAX_ADDRESS_CHARS = 320
# The most entries one page may ask for.
MAX_PAGE = 1000
# Hold ids are the database's 32-bit integers.
MAX_HOLD_ID = 2 ** 31 - 1
# Raw messages `classify` reads; forms are refused (Mailman's REST server
# parses a form body itself, so the message would arrive empty).
MESSAGE_TYPES = ('message/rfc822', 'application/octet-stream', 'text/plain')
FORM_TYPES = ('application/x-www-form-urlencoded', 'multipart/form-data')


# Mailman's REST children: given the request's context and the path's
# remaining segments, (the resource, the segments left for it).
Context = dict[str, Any]
Child = tuple[Any, list[str]]
# A field's converter for Mailman's Validator: the value, or ValueError.
Converter = Callable[[Any], Any]


def _fail(response: Response, error: AdminError) -> None:
    answer = (not_found if isinstance(error, NotFoundError) else
              conflict if isinstance(error, ConflictError) else bad_request)
    answer(response, str(error))


def _refused_while_inactive(response: Response) -> bool:
    """Answer 503 with the reason if the plugin is not active: what it
    would change or decide is stock Mailman's then."""
    if plugin_active():
        return False
    response.status = falcon.HTTP_503
    response.content_type = falcon.MEDIA_JSON
    response.data = falcon.HTTPServiceUnavailable(
        description='bouncerules is NOT ACTIVE, stock Mailman handles '
        'bounces: %s' % why_inactive()).to_json()
    return True


def _not_allowed(response: Response, allowed: str) -> None:
    response.status = falcon.HTTP_405
    response.set_header('Allow', allowed)
    response.content_type = falcon.MEDIA_JSON
    response.data = falcon.HTTPMethodNotAllowed(
        [allowed], description='Use %s' % allowed).to_json()


def _fields(request: Request, **converters: Converter) -> dict[str, Any]:
    """The request's fields, each optional, converted by Mailman's
    Validator; AdminError (a 400) for anything it cannot take."""
    if (request.content_type or '').startswith('application/json'):
        if not isinstance(request.get_media(default_when_empty={}), dict):
            raise AdminError('The request body must be a JSON object')
    try:
        return Validator(_optional=tuple(converters), **converters)(request)
    except ValueError as error:
        raise AdminError(str(error)) from None


class _Collection(CollectionMixin):
    """A collection as Mailman's own REST serves one: `entries` (each with
    its `http_etag`, and its `self_link` where it has a resource of its
    own), `start` and `total_size`, paged by `count` and `page`."""

    def __init__(self, rows: Callable[[dict[str, Any]], Sequence[Row]],
                 link: Callable[[Row], str] | None = None,
                 **converters: Converter) -> None:
        self.rows = rows            # rows(params) -> list of dicts
        self.link = link            # link(row) -> its path, or None
        self.converters = converters
        self.entries: Sequence[Row] = []

    def _get_collection(self, request: Request) -> Sequence[Row]:
        return self.entries

    def _resource_as_dict(self, resource: Row,
                          fields: Any = None) -> Row:
        row = dict(resource)
        if self.link is not None:
            row['self_link'] = API31.path_to(self.link(row))
        return row

    def on_get(self, request: Request, response: Response) -> None:
        try:
            params = _fields(request, count=_whole_number(1, MAX_PAGE),
                             page=_whole_number(1, 10 ** 9),
                             **self.converters)
            if ('count' in params) != ('page' in params):
                raise AdminError('count and page go together')
            self.entries = self.rows(params)
        except AdminError as error:
            _fail(response, error)
            return
        collection = self._make_collection(request)
        collection.setdefault('entries', [])
        okay(response, etag(collection))


def _path(*segments: object) -> str:
    """The REST path of the plugin's resource named by `segments`."""
    return 'plugins/bouncerules/' + '/'.join(
        quote(str(segment), safe='@+') for segment in segments)


def _whole_number(low: int, high: int) -> Converter:
    def convert(value: Any) -> int:
        text = value.strip() if isinstance(value, str) else (
            str(value) if type(value) is int else '')
        if not text.isdigit() or len(text) > len(str(high)) \
                or not low <= int(text) <= high:
            raise ValueError('a whole number from %d to %d' % (low, high))
        return int(text)
    return convert


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = value.strip().lower() if isinstance(value, str) else None
    if word in ('true', 'yes', 'on', '1'):
        return True
    if word in ('false', 'no', 'off', '0'):
        return False
    raise ValueError('true or false')


def _string(max_chars: int) -> Converter:
    def convert(value: Any) -> str:
        if not isinstance(value, str) or len(value) > max_chars:
            raise ValueError('a string of at most %d characters' % max_chars)
        return value.strip()
    return convert


def _one_of(choices: Sequence[str]) -> Converter:
    def convert(value: Any) -> str:
        if value not in choices:
            raise ValueError('one of %s' % ', '.join(choices))
        return value
    return convert


_BY = _string(100)


def _trimmed(segments: list[str]) -> list[str]:
    """The path's segments without the empty one a trailing slash leaves."""
    return segments[:-1] if segments and segments[-1] == '' else segments


class _Resource:
    """A resource whose path may end in a slash (`lists/` is `lists`)."""

    @child('')
    def trailing_slash(self, context: Context, segments: list[str]) -> Child:
        return self, []


@public
class Root(_Resource):
    """What `plugin.resource` returns: /3.1/plugins/bouncerules/"""

    def on_get(self, request: Request, response: Response) -> None:
        status: Row = dict(plugin='bouncerules', active=plugin_active(),
                           resources=['lists', 'classify'])
        if not status['active']:
            status['why_inactive'] = why_inactive()
        okay(response, etag(status))

    @child()
    def lists(self, context: Context, segments: list[str]) -> Child:
        segments = _trimmed(segments)
        if not segments:
            return _Collection(_all_lists, link=lambda row: _path(
                'lists', row['list_id'])), []
        try:
            mlist = find_list(segments[0])
        except AdminError:
            return _NotFoundResource('No such list: %s' % segments[0]), []
        return OneList(mlist), segments[1:]

    @child()
    def classify(self, context: Context, segments: list[str]) -> Child:
        return Classify(), []


class _NotFoundResource:
    def __init__(self, description: str) -> None:
        self.description = description

    def on_get(self, request: Request, response: Response) -> None:
        not_found(response, self.description)

    on_post = on_patch = on_get


def _all_lists(params: dict[str, Any]) -> list[Row]:
    return [dict(list_id=mlist.list_id, **ListAdmin(mlist).stats())
            for mlist in getUtility(IListManager).mailing_lists]


class OneList(_Resource):

    def __init__(self, mlist: IMailingList) -> None:
        self.admin = ListAdmin(mlist)

    def on_get(self, request: Request, response: Response) -> None:
        okay(response, etag(dict(self.admin.settings(), **self.admin.stats())))

    def on_patch(self, request: Request, response: Response) -> None:
        if _refused_while_inactive(response):
            return
        try:
            params = _fields(request, confirm_after=_whole_number(1, 1000),
                             tracking=_boolean, shadow=_boolean,
                             report=_one_of(tuple(ReportFrequency)))
            self.admin.configure(params.get('confirm_after'),
                                 params.get('tracking'), params.get('shadow'),
                                 params.get('report'))
        except AdminError as error:
            _fail(response, error)
            return
        no_content(response)

    @child()
    def campaigns(self, context: Context, segments: list[str]) -> Child:
        return _Collection(lambda params: self.admin.open_rates()), []

    @child()
    def holds(self, context: Context, segments: list[str]) -> Child:
        segments = _trimmed(segments)
        if not segments:
            return _Collection(lambda params: self.admin.holds()), []
        if len(segments) == 2 and segments[1] in ('release', 'discard'):
            try:
                hold_id = _whole_number(1, MAX_HOLD_ID)(segments[0])
            except ValueError:
                return _NotFoundResource('No hold %s' % segments[0][:20]), []
            release = segments[1] == 'release'
            return _Action(lambda params: self.admin.decide_hold(
                hold_id, release, 'rest:%s' % (params.get('by') or 'admin')),
                by=_BY), []
        return _NotFoundResource('Use holds/<id>/release or '
                                 'holds/<id>/discard'), []

    @child()
    def stats(self, context: Context, segments: list[str]) -> Child:
        return _Report(self.admin.stats), []

    @child()
    def members(self, context: Context, segments: list[str]) -> Child:
        segments = _trimmed(segments)
        if not segments:
            list_id = self.admin.mlist.list_id
            return _Collection(
                lambda params: self.admin.member_rows(params.get('state'),
                                                      params.get('search')),
                link=lambda row: _path('lists', list_id, 'members',
                                       row['email']),
                state=_one_of(STATES), search=_string(MAX_ADDRESS_CHARS)), []
        # A local part may hold '/', which the REST server splits on even
        # when sent as %2F; a domain never does, so the address ends at
        # the first segment with an '@'.
        end = next((index for index, segment in enumerate(segments)
                    if '@' in segment), 0) + 1
        email = '/'.join(segments[:end])
        if len(email) > MAX_ADDRESS_CHARS:
            return _NotFoundResource('No such member'), []
        return OneMember(self.admin, email), segments[end:]


class _Report:
    """A read-only report."""

    def __init__(self, build: Callable[[], Row]) -> None:
        self.build = build

    def on_get(self, request: Request, response: Response) -> None:
        okay(response, etag(self.build()))


class OneMember(_Resource):

    def __init__(self, admin: ListAdmin, email: str) -> None:
        self.admin = admin
        self.email = email

    def on_get(self, request: Request, response: Response) -> None:
        try:
            row = self.admin.member(self.email)
        except AdminError as error:
            _fail(response, error)
            return
        okay(response, etag(row))

    @child()
    def history(self, context: Context, segments: list[str]) -> Child:
        """Oldest first, or newest first with order=newest (a page of the
        newest events: what a panel shows first)."""
        return _Collection(lambda params: self.admin.history(
            self.email, newest_first=params.get('order') == 'newest'),
            order=_one_of(('oldest', 'newest'))), []

    @child()
    def opens(self, context: Context, segments: list[str]) -> Child:
        return _Action(lambda params: self.admin.record_open(
            self.email, params.get('campaign')), campaign=_string(998)), []

    @child()
    def reenable(self, context: Context, segments: list[str]) -> Child:
        return _Action(lambda params: self.admin.reenable(self.email)), []

    @child()
    def undo(self, context: Context, segments: list[str]) -> Child:
        return _Action(lambda params: self.admin.undo(
            self.email, 'rest:%s' % (params.get('by') or 'admin')), by=_BY), []


class _Action:
    """A POST action on a member or a hold."""

    def __init__(self, function: Callable[[dict[str, Any]], Row],
                 **converters: Converter) -> None:
        self.function = function
        self.converters = converters

    def on_get(self, request: Request, response: Response) -> None:
        _not_allowed(response, 'POST')

    def on_post(self, request: Request, response: Response) -> None:
        if _refused_while_inactive(response):
            return
        try:
            body = self.function(_fields(request, **self.converters))
        except AdminError as error:
            _fail(response, error)
            return
        okay(response, etag(body))


class Classify:
    """POST a raw bounce (as message/rfc822, application/octet-stream or
    text/plain) and get the rules' verdict."""

    def on_post(self, request: Request, response: Response) -> None:
        if _refused_while_inactive(response):
            return
        content_type = (request.content_type or '').split(';')[0].strip().lower()
        if content_type in FORM_TYPES or (
                content_type and content_type not in MESSAGE_TYPES):
            response.status = falcon.HTTP_415
            response.content_type = falcon.MEDIA_JSON
            response.data = falcon.HTTPUnsupportedMediaType(
                description='Send the bounce as the raw request body with '
                'Content-Type %s (with curl: --data-binary @FILE -H '
                '"Content-Type: message/rfc822")' % ' or '.join(
                    MESSAGE_TYPES)).to_json()
            return
        length = request.content_length
        if length is None or length == 0:
            bad_request(response, 'Send the bounce message as the request '
                        'body')
            return
        if length > MAX_MESSAGE_BYTES:
            bad_request(response, 'Message larger than %d bytes'
                        % MAX_MESSAGE_BYTES)
            return
        data = request.bounded_stream.read(length)
        report, decisions = getUtility(IClassifier).classify(data)
        record = as_record(None, report, decisions)
        okay(response, json.dumps(record))
