"""The app: its pages join Postorius's list pages, its tab the list menu."""

from __future__ import annotations

import logging
from typing import Any

from django.apps import AppConfig, apps
from django.core import checks
from django.utils.translation import gettext_lazy as _

log = logging.getLogger(__name__)


class BounceRulesWebConfig(AppConfig):
    name = 'mailman_bouncerules_web'
    verbose_name = _('Bounces (mailman-bouncerules)')
    default_auto_field = 'django.db.models.AutoField'

    def ready(self) -> None:
        add_to_postorius()
        checks.register(check_order)


def add_to_postorius() -> bool:
    """Append the Bounces pages to Postorius's list pages (once).

    `postorius.urls.list_patterns` is what Postorius mounts under
    `lists/<list_id>/` wherever a site includes it (mailman-web does so
    twice); it is an internal name of Postorius 1.3.8 to 1.3.13, so its
    absence is logged, and a site can include ours itself.
    """
    try:
        from postorius import urls as postorius_urls
        patterns = postorius_urls.list_patterns
    except (ImportError, AttributeError):
        log.warning('postorius.urls.list_patterns not found: add '
                    "path('postorius/lists/<list_id>/', include("
                    "'mailman_bouncerules_web.urls')) to the site's urls")
        return False
    from mailman_bouncerules_web.urls import list_patterns
    names = {getattr(pattern, 'name', None) for pattern in patterns}
    patterns.extend(pattern for pattern in list_patterns
                    if pattern.name not in names)
    return True


def check_order(app_configs: Any = None, **kwargs: Any) -> list:
    """The tab shows only if this app's list menu is found first."""
    names = [config.name for config in apps.get_app_configs()]
    if 'postorius' in names and \
            names.index(BounceRulesWebConfig.name) > names.index('postorius'):
        return [checks.Warning(
            'mailman_bouncerules_web comes after postorius in '
            'INSTALLED_APPS, so the Bounces tab is not in the list menu',
            hint="INSTALLED_APPS = ['mailman_bouncerules_web'] + "
                 'INSTALLED_APPS', id='bouncerules_web.W001')]
    return []
