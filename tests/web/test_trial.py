"""The one-command trial of the panel (web/trial.py) starts both sites,
serves the tab styled to its owner's login, and stops both."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from conftest import free_port

pytestmark = pytest.mark.slow

TRIAL = Path(__file__).parents[2] / 'web' / 'trial.py'


def test_the_trial_serves_the_tab_and_stops_cleanly(tmp_path):
    port = free_port()
    environment = {name: value for name, value in os.environ.items()
                   if name not in ('MAILMAN_EXTRA_TESTING_CFG',
                                   'DJANGO_SETTINGS_MODULE')}
    trial = subprocess.Popen(
        [sys.executable, str(TRIAL), str(tmp_path), '--port', str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=environment)
    try:
        lines = []
        for line in trial.stdout:
            lines.append(line)
            if 'Log in as owner' in line:
                break
        assert trial.poll() is None, ''.join(lines)[-3000:]
        base = 'http://127.0.0.1:%d' % port
        session = requests.Session()
        for _attempt in range(600):       # runserver starts in a moment
            try:
                login = session.get(base + '/accounts/login/', timeout=10)
                break
            except requests.ConnectionError:
                assert trial.poll() is None, ''.join(lines)[-3000:]
                time.sleep(0.1)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"',
                          login.text).group(1)
        session.post(base + '/accounts/login/', data={
            'csrfmiddlewaretoken': token, 'login': 'owner',
            'password': 'try-the-panel'},
            headers={'Referer': base + '/accounts/login/'}, timeout=30)
        tab = session.get(base + '/postorius/lists/ant.example.com/bounces/',
                          timeout=30)
        assert tab.status_code == 200 and 'bart@example.org' in tab.text
        stylesheet = re.search(r'href="(/static/[^"]+\.css)"', tab.text)
        assert session.get(base + stylesheet.group(1),
                           timeout=30).status_code == 200
    finally:
        trial.send_signal(signal.SIGTERM)
        trial.wait(timeout=60)
    with pytest.raises(requests.ConnectionError):
        requests.get(base + '/accounts/login/', timeout=5)
