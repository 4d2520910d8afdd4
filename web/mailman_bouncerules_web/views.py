"""The Bounces pages of a list.

Each page is behind Postorius's own checks (`login_required`, then
`list_owner_required`, which lets site admins through); each change is a
POST (Django's CSRF middleware guards it) that redirects back, with what
core answered as a message.  Pages read the plugin's REST only: a refusal
(4xx) becomes a message, an unreachable core Postorius's own error page.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from postorius.auth.decorators import list_owner_required
from postorius.models import List

from mailman_bouncerules_web.forms import (
    STATES,
    MemberFilterForm,
    SettingsForm,
    TryBounceForm,
)
from mailman_bouncerules_web.plugin_api import PluginAPI, PluginError

# Members per page of the overview (the plugin pages in SQL).
# Events on one page of a member's history.
HISTORY_PAGE_SIZE = 100
PAGE_SIZE = 50
# Members a release confirmation names before "and N more".
CONFIRM_SAMPLE = 10
# The pages that name rules.
DESCRIBED_PAGES = frozenset(('overview', 'member', 'holds', 'try'))
# The most addresses one bulk re-enable takes (one REST call each).
MAX_BULK = 500

View = Callable[..., HttpResponse]


def owner_page(view: View) -> View:
    """Postorius's owner check under Django's login check, as Postorius
    stacks them on its own list pages; a refusal no page handled itself
    (the plugin missing from core, say) is Postorius's error page."""
    @functools.wraps(view)
    def page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PluginError as error:
            return render(request, 'postorius/errors/generic.html', {
                'error': _('The bounce rules plugin answered: %s') %
                error.description}, status=error.status)
    return login_required(list_owner_required(page))


def _page(request: HttpRequest, list_id: str, template: str,
          **context: Any) -> HttpResponse:
    """Render one of the tab's pages in Postorius's frame."""
    context['list'] = List.objects.get_or_404(fqdn_listname=list_id)
    api = PluginAPI(list_id)
    status = api.status()
    # Stock Mailman in charge: the pages say so, and why, on top.
    context['inactive'] = not status.get('active', True)
    context['why_inactive'] = status.get('why_inactive') or ''
    # What each rule is for, beside its name wherever one is shown.
    context['descriptions'] = api.rule_descriptions() if \
        template in DESCRIBED_PAGES else {}
    context['page_name'] = 'bouncerules_%s' % template
    context['page_title'] = _('Bounces')
    return render(request, 'bouncerules_web/%s.html' % template, context)


def _counts(list_id: str, summary: dict) -> list[tuple[str, str, int, str]]:
    """(state filter, label, how many, where it links) of the overview."""
    members = reverse('bouncerules_overview', args=[list_id])
    # All current members, as the unfiltered table counts them; confirmed
    # members are among them but get no mail.
    cards = [('', _('Members, %(active)d getting mail') % {
        'active': summary.get('active', 0)},
        summary.get('members', summary.get('active', 0)), members)]
    for state, label in (('soft', _('Soft')), ('hard', _('Hard')),
                         ('confirmed', _('Confirmed')),
                         ('removed', _('Removed'))):
        cards.append((state, label, summary.get(state, 0),
                      '%s?state=%s' % (members, state)))
    cards.append(('held', _('Held'), summary.get('held', 0),
                  reverse('bouncerules_holds', args=[list_id])))
    return cards


def _actor(request: HttpRequest) -> str:
    """Who acted, as the plugin's history records it."""
    return 'web:%s' % (request.user.get_username() or 'owner')


def _refused(request: HttpRequest, error: PluginError) -> None:
    messages.error(request, error.description)


