"""The plugin's contracts, so that other plugins can use or replace parts."""

from public import public
from zope.interface import Attribute, Interface


@public
class IRule(Interface):
    """One named, ordered test on a recipient's report, with its verdict."""

    name = Attribute('Unique name; admins override or disable rules by it.')
    classification = Attribute("'hard', 'soft' or 'complaint'.")
    action = Attribute("'unsubscribe', 'count' or 'record'.")
    reason = Attribute('A one-word reason, e.g. userunknown or mailboxfull.')
    description = Attribute('Why the rule exists, in words for an admin.')

    def match(kind, recipient, folded=None):
        """Return the `Evidence` if the rule applies, else None.

        `folded` is the recipient's diagnostic, case-folded, if known.
        """


@public
class IRuleSet(Interface):
    """The ordered rules in force; the first that matches decides."""

    rules = Attribute('The enabled rules, in the order they are tried.')

    def decide(kind, recipient):
        """Return the `Decision` for one recipient of a report of `kind`."""


@public
class IClassifier(Interface):
    """Reads a bounce and decides, per recipient, what it means."""

    ruleset = Attribute('The IRuleSet it decides with.')

    def classify(message):
        """Return (BounceReport, list of Decision) for bytes or a Message."""
