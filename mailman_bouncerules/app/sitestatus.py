"""The site's view of the plugin: is it in charge, and is it working?

What `mailman bouncerules status` (no list) prints and a monitoring
script reads by its exit code: active or not and why, the versions it
runs with, the rules loaded, the last bounce handled, probes waiting and
holds open.  It answers even when the plugin stood down (that is when it
matters most), and reads nothing it could not read then.
"""

import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from public import public
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from zope.component import queryUtility

from mailman_bouncerules.app.availability import plugin_active, why_inactive
from mailman_bouncerules.config.settings import settings_path
from mailman_bouncerules.interfaces import EventName, IClassifier
from mailman_bouncerules.model.tables import (
    HELD,
    PROBE_QUEUED,
    PROBE_SENT,
    Event,
    Hold,
    Probe,
)

# The distributions whose versions an admin needs when reporting a problem.
DISTRIBUTIONS = ('mailman-bouncerules', 'mailman', 'SQLAlchemy', 'falcon',
                 'alembic', 'flufl.bounce')


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


@public
def site_status(store: Session) -> dict[str, Any]:
    """{'active', 'why_inactive', 'versions', 'settings', 'rules',
    'last_bounce', 'probes_queued', 'probes_out', 'holds_open'}; the
    database figures are None when the plugin is not active (its tables
    may not be usable)."""
    active = plugin_active()
    classifier = queryUtility(IClassifier)
    status: dict[str, Any] = {
        'active': active,
        'why_inactive': None if active else why_inactive(),
        'versions': dict({name: _version(name) for name in DISTRIBUTIONS},
                         python=platform.python_version()),
        'settings': settings_path(),
        'rules': (len(classifier.ruleset.rules) if classifier is not None
                  else None),
        'last_bounce': None, 'probes_queued': None, 'probes_out': None,
        'holds_open': None,
    }
    if not active:
        return status
    last = store.scalar(select(func.max(Event.at)).filter_by(
        event=EventName.BOUNCE))
    status['last_bounce'] = last.isoformat() if last is not None else None
    for key, probe_status in (('probes_queued', PROBE_QUEUED),
                              ('probes_out', PROBE_SENT)):
        status[key] = store.scalar(select(func.count()).select_from(
            Probe).filter_by(status=probe_status))
    status['holds_open'] = store.scalar(select(func.count()).select_from(
        Hold).filter_by(status=HELD))
    return status
