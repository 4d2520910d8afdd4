"""The Bounces pages read what the plugin's REST says, for owners only.

One real core (core_site.py) serves the whole module; nothing here changes
its state (test_panel_actions.py does, on a core of its own).
"""

import re

import pytest
import requests
from conftest import ADMIN, LIST_ID, PASSWORD, free_port, page
from django.test import Client, override_settings

PAGES = [('bouncerules_overview',), ('bouncerules_holds',),
         ('bouncerules_campaigns',), ('bouncerules_settings',),
         ('bouncerules_try',),
         ('bouncerules_member', 'bart@example.org')]
ACTIONS = [('bouncerules_reenable', 'bart@example.org'),
           ('bouncerules_undo', 'erin@example.org'),
           ('bouncerules_bulk_reenable',),
           ('bouncerules_decide_hold', '1', 'release'),
           ('bouncerules_decide_hold', '1', 'discard')]


def logged_in(user):
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def text_of(response):
    """The page's text without tags or runs of white space."""
    html = response.content.decode()
    return ' '.join(re.sub(r'<[^>]+>', ' ', html).split())


@pytest.mark.parametrize('name', PAGES)
def test_anonymous_visitors_are_sent_to_the_login(core, db, name):
    response = Client().get(page(*name))
    assert response.status_code == 302
    assert response['Location'].startswith('/accounts/login/')


@pytest.mark.parametrize('name', PAGES + ACTIONS)
def test_a_user_who_owns_nothing_is_refused(core, stranger, name):
    client = logged_in(stranger)
    assert client.get(page(*name)).status_code == 403
    assert client.post(page(*name)).status_code == 403


@pytest.mark.parametrize('name', PAGES)
def test_owners_and_site_admins_see_each_page(core, owner, site_admin, name):
    for user in (owner, site_admin):
        response = logged_in(user).get(page(*name))
        assert response.status_code == 200, response.content[-2000:]
        # Inside Postorius's frame, the Bounces tab active in its menu.
        assert b'<a href="%s" class="nav-link active">Bounces</a>' % (
            page('bouncerules_overview').encode()) in response.content


@pytest.mark.parametrize('name', ACTIONS)
def test_actions_take_post_only(core, owner, name):
    assert logged_in(owner).get(page(*name)).status_code == 405


@pytest.mark.parametrize('name', ACTIONS)
def test_an_action_without_its_csrf_token_is_refused(core, owner, name):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(page(*name)).status_code == 403


def test_the_tab_joins_postorius_s_own_list_pages(core, owner, stranger):
    summary = page('list_summary')
    assert b'>Bounces</a>' in logged_in(owner).get(summary).content
    # Only owners and site admins see the tab.
    assert b'>Bounces</a>' not in logged_in(stranger).get(summary).content


def test_overview_counts_are_the_plugin_s(core, owner):
    summary = core.plugin()
    html = logged_in(owner).get(page('bouncerules_overview')).content.decode()
    for state in ('soft', 'hard', 'confirmed', 'removed', 'held'):
        card = re.search(r'data-count="%s">\s*<div[^>]*><div[^>]*>(\d+)<'
                         % state, html)
        assert card and int(card.group(1)) == summary[state], state
    assert summary['held'] == 40 and summary['confirmed'] == 1
    # The outlined card is the table's view, and counts what it lists.
    first = re.search(r'<a class="card([^"]*)"[^>]*data-count="">\s*<div'
                      r'[^>]*><div[^>]*>(\d+)<', html)
    assert 'border-primary' in first.group(1)
    assert int(first.group(2)) == core.plugin(
        'members', count=1, page=1)['total_size'] == summary['members']
    assert '%d getting mail' % summary['active'] in html
    hard = logged_in(owner).get(page('bouncerules_overview'),
                                {'state': 'hard'}).content.decode()
    outlined = re.findall(r'class="card[^"]*border-primary"[^>]*'
                          r'data-count="(\w*)"', hard)
    assert outlined == ['hard']


def test_overview_filters_by_state_and_searches(core, owner):
    client = logged_in(owner)

    def rows(**query):
        html = client.get(page('bouncerules_overview'), query).content
        return re.findall(r'<tr data-email="([^"]+)" data-state="([^"]+)"',
                          html.decode())
    assert rows(state='confirmed') == [('bart@example.org', 'confirmed')]
    assert rows(state='removed') == [('erin@example.org', 'removed')]
    assert rows(q='cris') == [('cris@example.org', 'soft')]
    assert rows(q='fran/ops') == [('fran/ops+list@example.org', 'hard')]
    assert rows(q='nobody-has-this') == []


