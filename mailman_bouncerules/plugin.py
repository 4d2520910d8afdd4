"""The Mailman plugin: wires the rules into Mailman's extension points."""

import logging

import zope.event
from mailman.interfaces.bounce import IBounceProcessor
from mailman.interfaces.plugin import IPlugin
from public import public
from zope.component import getGlobalSiteManager
from zope.interface import implementer

from mailman_bouncerules.classifier import Classifier
from mailman_bouncerules.database import setup_tables
from mailman_bouncerules.interfaces import IClassifier
from mailman_bouncerules.processor import RulesBounceProcessor
from mailman_bouncerules.rules.loader import RulesError
from mailman_bouncerules.rules.ruleset import RuleSet
from mailman_bouncerules.settings import configured_rules_file
from mailman_bouncerules.subscribers import on_event

log = logging.getLogger('mailman.plugins')


@public
@implementer(IPlugin)
class BounceRulesPlugin:
    """Enabled by `[plugin.bouncerules]` in mailman.cfg."""

    name = 'bouncerules'        # Mailman sets the section's name here too

    @property
    def resource(self):
        """The REST root, /3.1/plugins/bouncerules/.

        Imported on first use: mailman.rest reads the password settings at
        import time, which are not there yet when plugins are loaded.
        """
        from mailman_bouncerules.rest import Root
        return Root()

    def pre_hook(self):
        """Load the rules before any runner starts.

        A broken rule file must stop the plugin, loudly: Mailman logs the
        exception and leaves the plugin out, so stock bounce handling goes on
        instead of a guessed policy.
        """
        try:
            ruleset = RuleSet.from_files(configured_rules_file(self.name))
        except RulesError as error:
            log.error('bouncerules: rule file rejected: %s', error)
            raise
        site = getGlobalSiteManager()
        site.registerUtility(Classifier(ruleset), IClassifier)
        # Replaces Mailman's day-counting processor (registered by ZCML
        # before plugins load).
        site.registerUtility(RulesBounceProcessor(), IBounceProcessor)
        if on_event not in zope.event.subscribers:
            zope.event.subscribers.append(on_event)

    def post_hook(self):
        """Create or upgrade the plugin's tables, now that the database is
        up (every Mailman process does this; it is locked and idempotent)."""
        setup_tables()
