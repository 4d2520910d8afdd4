"""The public pixel endpoint: a tiny WSGI application, and its runner.

Every request to the pixel path gets the same 1x1 GIF and no-cache headers,
whether its token is valid or not, so the answer reveals nothing.  The
answer goes before any database work: once it is sent, the token is
handed to one recorder thread, so a valid, a replayed and an invalid token
take the same time to answer.  A valid token records the open (the first
request for it only) and resets the member's run; anything else changes
nothing.  No member
data goes into a response or a log line; request bodies are never read.

The server answers each connection in its own thread, drops a client that
has not sent its whole request line and headers READ_TIMEOUT seconds after
it connected (a deadline for the request, not for each read: a client
trickling a byte at a time cannot hold a slot), serves at most
MAX_CONNECTIONS at once, and stops at once on SIGTERM (`mailman stop`).

Run it as a Mailman runner, listening on 127.0.0.1 (put the site's web
server in front of it and set `tracker_url` to the public address):

    [runner.bouncetrack]
    class: mailman_bouncerules.runners.tracker.TrackerRunner
    path:
    instances: 1

or under any WSGI server, as `mailman_bouncerules.runners.tracker:application`
(Mailman is initialised from MAILMAN_CONFIG_FILE on the first request).
"""

import io
import logging
import queue
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from mailman.config import config
from mailman.core.runner import Runner
from mailman.interfaces.runner import RunnerInterrupt
from public import public

from mailman_bouncerules.app.tracking import record_token_open
from mailman_bouncerules.config.settings import settings
from mailman_bouncerules.utilities.pixel import GIF

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
# Seconds from connecting to a complete request line and headers.
READ_TIMEOUT = 10
# Seconds between two looks at the stop flag while no request comes.
STOP_CHECK_EVERY = 0.5
# Connections served at once; more are closed unanswered.
MAX_CONNECTIONS = 64
# Tokens waiting for the recorder; past this, opens are dropped (an open is
# a hint that the member is alive, never needed for correctness).
MAX_WAITING = 10000
# WSGI (PEP 3333): the server's start_response, and an application.
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@public
class OpenRecorder:
    """Records opens after their answer has gone, in one thread.

    The one thread owns the database session: request threads only queue
    tokens, so no request ever waits on the database or shows by its
    timing what the database said.
    """

    def __init__(self, capacity: int = MAX_WAITING) -> None:
        self._waiting: queue.Queue[str | None] = queue.Queue(capacity)
        self._thread = threading.Thread(target=self._work, daemon=True,
                                        name='bouncerules-opens')
        self._dropped = 0

    def start(self) -> 'OpenRecorder':
        self._thread.start()
        return self

    def submit(self, token: str) -> None:
        try:
            self._waiting.put_nowait(token)
        except queue.Full:
            self._dropped += 1
            if self._dropped % 1000 == 1:
                log.warning('bouncerules tracker: too many opens waiting; '
                            '%d dropped so far', self._dropped)

    def wait(self) -> None:
        """Until every queued token is recorded (tests)."""
        self._waiting.join()

    def stop(self, timeout: float = 5.0) -> None:
        """Record what is queued, then end the thread."""
        with suppress(queue.Full):
            self._waiting.put(None, timeout=timeout)
        self._thread.join(timeout)

    def _work(self) -> None:
        while (token := self._waiting.get()) is not None:
            try:
                record_token_open(token)
                config.db.commit()
            except Exception as error:
                config.db.abort()
                # The class only: a database error's text can quote the
                # statement's parameters, which name the member.
                log.error('bouncerules tracker: an open could not be '
                          'recorded (%s)', type(error).__name__)
            finally:
                config.db.store.close()
                self._waiting.task_done()
        self._waiting.task_done()


@public
def tracker_application(submit: Callable[[str], None]) -> WSGIApp:
    """The WSGI application; `submit(token)` records an open later."""

    def answer(environ: dict[str, Any],
               start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get('PATH_INFO', '')[:MAX_PATH + 1]
        if not path.startswith('/o/'):
            start_response('404 Not Found', [('Content-Type', 'text/plain')])
            return [b'Not found\n']
        method = environ.get('REQUEST_METHOD')
        match = PIXEL_PATH.match(path) if len(path) <= MAX_PATH else None
        start_response('200 OK', list(HEADERS))
        body = _Answer([b''] if method == 'HEAD' else [GIF])
        if match is not None and method in ('GET', 'HEAD'):
            body.then = lambda: submit(match.group(1))
        return body
    return answer


class _Answer(list):
    """A response body that hands its token over once it has been sent:
    WSGI servers call close() after the last byte, so not even waking the
    recorder thread happens while the client waits."""

    then: Callable[[], None] | None = None

    def close(self) -> None:
        if self.then is not None:
            self.then()


_standalone_answer = None
_standalone_lock = threading.Lock()


@public
def application(environ: dict[str, Any],
                start_response: StartResponse) -> Iterable[bytes]:
    """For WSGI servers outside Mailman (gunicorn, uwsgi): Mailman is
    initialised, and the recorder started, on the first request only."""
    global _standalone_answer
    if _standalone_answer is None:
        with _standalone_lock:
            if _standalone_answer is None:
                if getattr(config, 'db', None) is None:
                    from mailman.core.initialize import initialize
                    initialize()
                _standalone_answer = tracker_application(
                    OpenRecorder().start().submit)
    return _standalone_answer(environ, start_response)


class _DeadlineReader(io.RawIOBase):
    """A connection's bytes until a deadline: each read may wait only for
    what is left of it, then TimeoutError."""

    def __init__(self, connection: socket.socket, deadline: float) -> None:
        super().__init__()
        self._connection = connection
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError('no complete request in %d seconds'
                               % READ_TIMEOUT)
        self._connection.settimeout(left)
        return self._connection.recv_into(buffer)


class _QuietHandler(WSGIRequestHandler):
    """No access log (a request line carries a member's token), and a
    deadline for the whole request so that no client can hold a thread."""

    timeout = READ_TIMEOUT

    def setup(self) -> None:
        super().setup()
        self.rfile = io.BufferedReader(_DeadlineReader(
            self.connection, time.monotonic() + READ_TIMEOUT))

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """A thread per connection, at most MAX_CONNECTIONS; stopping never
    waits for a client."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any,
                               client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that timed out or hung up: nothing worth a traceback."""
        log.debug('bouncerules tracker: a request failed')


@public
class TrackerRunner(Runner):
    """Serves the pixel on [bouncerules] tracker_host:tracker_port."""

    is_queue_runner = False
    server = None
    recorder = None

    def run(self) -> None:
        """Serve until the master's signal interrupts (RunnerInterrupt)."""
        host, port = settings().tracker_host, settings().tracker_port
        self.recorder = OpenRecorder().start()
        self.server = make_server(host, port,
                                  tracker_application(self.recorder.submit),
                                  server_class=_ThreadingServer,
                                  handler_class=_QuietHandler)
        log.info('bouncerules tracker listening on %s:%d', host, port)
        # Not serve_forever(): the master's signal raises RunnerInterrupt
        # wherever the main thread is, and socketserver swallows any
        # exception raised while it accepts a connection, so a signal
        # arriving then was lost and the tracker never stopped.  The stop
        # flag, set before the raise, is looked at after every request and
        # every half second.
        self.server.timeout = STOP_CHECK_EVERY
        try:
            with suppress(RunnerInterrupt):
                while not self._stop:
                    self.server.handle_request()
        finally:
            self.server.server_close()
            self.recorder.stop()
