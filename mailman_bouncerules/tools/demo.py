"""A throwaway Mailman site that shows every bounce state in seconds.

    python -m mailman_bouncerules.tools.demo [FOLDER]

Creates FOLDER (default ./demo, emptied first) with a mailman.cfg that
enables the plugin exactly as etc/mailman-bouncerules.cfg says (SQLite),
starts an SMTP sink on 127.0.0.1, creates a list with seven members, and
sends three posts through Mailman's own runners (incoming, pipeline,
outgoing: the plugin's delivery hook records each campaign).  The SMTP
sink plays the receiving servers: for every copy it is sent (posts and
the plugin's verification probes alike) each mailbox answers as it would,
with a bounce to that copy's envelope sender, in several MTAs' styles,
through the plugin's bounce runner.  A forged notice for a live member
arrives too.  After each post the demo prints what happened to every
member and why.
"""

import shlex
import shutil
import socket
import sys
import textwrap
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from aiosmtpd.controller import Controller

from mailman_bouncerules.tools.testing import samples

if TYPE_CHECKING:   # Mailman is imported once the site is initialised
    from mailman.email.message import Message
    from mailman.interfaces.mailinglist import IMailingList

    from mailman_bouncerules.app.admin import ListAdmin

LIST = 'ant@example.com'
POSTER = 'anne@example.com'

# member -> (what their mailbox does, bounce builder or None)
SCENARIO = {
    'anne@example.com': ('delivers fine', None),
    'bart@example.org': ('does not exist', lambda mid: samples.rfc3464(
        'bart@example.org', '5.1.1', '550 5.1.1 <bart@example.org>: '
        'Recipient address rejected: User unknown in local recipient table',
        original_id=mid)),
    'cris@example.org': ('is full', lambda mid: samples.exim(
        'cris@example.org', '552 5.2.2 Mailbox quota exceeded')),
    'dave@example.net': ('sits behind a spam filter that blocks the list',
                         lambda mid: samples.exchange(
        'dave@example.net', '5.7.1', '550 5.7.1 Service unavailable, client '
        'host [192.0.2.7] blocked using Spamhaus')),
    'elly@example.org': ('is disabled', lambda mid: samples.rfc3464(
        'elly@example.org', '5.2.1', '550 5.2.1 The email account that you '
        'tried to reach is disabled.', original_id=mid)),
    'fred@example.org': ('is disabled but Fred reads the list elsewhere',
                         lambda mid: samples.rfc3464(
        'fred@example.org', '5.2.1', '550 5.2.1 mailbox disabled',
        original_id=mid)),
    'gwen@example.org': ('answers with an out-of-office note',
                         lambda mid: samples.vacation('gwen@example.org')),
}


class Sink:
    """An SMTP server that keeps what it is sent (the 'internet')."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any,
                          envelope: Any) -> str:
        self.messages.append(envelope)
        return '250 OK'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def site_config(folder: Path, port: int) -> str:
    """mailman.cfg: a local layout, the admin's plugin lines, the sink."""
    plugin = Path(__file__).parents[2] / 'etc' / 'mailman-bouncerules.cfg'
    plugin_lines = plugin.read_text() if plugin.exists() else PLUGIN_LINES
    # The plugin lines have an [mta] section; the sink's address joins it,
    # and no MTA alias files are written for the demo list.
    plugin_lines = plugin_lines.replace(
        '[mta]\n', '[mta]\nincoming: mailman.mta.null.NullMTA\n'
        'smtp_host: 127.0.0.1\nsmtp_port: %d\n' % port)
    return textwrap.dedent('''\
        [mailman]
        layout: demo
        site_owner: postmaster@example.com

        [paths.demo]
        var_dir: {var}

        ''').format(var=folder / 'var') + plugin_lines


# The lines of etc/mailman-bouncerules.cfg, for an installed copy without
# the source tree.
PLUGIN_LINES = '''\
[plugin.bouncerules]
class: mailman_bouncerules.plugin.BounceRulesPlugin
enabled: yes
component_package: mailman_bouncerules
configuration: python:mailman_bouncerules.config.bouncerules

[runner.bounces]
class: mailman_bouncerules.runners.bounce.RulesBounceRunner

[mta]
outgoing: mailman_bouncerules.mta.deliver.deliver
'''


@click.command()
@click.argument('folder', default='demo', type=click.Path(file_okay=False,
                                                        path_type=Path))
def main(folder: Path) -> None:
    folder = folder.resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname='127.0.0.1', port=port)
    controller.start()
    try:
        config_file = folder / 'mailman.cfg'
        config_file.write_text(site_config(folder, port))
        run(config_file, sink)
    finally:
        controller.stop()


