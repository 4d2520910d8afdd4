"""Each button of the panel changes the plugin's state in a real core.

One core (core_site.py) for the module; each test acts on members or
holds no other test here touches.
"""

import pytest
from conftest import PASSWORD, page
from django.contrib.messages import get_messages
from django.test import Client


@pytest.fixture
def client(owner):
    client = Client()
    assert client.login(username=owner.username, password=PASSWORD)
    return client


def said(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_reenable_delivers_again(core, client):
    assert core.plugin('members/bart@example.org')['state'] == 'confirmed'
    response = client.post(page('bouncerules_reenable', 'bart@example.org'))
    assert response.status_code == 302
    assert response['Location'] == page('bouncerules_member',
                                        'bart@example.org')
    assert said(response) == ['bart@example.org gets mail again.']
    assert core.plugin('members/bart@example.org')['state'] == 'ok'
    history = core.plugin('members/bart@example.org/history')['entries']
    assert history[-1]['event'] == 'reenable'


def test_a_refusal_is_shown_as_the_plugin_s_message(core, client):
    response = client.post(page('bouncerules_reenable', 'dave@example.org'))
    assert said(response) == [
        'dave@example.org is not disabled or counted by bounces']
    assert core.plugin('members/dave@example.org')['state'] == 'ok'


def test_bulk_reenable_takes_each_selected_member(core, client):
    chosen = ['cris@example.org', 'fran/ops+list@example.org']
    assert {core.plugin('members/' + email)['state']
            for email in chosen} == {'soft', 'hard'}
    back = page('bouncerules_overview') + '?state=hard'
    # First the count and the members, and nothing changes.
    asked = client.post(page('bouncerules_bulk_reenable'),
                        {'email': chosen, 'next': back})
    assert asked.status_code == 200
    assert b'Re-enable 2 members?' in asked.content
    assert all(email.encode() in asked.content for email in chosen)
    assert {core.plugin('members/' + email)['state']
            for email in chosen} == {'soft', 'hard'}
    response = client.post(page('bouncerules_bulk_reenable'),
                           {'email': chosen, 'next': back,
                            'confirmed': 'yes'})
    assert response['Location'] == back
    assert said(response) == ['2 members get mail again.']
    assert {core.plugin('members/' + email)['state']
            for email in chosen} == {'ok'}


def test_bulk_goes_back_only_to_this_site(core, client):
    response = client.post(page('bouncerules_bulk_reenable'),
                           {'next': '//elsewhere.example/'})
    assert response['Location'] == page('bouncerules_overview')
    assert said(response) == ['No member was selected.']


def test_undo_brings_a_removed_member_back(core, client):
    assert core.plugin('members', state='removed')['total_size'] == 1
    response = client.post(page('bouncerules_undo', 'erin@example.org'))
    assert said(response)[0] == ('The removal of erin@example.org was '
                                 'undone: erin@example.org is a member '
                                 'again and gets mail.')
    assert core.plugin('members/erin@example.org')['email'] == \
        'erin@example.org'
    assert core.plugin('members', state='removed')['total_size'] == 0
    # Nothing is left to undo, so the page no longer offers it (its
    # history still shows the removal).
    shown = client.get(page('bouncerules_member', 'erin@example.org'))
    assert b'bouncerules-undo' not in shown.content
    assert b'data-event="removed"' in shown.content


def test_release_and_discard_decide_holds(core, client):
    first, second, *_others = core.plugin('holds')['entries']
    # Release first says what it will do, and to whom; nothing changes.
    asked = client.post(page('bouncerules_decide_hold', str(first['id']),
                             'release'))
    assert asked.status_code == 200
    removals = sum(member['change'] == 'remove'
                   for member in first['members'])
    assert removals and ('%d members will be removed' % removals).encode() \
        in asked.content
    assert first['members'][0]['email'].encode() in asked.content
    assert core.plugin('holds')['entries'][0]['status'] == 'held'
    # Confirmed, it is done, and the message says how many.
    done = client.post(page('bouncerules_decide_hold', str(first['id']),
                            'release'), {'confirmed': 'yes'})
    assert said(done)[-1] == (
        'Hold %d released: %d members removed, %d confirmed (their mail '
        'stopped).' % (first['id'], removals,
                       len(first['members']) - removals))
    response = client.post(page('bouncerules_decide_hold', str(second['id']),
                                'discard'))
    assert said(response)[-1] == (
        'Hold %d discarded: its decisions were dropped.' % second['id'])
    statuses = {hold['id']: (hold['status'], hold['decided_by'])
                for hold in core.plugin('holds')['entries']}
    assert statuses[first['id']] == ('released', 'rest:web:owner')
    assert statuses[second['id']] == ('discarded', 'rest:web:owner')
    # Deciding again is refused, and said so.
    again = client.post(page('bouncerules_decide_hold', str(first['id']),
                             'discard'))
    assert said(again)[-1] == ('Hold %d was already released by '
                               'rest:web:owner' % first['id'])


def test_settings_are_saved_in_the_plugin(core, client):
    response = client.post(page('bouncerules_settings'), {
        'confirm_after': '5', 'shadow': 'on', 'tracking': 'on',
        'report': 'weekly'})
    assert response.status_code == 302
    settings = core.plugin()
    assert (settings['confirm_after'], settings['shadow'],
            settings['tracking'], settings['report']) == (5, True, True,
                                                          'weekly')
    # Unchecked boxes switch off.
    client.post(page('bouncerules_settings'), {
        'confirm_after': '3', 'report': 'off'})
    settings = core.plugin()
    assert (settings['confirm_after'], settings['shadow'],
            settings['tracking']) == (3, False, False)


def test_core_s_validation_message_is_shown(core, client):
    response = client.post(page('bouncerules_settings'), {
        'confirm_after': '5000', 'report': 'off'})
    assert response.status_code == 200
    [message] = said(response)
    assert 'confirm_after' in message and '1 to 1000' in message
    assert core.plugin()['confirm_after'] == 3
    # The form's own checks come first.
    response = client.post(page('bouncerules_settings'), {
        'confirm_after': '0', 'report': 'sometimes'})
    assert response.context['form'].errors.keys() == {'confirm_after',
                                                       'report'}
