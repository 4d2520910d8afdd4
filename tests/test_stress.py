"""Four bounce runner slices on PostgreSQL, thousands of bounces.

Mailman spreads the bounces queue over slices by a hash of the message and
the enqueue time, so bounces of one member land in every slice.  Nothing
may be lost, counted twice or dead-locked away.  (On SQLite Mailman runs
one slice; the test needs BOUNCERULES_TEST_DATABASE.)
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mailman.config import config
from sitehelpers import add_members, as_message, make_list, queue, send_campaign
from sqlalchemy import func, select

from mailman_bouncerules.model.tables import Event, HardBounce, Probe
from mailman_bouncerules.tools.testing import samples

pytestmark = pytest.mark.skipif(
    not os.environ.get('BOUNCERULES_TEST_DATABASE', '').startswith(
        'postgresql'), reason='needs PostgreSQL (.ci/with-postgres)')

SLICES = 4
MEMBERS = ['s%02d@d%02d.example' % (n, n) for n in range(40)]
# The campaigns also went to many others who did not bounce, so the
# circuit breaker rightly stays quiet.
OTHERS = ['other%04d@elsewhere.example' % n for n in range(1000)]
CAMPAIGNS = 10
COPIES = 5          # 40 x 10 x 5 = 2,000 bounces


def count(query):
    return config.db.store.scalar(query)


def test_four_slices_lose_nothing_and_count_once(mailman):
    mlist = make_list()
    add_members(mlist, MEMBERS)
    campaigns = [send_campaign(mlist, n, recipients=MEMBERS + OTHERS)
                 for n in range(1, CAMPAIGNS + 1)]
    bounces = config.switchboards['bounces']
    for copy in range(COPIES):
        for email in MEMBERS:
            for number, campaign in enumerate(campaigns, 1):
                msg = as_message(
                    samples.rfc3464(email, '5.2.1', '550 5.2.1 disabled',
                                    original_id=campaign),
                    message_id='<dsn-%d-%s-%d@relay>' % (copy, email, number))
                bounces.enqueue(msg, listid=mlist.list_id)
    config.db.commit()
    worker = Path(__file__).with_name('slice_runner.py')
    processes = [subprocess.Popen(
        [sys.executable, str(worker), config.filename, str(n), str(SLICES)],
        stderr=subprocess.PIPE) for n in range(SLICES)]
    for process in processes:
        _out, errors = process.communicate(timeout=600)
        assert process.returncode == 0, errors.decode()[-3000:]
    config.db.abort()
    assert os.listdir(bounces.queue_directory) == []
    assert queue('shunt') == []
    total = len(MEMBERS) * CAMPAIGNS
    assert count(select(func.count()).select_from(HardBounce)) == total
    assert count(select(func.count()).select_from(Event).filter_by(
        event='bounce')) == total * COPIES
    assert count(select(func.count()).select_from(Event).filter_by(
        event='bounce', counted=True)) == total
    # Notices to the plain -bounces address: each confirmation waits for
    # one probe per member, whichever slices wanted one at once.
    assert count(select(func.count()).select_from(Probe)) == len(MEMBERS)
    assert count(select(func.count(func.distinct(Probe.email)))) == \
        len(MEMBERS)