def run(config_file: Path, sink: Sink) -> None:
    from mailman.core.initialize import initialize
    initialize(str(config_file))
    # Mailman's modules need an initialised site: imported only now.
    from mailman.app.inject import inject_text
    from mailman.app.lifecycle import create_list
    from mailman.config import config
    from mailman.interfaces.domain import IDomainManager
    from mailman.runners.incoming import IncomingRunner
    from mailman.runners.outgoing import OutgoingRunner
    from mailman.runners.pipeline import PipelineRunner
    from mailman.runners.virgin import VirginRunner
    from mailman.testing.helpers import make_testable_runner
    from zope.component import getUtility

    from mailman_bouncerules.app.admin import ListAdmin
    from mailman_bouncerules.runners.bounce import RulesBounceRunner

    say = click.echo
    say('Mailman site: %s (SQLite database in %s)'
        % (config_file, config_file.parent / 'var'))
    getUtility(IDomainManager).add(LIST.partition('@')[2])
    mlist = create_list(LIST)
    mlist.bounce_notify_owner_on_removal = False
    mlist.bounce_notify_owner_on_disable = False
    subscribe_verified(mlist, SCENARIO)
    say('List %s with %d members; each mailbox:' % (LIST, len(SCENARIO)))
    for email, (behaviour, _bounce) in SCENARIO.items():
        say('  %-20s %s' % (email, behaviour))

    def run_queue(runner_class: type, name: str) -> None:
        make_testable_runner(runner_class, name).run()
        config.db.commit()

    admin = ListAdmin(mlist)
    delivered = 0

    def deliver_and_bounce() -> None:
        """Run Mailman's delivery, then let each mailbox answer what it got
        (to the envelope sender), until nothing more goes out."""
        nonlocal delivered
        while True:
            for runner_class, name in ((IncomingRunner, 'in'),
                                       (VirginRunner, 'virgin'),
                                       (PipelineRunner, 'pipeline'),
                                       (OutgoingRunner, 'out')):
                run_queue(runner_class, name)
            envelopes = sink.messages[delivered:]
            delivered = len(sink.messages)
            if not envelopes:
                return
            for envelope in envelopes:
                original = mailman_message(envelope.content).get('Message-ID')
                for email in envelope.rcpt_tos:
                    answer = SCENARIO.get(email, (None, None))[1]
                    if answer is None:
                        continue
                    msg = mailman_message(answer(original))
                    del msg['To']
                    msg['To'] = envelope.mail_from
                    config.switchboards['bounces'].enqueue(
                        msg, listid=mlist.list_id)
            run_queue(RulesBounceRunner, 'bounces')

    for number in (1, 2, 3):
        message_id = '<demo-post-%d@example.com>' % number
        inject_text(mlist, 'From: %s\nTo: %s\nSubject: Post %d\n'
                    'Message-ID: %s\n\nHello, this is post %d.\n'
                    % (POSTER, LIST, number, message_id, number))
        before = len(sink.messages)
        deliver_and_bounce()
        say('\nPost %d went out; the mailboxes answered, and the plugin '
            'probed where a notice was unverified (%d SMTP transactions '
            'in all):' % (number, len(sink.messages) - before))
        if number == 1:
            # Anyone can mail the public -bounces address: a forged notice
            # quoting the archived post asks for a probe, which Anne's
            # working mailbox does not bounce.
            forged = mailman_message(samples.rfc3464(
                POSTER, '5.1.1', '550 5.1.1 <%s>: user unknown' % POSTER,
                original_id=message_id))
            config.switchboards['bounces'].enqueue(forged,
                                                   listid=mlist.list_id)
            run_queue(RulesBounceRunner, 'bounces')
            deliver_and_bounce()
            say('  a forged "user unknown" for %s arrived: nobody is removed '
                'on it; one probe went to %s, whose mailbox works, so it '
                'never bounces (and her next post voids the notice)'
                % (POSTER, POSTER))
        if number == 2:
            result = admin.record_open('fred@example.org')
            config.db.commit()
            say('  fred@example.org opened post 2 -> run reset to %d'
                % result['run'])
        _show(say, admin)
    history = admin.history('bart@example.org')
    first = next(row['time'] for row in history if row['event'] == 'bounce')
    gone = next(row['time'] for row in history if row['event'] == 'removed')
    say('\nbart@example.org: removed %.2f s after its first bounce arrived '
        '(its probe went out and bounced in between)' % (
            datetime.fromisoformat(gone) - datetime.fromisoformat(first))
        .total_seconds())
    say('\nStats: %s' % admin.stats())
    # The `mailman` beside this Python: the demo runs from a virtualenv
    # whose bin/ is seldom on the PATH.
    mailman = shlex.quote(str(Path(sys.executable).with_name('mailman')))
    say('\nSame data from the command line:\n'
        '  %s -C %s --run-as-root bouncerules status %s\n'
        '  %s -C %s --run-as-root bouncerules history %s elly@example.org'
        % (mailman, config_file, LIST, mailman, config_file, LIST))


def subscribe_verified(mlist: 'IMailingList', emails: Iterable[str]) -> None:
    """Subscribe new, verified addresses to `mlist`, committed."""
    from mailman.config import config
    from mailman.interfaces.member import MemberRole
    from mailman.interfaces.usermanager import IUserManager
    from mailman.utilities.datetime import now
    from zope.component import getUtility
    users = getUtility(IUserManager)
    for email in emails:
        address = users.create_address(email)
        address.verified_on = now()
        mlist.subscribe(address, MemberRole.member)
    config.db.commit()


def mailman_message(data: bytes) -> 'Message':
    """Bounce bytes as the Mailman message a queue holds, with a
    Message-ID (the sites the tests and the bench start use it too)."""
    from email import message_from_bytes
    from email.utils import make_msgid

    from mailman.email.message import Message
    msg = message_from_bytes(data, Message)
    if msg['Message-ID'] is None:
        msg['Message-ID'] = make_msgid('dsn')
    return msg


def _show(say: Callable[[str], None], admin: 'ListAdmin') -> None:
    for row in admin.members() + admin.members('removed'):
        last = row['last_bounce'] or {}
        reason = ('%s by rule %s (status %s)' % (
            last['classification'], last['rule'], last['status'] or '-')
            if last else '')
        verifying = (' (verifying: would %s)' % row['verifying']['change']
                     if row['verifying'] else '')
        say('  %-20s %-9s run %d  %s%s' % (row['email'], row['state'],
                                            row['run'], reason, verifying))


if __name__ == '__main__':
    sys.exit(main())
