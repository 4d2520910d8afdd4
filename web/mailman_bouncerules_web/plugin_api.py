"""The plugin's REST resources, as the panel reads and changes them.

Everything goes through Mailman core's REST API under
``/3.1/plugins/bouncerules/`` (the web server may have no Mailman core of
its own).  JSON calls use the connection of Postorius's own mailmanclient
client, so its credentials, its request hooks and its error handling apply:
an unreachable core raises ``MailmanConnectionError``, which Postorius's
middleware shows as its "Mailman REST API not available" page.  The raw
bounce that ``classify`` reads cannot go through that form-encoding call,
so it is posted with ``requests`` (mailmanclient's own HTTP library) and
the same credentials.
"""

from __future__ import annotations

from typing import Any
from urllib.error import HTTPError
from urllib.parse import quote, urlencode, urljoin

import requests
from mailmanclient import MailmanConnectionError
from postorius.utils import get_mailman_client

ROOT = 'plugins/bouncerules/'
# How long to wait for core on a classify call (it reads the bounce).
CLASSIFY_TIMEOUT = 30


class PluginError(Exception):
    """The plugin refused a request (a 4xx answer): `status` and the
    plugin's own description, which the panel shows as a message."""

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description

    @property
    def not_found(self) -> bool:
        return self.status == 404


def _segment(text: str) -> str:
    """A path segment: an address keeps its '@' (and a '/' in a local part
    is sent encoded; the plugin joins an address's segments again)."""
    return quote(str(text), safe='@')


class PluginAPI:
    """One list's resources of the plugin."""

    def __init__(self, list_id: str, connection: Any = None):
        self.connection = (connection if connection is not None
                           else get_mailman_client()._connection)
        self.base = ROOT + 'lists/' + _segment(list_id) + '/'

    def _call(self, path: str, data: dict | None = None,
              method: str | None = None, base: str | None = None) -> Any:
        """The answer to `path` under this list (or under `base`)."""
        try:
            return self.connection.call((base or self.base) + path, data,
                                        method)[1]
        except HTTPError as error:
            if error.code >= 500 and error.code != 503:
                raise       # Postorius's middleware shows a client error
            raise PluginError(error.code, str(error.reason)) from None

    def status(self) -> dict:
        """The plugin's own state: {'active': bool, 'why_inactive': ...}."""
        return self._call('', base=ROOT)

    def rule_descriptions(self) -> dict[str, str]:
        """{rule name: why the rule exists} of the rules in force; none
        from a plugin too old to say (the names are shown alone)."""
        try:
            rules = self._call('rules', base=ROOT).get('entries', [])
        except PluginError:
            return {}
        return {rule['name']: rule['description'] for rule in rules}

    def summary(self) -> dict:
        """The list's counts and settings."""
        return self._call('')

    def members(self, state: str | None = None, search: str | None = None,
                page: int = 1, count: int = 50, held: bool = False,
                campaign: str | None = None,
                bounced: str | None = None) -> dict:
        """One page of members: {'entries', 'total_size', 'start'};
        `held`: only those an open circuit-breaker hold covers;
        `campaign`, `bounced`: only those with a bounce (of that class) in
        that campaign."""
        query: dict[str, Any] = {'page': page, 'count': count}
        if state:
            query['state'] = state
        if search:
            query['search'] = search
        if held:
            query['held'] = 'true'
        if campaign:
            query['campaign'] = campaign
            if bounced:
                query['bounced'] = bounced
        return self._call('members?' + urlencode(query, quote_via=quote))

    def member(self, email: str) -> dict:
        return self._call('members/' + _segment(email))

    def history(self, email: str, page: int = 1, count: int = 100) -> dict:
        """One page of the member's history, newest first: {'entries',
        'total_size', 'start'}."""
        return self._call('members/' + _segment(email) + '/history?'
                          + urlencode({'order': 'newest', 'page': page,
                                       'count': count}))

    def reenable(self, email: str) -> dict:
        return self._call('members/' + _segment(email) + '/reenable', {})

    def undo(self, email: str, by: str) -> dict:
        return self._call('members/' + _segment(email) + '/undo', {'by': by})

    def holds(self) -> list[dict]:
        return self._call('holds').get('entries', [])

    def decide_hold(self, hold_id: int, release: bool, by: str) -> dict:
        return self._call('holds/%d/%s' % (
            hold_id, 'release' if release else 'discard'), {'by': by})

    def campaigns(self) -> list[dict]:
        return self._call('campaigns').get('entries', [])

    def configure(self, **fields: Any) -> None:
        """PATCH the list's settings (booleans sent as true/false)."""
        self._call('', {name: (str(value).lower()
                               if isinstance(value, bool) else value)
                        for name, value in fields.items()}, 'PATCH')

    def classify(self, message: bytes) -> dict:
        """The plugin's verdict on a raw bounce (nothing is recorded)."""
        url = urljoin(self.connection.baseurl, ROOT + 'classify')
        try:
            response = requests.post(
                url, data=message, auth=self.connection.auth,
                headers={'Content-Type': 'message/rfc822'},
                timeout=CLASSIFY_TIMEOUT)
        except requests.RequestException as error:
            raise MailmanConnectionError(
                'Could not connect to Mailman API: ', repr(error)) from None
        if 400 <= response.status_code < 500:
            try:
                description = response.json()['description']
            except (KeyError, TypeError, ValueError):
                description = response.text
            raise PluginError(response.status_code, description)
        if response.status_code >= 300:
            # As mailmanclient raises it, for Postorius's middleware.
            raise HTTPError(url, response.status_code, response.text,
                            None, None)  # type: ignore[arg-type]
        return response.json()
