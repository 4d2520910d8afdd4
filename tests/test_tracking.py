"""Open tracking: tokens, the pixel, the endpoint over real HTTP, resets."""

import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from email import message_from_bytes
from pathlib import Path
from types import SimpleNamespace

import pytest
from mailman.config import config
from mailman.email.message import Message
from mailman.runners.outgoing import OutgoingRunner
from mailman.testing.helpers import make_testable_runner
from sitehelpers import (
    add_member,
    as_message,
    bounce,
    dead_mailbox,
    hard,
    make_list,
    state,
    tracked_list,
)

from mailman_bouncerules.app.admin import ListAdmin
from mailman_bouncerules.app.campaigns import find_campaign
from mailman_bouncerules.app.tracking import recipient_ids, resolve
from mailman_bouncerules.config.settings import pushed
from mailman_bouncerules.model.tables import Event, Open
from mailman_bouncerules.runners.tracker import TrackerRunner
from mailman_bouncerules.tools.testing import samples
from mailman_bouncerules.utilities.pixel import GIF, add_pixel
from mailman_bouncerules.utilities.tokens import (
    TokenPurpose,
    make_token,
    split_token,
    verify,
)

HERE = Path(__file__).parent
SECRET = b'0123456789abcdef'
BART, CRIS = 'bart@example.org', 'cris@example.org'


# -- tokens --------------------------------------------------------------

def test_token_round_trip():
    token = make_token(SECRET, 'ant.example.com', 4321, 987654)
    assert token == token.lower() and len(token) <= 24
    campaign, recipient, payload, mac = split_token(token)
    assert (campaign, recipient) == (4321, 987654)
    assert verify(SECRET, 'ant.example.com', payload, mac)


def test_token_is_bound_to_secret_and_list():
    _c, _r, payload, mac = split_token(
        make_token(SECRET, 'ant.example.com', 1, 2))
    assert not verify(b'another secret', 'ant.example.com', payload, mac)
    assert not verify(SECRET, 'bee.example.com', payload, mac)


def test_tampered_tokens_fail():
    token = make_token(SECRET, 'ant.example.com', 1, 2)
    for position in range(len(token)):
        replacement = 'a' if token[position] != 'a' else 'b'
        tampered = token[:position] + replacement + token[position + 1:]
        parts = split_token(tampered)
        assert parts is None or not verify(
            SECRET, 'ant.example.com', parts[2], parts[3])


@pytest.mark.parametrize('junk', ['', 'short', 'x' * 41, 'UPPER1890!!!!', None,
                                  'aaaaaaaaaaaaaaaaaaaa', '../../../etc/pass'])
def test_malformed_tokens_read_as_nothing(junk):
    parts = split_token(junk)
    assert parts is None or not verify(SECRET, 'ant.example.com', parts[2],
                                       parts[3])


# -- the pixel -------------------------------------------------------------

ALTERNATIVE = b"""\
From: anne@example.com
Content-Type: multipart/alternative; boundary="B"

--B
Content-Type: text/plain

Plain words.
--B
Content-Type: text/html; charset=utf-8

<html><body><p>Rich words.</p></body></html>
--B--
"""


def test_pixel_once_per_html_part_never_in_text():
    msg = message_from_bytes(ALTERNATIVE, Message)
    url = 'https://lists.example.com/bt/o/abc.gif'
    assert add_pixel(msg, url) == 1
    assert add_pixel(msg, url) == 0             # never twice
    text, html = msg.get_payload()
    assert url not in text.get_payload()
    body = html.get_payload(decode=True).decode()
    assert body.count(url) == 1
    assert body.index(url) < body.index('</body>')


def test_plain_text_post_gets_no_pixel():
    msg = message_from_bytes(b'Subject: x\n\nJust text.\n', Message)
    assert add_pixel(msg, 'https://x/o/t.gif') == 0


# -- tracked delivery --------------------------------------------------------

HTML_POST = b"""\
From: anne@example.com
To: ant@example.com
Subject: News
Message-ID: <%s>
Content-Type: multipart/alternative; boundary="B"

--B
Content-Type: text/plain

News.
--B
Content-Type: text/html; charset=utf-8

<html><body><p>News.</p></body></html>
--B--
"""


