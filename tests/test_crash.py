"""No bounce is lost or counted twice when the bounce runner is killed.

The plugin's runner commits a batch of bounces and only then removes their
queue files (kept as backups until then): a crash before the commit leaves
nothing committed and the backups to recover, one after it re-delivers
files the duplicate check makes harmless.  A file its runner died under
three times is Mailman's to keep in the bad queue (its poison-message
guard); the plugin's part is that such a bounce is not recorded as well.
This kills a real runner with SIGKILL at random points and counts what was
recorded.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

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
    # A failure names its seed: BOUNCERULES_CRASH_SEED=N repeats the run.
    seed = int(os.environ.get('BOUNCERULES_CRASH_SEED')
               or random.SystemRandom().randrange(10**6))
    chance = random.Random(seed)
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
    counted = json.loads(
        _finish(_site('count', tmp_path, BOUNCES)).splitlines()[-1])
    # A bounce preserved by Mailman's guard (three deaths while it was in
    # flight) is rare since the runner sets up before taking a file; its
    # member has no event and it counts as that member's one outcome.
    preserved = counted['preserved_after_repeated_crashes']
    assert counted == {
        'lost': 0, 'preserved_and_recorded': 0,
        'preserved_after_repeated_crashes': preserved,
        'preserved_otherwise': 0, 'members_with_events': BOUNCES - preserved,
        'most_events_per_member': 1, 'queued': 0, 'shunted': 0,
    }, (seed, killed)
    assert killed >= 1
