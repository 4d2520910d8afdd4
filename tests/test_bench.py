"""The benchmark script runs end to end (tiny sizes; numbers not judged)."""

import os
import subprocess
import sys


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
    storm = [line.split() for line in lines if line.strip().startswith('100 ')]
    assert [row[2] for row in storm] == ['stock', 'mailman-bouncerules']
    assert all(int(row[1]) == 8 for row in storm)     # 5% + 3% of 100
    assert any('tokens' in line for line in lines)
