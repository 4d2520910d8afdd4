"""Postorius's own Bounce Processing page, marked for the bounce rules.

That page still shows Mailman's scoring settings (the score threshold, the
"you are disabled" warnings...), which the rules replace on a list they
decide.  An owner reading both pages should find one story, so this app
ships `postorius/lists/settings.html`, which extends Postorius's own (the
template engine skips ours when it looks the name up again) and, on the
Bounce Processing section only, puts a notice above the form and marks the
replaced settings' labels.  Postorius's HTML is searched, never copied:
where a version draws a label differently the mark is left out, and any
answer but a plain one from the plugin leaves the page as Postorius drew
it.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.error import HTTPError

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from mailmanclient import MailmanConnectionError

from mailman_bouncerules_web.plugin_api import PluginAPI, PluginError

register = template.Library()
log = logging.getLogger(__name__)

# Postorius's name for the section (its URL's `visible_section`).
SECTION = 'bounce_processing'
# The form fields of Mailman's scoring, which the rules replace.
REPLACED = ('bounce_score_threshold', 'bounce_info_stale_after',
            'bounce_notify_owner_on_bounce_increment',
            'bounce_you_are_disabled_warnings',
            'bounce_you_are_disabled_warnings_interval')


def _standing(list_id: str) -> str | None:
    """'deciding', 'shadow' or 'inactive': who decides this list's bounces;
    None when the plugin cannot say (no plugin, or no core)."""
    api = PluginAPI(list_id)
    try:
        if not api.status().get('active', True):
            return 'inactive'
        return 'shadow' if api.summary().get('shadow') else 'deciding'
    except (PluginError, HTTPError, MailmanConnectionError) as error:
        log.debug('No bounce rules notice for %s: %s', list_id, error)
        return None


def _notice(list_id: str, standing: str) -> SafeString:
    links = [reverse('bouncerules_overview', args=[list_id])]
    if standing == 'deciding':
        style = 'alert-info'
        links.append(reverse('bouncerules_settings', args=[list_id]))
        text = _('<strong>The bounce rules decide this list\'s bounces</strong>'
                 ' (<a href="{}">Bounces</a>). Still applying here: Process '
                 'Bounces, Notify owner on disable, Notify owner on removal '
                 'and Forward unrecognized bounces. The settings marked '
                 '"not used" are Mailman\'s bounce score, which the rules '
                 'replace: they count campaigns in a row with a hard bounce '
                 'instead (<a href="{}">Bounces → Settings</a>).')
    elif standing == 'shadow':
        style = 'alert-secondary'
        text = _('<strong>The bounce rules are in shadow mode on this '
                 'list</strong> (<a href="{}">Bounces</a>): Mailman\'s own '
                 'bounce scoring, set on this page, still decides; the rules '
                 'only record what they would do.')
    else:
        style = 'alert-secondary'
        text = _('<strong>The bounce rules plugin is not active on this '
                 'site</strong> (<a href="{}">Bounces</a> says why): '
                 'Mailman\'s own bounce scoring, set on this page, decides.')
    return format_html('<div class="alert {}" data-bouncerules="{}">{}</div>',
                       style, standing, format_html(text, *links))


def _mark_replaced(html: str) -> str:
    """Each replaced setting's label with a "not used" badge in it.

    The label is the `control-label` before the field's first input (its
    `for` is empty on radio buttons); one with another input between
    them belongs to another field, and is left alone."""
    badge = format_html(
        ' <span class="badge bg-secondary badge-secondary" '
        'data-bouncerules="replaced">{}</span>', _('not used'))
    for name in REPLACED:
        widget = html.find(' name="%s"' % name)
        label = html.rfind('control-label', 0, widget) if widget >= 0 else -1
        end = html.find('</label>', label, widget) if label >= 0 else -1
        if end >= 0 and html.find(' name="', label, widget) < 0:
            html = html[:end] + badge + html[end:]
    return html


def marked(html: str, list_id: str, standing: str | None) -> str:
    """Postorius's section `html` with the notice above its form (and, where
    the rules decide, the replaced settings marked)."""
    if standing is None:
        return html
    if standing == 'deciding':
        html = _mark_replaced(html)
    at = html.find('<form')
    at = at if at >= 0 else 0
    return html[:at] + _notice(list_id, standing) + html[at:]


@register.simple_tag(takes_context=True)
def bounce_settings_marked(context: template.Context,
                           content: Any) -> SafeString:
    """`content` (Postorius's page body) as it is, or marked on the Bounce
    Processing section of a list the plugin knows."""
    mlist = context.get('list')
    if context.get('visible_section') != SECTION or mlist is None:
        return mark_safe(content)
    return mark_safe(marked(str(content), mlist.list_id,
                            _standing(mlist.list_id)))
