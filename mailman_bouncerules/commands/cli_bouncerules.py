"""`mailman bouncerules ...`: the plugin's commands inside a Mailman site."""

import click
from mailman.interfaces.command import ICLISubCommand
from public import public
from zope.interface import implementer

from mailman_bouncerules.app.availability import plugin_active
from mailman_bouncerules.commands.site import SITE_COMMANDS, refuse_while_inactive
from mailman_bouncerules.commands.standalone import classify, explain, rules
from mailman_bouncerules.config.settings import configured_rules_file


@click.group(help='Rules-based bounce handling: classify bounces, report '
                  'and manage member bounce states.')
@click.pass_context
def bouncerules(context: click.Context) -> None:
    # `status` says itself whether the plugin is active, and why not.
    if context.invoked_subcommand != 'status':
        refuse_while_inactive()
    context.obj = {'site_rules_file': configured_rules_file()
                   if plugin_active() else None}


for command in (classify, explain, rules) + SITE_COMMANDS:
    bouncerules.add_command(command)


@public
@implementer(ICLISubCommand)
class BounceRules:
    name = 'bouncerules'
    command = bouncerules