def test_overview_pages_a_long_roster(core, owner):
    client = logged_in(owner)
    total = core.plugin('members', count=1, page=1)['total_size']
    assert total > 50
    first = client.get(page('bouncerules_overview')).content.decode()
    second = client.get(page('bouncerules_overview'), {'page': 2}
                        ).content.decode()
    on_first = re.findall(r'<tr data-email="([^"]+)"', first)
    on_second = re.findall(r'<tr data-email="([^"]+)"', second)
    assert len(on_first) == 50 and len(on_second) == total - 50
    assert not set(on_first) & set(on_second)
    assert 'page 1 of 2' in first and '?state=&amp;q=&amp;page=2' in first


def test_a_bad_filter_is_a_message_not_an_error(core, owner):
    response = logged_in(owner).get(page('bouncerules_overview'),
                                    {'state': 'gone', 'page': 'x'})
    assert response.status_code == 200
    assert 'Unknown filter' in text_of(response)


def test_member_page_shows_the_whole_history(core, owner):
    history = core.plugin('members/bart@example.org/history')['entries']
    response = logged_in(owner).get(page('bouncerules_member',
                                         'bart@example.org'))
    shown = re.findall(r'<tr data-event="([^"]+)"', response.content.decode())
    assert shown == [event['event'] for event in reversed(history)]
    text = text_of(response)
    assert 'mailbox-disabled-status' in text and '5.2.1' in text
    # Beside the rule's name, what the rule is for.
    [about] = [rule['description'] for rule in requests.get(
        core.url + '/3.1/plugins/bouncerules/rules', auth=ADMIN,
        timeout=30).json()['entries']
        if rule['name'] == 'mailbox-disabled-status']
    assert about[:60] in text
    assert 'post-3@example.com' in text and 'Re-enable' in text
    assert 'Undo the last removal or confirmation' in text
    # What happened, in one sentence, and what each button does.
    assert 'Delivery to this address stopped on' in text
    assert 'hard bounces in 3 consecutive campaigns' in text
    assert 'Re-enable: mail goes to this address again' in text
    assert "Undo: takes back the plugin's last removal" in text


def test_the_server_s_words_are_quoted_never_markup(core, owner):
    """A bounce's diagnostic is text from a stranger's server."""
    response = logged_in(owner).get(page('bouncerules_member',
                                         'fran/ops+list@example.org'))
    assert b'mailbox disabled &lt;b&gt;bold&lt;/b&gt;' in response.content
    assert b'<b>bold</b>' not in response.content
    assert b'untrusted text' in response.content


def test_a_removed_member_keeps_a_history_and_an_undo(core, owner):
    text = text_of(logged_in(owner).get(page('bouncerules_member',
                                             'erin@example.org')))
    assert 'Not a member of this list now' in text
    assert 'removed' in text and 'Undo the last removal' in text
    assert 'This address was removed from the list on' in text
    assert 'Re-enable' not in text


def test_a_member_page_offers_only_what_the_server_accepts(core, owner):
    """The buttons are the member row's `actions`: a fine member gets
    none (the server would refuse a re-enable and has nothing to undo)."""
    assert core.plugin('members/dave@example.org')['actions'] == []
    text = text_of(logged_in(owner).get(page('bouncerules_member',
                                             'dave@example.org')))
    assert 'Re-enable' not in text and 'Undo the last' not in text


def test_holds_page_shows_each_hold_with_its_buttons(core, owner):
    holds = core.plugin('holds')['entries']
    html = logged_in(owner).get(page('bouncerules_holds')).content.decode()
    for hold in holds:
        assert 'data-hold="%d" data-status="held"' % hold['id'] in html
        assert '%d of %d' % (hold['failures'], hold['recipients']) in html
        assert page('bouncerules_decide_hold', str(hold['id']),
                    'release') in html
    assert 'bigmail.example' in {hold['domain'] for hold in holds}
    assert len(holds) >= 2
    # Who each hold covers, and what releasing it would do to them.
    for hold in holds:
        assert 'data-hold-members="%d"' % hold['id'] in html
        assert hold['members'][0]['email'] in html
    assert 'would be removed' in html or 'mail would stop' in html