@pytest.fixture
def tracked(smtp, monkeypatch):
    mlist = tracked_list(BART, CRIS)
    with pushed(tracker_url='https://lists.example.com/bt/o'):
        yield mlist


def post(mlist, number, **msgdata):
    config.switchboards['out'].enqueue(
        as_message(HTML_POST % (b'post-%d@example.com' % number)),
        listid=mlist.list_id, recipients=[BART, CRIS], **msgdata)
    make_testable_runner(OutgoingRunner, 'out').run()
    config.db.commit()
    return '<post-%d@example.com>' % number


def test_each_copy_carries_its_token(tracked, smtp):
    post(tracked, 1)
    copies = {m['X-RcptTo']: m for m in smtp.messages}
    assert set(copies) == {BART, CRIS}
    for recipient, copy in copies.items():
        token = copy['X-BounceRules-Token']
        campaign, email = resolve(config.db.store, token, 'ant.example.com')
        assert (email, campaign.message_id) == (recipient,
                                                'post-1@example.com')
        # The envelope sender carries the copy's return token: it names
        # the same copy, shows nowhere in the copy, and the public token
        # does not pass for it (nor the other way round).
        sender = copy['X-MailFrom']
        assert sender.startswith('ant-bounces+') and token not in sender
        returned = sender[len('ant-bounces+'):].partition('@')[0]
        assert returned not in copy.as_string().replace(sender, '')
        assert resolve(config.db.store, returned, 'ant.example.com',
                       purpose=TokenPurpose.RETURN) == (campaign, email)
        assert resolve(config.db.store, returned, 'ant.example.com') is None
        assert resolve(config.db.store, token, 'ant.example.com',
                       purpose=TokenPurpose.RETURN) is None
        html = [p for p in copy.walk() if p.get_content_type() == 'text/html']
        assert len(html) == 1
        assert html[0].get_payload(decode=True).decode().count(
            'https://lists.example.com/bt/o/%s.gif' % token) == 1
    assert copies[BART]['X-BounceRules-Token'] != \
        copies[CRIS]['X-BounceRules-Token']


def test_lists_without_tracking_get_no_token(smtp):
    mlist = make_list()
    add_member(mlist, BART)
    post(mlist, 1)
    [copy] = list(smtp.messages)
    assert copy['X-BounceRules-Token'] is None
    assert copy['X-MailFrom'] == 'ant-bounces@example.com'


def test_digests_get_no_token_or_pixel(tracked, smtp):
    post(tracked, 7, isdigest=True)
    for copy in smtp.messages:
        assert copy['X-BounceRules-Token'] is None
        assert b'/bt/o/' not in copy.as_bytes()


def test_bounce_to_the_token_address_is_attributed_exactly(tracked, smtp):
    post(tracked, 1)
    post(tracked, 2)
    token = {m['X-RcptTo']: m['X-BounceRules-Token'] for m in smtp.messages
             if m['Message-ID'] == '<post-1@example.com>'}[BART]
    # The bounce of post 1 came late and names a forwarding address; only
    # the envelope (To: the VERP address) says whose it is.
    dsn = samples.rfc3464('forwarded@elsewhere.example', '5.2.1',
                          '550 5.2.1 mailbox disabled').replace(
        b'To: ant-bounces@example.com',
        b'To: ant-bounces+%s@example.com' % token.encode())
    bounce(tracked, dsn)
    [event] = config.db.store.query(Event).filter_by(email=BART).all()
    assert (event.attribution, event.campaign) == ('token',
                                                   'post-1@example.com')


def test_a_token_of_another_list_is_ignored(tracked, smtp):
    post(tracked, 1)
    other = make_list('bee@example.com')
    add_member(other, BART)
    token = next(iter(smtp.messages))['X-BounceRules-Token']
    assert resolve(config.db.store, token, other.list_id) is None


# -- the endpoint, over HTTP on 127.0.0.1 --------------------------------------