@owner_page
@require_GET
def overview(request: HttpRequest, list_id: str) -> HttpResponse:
    api = PluginAPI(list_id)
    summary = api.summary()
    form = MemberFilterForm(request.GET)
    state, search, page, held, campaign, bounced = '', '', 1, False, '', ''
    if form.is_valid():
        state = form.cleaned_data['state']
        search = form.cleaned_data['q']
        page = form.cleaned_data['page'] or 1
        held = form.cleaned_data['held']
        campaign = form.cleaned_data['campaign']
        bounced = form.cleaned_data['bounced']
    else:
        messages.error(request, _('Unknown filter: %s') % '; '.join(
            '%s: %s' % (name, ' '.join(errors))
            for name, errors in form.errors.items()))
    try:
        members = api.members(state or None, search or None, page, PAGE_SIZE,
                              held, campaign or None, bounced or None)
    except PluginError as error:
        _refused(request, error)
        members = {'entries': [], 'total_size': 0}
    total = members.get('total_size', 0)
    pages = max(1, -(-total // PAGE_SIZE))
    return _page(request, list_id, 'overview', summary=summary,
                 counts=_counts(list_id, summary),
                 members=members.get('entries', []), total=total,
                 state=state, search=search, page=page, pages=pages,
                 held=held, campaign=campaign, bounced=bounced,
                 previous_page=page - 1 if page > 1 else None,
                 next_page=page + 1 if page < pages else None,
                 states=STATES,
                 # The card outlined: the view the table shows, if a card's.
                 card=('held' if held else state) if not (
                     search or campaign) else None)


@owner_page
@require_GET
def member(request: HttpRequest, list_id: str, email: str) -> HttpResponse:
    api = PluginAPI(list_id)
    try:
        row = api.member(email)
    except PluginError as error:
        if not error.not_found:
            _refused(request, error)
        row = None      # no longer a member: the history remains
    form = MemberFilterForm({'page': request.GET.get('page') or 1})
    page = (form.cleaned_data['page'] or 1) if form.is_valid() else 1
    try:
        answer = api.history(email, page, HISTORY_PAGE_SIZE)
    except PluginError as error:
        _refused(request, error)
        answer = {'entries': [], 'total_size': 0}
    history = answer.get('entries', [])
    pages = max(1, -(-answer.get('total_size', 0) // HISTORY_PAGE_SIZE))
    # The buttons are the actions the plugin says it would accept now.
    actions = row.get('actions', []) if row else []
    # What happened, in one sentence, while it still holds: the newest
    # removal or confirmation on this page, if nothing took it back since.
    last_change = next((event for event in history if event['event'] in (
        'removed', 'confirmed', 'undo', 'reenable')), None)
    if last_change is not None and (
            last_change['event'] not in ('removed', 'confirmed')
            or row is None or row.get('state') not in ('removed',
                                                      'confirmed')):
        last_change = None
    return _page(request, list_id, 'member', email=email, member=row,
                 history=history, actions=actions, last_change=last_change,
                 page=page, pages=pages,
                 previous_page=page - 1 if page > 1 else None,
                 next_page=page + 1 if page < pages else None)


def _local_path(target: str) -> str:
    """`target` if it is a path of this site, else ''."""
    return target if target.startswith('/') and \
        not target.startswith('//') else ''


def _back(request: HttpRequest, default: str) -> HttpResponse:
    """Back to the page the form was on (only a path of this site)."""
    return redirect(_local_path(request.POST.get('next', '')) or default)


@owner_page
@require_POST
def reenable(request: HttpRequest, list_id: str, email: str) -> HttpResponse:
    def act(api: PluginAPI) -> str:
        api.reenable(email)
        return _('%s gets mail again.') % email
    return _on_member(request, list_id, email, act)


@owner_page
@require_POST
def undo(request: HttpRequest, list_id: str, email: str) -> HttpResponse:
    def act(api: PluginAPI) -> str:
        answer = api.undo(email, _actor(request))
        if answer.get('undone') == 'removed':
            return _('The removal of %(email)s was undone: %(email)s is a '
                     'member again and gets mail.') % {'email': email}
        return _('The confirmation of %(email)s was undone: %(email)s gets '
                 'mail again.') % {'email': email}
    return _on_member(request, list_id, email, act)


def _on_member(request: HttpRequest, list_id: str, email: str,
               act: Callable[[PluginAPI], str]) -> HttpResponse:
    """Do `act` (it says what to tell the owner), or show core's refusal;
    then back to where the form was (the member's page by default)."""
    try:
        messages.success(request, act(PluginAPI(list_id)))
    except PluginError as error:
        _refused(request, error)
    return _back(request, reverse('bouncerules_member',
                                  args=[list_id, email]))


@owner_page
@require_POST
def bulk_reenable(request: HttpRequest, list_id: str) -> HttpResponse:
    """Re-enable the selected members, once the owner has seen how many
    and whom, and confirmed."""
    emails = request.POST.getlist('email')[:MAX_BULK]
    if emails and request.POST.get('confirmed') != 'yes':
        return _page(request, list_id, 'confirm_bulk', emails=emails,
                     sample=emails[:CONFIRM_SAMPLE],
                     more=max(0, len(emails) - CONFIRM_SAMPLE),
                     next=_local_path(request.POST.get('next', '')))
    api, done = PluginAPI(list_id), []
    for email in emails:
        try:
            api.reenable(email)
            done.append(email)
        except PluginError as error:
            _refused(request, error)
    if done:
        messages.success(request, ngettext(
            '%d member gets mail again.', '%d members get mail again.',
            len(done)) % len(done))
    elif not emails:
        messages.warning(request, _('No member was selected.'))
    return _back(request, reverse('bouncerules_overview', args=[list_id]))


@owner_page
@require_GET
def holds(request: HttpRequest, list_id: str) -> HttpResponse:
    return _page(request, list_id, 'holds',
                 holds=PluginAPI(list_id).holds())


@owner_page
@require_POST
def decide_hold(request: HttpRequest, list_id: str, hold_id: str,
                decision: str) -> HttpResponse:
    """Discard at once (it changes no member); release only once the
    owner has seen what it will do and confirmed it."""
    release = decision == 'release'
    api = PluginAPI(list_id)
    hold = next((each for each in api.holds()
                 if each['id'] == int(hold_id)), None)
    changes = Counter(member['change']
                      for member in (hold or {}).get('members', []))
    if release and hold is not None and hold['status'] == 'held' and \
            request.POST.get('confirmed') != 'yes':
        return _page(request, list_id, 'confirm_release', hold=hold,
                     removals=changes['remove'],
                     confirmations=changes['confirm'],
                     sample=hold['members'][:CONFIRM_SAMPLE],
                     more=max(0, len(hold['members']) - CONFIRM_SAMPLE))
    try:
        api.decide_hold(int(hold_id), release, _actor(request))
        if release:
            messages.success(request, _(
                'Hold %(hold)d released: %(removed)d members removed, '
                '%(confirmed)d confirmed (their mail stopped).') % {
                'hold': int(hold_id), 'removed': changes['remove'],
                'confirmed': changes['confirm']})
        else:
            messages.success(request, _(
                'Hold %d discarded: its decisions were dropped.')
                % int(hold_id))
    except PluginError as error:
        _refused(request, error)
    return redirect('bouncerules_holds', list_id=list_id)


@owner_page
@require_GET
def campaigns(request: HttpRequest, list_id: str) -> HttpResponse:
    entries = PluginAPI(list_id).campaigns()
    for entry in entries:
        entry['percent'] = (None if entry.get('rate') is None
                            else round(entry['rate'] * 100, 1))
    return _page(request, list_id, 'campaigns',
                 campaigns=list(reversed(entries)))


@owner_page
@require_http_methods(['GET', 'POST'])
def settings(request: HttpRequest, list_id: str) -> HttpResponse:
    api = PluginAPI(list_id)
    if request.method == 'POST':
        form = SettingsForm(request.POST)
        if form.is_valid():
            try:
                api.configure(**form.cleaned_data)
                messages.success(request, _('The bounce settings were saved.'))
                return redirect('bouncerules_settings', list_id=list_id)
            except PluginError as error:
                _refused(request, error)
    else:
        summary = api.summary()
        form = SettingsForm(initial={
            name: summary.get(name)
            for name in ('confirm_after', 'shadow', 'tracking', 'report')})
    return _page(request, list_id, 'settings', form=form)


@owner_page
@require_http_methods(['GET', 'POST'])
def try_bounce(request: HttpRequest, list_id: str) -> HttpResponse:
    verdict = None
    if request.method == 'POST':
        form = TryBounceForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                verdict = PluginAPI(list_id).classify(form.cleaned_data['raw'])
            except PluginError as error:
                _refused(request, error)
    else:
        form = TryBounceForm()
    return _page(request, list_id, 'try', form=form, verdict=verdict)
