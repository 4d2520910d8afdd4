"""Benchmarks, printed as tables (not tests: numbers vary by machine).

    python -m mailman_bouncerules.tools.bench [--corpus DIR] [--members 1000,100000]
                                        [--database URL] [--recipients 500]

1. Classification throughput on a corpus of real bounces, next to
   flufl.bounce (Mailman's stock detector) and, when Debian's
   libsisimai-perl is installed, Sisimai, in the same run.
2. A bounce storm: a campaign to a list of N members comes back with 5%
   hard and 3% soft bounces.  Time, memory and database statements per
   bounce to process all of them through the bounce runner, for this
   plugin and for stock Mailman's runner and processor on the same storm.
3. The outgoing hook's cost per recipient against stock delivery in the
   same mode: bulk against Mailman's bulk, tracked per-recipient delivery
   against Mailman's own VERP delivery.
4. Hostile bounces (testing/crafted.py): seconds per message for each
   crafted family from 64 KiB to 4 MiB, as the runner gets them (parsed)
   and as the standalone command does (start-up included), and the delay
   of an ordinary bounce queued behind the worst one in the bounce runner.

Each part runs in a throwaway Mailman site (SQLite, or --database).
"""

import json
import logging
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from aiosmtpd.controller import Controller

from mailman_bouncerules.tools.console import console_script
from mailman_bouncerules.tools.demo import PLUGIN_LINES, free_port
from mailman_bouncerules.tools.testing import samples


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Sink:
    async def handle_DATA(self, server: Any, session: Any,
                          envelope: Any) -> str:
        return '250 OK'


# -- 1. classification ---------------------------------------------------------

def classification(corpus: str) -> None:
    from mailman_bouncerules.classify.classifier import Classifier
    from mailman_bouncerules.tools.evaluate import load_corpus, throughput
    emails = load_corpus(Path(corpus))
    ours, flufl = throughput(emails, Classifier())
    rows = [('mailman-bouncerules', ours),
            ('flufl.bounce all_failures', flufl)]
    sisimai = _sisimai_rate(Path(corpus) / 'emails')
    if sisimai is not None:
        rows.append(('Sisimai (perl, one process)', sisimai))
    print('\n1. Classification, %d emails of %s (from raw bytes, best of 3)'
          % (len(emails), corpus))
    print('   %-30s %12s %22s' % ('classifier', 'messages/s',
                                  'mailman-bouncerules is'))
    for name, rate in rows:
        print('   %-30s %12.0f %21.2fx' % (name, rate, ours / rate))


def _sisimai_rate(folder: Path) -> float | None:
    if shutil.which('perl') is None or subprocess.run(
            ['perl', '-MSisimai', '-e', '1'], capture_output=True).returncode:
        return None
    files = sorted(str(path) for path in folder.glob('*.eml'))
    script = ('use Sisimai; use Time::HiRes qw(time); my $t = time; '
              'Sisimai->make($_) for @ARGV; printf "%f", time - $t;')
    result = subprocess.run(['perl', '-e', script] + files,
                            capture_output=True, text=True)
    try:
        return len(files) / float(result.stdout)
    except ValueError:
        return None


# -- a throwaway site -------------------------------------------------------------

def start_site(folder: Path, database: str, smtp_port: int) -> None:
    config_text = ('[mailman]\nlayout: bench\nsite_owner: postmaster@example.com\n'
                   '[paths.bench]\nvar_dir: %s\n' % (folder / 'var'))
    if database:
        config_text += ('[database]\nclass: mailman.database.postgresql.'
                        'PostgreSQLDatabase\nurl: %s\n' % database)
    config_text += PLUGIN_LINES.replace(
        '[mta]\n', '[mta]\nincoming: mailman.mta.null.NullMTA\n'
        'smtp_host: 127.0.0.1\nsmtp_port: %d\n' % smtp_port)
    (folder / 'mailman.cfg').write_text(config_text)
    from mailman.core.initialize import initialize
    initialize(str(folder / 'mailman.cfg'))
    from mailman.config import config
    from mailman.interfaces.domain import IDomainManager
    from zope.component import getUtility
    getUtility(IDomainManager).add('example.com')
    config.db.commit()


def make_members(mlist: Any, count: int, prefix: str) -> list[str]:
    """Subscribe `count` new addresses; their emails."""
    from mailman_bouncerules.tools.testing.roster import subscribe
    emails = ['%s%06d@example.org' % (prefix, n) for n in range(count)]
    subscribe(mlist, emails)
    return emails