@pytest.fixture
def endpoint(mailman):
    config.push('tracker', '[runner.bouncetrack]\nclass: '
                'mailman_bouncerules.runners.tracker.TrackerRunner\npath:\n')
    runner = TrackerRunner('bouncetrack')
    overrides = pushed(tracker_host='127.0.0.1', tracker_port=0)
    overrides.__enter__()
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    while runner.server is None:
        pass
    host, port = runner.server.server_address

    def fetch(path, method='GET'):
        # Read to the end: the server closes the connection once the answer
        # is sent and its token handed to the recorder, which is waited for.
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(b'%s %s HTTP/1.0\r\n\r\n' % (method.encode(),
                                                        path.encode()))
            data = b''
            while chunk := sock.recv(65536):
                data += chunk
        runner.recorder.wait()
        config.db.abort()           # see what the server committed
        head, _blank, body = data.partition(b'\r\n\r\n')
        status_line, _newline, fields = head.partition(b'\r\n')
        response = SimpleNamespace(status=int(status_line.split()[1]),
                                   headers=message_from_bytes(fields))
        if response.status >= 400:
            raise urllib.error.HTTPError(path, response.status, '',
                                         response.headers, io.BytesIO(body))
        return response, body
    fetch.runner = runner
    yield fetch
    runner.stop()               # as the master's signal handler does
    thread.join(timeout=60)
    assert not thread.is_alive()
    overrides.__exit__(None, None, None)
    config.pop('tracker')


def token_of(mlist, email, message_id):
    from mailman_bouncerules.utilities.tokens import site_secret
    campaign = find_campaign(config.db.store, mlist.list_id, message_id)
    ids = recipient_ids(config.db.store, mlist.list_id, [email])
    config.db.commit()
    return make_token(site_secret(), mlist.list_id, campaign.id, ids[email])


def test_valid_token_resets_invalid_changes_nothing(endpoint):
    from sitehelpers import send_campaign
    mlist = make_list()
    add_member(mlist, BART)
    bounce(mlist, hard(send_campaign(mlist, 1)))
    send_campaign(mlist, 2)
    assert state(mlist, BART).run == 1
    token = token_of(mlist, BART, '<post-2@example.com>')
    forged = token[:-1] + ('a' if token[-1] != 'a' else 'b')
    response, bad = endpoint('/o/%s.gif' % forged)
    assert (response.status, bad) == (200, GIF)
    assert response.headers['Cache-Control'].startswith('no-store')
    assert state(mlist, BART).run == 1
    response, good = endpoint('/o/%s.gif' % token)
    assert good == bad == GIF                   # reveals nothing
    assert (state(mlist, BART).run, state(mlist, BART).state) == (0, 'ok')
    [opened] = config.db.store.query(Open).all()
    assert (opened.email, opened.count) == (BART, 1)
    # The same pixel again (a replay) changes nothing.
    endpoint('/o/%s.gif' % token)
    assert config.db.store.query(Open).one().count == 1
    opens = config.db.store.query(Event).filter_by(event='open').count()
    assert opens == 1


def test_confirmed_member_is_not_reset_by_an_open(endpoint):
    from sitehelpers import send_campaign
    mlist = make_list()
    add_member(mlist, BART)
    for number in (1, 2, 3):
        dead_mailbox(mlist, hard(send_campaign(mlist, number)))
    assert state(mlist, BART).state == 'confirmed'
    endpoint('/o/%s.gif' % token_of(mlist, BART, '<post-3@example.com>'))
    assert state(mlist, BART).state == 'confirmed'


def test_two_hard_an_open_a_third_hard_is_not_confirmed(endpoint):
    from sitehelpers import send_campaign
    mlist = make_list()
    add_member(mlist, BART)
    bounce(mlist, hard(send_campaign(mlist, 1)))
    bounce(mlist, hard(send_campaign(mlist, 2)))
    send_campaign(mlist, 3)
    endpoint('/o/%s.gif' % token_of(mlist, BART, '<post-3@example.com>'))
    bounce(mlist, hard('<post-3@example.com>'))
    assert state(mlist, BART).state != 'confirmed'
    bounce(mlist, hard(send_campaign(mlist, 4)))
    assert state(mlist, BART).state != 'confirmed'


