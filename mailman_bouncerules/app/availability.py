"""Is the plugin in charge?  If it could not start, stock Mailman is.

The plugin's pre_hook registers the classifier only when the rules and
settings are usable, and its post_hook takes it back when the tables
cannot be created.  The `[mta] outgoing` hook and the bounce runner, which
`mailman.cfg` names whatever happened at start, ask here first: when the
plugin is not active they do exactly what stock Mailman does, so a typo in
a configuration file never stops list mail.
"""

from public import public
from zope.component import queryUtility

from mailman_bouncerules.interfaces import IClassifier

# Why the plugin is not active, for `mailman bouncerules` to say.
_why_inactive: list[str] = []


@public
def plugin_active() -> bool:
    return queryUtility(IClassifier) is not None


@public
def mark_inactive(reason: str) -> None:
    _why_inactive[:] = [reason]


@public
def why_inactive() -> str:
    return (_why_inactive[0] if _why_inactive else
            'the plugin did not start (see mailman.log)')
