"""A plugin that cannot start leaves stock Mailman in charge, loudly."""

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def test_an_invalid_rule_file_leaves_the_list_working(tmp_path):
    environment = {name: value for name, value in os.environ.items()
                   if name != 'MAILMAN_EXTRA_TESTING_CFG'}
    result = subprocess.run(
        [sys.executable, '-W', 'ignore', str(HERE / 'failsafe_site.py'),
         str(tmp_path)], capture_output=True, text=True, timeout=120,
        env=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    # Posts are delivered by Mailman's own delivery, the bounce goes
    # through Mailman's own processing, nothing is shunted.
    assert outcome == {'delivered': ['anne@example.com', 'bart@example.org'],
                       'stock_events': 1,
                       'shunted': 0, 'member': True}
    # The reason is loud: on the console and in mailman.log.
    assert 'bouncerules: NOT ACTIVE' in result.stderr
    assert 'explode' in result.stderr
    log = (tmp_path / 'var' / 'logs' / 'mailman.log').read_text()
    assert 'bouncerules: NOT ACTIVE' in log
    # Every `mailman bouncerules` command says so and fails, no traceback.
    command = subprocess.run(
        [str(Path(sys.executable).with_name('mailman')), '-C',
         str(tmp_path / 'mailman.cfg'), '--run-as-root', 'bouncerules',
         'status', 'ant@example.com'], capture_output=True, text=True, timeout=120,
        env=environment)
    assert command.returncode != 0
    assert 'not active' in command.stderr + command.stdout
    assert 'Traceback' not in command.stderr