@pytest.mark.parametrize('path, status', [
    ('/o/not-a-token.gif', 200), ('/o/%s.gif' % ('a' * 30), 200),
    ('/o/' + 'b' * 300 + '.gif', 200), ('/other', 404)])
def test_endpoint_answers_everything_safely(endpoint, path, status):
    try:
        response, body = endpoint(path)
        code = response.status
    except urllib.error.HTTPError as error:
        code, body = error.code, error.read()
    assert code == status
    if status == 200:
        assert body == GIF


def _open_socket(endpoint):
    host, port = endpoint.runner.server.server_address
    return socket.create_connection((host, port), timeout=10)


def test_an_idle_client_does_not_hold_the_tracker(endpoint):
    idle = _open_socket(endpoint)           # connects, never sends a byte
    try:
        response, body = endpoint('/o/%s.gif' % ('a' * 30))
        assert (response.status, body) == (200, GIF)
        # Answered while the idle client is still connected: not after the
        # server had given up on it.
        idle.setblocking(False)
        with pytest.raises(BlockingIOError):
            idle.recv(1)
    finally:
        idle.close()


def _member_with_a_token():
    """Bart on a list with one campaign; his token for it."""
    from sitehelpers import send_campaign
    mlist = make_list()
    add_member(mlist, BART)
    send_campaign(mlist, 1)
    return token_of(mlist, BART, '<post-1@example.com>')


def test_the_answer_does_not_wait_for_the_database(endpoint, monkeypatch):
    token = _member_with_a_token()
    release, started = threading.Event(), threading.Event()

    def slow_record(token):
        started.set()
        release.wait(10)
    monkeypatch.setattr('mailman_bouncerules.runners.tracker.record_token_open',
                        slow_record)
    host, port = endpoint.runner.server.server_address
    try:
        with urllib.request.urlopen('http://%s:%d/o/%s.gif' % (
                host, port, token), timeout=10) as response:
            assert response.read() == GIF
        # The answer came while the recording was still held up.
        assert started.wait(10) and not release.is_set()
    finally:
        release.set()


def test_a_failed_recording_logs_no_address(endpoint, monkeypatch):
    import logging

    token = _member_with_a_token()

    def locked(*args, **kwargs):
        raise RuntimeError('database is locked [parameters: (%r,)]' % BART)
    monkeypatch.setattr('mailman_bouncerules.app.tracking.record_open', locked)
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(
        record.getMessage() + str(record.exc_info or ''))
    logger = logging.getLogger('mailman.bounce')
    logger.addHandler(handler)
    try:
        _response, body = endpoint('/o/%s.gif' % token)
    finally:
        logger.removeHandler(handler)
    assert body == GIF
    assert any('could not be recorded (RuntimeError)' in line for line in lines)
    assert not any(BART in line for line in lines)


def _connect_when_listening(port):
    for _attempt in range(100):
        try:
            return socket.create_connection(('127.0.0.1', port), timeout=10)
        except ConnectionRefusedError:
            time.sleep(0.1)
    raise AssertionError('the tracker never listened on %d' % port)


def test_sigterm_stops_the_tracker_at_once_with_a_client_connected(tmp_path):
    environment = {name: value for name, value in os.environ.items()
                   if name != 'MAILMAN_EXTRA_TESTING_CFG'}
    # The idle client's request would end after an hour: a tracker that
    # waited for it would not stop within the test's generous minutes.
    process = subprocess.Popen(
        [sys.executable, '-W', 'ignore', str(HERE / 'tracker_site.py'),
         str(tmp_path), '3600'], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=environment)
    try:
        port = int(process.stdout.readline())
        idle = _connect_when_listening(port)
        idle.sendall(b'GET /o/')            # a request never finished
        with urllib.request.urlopen('http://127.0.0.1:%d/o/x.gif' % port,
                                    timeout=60) as response:
            assert response.read() == GIF
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=300)
        idle.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err[-3000:]
    assert out.strip().endswith('stopped')


