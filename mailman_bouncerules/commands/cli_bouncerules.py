"""`mailman bouncerules ...`: the plugin's commands inside a Mailman site."""

from mailman.interfaces.command import ICLISubCommand
from public import public
from zope.interface import implementer

from mailman_bouncerules.cli import bouncerules


@public
@implementer(ICLISubCommand)
class BounceRules:
    name = 'bouncerules'
    command = bouncerules
