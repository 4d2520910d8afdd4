"""Postorius's list menu with a Bounces tab in it.

Postorius's `list_nav` tag always renders `postorius/menu/list_nav.html`,
which has no block to extend and differs between Postorius 1.3.8
(Bootstrap 4) and 1.3.13 (Bootstrap 5).  This app ships a template of that
name (found first, the app being listed before Postorius) that renders
Postorius's own one, found by skipping ours as `{% extends %}` does, and
adds one item at the end of its tabs: whatever Postorius's version draws,
the menu stays its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import template
from django.template.base import Template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

register = template.Library()

MENU = 'postorius/menu/list_nav.html'
OURS = Path(__file__).resolve().parents[1] / 'templates' / MENU
# Names of this app's pages begin so (the tab is active on each).
PAGE_PREFIX = 'bouncerules_'


def postorius_menu(engine: Any) -> Template:
    """Postorius's own list menu: the first template of that name that is
    not this app's."""
    skip: list = []
    while True:
        found, origin = engine.find_template(MENU, skip=skip)
        if Path(origin.name).resolve() != OURS:
            return found
        skip.append(origin)


@register.simple_tag(takes_context=True)
def list_nav_with_bounces(context: template.Context) -> SafeString:
    html = postorius_menu(context.template.engine).render(context)
    user, mlist = context.get('user'), context.get('list')
    owner = user is not None and (getattr(user, 'is_superuser', False) or
                                  getattr(user, 'is_list_owner', False))
    end = html.rfind('</ul>')
    if not owner or mlist is None or end < 0:
        return mark_safe(html)
    current = str(context.get('current') or '')
    tab = format_html(
        '<li class="nav-item"><a href="{}" class="nav-link {}">{}</a></li>',
        reverse('bouncerules_overview', args=[mlist.list_id]),
        'active' if current.startswith(PAGE_PREFIX) else '', _('Bounces'))
    return mark_safe(html[:end] + tab + html[end:])
