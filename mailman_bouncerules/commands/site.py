"""`mailman bouncerules status|history|stats|open|reenable|configure`.

`status` without a list answers even when the plugin is not active (it
says why); every other command then refuses.

These need a Mailman site, so they exist only under `mailman`, which
initialises it and commits each command's transaction.
"""

import datetime
import getpass
import json
from collections.abc import Callable
from typing import Any, TypeVar

import click
from mailman.config import config
from mailman.utilities.datetime import now

from mailman_bouncerules.app import notices, reports
from mailman_bouncerules.app.admin import AdminError, find_list
from mailman_bouncerules.app.availability import plugin_active, why_inactive
from mailman_bouncerules.app.sitestatus import site_status
from mailman_bouncerules.interfaces import IBounceAdmin, ReportFrequency
from mailman_bouncerules.model.tables import STATES
from mailman_bouncerules.utilities.untrusted import printable

__all__ = ['SITE_COMMANDS', 'refuse_while_inactive']

T = TypeVar('T')


def refuse_while_inactive() -> None:
    """Stop a command that needs the plugin in charge, saying why not."""
    if not plugin_active():
        raise click.ClickException(
            'bouncerules is not active, stock Mailman handles bounces: %s'
            % why_inactive())


def _admin(spec: str) -> IBounceAdmin:
    try:
        return IBounceAdmin(find_list(spec))
    except AdminError as error:
        raise click.ClickException(str(error)) from None


def _run(function: Callable[..., T], *args: Any) -> T:
    try:
        return function(*args)
    except AdminError as error:
        raise click.ClickException(str(error)) from None


@click.command(help='Without LIST: whether the plugin is in charge and '
               'working (exit status 0 if active, 1 if not: for '
               'monitoring).  With LIST (name or List-ID): its members\' '
               'bounce states.')
@click.argument('spec', metavar='[LIST]', required=False)
@click.option('--state', type=click.Choice(STATES),
              help='Only members in this state.')
@click.option('--json', 'as_json', is_flag=True, help='JSON.')
def status(spec: str | None, state: str | None, as_json: bool) -> None:
    if spec is None:
        _site_status(as_json)
        return
    refuse_while_inactive()
    rows = _run(_admin(spec).members, state)
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    click.echo('%-36s %-9s %3s  %-19s %-9s %-24s %-7s %-10s %s' % (
        'member', 'state', 'run', 'last bounce', 'class', 'rule', 'status',
        'evidence', 'campaign'))
    for row in rows:
        last = row['last_bounce'] or {}
        shown = ('would ' + {'confirmed': 'confirm', 'removed': 'remove'}[
            row['state']] if row['shadow'] and row['state'] in (
                'confirmed', 'removed') else row['state'])
        waiting = ('  verifying: would %s' % row['verifying']['change']
                   if row['verifying'] else '')
        click.echo(printable('%-36s %-9s %3d  %-19s %-9s %-24s %-7s %-10s %s%s'
                             % (row['email'], shown, row['run'],
                                (last.get('time') or '-')[:19],
                                last.get('classification') or '-',
                                last.get('rule') or '-',
                                last.get('status') or '-',
                                last.get('evidence') or '-',
                                last.get('campaign') or '-', waiting)))


def _site_status(as_json: bool) -> None:
    found = site_status(config.db.store)
    if as_json:
        click.echo(json.dumps(found, indent=1))
    else:
        click.echo('bouncerules: %s' % (
            'ACTIVE' if found['active']
            else 'NOT ACTIVE, stock Mailman handles bounces: %s'
            % found['why_inactive']))
        click.echo('versions: %s' % ', '.join(
            '%s %s' % (name, number or 'not installed')
            for name, number in found['versions'].items()))
        click.echo('settings: %s' % found['settings'])
        for key, label in (('rules', 'rules loaded'),
                           ('last_bounce', 'last bounce handled'),
                           ('probes_queued', 'probes queued'),
                           ('probes_out', 'probes out'),
                           ('holds_open', 'circuit-breaker holds open')):
            if found[key] is not None or found['active']:
                click.echo('%s: %s' % (label, '-' if found[key] is None
                                       else found[key]))
    if not found['active']:
        raise SystemExit(1)


@click.command(help='Every recorded bounce and reset of EMAIL on LIST.')
@click.argument('spec', metavar='LIST')
@click.argument('email')
@click.option('--json', 'as_json', is_flag=True, help='A JSON array.')
def history(spec: str, email: str, as_json: bool) -> None:
    rows = _run(_admin(spec).history, email)
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    if not rows:
        click.echo('No history for %s on %s.' % (email, spec))
        return
    click.echo('%-19s  %-9s %-9s %-11s %-24s %-7s %s' % (
        'time (UTC)', 'event', 'class', 'action', 'rule', 'status',
        'campaign or detail'))
    for row in rows:
        click.echo('%s  %-9s %-9s %-11s %-24s %-7s %s' % (
            row['time'][:19], row['event'], row['classification'] or '',
            row['action'] or '', row['rule'] or '', row['status'] or '',
            row['campaign'] or row['detail'] or ''))


@click.command(help='Counts of members by bounce state on LIST.')
@click.argument('spec', metavar='LIST')
@click.option('--json', 'as_json', is_flag=True, help='A JSON object.')
@click.option('--opens', is_flag=True,
              help='Also the open rate of each campaign.')
