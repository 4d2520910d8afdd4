"""No bounce is lost or counted twice when the bounce runner is killed.

Mailman's runner removes a queue file before its periodic pass and commits
after it; the plugin commits each bounce before that, and the duplicate
check makes a re-delivered file harmless.  This kills a real runner with
SIGKILL at random points and counts what was recorded.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
BOUNCES = 300
KILLS = 8


def _site(*args, **kwargs):
    environment = {name: value for name, value in os.environ.items()
                   if name != 'MAILMAN_EXTRA_TESTING_CFG'}
    return subprocess.Popen(
        [sys.executable, '-W', 'ignore', str(HERE / 'crash_site.py')]
        + [str(arg) for arg in args], env=environment,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _finish(process, timeout=300):
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]
    return out


def test_kill_9_at_random_points_loses_and_doubles_no_bounce(tmp_path):
    _finish(_site('prepare', tmp_path, BOUNCES))
    chance = random.Random(os.environ.get('BOUNCERULES_CRASH_SEED'))
    killed = 0
    for _attempt in range(KILLS):
        runner = _site('run', tmp_path)
        # Start-up takes about a second; kill somewhere in the work after.
        time.sleep(chance.uniform(0.8, 2.5))
        if runner.poll() is not None:
            break
        runner.send_signal(signal.SIGKILL)
        runner.communicate()
        killed += 1
    _finish(_site('run', tmp_path))
    counted = json.loads(_finish(_site('count', tmp_path)).splitlines()[-1])
    assert counted == {'seen': BOUNCES, 'members_with_events': BOUNCES,
                       'most_events_per_member': 1, 'queued': 0}, killed
    assert killed >= 1
