"""The benchmark script runs end to end (tiny sizes; numbers not judged)."""

import os
import subprocess
import sys

import pytest

from mailman_bouncerules.tools.bench import STORMS

pytestmark = pytest.mark.slow


def test_bench_prints_its_tables():
    environment = {name: value for name, value in os.environ.items()
                   if name != 'MAILMAN_EXTRA_TESTING_CFG'}
    result = subprocess.run(
        [sys.executable, '-W', 'ignore', '-m', 'mailman_bouncerules.tools.bench',
         '--members', '100', '--recipients', '20', '--skip',
         'classification'], capture_output=True, text=True, timeout=300,
        env=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    storm = [line for line in lines if line.strip().startswith('100 ')]
    # Each storm: stock Mailman's row, then the plugin's, each with its
    # time and statements per bounce, then their ratio.
    assert len(storm) == 2 * len(STORMS)
    assert ['stock Mailman' in line for line in storm] == [True, False] * 2
    assert all(float(line.split()[-2]) > 0 for line in storm)
    ratios = [line for line in lines if 'plugin / stock' in line]
    assert len(ratios) == len(STORMS)
    assert any('tokens' in line for line in lines)
