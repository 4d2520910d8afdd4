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
    GET   rules                               the rules in force, in order
    POST  classify                            a raw bounce message as body:
                                              the decisions, each with why
                                              and the rules tried before

<list> is a posting address or a List-ID.  Each resource is a class in
lists.py, members.py or holds.py; fields come as a form or as a JSON
object and are read by Mailman's `Validator` (helpers.py).  Bad input (an
unknown field, a body that is not an object, a number out of range, a
string too long) gets 400, unknown lists, members, holds and campaigns
404, an action the state no longer allows 409, a wrong method 405, a form
posted to `classify` 415: each with a description, never a 500.  While
the plugin is NOT ACTIVE (stock Mailman in charge, see availability.py)
every change and `classify` answer 503 with the reason; reads still
answer, and the root says `active` and why not.
"""

import json
from typing import Any

import falcon
from falcon import Request, Response
from mailman.rest.helpers import bad_request, child, etag, okay
from public import public
from zope.component import getUtility, queryUtility

from mailman_bouncerules.app.admin import NotFoundError, Row, find_list
from mailman_bouncerules.app.availability import plugin_active, why_inactive
from mailman_bouncerules.classify.record import as_explained_record
from mailman_bouncerules.interfaces import IClassifier
from mailman_bouncerules.rest.helpers import (
    Child,
    Collection,
    Context,
    NotFound,
    PluginResource,
    refused_while_inactive,
    trimmed,
)
from mailman_bouncerules.rest.lists import AList, AllLists

MAX_MESSAGE_BYTES = 10 * 1024 * 1024
# Raw messages `classify` reads; forms are refused (Mailman's REST server
# parses a form body itself, so the message would arrive empty).
MESSAGE_TYPES = ('message/rfc822', 'application/octet-stream', 'text/plain')
FORM_TYPES = ('application/x-www-form-urlencoded', 'multipart/form-data')


@public
class Root(PluginResource):
    """What `plugin.resource` returns: /3.1/plugins/bouncerules/"""

    def on_get(self, request: Request, response: Response) -> None:
        status: Row = dict(plugin='bouncerules', active=plugin_active(),
                           resources=['lists', 'classify', 'rules'])
        if not status['active']:
            status['why_inactive'] = why_inactive()
        okay(response, etag(status))

    @child()
    def lists(self, context: Context, segments: list[str]) -> Child:
        segments = trimmed(segments)
        if not segments:
            return AllLists(), []
        try:
            mlist = find_list(segments[0])
        except NotFoundError as error:
            return NotFound(str(error)), []
        return AList(mlist), segments[1:]

    @child()
    def classify(self, context: Context, segments: list[str]) -> Child:
        return Classify(), []

    @child()
    def rules(self, context: Context, segments: list[str]) -> Child:
        return Rules(), []


class Rules(Collection):
    """GET the rules in force, in the order they are tried, each with what
    it decides and why it exists (a panel shows the description beside a
    rule's name)."""

    def rows(self, params: dict[str, Any]) -> list[Row]:
        classifier = queryUtility(IClassifier)
        if classifier is None:
            return []       # not active: stock Mailman decides, no rules
        return [{'name': rule.name, 'classification': rule.classification,
                 'action': rule.action, 'reason': rule.reason,
                 'description': ' '.join(rule.description.split()),
                 'source': rule.source}
                for rule in classifier.ruleset.rules]


class Classify:
    """POST a raw bounce (as message/rfc822, application/octet-stream or
    text/plain) and get the rules' verdict."""

    def on_post(self, request: Request, response: Response) -> None:
        if refused_while_inactive(response):
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
        classifier = getUtility(IClassifier)
        report, decisions = classifier.classify(data)
        okay(response, json.dumps(as_explained_record(
            report, decisions, classifier.ruleset)))
