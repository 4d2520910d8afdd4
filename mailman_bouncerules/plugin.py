"""The Mailman plugin: wires the rules into Mailman's extension points."""

import logging
import sys

import zope.event
from mailman.interfaces.bounce import IBounceProcessor
from mailman.interfaces.mailinglist import IMailingList
from mailman.interfaces.plugin import IPlugin
from mailman.model.bounce import BounceProcessor
from public import public
from zope.component import getGlobalSiteManager
from zope.interface import implementer

from mailman_bouncerules.app.admin import ListAdmin
from mailman_bouncerules.app.availability import mark_inactive
from mailman_bouncerules.app.ledger import Ledger
from mailman_bouncerules.app.processor import RulesBounceProcessor
from mailman_bouncerules.app.subscribers import on_event
from mailman_bouncerules.classify.classifier import Classifier
from mailman_bouncerules.classify.parsing.budget import ReadingLimits
from mailman_bouncerules.classify.rules.loader import RulesError
from mailman_bouncerules.classify.rules.ruleset import RuleSet
from mailman_bouncerules.config.settings import (
    SettingsError,
    configured_rules_file,
    settings,
)
from mailman_bouncerules.interfaces import (
    IBounceAdmin,
    IBounceStandings,
    IClassifier,
)
from mailman_bouncerules.model.database import setup_tables
from mailman_bouncerules.utilities.tokens import site_secret

log = logging.getLogger('mailman.plugins')
# Where admins look first; plugins.log alone is easy to miss.
error_log = logging.getLogger('mailman.error')


def reading_limits(plugin_name: str) -> ReadingLimits:
    """How much of one bounce is read, as the settings say (the classifier
    itself reads no settings: `bouncerules classify` starts without
    Mailman)."""
    values = settings(plugin_name)
    return ReadingLimits(max_recipients=values.max_recipients_per_notice,
                         max_seconds=values.max_time_per_notice.total_seconds())


def _fail(reason: str) -> None:
    """Say loudly that stock Mailman is in charge, and why."""
    message = ('bouncerules: NOT ACTIVE, stock Mailman handles bounces and '
               'delivery: %s' % reason)
    mark_inactive(reason)
    log.error('%s', message)
    error_log.error('%s', message)
    print(message, file=sys.stderr)


@public
@implementer(IPlugin)
class BounceRulesPlugin:
    """Enabled by `[plugin.bouncerules]` in mailman.cfg."""

    name = 'bouncerules'        # Mailman sets the section's name here too

    @property
    def resource(self) -> object:
        """The REST root, /3.1/plugins/bouncerules/.

        Imported on first use: mailman.rest reads the password settings at
        import time, which are not there yet when plugins are loaded.
        """
        from mailman_bouncerules.rest.root import Root
        return Root()

    def pre_hook(self) -> None:
        """Check the settings and load the rules before any runner starts.

        A broken rule file or setting must stop the plugin, loudly, and
        leave stock Mailman in charge (the delivery hook and the bounce
        runner that mailman.cfg names then act as stock Mailman's): never a
        guessed policy, never a stopped list.
        """
        site = getGlobalSiteManager()
        # The per-list services, reached as core reaches its own
        # (IBanManager(mlist)); read-only answers need them even when the
        # plugin stands down.
        site.registerAdapter(Ledger, (IMailingList,), IBounceStandings)
        site.registerAdapter(ListAdmin, (IMailingList,), IBounceAdmin)
        try:
            ruleset = RuleSet.from_files(configured_rules_file(self.name))
            limits = reading_limits(self.name)
        except (RulesError, SettingsError) as error:
            _fail(str(error))
            return
        site.registerUtility(Classifier(ruleset, limits), IClassifier)
        # Replaces Mailman's day-counting processor (registered by ZCML
        # before plugins load).
        site.registerUtility(RulesBounceProcessor(), IBounceProcessor)
        if on_event not in zope.event.subscribers:
            zope.event.subscribers.append(on_event)

    def post_hook(self) -> None:
        """Create or upgrade the plugin's tables, now that the database is
        up (every Mailman process does this; it is locked and idempotent),
        and read the secret that signs tokens (generated on first start).

        Without its tables or its secret the plugin stands down: stock
        Mailman's processor comes back and the hooks act as stock
        Mailman's.  Found at start, an unreadable secret (a short file, a
        directory, a dangling link) never reaches the delivery of a post.
        """
        try:
            setup_tables()
        except Exception as error:
            _stand_down('cannot create or upgrade its tables: %s' % error)
            return
        try:
            site_secret()
        except Exception as error:
            _stand_down('cannot read or create the secret that signs its '
                        'tokens: %s' % error)


def _stand_down(reason: str) -> None:
    """Give bounces back to stock Mailman, and say why."""
    site = getGlobalSiteManager()
    site.unregisterUtility(provided=IClassifier)
    site.registerUtility(BounceProcessor(), IBounceProcessor)
    _fail(reason)