def test_held_members_are_marked_and_filtered(core, owner):
    held = core.plugin('members', held='true')
    assert held['total_size'] > 0
    html = logged_in(owner).get(page('bouncerules_overview')
                                + '?held=on').content.decode()
    shown = re.findall(r'<tr data-email="([^"]+)"', html)
    assert shown == [row['email'] for row in held['entries']]
    assert html.count('data-held=') == len(shown)


def test_a_campaign_s_counts_lead_to_its_members(core, owner):
    from urllib.parse import quote
    campaign = next(entry for entry in core.plugin('campaigns')['entries']
                    if entry['bounces'].get('hard'))
    client = logged_in(owner)
    html = client.get(page('bouncerules_campaigns')).content.decode()
    links = re.findall(r'data-bounced="hard" href="([^"]+)"', html)
    target = next(link for link in links
                  if 'campaign=%s&' % quote(campaign['campaign'], safe='/')
                  in link.replace('&amp;', '&'))
    listed = client.get(target.replace('&amp;', '&')).content.decode()
    shown = set(re.findall(r'<tr data-email="([^"]+)"', listed))
    expected = {row['email'] for row in core.plugin(
        'members', campaign=campaign['campaign'], bounced='hard')['entries']}
    assert shown == expected and shown
    assert 'bouncerules-campaign-filter' in listed


def test_campaigns_say_not_tracked_never_zero_percent(core, owner):
    campaigns = core.plugin('campaigns')['entries']
    response = logged_in(owner).get(page('bouncerules_campaigns'))
    html = response.content.decode()
    assert len(re.findall(r'<tr data-campaign=', html)) == len(campaigns) == 5
    assert html.count('not tracked') == 5 and '0.0%' not in html
    first = next(c for c in campaigns if c['campaign'] == 'post-1@example.com')
    assert 'hard: %d' % first['bounces']['hard'] in html


def test_settings_page_shows_the_plugin_s_settings(core, owner):
    settings = core.plugin()
    response = logged_in(owner).get(page('bouncerules_settings'))
    form = response.context['form']
    assert form.initial == {name: settings[name] for name in (
        'confirm_after', 'shadow', 'tracking', 'report')}
    # One settings story: which of Postorius's own bounce settings still
    # apply, which are replaced, with a link to that page.
    html = response.content.decode()
    from django.urls import reverse
    assert 'href="%s"' % reverse('list_settings', args=[
        'ant.example.com', 'bounce_processing']) in html
    applying = html.split('data-settings="apply"')[1].split('</li>')[0]
    replaced = html.split('data-settings="replaced"')[1].split('</li>')[0]
    assert 'Notify owner on removal' in applying
    assert 'Bounce score threshold' in replaced
    assert 'tracker_url' in html


def test_try_a_bounce_shows_the_decision_and_why(core, owner):
    from mailman_bouncerules.tools.testing import samples
    bounce = samples.rfc3464('zed@example.net', '5.1.1',
                             '550 5.1.1 <zed@example.net>: user unknown')
    client = logged_in(owner)
    before = core.plugin('stats')
    pasted = client.post(page('bouncerules_try'),
                         {'message': bounce.decode()})
    text = text_of(pasted)
    assert 'zed@example.net' in text and 'hard · unsubscribe' in text
    # What mailing it would do: a notice to the bounce address is not
    # proof, so a probe comes first; and why: the rules tried before.
    assert 'verification probe first' in text
    assert 'rule user-unknown' in text
    html = pasted.content.decode()
    assert html.index('bouncerules-verdict') < html.index('bouncerules-try')
    tried = re.search(r'data-tried="zed@example.net">(.*?)</ol>', html,
                      re.DOTALL).group(1)
    assert '<code>feedback-report</code>' in tried
    from django.core.files.uploadedfile import SimpleUploadedFile
    uploaded = client.post(page('bouncerules_try'), {
        'upload': SimpleUploadedFile('bounce.eml', bounce)})
    assert 'zed@example.net' in text_of(uploaded)
    empty = client.post(page('bouncerules_try'), {'message': ' '})
    assert 'Paste a bounce or choose a file.' in text_of(empty)
    # Trying records nothing.
    assert core.plugin('stats') == before


def test_an_unknown_list_is_a_404(core, site_admin):
    from django.urls import reverse
    response = logged_in(site_admin).get(
        reverse('bouncerules_overview', args=['nope.example.com']))
    assert response.status_code == 404


def test_core_unreachable_is_postorius_s_own_error_page(core, owner):
    client = logged_in(owner)
    with override_settings(MAILMAN_REST_API_URL='http://127.0.0.1:%d'
                           % free_port()):
        response = client.get(page('bouncerules_overview'))
    assert response.status_code == 503
    assert 'Mailman REST API not available' in text_of(response)


