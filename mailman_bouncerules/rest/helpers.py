"""What every resource of the plugin's REST shares: reading fields with
Mailman's `Validator`, the converters it is given, the answer each typed
admin error gets, and the 503 of a plugin that is not active.

Converters are core's where core has one (`lazr.config.as_boolean`,
`enum_validator`); each raises ValueError or TypeError, which the
Validator turns into a 400 naming the field.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from typing import Any
from urllib.parse import quote

import falcon
from falcon import Request, Response
from lazr.config import as_boolean
from mailman.rest.helpers import (
    CollectionMixin,
    bad_request,
    child,
    conflict,
    etag,
    not_found,
    okay,
)
from mailman.rest.validator import Validator, enum_validator

from mailman_bouncerules.app.admin import (
    AdminError,
    ConflictError,
    NotFoundError,
    Row,
)
from mailman_bouncerules.app.availability import plugin_active, why_inactive

# The longest address SMTP allows (RFC 5321: 64 + 1 + 255).
MAX_ADDRESS_CHARS = 320
# The most entries one page may ask for.
MAX_PAGE = 1000

# Mailman's REST children: given the request's context and the path's
# remaining segments, (the resource, the segments left for it).
Context = dict[str, Any]
Child = tuple[Any, list[str]]
# A field's converter for Mailman's Validator: the value, or ValueError.
Converter = Callable[[Any], Any]


class BadRequest(AdminError):
    """Fields the Validator refused (400)."""


@contextmanager
def answering(response: Response) -> Iterator[None]:
    """Answer a typed admin error as its status: NotFoundError 404,
    ConflictError 409, any other AdminError 400, each with its words."""
    try:
        yield
    except NotFoundError as error:
        not_found(response, str(error))
    except ConflictError as error:
        conflict(response, str(error))
    except AdminError as error:
        bad_request(response, str(error))


def fields(request: Request, **converters: Converter) -> dict[str, Any]:
    """The request's fields, each optional, converted by Mailman's
    Validator (form or JSON object alike); BadRequest for the rest."""
    if (request.content_type or '').startswith('application/json'):
        if not isinstance(request.get_media(default_when_empty={}), dict):
            raise BadRequest('The request body must be a JSON object')
    try:
        return Validator(_optional=tuple(converters), **converters)(request)
    except ValueError as error:
        raise BadRequest(str(error)) from None


def boolean(value: Any) -> bool:
    """lazr.config's `as_boolean`, as core's REST reads yes/no fields,
    taking JSON's true and false as they are."""
    if isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise TypeError('true or false')
    return as_boolean(value.strip())


def whole_number(low: int, high: int) -> Converter:
    """A whole number from `low` to `high`, as digits or a JSON number
    (never a float, a bool, or more digits than `high` has)."""
    def convert(value: Any) -> int:
        text = value.strip() if isinstance(value, str) else (
            str(value) if type(value) is int else '')
        if not text.isdigit() or len(text) > len(str(high)) \
                or not low <= int(text) <= high:
            raise ValueError('a whole number from %d to %d' % (low, high))
        return int(text)
    return convert


def text(max_chars: int) -> Converter:
    """A string of at most `max_chars`, stripped."""
    def convert(value: Any) -> str:
        if not isinstance(value, str) or len(value) > max_chars:
            raise ValueError('a string of at most %d characters' % max_chars)
        return value.strip()
    return convert


class word_of(enum_validator):
    """Core's `enum_validator`, by the word the plugin's vocabulary writes
    on the wire (`hard`), where core's enums are named by theirs."""

    def __init__(self, enum_class: type[Enum]) -> None:
        super().__init__(enum_class)
        # Kept here: core's own attribute names differ between releases.
        self.enum_class = enum_class
        self.words = tuple(item.value for item in enum_class)

    def __call__(self, value: Any) -> Any:
        if value not in self.words:
            raise ValueError('one of %s' % ', '.join(self.words))
        return self.enum_class(value)


ACTOR = text(100)


def actor(params: dict[str, Any]) -> str:
    """Who the history says acted: `rest:` and the `by` field."""
    return 'rest:%s' % (params.get('by') or 'admin')


def refused_while_inactive(response: Response) -> bool:
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


def path(*segments: object) -> str:
    """The REST path of the plugin's resource named by `segments`."""
    return 'plugins/bouncerules/' + '/'.join(
        quote(str(segment), safe='@+') for segment in segments)


def trimmed(segments: list[str]) -> list[str]:
    """The path's segments without the empty one a trailing slash leaves."""
    return segments[:-1] if segments and segments[-1] == '' else segments


class PluginResource:
    """A resource whose path may end in a slash (`lists/` is `lists`)."""

    @child('')
    def trailing_slash(self, context: Context, segments: list[str]) -> Child:
        return self, []


class NotFound:
    """What a path names that does not exist, whatever the method."""

    def __init__(self, description: str) -> None:
        self.description = description

    def on_get(self, request: Request, response: Response) -> None:
        not_found(response, self.description)

    on_post = on_patch = on_get


class PostOnly:
    """An action: GET is a 405 that says to POST."""

    def on_get(self, request: Request, response: Response) -> None:
        response.status = falcon.HTTP_405
        response.set_header('Allow', 'POST')
        response.content_type = falcon.MEDIA_JSON
        response.data = falcon.HTTPMethodNotAllowed(
            ['POST'], description='Use POST').to_json()


class Collection(CollectionMixin, PluginResource):
    """A collection as core's REST serves one: `entries` (each with its
    `http_etag`), `start` and `total_size`, paged by `count` and `page`.
    A subclass says which fields filter it and gives its rows."""

    filters: tuple[tuple[str, Converter], ...] = ()

    def rows(self, params: dict[str, Any]) -> Sequence[Row]:
        raise NotImplementedError

    def _resource_as_dict(self, resource: Row, fields: Any = None) -> Row:
        return dict(resource)

    def _get_collection(self, request: Request) -> Sequence[Row]:
        return self.entries

    def on_get(self, request: Request, response: Response) -> None:
        with answering(response):
            params = fields(request, count=whole_number(1, MAX_PAGE),
                            page=whole_number(1, 10 ** 9), **dict(self.filters))
            if ('count' in params) != ('page' in params):
                raise BadRequest('count and page go together')
            self.entries = self.rows(params)
            collection = self._make_collection(request)
            collection.setdefault('entries', [])
            okay(response, etag(collection))


class Action(PostOnly):
    """A POST that changes something and answers with what it did; a
    subclass says its fields and does it."""

    accepts: tuple[tuple[str, Converter], ...] = ()

    def act(self, params: dict[str, Any]) -> Row:
        raise NotImplementedError

    def on_post(self, request: Request, response: Response) -> None:
        if refused_while_inactive(response):
            return
        with answering(response):
            okay(response, etag(self.act(fields(request, **dict(self.accepts)))))
