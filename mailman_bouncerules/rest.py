"""REST resources under /3.1/plugins/bouncerules/ (Mailman's admin auth).

    GET   lists                               every list with its counts
    GET   lists/<list>                        counts and settings of one list
    PATCH lists/<list>                        confirm_after=<n>, tracking=<bool>,
                                              shadow=<bool>, report=off|daily|weekly
    GET   lists/<list>/stats                  the counts alone
    GET   lists/<list>/campaigns              each campaign's open rate
    GET   lists/<list>/members[?state=hard]   members and their states
    GET   lists/<list>/members/<email>        one member's state
    GET   lists/<list>/members/<email>/history
    POST  lists/<list>/members/<email>/opens  [campaign=<Message-ID>]
    POST  lists/<list>/members/<email>/reenable
    POST  lists/<list>/members/<email>/undo    [by=<who>]
    GET   lists/<list>/holds                  the circuit breaker's holds
    POST  lists/<list>/holds/<id>/release     [by=<who>]  apply them
    POST  lists/<list>/holds/<id>/discard     [by=<who>]  drop them
    POST  classify                            a raw bounce message as body

<list> is a posting address or a List-ID.  Bad input gets 400, unknown
lists, members and campaigns 404, each with a description.
"""

import json

from mailman.interfaces.listmanager import IListManager
from mailman.rest.helpers import (
    bad_request, child, etag, get_request_params, no_content, not_found,
    okay)
from public import public
from zope.component import getUtility

from mailman_bouncerules.admin import AdminError, ListAdmin, find_list
from mailman_bouncerules.cli import as_record
from mailman_bouncerules.interfaces import IClassifier

MAX_MESSAGE_BYTES = 10 * 1024 * 1024


def _fail(response, error):
    (not_found if error.not_found else bad_request)(response, str(error))


def _params(request, allowed):
    """Form or JSON fields, refusing any not in `allowed`."""
    params = dict(get_request_params(request) or {})
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise AdminError('Unexpected parameters: %s' % ', '.join(unknown))
    return params


@public
class Root:
    """What `plugin.resource` returns: /3.1/plugins/bouncerules/"""

    def on_get(self, request, response):
        okay(response, etag(dict(plugin='bouncerules',
                                 resources=['lists', 'classify'])))

    @child()
    def lists(self, context, segments):
        if not segments:
            return AllLists(), []
        try:
            mlist = find_list(segments[0])
        except AdminError:
            return _NotFoundResource('No such list: %s' % segments[0]), []
        return OneList(mlist), segments[1:]

    @child()
    def classify(self, context, segments):
        return Classify(), []


class _NotFoundResource:
    def __init__(self, description):
        self.description = description

    def on_get(self, request, response):
        not_found(response, self.description)

    on_post = on_patch = on_get


class AllLists:

    def on_get(self, request, response):
        entries = [dict(list_id=mlist.list_id, **ListAdmin(mlist).stats())
                   for mlist in getUtility(IListManager).mailing_lists]
        okay(response, etag(dict(entries=entries, total_size=len(entries))))


class OneList:

    def __init__(self, mlist):
        self.admin = ListAdmin(mlist)

    def on_get(self, request, response):
        okay(response, etag(dict(self.admin.settings(), **self.admin.stats())))

    def on_patch(self, request, response):
        try:
            params = _params(request, {'confirm_after', 'tracking',
                                       'shadow', 'report'})
            self.admin.configure(_whole_number(params.get('confirm_after')),
                                 _yes_no(params.get('tracking'), 'tracking'),
                                 _yes_no(params.get('shadow'), 'shadow'),
                                 params.get('report'))
        except AdminError as error:
            _fail(response, error)
            return
        no_content(response)

    @child()
    def campaigns(self, context, segments):
        return _Report(lambda: dict(entries=self.admin.open_rates())), []

    @child()
    def holds(self, context, segments):
        if not segments:
            return _Report(lambda: dict(entries=self.admin.holds())), []
        if len(segments) == 2 and segments[1] in ('release', 'discard'):
            try:
                hold_id = int(segments[0])
            except ValueError:
                return _NotFoundResource('No hold %s' % segments[0]), []
            release = segments[1] == 'release'
            return _Action(lambda params: self.admin.decide_hold(
                hold_id, release, 'rest:%s' % (params.get('by') or 'admin')),
                allowed={'by'}), []
        return _NotFoundResource('Use holds/<id>/release or '
                                 'holds/<id>/discard'), []

    @child()
    def stats(self, context, segments):
        return _Report(self.admin.stats), []

    @child()
    def members(self, context, segments):
        if not segments:
            return Members(self.admin), []
        return OneMember(self.admin, segments[0]), segments[1:]


class _Report:
    """A read-only report."""

    def __init__(self, build):
        self.build = build

    def on_get(self, request, response):
        okay(response, etag(self.build()))


def _whole_number(value):
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise AdminError('confirm_after must be a whole number')


def _yes_no(value, name):
    if value is None or isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ('true', 'yes', 'on', '1'):
        return True
    if word in ('false', 'no', 'off', '0'):
        return False
    raise AdminError('%s must be true or false' % name)


class Members:

    def __init__(self, admin):
        self.admin = admin

    def on_get(self, request, response):
        try:
            params = _params(request, {'state'})
            rows = self.admin.members(params.get('state'))
        except AdminError as error:
            _fail(response, error)
            return
        okay(response, etag(dict(entries=rows, total_size=len(rows))))


class OneMember:

    def __init__(self, admin, email):
        self.admin = admin
        self.email = email

    def on_get(self, request, response):
        try:
            row = self.admin.member(self.email)
        except AdminError as error:
            _fail(response, error)
            return
        okay(response, etag(row))

    @child()
    def history(self, context, segments):
        return _Action(lambda params: dict(
            entries=self.admin.history(self.email)), get=True), []

    @child()
    def opens(self, context, segments):
        return _Action(lambda params: self.admin.record_open(
            self.email, params.get('campaign')), allowed={'campaign'}), []

    @child()
    def reenable(self, context, segments):
        return _Action(lambda params: self.admin.reenable(self.email)), []

    @child()
    def undo(self, context, segments):
        return _Action(lambda params: self.admin.undo(
            self.email, 'rest:%s' % (params.get('by') or 'admin')),
            allowed={'by'}), []


class _Action:
    """A GET report or a POST action on one member."""

    def __init__(self, function, get=False, allowed=()):
        self.function = function
        self.get = get
        self.allowed = set(allowed)

    def _respond(self, request, response):
        try:
            body = self.function(_params(request, self.allowed))
        except AdminError as error:
            _fail(response, error)
            return
        okay(response, etag(body))

    def on_get(self, request, response):
        if not self.get:
            bad_request(response, 'Use POST')
            return
        self._respond(request, response)

    def on_post(self, request, response):
        if self.get:
            bad_request(response, 'Use GET')
            return
        self._respond(request, response)


class Classify:
    """POST a raw bounce (any content type) and get the rules' verdict."""

    def on_post(self, request, response):
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
