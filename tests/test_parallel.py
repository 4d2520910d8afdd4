"""Several processes handling bounces of the same members at once.

Mailman spreads a queue over runner slices by a hash that includes the
enqueue time, so two bounces of one member can be handled in parallel.
Every hard bounce must be counted exactly once per campaign, none lost.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mailman.config import config
from sitehelpers import (
    add_members,
    as_message,
    make_list,
    send_campaign,
    state,
)
from sqlalchemy import func, select

from mailman_bouncerules.model.tables import Event, HardBounce, Probe
from mailman_bouncerules.tools.testing import samples

pytestmark = pytest.mark.slow

WORKERS = 4
MEMBERS = ['m%d@example.org' % n for n in range(5)]
CAMPAIGNS = 6
COPIES = 4          # each (member, campaign) bounces this many times


WORKER = Path(__file__).with_name('parallel_worker.py')


def storm(tmp_path):
    """Each member's failure in each campaign, COPIES times over."""
    mlist = make_list()
    add_members(mlist, MEMBERS)
    campaigns = [send_campaign(mlist, n) for n in range(1, CAMPAIGNS + 1)]
    config.db.commit()
    files = []
    for copy in range(COPIES):
        for email in MEMBERS:
            for number, campaign in enumerate(campaigns, 1):
                data = samples.rfc3464(email, '5.2.1', '550 5.2.1 disabled',
                                       original_id=campaign)
                path = tmp_path / ('%d-%s-%d.eml' % (copy, email, number))
                path.write_bytes(b'Message-ID: <dsn-%d-%s-%d@relay>\n'
                                 % (copy, email.encode(), number) + data)
                files.append(str(path))
    # The site's folders exist before the workers start: four processes
    # creating them at once race in Mailman's makedirs().
    for directory in config.paths.values():
        os.makedirs(directory, exist_ok=True)
    return mlist, files


def finish(processes):
    for process in processes:
        _out, errors = process.communicate(timeout=300)
        assert process.returncode == 0, errors.decode()[-3000:]
    config.db.abort()           # see the workers' commits


def test_parallel_processes_count_each_campaign_once(mailman, tmp_path):
    mlist, files = storm(tmp_path)
    # Interleave so that every worker sees every member.
    shares = [files[worker::WORKERS] for worker in range(WORKERS)]
    finish([subprocess.Popen(
        [sys.executable, str(WORKER), config.filename, 'ant@example.com']
        + share, stderr=subprocess.PIPE) for share in shares])
    each_campaign_counted_once(mlist)


def test_runner_slices_batching_at_once_count_each_campaign_once(
        mailman, tmp_path):
    """Four bounce runner slices over one queue, each committing a batch
    at a time: batches that lock the same members and counters in other
    orders may deadlock, and a rolled-back batch is handled again one
    file at a time; nothing is lost or counted twice."""
    mlist, files = storm(tmp_path)
    for path in files:
        config.switchboards['bounces'].enqueue(
            as_message(Path(path).read_bytes()), listid=mlist.list_id)
    config.db.commit()
    finish([subprocess.Popen(
        [sys.executable, str(WORKER), config.filename, '--slice',
         str(number), str(WORKERS)], stderr=subprocess.PIPE)
        for number in range(WORKERS)])
    assert config.switchboards['bounces'].files == []
    assert config.switchboards['shunt'].files == []
    each_campaign_counted_once(mlist)


def each_campaign_counted_once(mlist):
    store = config.db.store
    total = len(MEMBERS) * CAMPAIGNS
    assert store.scalar(select(func.count()).select_from(HardBounce)) == total
    assert store.scalar(select(func.count()).select_from(Event).filter_by(
        event='bounce')) == total * COPIES
    assert store.scalar(select(func.count()).select_from(Event).filter_by(
        event='bounce', counted=True)) == total
    # Notices to the plain -bounces address: the confirmation waits for
    # one probe per member, however many processes wanted one at once.
    for email in MEMBERS:
        assert (state(mlist, email).state, state(mlist, email).run) == (
            'hard', CAMPAIGNS)
        assert store.scalar(select(func.count()).select_from(Probe).filter_by(
            email=email)) == 1
