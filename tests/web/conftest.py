"""The panel's tests: Django's test client and a browser against a real
Mailman core with the plugin (tests/web/core_site.py), started per test
module on free ports and stopped after it."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip('postorius', reason='the web panel needs Postorius')
pytest.importorskip('pytest_django', reason='the web panel needs pytest-django')

import requests
from django.test import override_settings

HERE = Path(__file__).parent
LIST_ID = 'ant.example.com'
ADMIN = ('restadmin', 'restpass')
PASSWORD = 'a-test-password'
# Seeding the core site's list takes its runners a few seconds.
START_TIMEOUT = 120
# The Python that runs the core: this one, or (to test another Postorius
# in an environment without Mailman core) the one named here.
CORE_PYTHON = os.environ.get('BOUNCERULES_CORE_PYTHON', sys.executable)


def free_port():
    # Not tools.demo's: these tests also run where only Postorius is
    # installed, which that module's imports (aiosmtpd) would refuse.
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class Core:
    """A running core: its REST root and a reader of the plugin's REST."""

    def __init__(self, url):
        self.url = url

    def plugin(self, path='', **params):
        response = requests.get(
            '%s/3.1/plugins/bouncerules/lists/%s/%s' % (self.url, LIST_ID,
                                                        path),
            params=params, auth=ADMIN, timeout=30)
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope='module')
def core(tmp_path_factory):
    yield from _running_core(tmp_path_factory)


@pytest.fixture(scope='module')
def core_without_plugin(tmp_path_factory):
    """A core whose site has not installed the plugin."""
    yield from _running_core(tmp_path_factory, '--without-plugin')


def _running_core(tmp_path_factory, *options):
    folder = tmp_path_factory.mktemp('core')
    environment = {name: value for name, value in os.environ.items()
                   if name != 'MAILMAN_EXTRA_TESTING_CFG'}
    process = subprocess.Popen(
        [CORE_PYTHON, '-W', 'ignore', str(HERE / 'core_site.py'),
         str(folder), *options], env=environment, stdout=subprocess.PIPE,
        stderr=open(folder / 'stderr', 'w'), text=True)
    try:
        port = process.stdout.readline().strip()
        assert port.isdigit(), (folder / 'stderr').read_text()[-3000:]
        url = 'http://127.0.0.1:%s' % port
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                requests.get(url + '/3.1/system/versions', auth=ADMIN,
                             timeout=5).raise_for_status()
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, 'core did not answer'
                assert process.poll() is None, \
                    (folder / 'stderr').read_text()[-3000:]
                time.sleep(0.2)
        with override_settings(MAILMAN_REST_API_URL=url):
            yield Core(url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _user(username, email, **flags):
    from allauth.account.models import EmailAddress
    from django.contrib.auth.models import User
    user = User.objects.create_user(username, email, PASSWORD, **flags)
    EmailAddress.objects.create(user=user, email=email, verified=True,
                                primary=True)
    return user


@pytest.fixture
def owner(db):
    """A Django user whose verified address owns the list in core."""
    return _user('owner', 'owner@example.com')


@pytest.fixture
def stranger(db):
    return _user('stranger', 'stranger@example.com')


@pytest.fixture
def site_admin(db):
    return _user('admin', 'admin@example.com', is_superuser=True,
                 is_staff=True)


def page(name, *args):
    from django.urls import reverse
    return reverse(name, args=(LIST_ID,) + args)
