"""`mailman bouncerules ...`: the plugin's commands inside a Mailman site."""

import click
from mailman.interfaces.command import ICLISubCommand
from public import public
from zope.interface import implementer

from mailman_bouncerules.cli import classify
from mailman_bouncerules.site_commands import SITE_COMMANDS


@click.group(help='Rules-based bounce handling: classify bounces, report '
                  'and manage member bounce states.')
def bouncerules():
    pass


for command in (classify,) + SITE_COMMANDS:
    bouncerules.add_command(command)


@public
@implementer(ICLISubCommand)
class BounceRules:
    name = 'bouncerules'
    command = bouncerules
