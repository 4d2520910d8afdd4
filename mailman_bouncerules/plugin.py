"""The Mailman plugin: loads the rules once and offers the classifier."""

import logging

from mailman.interfaces.plugin import IPlugin
from public import public
from zope.component import getGlobalSiteManager
from zope.interface import implementer

from mailman_bouncerules.classifier import Classifier
from mailman_bouncerules.interfaces import IClassifier
from mailman_bouncerules.rules.loader import RulesError
from mailman_bouncerules.rules.ruleset import RuleSet
from mailman_bouncerules.settings import configured_rules_file

log = logging.getLogger('mailman.plugins')


@public
@implementer(IPlugin)
class BounceRulesPlugin:
    """Enabled by `[plugin.bouncerules]` in mailman.cfg."""

    name = 'bouncerules'        # Mailman sets the section's name here too
    resource = None

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
        getGlobalSiteManager().registerUtility(Classifier(ruleset),
                                               IClassifier)

    def post_hook(self):
        """Nothing needs the database yet; required by IPlugin."""
