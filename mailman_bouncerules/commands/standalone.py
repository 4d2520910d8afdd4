"""The `bouncerules` command line, shared by the console script and
`mailman bouncerules`.

`classify`, `rules` and `explain` need no Mailman site: admins use them to
try a rule file on saved bounces before enabling it.  This module imports
nothing of Mailman, so the console script starts fast; inside a site,
`mailman bouncerules` passes the site's rule file down as the click
context's `site_rules_file`.
"""

import json
import sys

import click

from mailman_bouncerules.classify.classifier import Classifier
from mailman_bouncerules.classify.parsing.mime import MAX_MESSAGE_BYTES
from mailman_bouncerules.classify.record import as_record, trail
from mailman_bouncerules.classify.report import BounceReport
from mailman_bouncerules.classify.rules.loader import RulesError
from mailman_bouncerules.classify.rules.ruleset import Decision, RuleSet
from mailman_bouncerules.utilities.untrusted import printable


@click.group(help='Rules-based bounce handling for GNU Mailman.')
def bouncerules() -> None:
    pass


@bouncerules.command(help='Classify bounce emails (files) with the rules.')
@click.option('--json', 'as_json', is_flag=True,
              help='One JSON object per file, one per line.')
@click.option('--rules', 'rules_file', type=click.Path(dir_okay=False),
              help='An admin rule file applied on top of the defaults.')
@click.argument('files', nargs=-1, required=True)
def classify(as_json: bool, rules_file: str | None,
             files: tuple[str, ...]) -> None:
    classifier = Classifier(_ruleset(rules_file))
    failed = False
    for path in files:
        try:
            with open(path, 'rb') as handle:
                data = handle.read(MAX_MESSAGE_BYTES)
        except OSError as error:
            click.echo('bouncerules: cannot read %s: %s'
                       % (path, error.strerror), err=True)
            failed = True
            continue
        report, decisions = classifier.classify(data)
        if as_json:
            click.echo(json.dumps(as_record(path, report, decisions)))
        else:
            # The bounce's words are untrusted: no terminal controls.
            click.echo(printable(as_table(path, report, decisions)))
    if failed:
        sys.exit(1)


@bouncerules.command(help='The rules in force, in the order they are tried.')
@click.option('--rules', 'rules_file', type=click.Path(dir_okay=False),
              help='An admin rule file applied on top of the defaults.')
def rules(rules_file: str | None) -> None:
    click.echo('%4s %-36s %-9s %-11s %-14s %s' % (
        '#', 'rule', 'class', 'action', 'reason', 'from'))
    for number, rule in enumerate(_ruleset(rules_file).rules, 1):
        click.echo('%3d. %-36s %-9s %-11s %-14s %s' % (
            number, rule.name, rule.classification, rule.action, rule.reason,
            rule.origin))


@bouncerules.command(help='Why each recipient of a bounce got its decision: '
                          'what was read, and each rule tried before the '
                          'one that decided.')
@click.option('--rules', 'rules_file', type=click.Path(dir_okay=False),
              help='An admin rule file applied on top of the defaults.')
@click.argument('file', type=click.Path(dir_okay=False))
def explain(rules_file: str | None, file: str) -> None:
    ruleset = _ruleset(rules_file)
    try:
        with open(file, 'rb') as handle:
            data = handle.read(MAX_MESSAGE_BYTES)
    except OSError as error:
        raise click.ClickException('cannot read %s: %s'
                                   % (file, error.strerror)) from None
    report, decisions = Classifier(ruleset).classify(data)
    lines = ['%s: %s' % (file, report.kind)]
    for decision in decisions:
        recipient = decision.recipient
        lines.append('  %s' % recipient.address)
        lines.append('    read: status %s, reply %s, answer to %s, host %s'
                     % (recipient.status or '-', recipient.smtp_code or '-',
                        recipient.smtp_command or '-',
                        recipient.remote_mta or recipient.reporting_mta or '-'))
        lines.append('    words: %s' % (recipient.diagnostic or '-')[:300])
        for name, failed in trail(ruleset, report.kind, decision):
            lines.append('    %-36s no: %s' % (name, failed))
        lines.append('    %-36s YES: %s' % (decision.rule,
                                              decision.explain()))
    if not decisions:
        lines.append('  (no failed recipient)')
    click.echo(printable('\n'.join(lines)))


def _ruleset(rules_file: str | None) -> RuleSet:
    try:
        return RuleSet.from_files(rules_file or _site_rules_file())
    except RulesError as error:
        raise click.ClickException(str(error)) from None


def as_table(path: str, report: BounceReport,
             decisions: list[Decision]) -> str:
    lines = ['%s: %s' % (path, report.kind)]
    lines.extend('  read in part: %s' % problem for problem in report.problems)
    if not decisions:
        lines.append('  (no failed recipient)')
    for decision in decisions:
        recipient = decision.recipient
        lines.append('  %-36s %-9s %-11s %-7s %-4s %s' % (
            recipient.address, decision.classification, decision.action,
            recipient.status or '-', recipient.smtp_code or '-',
            decision.rule))
        lines.append('      why: %s' % decision.explain())
    return '\n'.join(lines)


def _site_rules_file() -> str | None:
    """The rule file of the Mailman site, when run as `mailman bouncerules`."""
    context = click.get_current_context(silent=True)
    found = context.find_root().obj if context is not None else None
    return (found or {}).get('site_rules_file')
