"""A real mail path for end-to-end tests, all on 127.0.0.1.

    Mailman out --SMTP--> private Postfix --SMTP--> scripted remote server
                                 |  (Postfix writes the DSNs)
    Mailman LMTP runner <--LMTP--+

Everything lives in one folder and is stopped by `close()`.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from aiosmtpd.controller import Controller

MASTER_CF = """\
127.0.0.1:{smtp_port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
lmtp      unix  - - n -  - lmtp
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
showq     unix  n - n -  - showq
postlog   unix-dgram n - n - 1 postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/spool
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mta.example.test
mydomain = example.test
myorigin = $myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains = {list_domain}
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
transport_maps = texthash:{root}/etc/transport
recipient_delimiter = +
# One attempt only: a temporary refusal is returned at once, as it would be
# after days in a real queue.
maximal_queue_lifetime = 0
bounce_queue_lifetime = 0
smtp_dns_support_level = disabled
smtp_tls_security_level = none
smtpd_tls_security_level = none
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
biff = no
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class ScriptedRemote:
    """The recipients' mail server: answers RCPT TO as the test says."""

    def __init__(self, replies):
        self.replies = replies          # address -> "550 5.1.1 ..." or None
        self.accepted = []

    async def handle_RCPT(self, server, session, envelope, address, options):
        reply = self.replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return '250 2.1.5 OK'

    async def handle_DATA(self, server, session, envelope):
        self.accepted.extend(envelope.rcpt_tos)
        return '250 2.0.0 Accepted'


class MailFlow:
    """Start a private Postfix, a scripted remote server and Mailman's LMTP
    runner; `close()` stops all three."""

    def __init__(self, mailman_config, list_domain, remote_domains,
                 replies, lmtp_port):
        # Not under pytest's tmp_path: Postfix's own user must reach it.
        self.root = Path(tempfile.mkdtemp(prefix='bouncerules-mta-'))
        self.root.chmod(0o755)
        self.smtp_port = free_port()
        self.remote_port = free_port()
        self.remote = ScriptedRemote(replies)
        self.controller = Controller(self.remote, hostname='127.0.0.1',
                                     port=self.remote_port)
        self.controller.start()
        self._write_postfix(list_domain, remote_domains, lmtp_port)
        self._postfix('start')
        self.lmtp = subprocess.Popen(
            [sys.executable, '-c', LMTP_RUNNER, mailman_config,
             str(lmtp_port)], stderr=subprocess.PIPE)
        if not wait_for(lambda: _listening(lmtp_port)
                        or self.lmtp.poll() is not None, timeout=60) \
                or self.lmtp.poll() is not None:
            self.close()
            raise RuntimeError('LMTP runner did not start: %s'
                               % self.lmtp.stderr.read().decode()[-2000:])

    def _write_postfix(self, list_domain, remote_domains, lmtp_port):
        etc = self.root / 'etc'
        etc.mkdir()
        (etc / 'main.cf').write_text(MAIN_CF.format(
            root=self.root, list_domain=list_domain))
        (etc / 'master.cf').write_text(MASTER_CF.format(
            smtp_port=self.smtp_port))
        routes = ['%s lmtp:[127.0.0.1]:%d' % (list_domain, lmtp_port)]
        routes += ['%s smtp:[127.0.0.1]:%d' % (domain, self.remote_port)
                   for domain in remote_domains]
        (etc / 'transport').write_text('\n'.join(routes) + '\n')
        for name in ('spool', 'data'):
            (self.root / name).mkdir()
        # Mailman sets umask 007; Postfix's own user must read these.
        for path in [etc, self.root / 'spool', *etc.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        os.chown(self.root / 'data', *_postfix_ids())

    def _postfix(self, command):
        subprocess.run(['postfix', '-c', str(self.root / 'etc'), command],
                       check=True, capture_output=True, timeout=60)

    def log(self):
        path = self.root / 'maillog'
        return path.read_text(errors='replace') if path.exists() else ''

    def close(self):
        try:
            self._postfix('stop')
        finally:
            self.lmtp.terminate()
            self.lmtp.wait(timeout=30)
            self.controller.stop()
            shutil.rmtree(self.root, ignore_errors=True)


def _listening(port):
    with socket.socket() as probe:
        return probe.connect_ex(('127.0.0.1', port)) == 0


def _postfix_ids():
    import pwd
    entry = pwd.getpwnam('postfix')
    return entry.pw_uid, entry.pw_gid


def wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


LMTP_RUNNER = textwrap.dedent('''\
    import sys
    from mailman.core.initialize import initialize
    initialize(sys.argv[1])
    from mailman.config import config
    config.push('lmtp', '[mta]\\nlmtp_host: 127.0.0.1\\nlmtp_port: %s\\n'
                % sys.argv[2])
    from mailman.runners.lmtp import LMTPRunner
    runner = LMTPRunner('lmtp')
    runner.set_signals()
    runner.run()
    ''')
