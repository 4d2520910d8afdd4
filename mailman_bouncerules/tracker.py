"""The public pixel endpoint: a tiny WSGI application, and its runner.

Every request to the pixel path gets the same 1x1 GIF and no-cache headers,
whether its token is valid or not, so the answer reveals nothing.  A valid
token records the open (the first request for it only) and resets the
member's run; anything else changes nothing.  No member data goes into a
response or a log line; requests bodies are never read.

Run it as a Mailman runner, listening on 127.0.0.1 (put the site's web
server in front of it and set `tracker_url` to the public address):

    [runner.bouncetrack]
    class: mailman_bouncerules.tracker.TrackerRunner
    path:
    instances: 1

or under any WSGI server, as `mailman_bouncerules.tracker:application`
(Mailman is initialised from MAILMAN_CONFIG_FILE on the first request).
"""

import logging
import re
from contextlib import suppress
from wsgiref.simple_server import WSGIRequestHandler, make_server

from mailman.config import config
from mailman.core.runner import Runner
from mailman.interfaces.listmanager import IListManager
from mailman.interfaces.runner import RunnerInterrupt
from public import public
from zope.component import getUtility

from mailman_bouncerules.pixel import GIF
from mailman_bouncerules.settings import settings
from mailman_bouncerules.tracking import record_open, resolve

log = logging.getLogger('mailman.bounce')

PIXEL_PATH = re.compile(r'^/o/([A-Za-z2-7]{12,40})\.gif$')
HEADERS = [
    ('Content-Type', 'image/gif'),
    ('Content-Length', str(len(GIF))),
    ('Cache-Control', 'no-store, no-cache, must-revalidate, max-age=0'),
    ('Pragma', 'no-cache'),
    ('Expires', '0'),
]
MAX_PATH = 200


@public
def record_token_open(token):
    """Apply a pixel request's token; True if it was a new, valid open."""
    store = config.db.store
    found = resolve(store, token.lower())
    if found is None:
        return False
    campaign, email = found
    mlist = getUtility(IListManager).get_by_list_id(campaign.list_id)
    member = mlist.members.get_member(email) if mlist is not None else None
    if member is None:
        return False
    return record_open(mlist, member, email, campaign, 'open',
                       first_only=True)


@public
def tracker_application(environ, start_response):
    path = environ.get('PATH_INFO', '')[:MAX_PATH + 1]
    if not path.startswith('/o/'):
        start_response('404 Not Found', [('Content-Type', 'text/plain')])
        return [b'Not found\n']
    match = PIXEL_PATH.match(path) if len(path) <= MAX_PATH else None
    if match is not None and environ.get('REQUEST_METHOD') in ('GET', 'HEAD'):
        try:
            record_token_open(match.group(1))
            config.db.commit()
        except Exception:
            config.db.abort()
            # Not the token: it would tie the log line to a member.
            log.exception('bouncerules tracker: an open could not be recorded')
        finally:
            config.db.store.close()
    start_response('200 OK', list(HEADERS))
    return [b''] if environ.get('REQUEST_METHOD') == 'HEAD' else [GIF]


@public
def application(environ, start_response):
    """For WSGI servers outside Mailman (gunicorn, uwsgi)."""
    if getattr(config, 'db', None) is None:
        from mailman.core.initialize import initialize
        initialize()
    return tracker_application(environ, start_response)


class _QuietHandler(WSGIRequestHandler):
    """No access log: a request line carries a member's token."""

    def log_message(self, format, *args):
        pass


@public
class TrackerRunner(Runner):
    """Serves the pixel on [bouncerules] tracker_host:tracker_port."""

    is_queue_runner = False
    server = None

    def run(self):
        """Serve until the master's signal interrupts (RunnerInterrupt)."""
        host, port = settings().tracker_host, settings().tracker_port
        self.server = make_server(host, port, tracker_application,
                                  handler_class=_QuietHandler)
        log.info('bouncerules tracker listening on %s:%d', host, port)
        with suppress(RunnerInterrupt):
            self.server.serve_forever()
        self.server.server_close()