def test_the_list_id_in_every_link_is_this_list(core, owner):
    html = logged_in(owner).get(page('bouncerules_overview')).content.decode()
    links = set(re.findall(r'href="(/postorius/lists/[^/]+)/bounces', html))
    assert links == {'/postorius/lists/%s' % LIST_ID}


def test_the_pages_speak_the_visitor_s_language(core, owner):
    """Strings go through gettext; German ships with the app."""
    client = logged_in(owner)
    response = client.get(page('bouncerules_overview'),
                          HTTP_ACCEPT_LANGUAGE='de')
    text = text_of(response)
    assert 'Ausgewählte wieder zustellen' in text
    assert '>Unzustellbar</a>' in response.content.decode()
    assert '64 Mitglieder' in text and 'Re-enable selected' not in text


@pytest.mark.parametrize('email', ['a@b@odd.example', 'a/b@example.org',
                                   'bart@example.org'])
@pytest.mark.parametrize('name', ['bouncerules_member', 'bouncerules_reenable',
                                  'bouncerules_undo'])
def test_every_address_mailman_accepts_has_its_pages(name, email):
    """Mailman's validator accepts 'a@b@odd.example' (an owner's mass
    subscribe): its link must not make the overview a 500."""
    from django.urls import resolve
    match = resolve(page(name, email))
    assert (match.url_name, match.kwargs['email']) == (name, email)


def test_a_plugin_not_active_is_a_banner_on_every_page(core, owner,
                                                       monkeypatch):
    from mailman_bouncerules_web.plugin_api import PluginAPI
    monkeypatch.setattr(PluginAPI, 'status', lambda self: {
        'active': False, 'why_inactive': 'rule bad: status 9.9.9'})
    client = logged_in(owner)
    for name in PAGES:
        text = text_of(client.get(page(*name)))
        assert 'NOT ACTIVE' in text and 'rule bad: status 9.9.9' in text
    monkeypatch.undo()
    assert 'NOT ACTIVE' not in text_of(client.get(page(*PAGES[0])))


def test_postorius_s_bounce_page_says_which_settings_the_rules_replace(
        core, owner):
    client = logged_in(owner)
    html = client.get(page('list_settings', 'bounce_processing')
                      ).content.decode()
    notice = html.index('data-bouncerules="deciding"')
    form = html.rindex('<form', 0, html.index('list_settings"'))
    assert notice < form
    assert 'Notify owner on removal' in html[notice:html.index('</div>',
                                                                notice)]
    # The scoring settings' labels are marked, the ones that apply not.
    rows = re.findall(r'<label class="control-label(.*?)</label>.*?'
                      r' name="(\w+)"', html, re.DOTALL)
    assert {name for label, name in rows
            if 'data-bouncerules="replaced"' in label} == {
        'bounce_score_threshold', 'bounce_info_stale_after',
        'bounce_notify_owner_on_bounce_increment',
        'bounce_you_are_disabled_warnings',
        'bounce_you_are_disabled_warnings_interval'}
    assert 'process_bounces' in {name for label, name in rows}
    # Postorius's other sections are as Postorius drew them.
    other = client.get(page('list_settings', 'list_identity')).content
    assert b'data-bouncerules' not in other


def test_the_bounce_page_notice_follows_who_decides():
    from mailman_bouncerules_web.templatetags.bouncerules_stock import marked
    drawn = ('<p>menu</p><form>'
             '<label class="control-label">Bounce score threshold</label>'
             '<input name="bounce_score_threshold">'
             '<label class="control-label">Process bounces</label>'
             '<input name="process_bounces">'
             # A version without the label: the previous one is not taken.
             '<input name="bounce_info_stale_after"></form>')
    shadow = marked(drawn, LIST_ID, 'shadow')
    assert 'shadow mode' in shadow and 'still decides' in shadow
    assert 'data-bouncerules="replaced"' not in shadow
    assert shadow.index('shadow mode') < shadow.index('<form')
    assert 'not active' in marked(drawn, LIST_ID, 'inactive')
    deciding = marked(drawn, LIST_ID, 'deciding')
    assert deciding.count('data-bouncerules="replaced"') == 1
    assert deciding.index('replaced') < deciding.index('Process bounces')
    # No answer from the plugin: Postorius's page, untouched.
    assert marked(drawn, LIST_ID, None) == drawn
