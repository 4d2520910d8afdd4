"""A throwaway Mailman site that shows the plugin at work.

    python -m mailman_bouncerules.demo [FOLDER]

Creates FOLDER (default ./demo) with a mailman.cfg that enables the plugin
(SQLite database), creates a list, writes one bounce of each kind in the
styles of real MTAs, and runs `mailman bouncerules classify` on them: the
same command an admin runs on a live site.
"""

import os
import subprocess
import sys
from pathlib import Path

import click

from mailman_bouncerules.testing import samples

SITE_CONFIG = """\
[mailman]
layout: demo
site_owner: postmaster@example.com

[paths.demo]
var_dir: {var}

[mta]
smtp_port: 9025

{plugin}
"""

BOUNCES = {
    'postfix-user-unknown.eml': lambda: samples.rfc3464(
        'bart@example.org', '5.1.1', '550 5.1.1 <bart@example.org>: '
        'Recipient address rejected: User unknown in local recipient table'),
    'exim-mailbox-full.eml': lambda: samples.exim(
        'cris@example.org', '552 5.2.2 Mailbox quota exceeded'),
    'o365-spam-block.eml': lambda: samples.exchange(
        'dave@example.org', '5.7.1', '550 5.7.1 Service unavailable, '
        'client host [192.0.2.7] blocked using Spamhaus'),
    'gmail-disabled.eml': lambda: samples.gmail(
        'elly@example.org', '550 5.2.1 The email account that you tried to '
        'reach is disabled.'),
    'qmail-no-mailbox.eml': lambda: samples.qmail(
        'fred@example.org', '550 sorry, no mailbox here by that name. '
        '(#5.1.1)'),
    'sendmail-filtered-after-data.eml': lambda: samples.sendmail_transcript(
        'gwen@example.org', '550 Unknown user gwen@example.org',
        last_command='DATA'),
    'ses-domain-not-found.eml': lambda: samples.amazon_ses(
        'hugh@example.net', 'Permanent', '5.1.2',
        '550 5.1.2 Host or domain name not found'),
    'delayed-try-later.eml': lambda: samples.rfc3464(
        'iris@example.org', '4.4.1', '421 4.4.1 Connection timed out',
        action='delayed'),
    'out-of-office.eml': lambda: samples.vacation('jack@example.org'),
    'abuse-report.eml': lambda: samples.arf('kate@example.org'),
}


@click.command()
@click.argument('folder', default='demo', type=click.Path(file_okay=False,
                                                        path_type=Path))
def main(folder):
    folder = folder.resolve()
    bounces = folder / 'bounces'
    bounces.mkdir(parents=True, exist_ok=True)
    plugin = (Path(__file__).parent.parent / 'etc' / 'mailman-bouncerules.cfg')
    plugin_lines = (plugin.read_text() if plugin.exists()
                    else _packaged_plugin_section())
    config = folder / 'mailman.cfg'
    config.write_text(SITE_CONFIG.format(var=folder / 'var',
                                         plugin=plugin_lines))
    for name, build in BOUNCES.items():
        (bounces / name).write_bytes(build())
    # The `mailman` script installed beside this interpreter.
    mailman = [str(Path(sys.executable).parent / 'mailman'), '-C', str(config),
               '--run-as-root']
    click.echo('Mailman site: %s (SQLite in %s)' % (config, folder / 'var'))
    # Mailman 3.3 itself triggers DeprecationWarnings on Python 3.11.
    environment = dict(os.environ, PYTHONWARNINGS='ignore::DeprecationWarning')
    subprocess.run(mailman + ['create', '--quiet', 'ant@example.com'],
                   check=False, capture_output=True, env=environment)
    click.echo('$ mailman bouncerules classify bounces/*.eml\n')
    result = subprocess.run(
        mailman + ['bouncerules', 'classify'] +
        [str(bounces / name) for name in BOUNCES], check=False,
        env=environment)
    sys.exit(result.returncode)


def _packaged_plugin_section():
    return ('[plugin.bouncerules]\n'
            'class: mailman_bouncerules.plugin.BounceRulesPlugin\n'
            'enabled: yes\n'
            'component_package: mailman_bouncerules\n'
            'configuration: python:mailman_bouncerules.config.bouncerules\n')


if __name__ == '__main__':
    main()
