"""The README's first command: the demo site shows every state."""

import os
import re
import shlex
import subprocess
import sys


def test_demo_shows_every_state(tmp_path):
    # As a user runs it: not inside the tests' Mailman configuration (which
    # Mailman would read from MAILMAN_EXTRA_TESTING_CFG).
    environment = {name: value for name, value in os.environ.items()
                   if name != 'MAILMAN_EXTRA_TESTING_CFG'}
    result = subprocess.run(
        [sys.executable, '-W', 'ignore', '-m', 'mailman_bouncerules.tools.demo',
         str(tmp_path / 'site')], capture_output=True, text=True, timeout=120,
        env=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    final = result.stdout.split('Post 3')[-1]

    def state_of(email):
        return re.search(r'%s\s+(\w+)\s+run (\d)' % re.escape(email),
                         final).groups()
    assert state_of('bart@example.org') == ('removed', '0')
    assert state_of('cris@example.org') == ('soft', '0')
    assert state_of('dave@example.net') == ('soft', '0')
    assert state_of('elly@example.org') == ('confirmed', '3')
    assert state_of('fred@example.org') == ('hard', '1')    # reset by open
    assert state_of('anne@example.com') == ('ok', '0')
    assert (tmp_path / 'site' / 'var').is_dir()
    # The commands it prints run as printed (from any directory).
    status = result.stdout.split('Same data from the command line:\n')[1]
    command = shlex.split(status.splitlines()[0])
    ran = subprocess.run(command, capture_output=True, text=True,
                         timeout=120, env=environment, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert 'elly@example.org' in ran.stdout and 'confirmed' in ran.stdout
