"""The plugin's own settings, read from the file its configuration names."""

from functools import lru_cache

from mailman.config import config
from mailman.config.config import external_configuration
from public import public

# Used when the plugin runs outside a Mailman site (the console script).
DEFAULT_CONFIGURATION = 'python:mailman_bouncerules.config.bouncerules'


@public
def plugin_settings(plugin_name='bouncerules'):
    """The `[bouncerules]` section of the plugin's configuration file.

    Read once per file and process: like the rest of Mailman's
    configuration, a change takes effect when Mailman restarts.
    """
    plugin_config = getattr(config, 'plugin.' + plugin_name, None)
    path = getattr(plugin_config, 'configuration', '') or DEFAULT_CONFIGURATION
    return _section(path)


@lru_cache(maxsize=8)
def _section(path):
    parser = external_configuration(path)
    return dict(parser['bouncerules']) if parser.has_section(
        'bouncerules') else {}


@public
def configured_rules_file(plugin_name='bouncerules'):
    """The admin's rule file named in the settings, or None."""
    value = plugin_settings(plugin_name).get('rules_file', '')
    return value.strip() or None


@public
def default_confirm_after(plugin_name='bouncerules'):
    """Consecutive hard-bounced campaigns that confirm a bounce (site-wide
    default; a list can override it)."""
    value = plugin_settings(plugin_name).get('confirm_after', '') or '3'
    return max(1, int(value))
