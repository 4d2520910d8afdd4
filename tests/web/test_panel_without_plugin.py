"""The panel on a web server whose core lacks the plugin: Postorius's own
error page naming the plugin's absence, never a traceback, and Postorius's
own pages untouched."""

from conftest import PASSWORD, page
from django.test import Client


def test_a_core_without_the_plugin_is_said_so(core_without_plugin, owner):
    client = Client()
    assert client.login(username=owner.username, password=PASSWORD)
    response = client.get(page('bouncerules_overview'))
    assert response.status_code == 404
    assert b'The bounce rules plugin answered' in response.content
    # Postorius's own list page still works, with the tab in its menu.
    summary = client.get(page('list_summary'))
    assert summary.status_code == 200 and b'>Bounces</a>' in summary.content
    # Postorius's Bounce Processing page: as Postorius draws it.
    bounce = client.get(page('list_settings', 'bounce_processing'))
    assert bounce.status_code == 200
    assert b'data-bouncerules' not in bounce.content