# -- 2. bounce storm -----------------------------------------------------------------

# The storms: (name, hard bounce, soft bounce), each a builder of one
# bounce for an address and the campaign's Message-ID.
STORMS: tuple[tuple[str, Callable[[str, str], bytes],
                    Callable[[str, str], bytes]], ...] = (
    ('user unknown + delayed',
     lambda email, campaign: samples.rfc3464(
         email, '5.1.1', '550 5.1.1 <%s>: Recipient address rejected: User '
         'unknown in virtual mailbox table' % email, original_id=campaign),
     lambda email, campaign: samples.rfc3464(
         email, '4.2.2', '452 4.2.2 <%s>: mailbox full' % email,
         action='delayed', original_id=campaign)),
    ('counted (5.2.1) + full (5.2.2)',
     lambda email, campaign: samples.rfc3464(
         email, '5.2.1', '550 5.2.1 mailbox disabled', original_id=campaign),
     lambda email, campaign: samples.rfc3464(
         email, '5.2.2', '552 5.2.2 mailbox full', original_id=campaign)),
)


def storm(sizes: Sequence[int], database: str) -> None:
    """Each storm twice for each processor, in ABBA order (stock, plugin,
    plugin, stock), each run on its own 8% of the members: 5% hard and 3%
    soft bounces of one campaign, queued as LMTP queues them for the plain
    -bounces address, then the bounce runner over the queue (and the
    probes it asks for, sent in its batch).  On PostgreSQL the tables are
    analyzed first, as autovacuum leaves a live site."""
    from mailman.app.lifecycle import create_list
    from mailman.config import config
    from mailman.interfaces.bounce import IBounceProcessor
    from mailman.model.bounce import BounceProcessor
    from mailman.runners.bounce import BounceRunner
    from sqlalchemy import event, text
    from zope.component import getGlobalSiteManager, getUtility

    from mailman_bouncerules.runners.bounce import RulesBounceRunner

    statements = [0]
    event.listen(config.db.engine, 'before_cursor_execute',
                 lambda *args: statements.__setitem__(0, statements[0] + 1))
    ours = getUtility(IBounceProcessor)
    processors = {'stock Mailman': (BounceRunner, BounceProcessor()),
                  'mailman-bouncerules': (RulesBounceRunner, ours)}
    print('\n2. Bounce storms through the bounce runner (%s; each run on its '
          'own 8%% of the members, ABBA order, averaged)'
          % ('PostgreSQL, analyzed' if database else 'SQLite'))
    print('   %9s  %-31s %-20s %10s %13s %8s' % (
        'members', 'storm', 'processor', 'ms/bounce', 'stmts/bounce',
        'RSS +MiB'))
    for size in sizes:
        mlist = create_list('storm%d@example.com' % size)
        config.db.commit()
        emails = make_members(mlist, size, 's%d-' % size)
        if database:
            with config.db.engine.connect() as connection:
                connection.execution_options(
                    isolation_level='AUTOCOMMIT').execute(text('ANALYZE'))
        slices = iter(range(0, size, size * 8 // 100))
        for number, (name, hard, soft) in enumerate(STORMS, 1):
            results: dict[str, list[tuple[float, int, int, float]]] = {}
            for who in ('stock Mailman', 'mailman-bouncerules',
                        'mailman-bouncerules', 'stock Mailman'):
                start = next(slices)
                chosen = emails[start:start + size * 8 // 100]
                results.setdefault(who, []).append(_one_storm(
                    mlist, chosen, hard, soft, '<storm-%d-%d-%d@example.com>'
                    % (size, number, start), *processors[who], statements))
            for who, runs in results.items():
                bounces = sum(run[2] for run in runs)
                print('   %9d  %-31s %-20s %10.2f %13.1f %8.1f' % (
                    size, name, who, 1000 * sum(run[0] for run in runs)
                    / bounces, sum(run[1] for run in runs) / bounces,
                    max(run[3] for run in runs)))
            stock, plugin = (sum(run[0] for run in results[who])
                             for who in processors)
            print('   %9s  %-31s %-20s %10.2fx' % ('', '', 'plugin / stock',
                                                  plugin / stock))
        getGlobalSiteManager().registerUtility(ours, IBounceProcessor)


def _one_storm(mlist: Any, emails: list[str],
               hard: Callable[[str, str], bytes],
               soft: Callable[[str, str], bytes], campaign: str,
               runner_class: Any, processor: Any,
               statements: list[int]) -> tuple[float, int, int, float]:
    """(seconds, statements, bounces, RSS growth) of one storm."""
    from mailman.config import config
    from mailman.interfaces.bounce import IBounceProcessor
    from mailman.testing.helpers import make_testable_runner
    from zope.component import getGlobalSiteManager

    from mailman_bouncerules.app.campaigns import record_campaign
    from mailman_bouncerules.tools.demo import mailman_message

    record_campaign(mlist.list_id, campaign, recipients=emails)
    cut = len(emails) * 5 // 8
    for email in emails[:cut]:
        config.switchboards['bounces'].enqueue(
            mailman_message(hard(email, campaign)), listid=mlist.list_id)
    for email in emails[cut:]:
        config.switchboards['bounces'].enqueue(
            mailman_message(soft(email, campaign)), listid=mlist.list_id)
    getGlobalSiteManager().registerUtility(processor, IBounceProcessor)
    config.db.commit()
    rss = _rss_mib()
    statements[0] = 0
    started = time.perf_counter()
    runner = make_testable_runner(runner_class, 'bounces')
    runner.run()
    config.db.commit()
    return (time.perf_counter() - started, statements[0], len(emails),
            _rss_mib() - rss)


# -- 4. hostile bounces --------------------------------------------------------------

HOSTILE_SIZES = (64 * 1024, 1024 * 1024, 4 * 1024 * 1024)


def hostile() -> bytes:
    """The worst seconds per crafted message, and what they cost others."""
    import email
    from email.policy import compat32

    from mailman_bouncerules.classify.classifier import Classifier
    from mailman_bouncerules.tools.testing.crafted import FAMILIES
    classifier = Classifier()
    print('\n4. Hostile bounces: seconds to read and decide one message '
          '(parsed, as the runner gets it)')
    print('   %-26s' % 'family' + ''.join(
        '%12s' % _size_label(size) for size in HOSTILE_SIZES))
    worst: tuple[float, str, int] = (0.0, '', 0)
    for name, make in FAMILIES.items():
        row = []
        for size in HOSTILE_SIZES:
            data = make(size)
            message = email.message_from_bytes(data, policy=compat32)
            started = time.perf_counter()
            classifier.classify(message)
            seconds = time.perf_counter() - started
            row.append(seconds)
            if seconds > worst[0]:
                worst = (seconds, name, size)
        print('   %-26s' % name + ''.join('%12.3f' % sec for sec in row))
    seconds, name, size = worst
    print('   worst: %.3f s (%s, %s)' % (seconds, name, _size_label(size)))
    data = FAMILIES[name](size)
    with tempfile.NamedTemporaryFile(suffix='.eml') as handle:
        handle.write(data)
        handle.flush()
        started = time.perf_counter()
        result = subprocess.run(
            [console_script(), 'classify',
             '--json', handle.name], capture_output=True, check=True)
        seconds = time.perf_counter() - started
        print('   `bouncerules classify` on it: %.2f s, start-up included '
              '(%d decisions)' % (seconds, len(json.loads(
                  result.stdout)['recipients'])))
    return data


def _size_label(size: int) -> str:
    return '%d KiB' % (size // 1024) if size < 1024 * 1024 else \
        '%d MiB' % (size // (1024 * 1024))


def queued_behind(worst: bytes) -> None:
    """An ordinary bounce queued right after the worst crafted one."""
    from mailman.app.lifecycle import create_list
    from mailman.config import config
    from mailman.testing.helpers import make_testable_runner

    from mailman_bouncerules.model.tables import SeenBounce
    from mailman_bouncerules.runners.bounce import RulesBounceRunner
    from mailman_bouncerules.tools.demo import mailman_message

    mlist = create_list('hostile@example.com')
    config.db.commit()
    emails = make_members(mlist, 10, 'q-')
    bounces = config.switchboards['bounces']
    bounces.enqueue(mailman_message(worst), listid=mlist.list_id)
    ordinary = mailman_message(samples.rfc3464(emails[0], '5.1.1', '550 5.1.1 user '
                                        'unknown'))
    bounces.enqueue(ordinary, listid=mlist.list_id)
    config.db.commit()
    started = time.perf_counter()
    make_testable_runner(RulesBounceRunner, 'bounces').run()
    seconds = time.perf_counter() - started
    handled = config.db.store.query(SeenBounce).filter_by(
        list_id=mlist.list_id).count()
    print('   an ordinary bounce queued behind it: handled %.2f s after the '
          'runner started (%d of 2 bounces handled)' % (seconds, handled))


# -- 3. outgoing hook ---------------------------------------------------------

def outgoing(recipients_count: int) -> None:
    from mailman.app.lifecycle import create_list
    from mailman.config import config
    from mailman.mta.deliver import deliver as stock_deliver

    from mailman_bouncerules.app.admin import ListAdmin
    from mailman_bouncerules.mta.deliver import deliver as our_deliver
    from mailman_bouncerules.tools.demo import mailman_message

    mlist = create_list('hook@example.com')
    config.db.commit()
    emails = make_members(mlist, recipients_count, 'h-')
    admin = ListAdmin(mlist)
    print('\n3. Outgoing hook, %d recipients to an SMTP sink on 127.0.0.1 '
          '(best of 3)' % recipients_count)
    print('   %-10s %-34s %10s %12s %9s' % ('mode', 'delivery', 'seconds',
                                          'ms/recipient', 'overhead'))
    serial = [0]

    def timed(function: Callable[..., Any], tracking: bool,
              **msgdata: Any) -> float:
        best = float('inf')
        for _round in range(3):
            serial[0] += 1
            admin.configure(tracking_on=tracking)
            config.db.commit()
            msg = mailman_message(b'From: anne@example.org\nTo: hook@example.com\n'
                           b'Subject: x\nMessage-ID: <hook-%d@example.com>\n'
                           b'Content-Type: text/html\n\n<html><body>Hi'
                           b'</body></html>\n' % serial[0])
            data = dict(listid=mlist.list_id, recipients=list(emails),
                        **msgdata)
            started = time.perf_counter()
            function(mlist, msg, data)
            config.db.commit()
            best = min(best, time.perf_counter() - started)
        return best

    for mode, stock_args, ours_tracking in (
            ('bulk', dict(verp=False), False),
            ('individual', dict(verp=True), True)):
        stock = timed(stock_deliver, False, **stock_args)
        ours = timed(our_deliver, ours_tracking, **stock_args)
        for name, seconds in (('stock Mailman' + (' VERP' if stock_args[
                'verp'] else ''), stock), ('mailman-bouncerules' + (
                ' tokens' if ours_tracking else ''), ours)):
            print('   %-10s %-34s %10.3f %12.3f %8.1f%%' % (
                mode, name, seconds, 1000 * seconds / recipients_count,
                100 * (seconds / stock - 1)))


@click.command()
@click.option('--corpus', default='../shared/corpus',
              help='Corpus folder (emails/ and truth.jsonl).')
@click.option('--members', default='1000,10000',
              help='Comma-separated list sizes for the storm.')
@click.option('--database', default='',
              help='A PostgreSQL URL for the storm (default: SQLite).')
@click.option('--recipients', default=500, type=int,
              help='Recipients for the outgoing hook benchmark.')
@click.option('--skip', multiple=True, type=click.Choice(
    ['classification', 'storm', 'outgoing', 'hostile']),
    help='Parts to leave out.')
def main(corpus: str, members: str, database: str, recipients: int,
         skip: tuple[str, ...]) -> None:
    # flufl.bounce logs every detector it tries at DEBUG, which Mailman's
    # logging setup would print for each of thousands of bounces.
    logging.getLogger('flufl.bounce').setLevel(logging.WARNING)
    if 'classification' not in skip and Path(corpus, 'truth.jsonl').exists():
        classification(corpus)
    worst = None if 'hostile' in skip else hostile()
    if 'storm' in skip and 'outgoing' in skip and worst is None:
        return
    folder = Path(tempfile.mkdtemp(prefix='bouncerules-bench-'))
    controller = Controller(_Sink(), hostname='127.0.0.1', port=free_port())
    controller.start()
    try:
        start_site(folder, database, controller.port)
        if 'storm' not in skip:
            storm([int(n) for n in members.split(',')], database)
        if 'outgoing' not in skip:
            outgoing(recipients)
        if worst is not None:
            queued_behind(worst)
    finally:
        controller.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