def stats(spec: str, as_json: bool, opens: bool) -> None:
    admin = _admin(spec)
    counts = _run(admin.stats)
    if opens:
        counts['campaigns'] = admin.open_rates()
    if as_json:
        click.echo(json.dumps(counts))
        return
    for name in ('members', 'active', 'soft', 'hard', 'confirmed', 'removed',
                 'held'):
        click.echo('%-10s %d' % (name, counts[name]))
    for row in counts.get('campaigns', ()):
        click.echo('%-7s %4d  %-40s %4d of %-5s opened%s' % (
            row['kind'], row['sequence'], row['campaign'][:40],
            row['opened'], row['recipients'] or '?',
            ' (not tracked)' if not row['tracked'] else ''
            if row['rate'] is None else ' (%.1f%%)' % (100 * row['rate'])))


@click.command('open', help='Record that EMAIL opened a post of LIST.')
@click.argument('spec', metavar='LIST')
@click.argument('email')
@click.option('--campaign', metavar='MESSAGE-ID',
              help='The post opened (default: the newest).')
def record_open(spec: str, email: str, campaign: str | None) -> None:
    result = _run(_admin(spec).record_open, email, campaign)
    click.echo('%s: %s, run %d%s' % (
        result['email'], result['state'], result['run'],
        '' if result['reset'] else ' (not reset)'))


@click.command(help='Deliver to EMAIL on LIST again and clear its state.')
@click.argument('spec', metavar='LIST')
@click.argument('email')
def reenable(spec: str, email: str) -> None:
    result = _run(_admin(spec).reenable, email)
    click.echo('%s: %s' % (result['email'], result['state']))


@click.command(help="Take back the plugin's last removal or confirmation "
                    'of EMAIL on LIST: the member comes back as it was, '
                    'without a welcome message.')
@click.argument('spec', metavar='LIST')
@click.argument('email')
@click.option('--by', 'actor', default=None,
              help='Who undoes it, for the history (default: your login).')
def undo(spec: str, email: str, actor: str | None) -> None:
    result = _run(_admin(spec).undo, email, actor or getpass.getuser())
    click.echo('%s: undid the %s of %s; now %s' % (
        result['email'], 'removal' if result['undone'] == 'removed'
        else 'confirmation', result['of'][:19], result['state']))


@click.command(help="The circuit breaker's holds on LIST.")
@click.argument('spec', metavar='LIST')
@click.option('--json', 'as_json', is_flag=True, help='A JSON array.')
def holds(spec: str, as_json: bool) -> None:
    rows = _run(_admin(spec).holds)
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    if not rows:
        click.echo('No circuit-breaker holds on %s.' % spec)
    for row in rows:
        click.echo('#%d %-9s %s at %s: %d of %d failed by %s; %d held' % (
            row['id'], row['status'], row['campaign'], row['domain'],
            row['failures'], row['recipients'], row['rule'],
            len(row['held'])))


def _decide(release: bool) -> click.Command:
    verb = 'release' if release else 'discard'

    @click.command(verb, help='%s the decisions held by HOLD on LIST.' % (
        'Apply' if release else 'Drop'))
    @click.argument('spec', metavar='LIST')
    @click.argument('hold_id', metavar='HOLD', type=int)
    @click.option('--by', 'actor', default=None,
                  help='Who decides, for the history (default: your login).')
    def command(spec: str, hold_id: int, actor: str | None) -> None:
        row = _run(_admin(spec).decide_hold, hold_id, release,
                   actor or getpass.getuser())
        click.echo('hold #%d %s: %d decisions' % (row['id'], row['status'],
                                                   len(row['held'])))
    return command


release, discard = _decide(True), _decide(False)


@click.command(help="Show or change LIST's bounce settings.")
@click.argument('spec', metavar='LIST')
@click.option('--confirm-after', type=click.IntRange(min=1),
              help='Consecutive hard-bounced campaigns that confirm.')
@click.option('--tracking', type=click.Choice(['on', 'off']),
              help='Open tracking (tokens, pixel) for posts; off by default.')
@click.option('--shadow', type=click.Choice(['on', 'off']),
              help='Shadow mode: record what the rules would do, change '
                   'nothing; off enforces what was recorded, silently.')
@click.option('--report', type=click.Choice([f.value for f in ReportFrequency]),
              help='The periodic bounce report to the list owners.')
def configure(spec: str, confirm_after: int | None, tracking: bool | None,
              shadow: bool | None, report: str | None) -> None:
    result = _run(_admin(spec).configure, confirm_after,
                  None if tracking is None else tracking == 'on',
                  None if shadow is None else shadow == 'on', report)
    click.echo('%s: confirm after %d campaigns, open tracking %s, shadow '
               'mode %s, owner report %s' % (
                   result['list_id'], result['confirm_after'],
                   'on' if result['tracking'] else 'off',
                   'on' if result['shadow'] else 'off', result['report']))


@click.command(help="Print LIST's owner report for the last DAYS days, or "
                    'send it to the owners now.')
@click.argument('spec', metavar='LIST')
@click.option('--days', type=click.IntRange(min=1), default=7)
@click.option('--send', is_flag=True, help='Mail it to the list owners.')
def report(spec: str, days: int, send: bool) -> None:
    admin = _admin(spec)
    since = now() - datetime.timedelta(days=days)
    text = reports.render(admin.mlist, config.db.store, since,
                          'last %d days' % days)
    if send:
        owners = admin.mlist.administrators.member_count
        if not owners:
            raise click.ClickException(
                '%s has no owner or moderator to send the report to'
                % admin.mlist.list_id)
        notices.send(admin.mlist, 'Bounce report for %s'
                     % admin.mlist.display_name, text)
        click.echo('sent to the %d owners and moderators of %s'
                   % (owners, admin.mlist.list_id))
    else:
        click.echo(text)


SITE_COMMANDS = (status, history, stats, record_open, reenable, undo, holds,
                 release, discard, report, configure)