# -- per-list switch and reports -------------------------------------------------

def test_tracking_is_off_by_default_and_switched_per_list(mailman):
    from click.testing import CliRunner
    from mailman.bin.mailman import Subcommands
    mlist = make_list()
    assert ListAdmin(mlist).settings()['tracking'] is False
    command = Subcommands().get_command(None, 'bouncerules')
    result = CliRunner().invoke(command, ['configure', 'ant@example.com',
                                          '--tracking', 'on'])
    config.db.commit()
    assert 'open tracking on' in result.output
    assert ListAdmin(mlist).settings()['tracking'] is True


def test_open_rate_per_campaign(tracked, smtp):
    post(tracked, 1)
    admin = ListAdmin(tracked)
    admin.record_open(BART, '<post-1@example.com>')
    config.db.commit()
    [row] = admin.open_rates()
    assert (row['campaign'], row['recipients'], row['opened'], row['rate']) \
        == ('post-1@example.com', 2, 1, 0.5)
    from click.testing import CliRunner
    from mailman.bin.mailman import Subcommands
    command = Subcommands().get_command(None, 'bouncerules')
    result = CliRunner().invoke(command, ['stats', 'ant@example.com',
                                          '--opens', '--json'])
    assert json.loads(result.output)['campaigns'][0]['opened'] == 1


def test_short_or_empty_secrets_are_refused(mailman, tmp_path):
    import os

    from mailman_bouncerules.config.settings import SCHEMA
    from mailman_bouncerules.utilities.tokens import SecretError, site_secret
    with pytest.raises(ValueError, match='at least 32'):
        SCHEMA['secret'].parse('short')     # refused at start
    with pushed(secret='short'):
        with pytest.raises(SecretError, match='at least 32'):
            site_secret()
    path = os.path.join(config.VAR_DIR, 'bouncerules-secret')
    saved = open(path, 'rb').read() if os.path.exists(path) else None
    try:
        open(path, 'wb').close()            # a crash between create and write
        with pytest.raises(SecretError):
            site_secret()
        os.remove(path)
        generated = site_secret()           # made anew, whole
        assert len(generated) == 64 and open(path, 'rb').read() == generated
    finally:
        if saved is not None:
            open(path, 'wb').write(saved)


def test_a_token_has_one_spelling():
    """The last base32 character carries unused bits; flipping them gives
    a string that decodes to the same bytes, and it must not verify."""
    secret, list_id = b'k' * 32, 'ant.example.com'
    token = make_token(secret, list_id, 1, 1)
    alphabet = 'abcdefghijklmnopqrstuvwxyz234567'
    others = [token[:-1] + letter for letter in alphabet
              if letter != token[-1]]

    def valid(candidate):
        parts = split_token(candidate)
        return parts is not None and verify(secret, list_id, *parts[2:])
    assert valid(token)
    assert not any(valid(other) for other in others)


def test_a_trickling_client_is_dropped_at_the_request_deadline(monkeypatch):
    """A byte every 0.2 s would keep a per-read timeout waiting for ever;
    the deadline counts from the connection."""
    from wsgiref.simple_server import make_server

    from mailman_bouncerules.runners import tracker
    monkeypatch.setattr(tracker, 'READ_TIMEOUT', 1)
    server = make_server('127.0.0.1', 0, tracker.tracker_application(
        lambda token: None), server_class=tracker._ThreadingServer,
        handler_class=tracker._QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = socket.create_connection(server.server_address, timeout=10)
        sent, closed = 0, False
        # Up to 300 bytes at 0.2 s each: a minute, far past the deadline.
        for byte in (b'GET /o/' + b'a' * 293)[:300]:
            try:
                client.sendall(bytes([byte]))
                sent += 1
            except OSError:
                closed = True
                break
            time.sleep(0.2)
            client.setblocking(False)
            try:
                closed = client.recv(1) == b''
            except BlockingIOError:
                pass
            except OSError:
                closed = True
            client.setblocking(True)
            if closed:
                break
        client.close()
        assert closed and sent < 300
    finally:
        server.shutdown()
        server.server_close()
