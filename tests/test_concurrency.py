"""Two owners acting on one member or one hold at once.

Mailman's REST runs several workers, so a double click is two requests
in two processes.  The member's (or the hold's) row is locked before its
state is read: the second request waits for the first, then answers 409
with the reason, and nothing is done twice.  SQLite serialises writers by
itself (the loser may fail to write: nothing is done twice either);
PostgreSQL is where the row locks matter, and where 409 is checked.
"""

import os
import subprocess
import sys
from pathlib import Path

from conftest import DATABASE_URL
from mailman.config import config
from sitehelpers import (
    BART,
    add_member,
    add_members,
    make_list,
    refused,
    send_campaign,
)
from sqlalchemy import func, select

from mailman_bouncerules.config.settings import pushed
from mailman_bouncerules.model.tables import Event, Hold

WORKER = Path(__file__).with_name('admin_worker.py')
ON_POSTGRESQL = DATABASE_URL.startswith('postgresql')


def at_once(tmp_path, *commands):
    """Run one worker per command, let them act together; their answers."""
    for directory in config.paths.values():
        os.makedirs(directory, exist_ok=True)
    go = tmp_path / 'go'
    workers = [subprocess.Popen(
        [sys.executable, str(WORKER), config.filename, 'ant@example.com',
         str(go), *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True) for command in commands]
    for worker in workers:
        assert worker.stdout.readline().strip() == 'ready', \
            worker.stderr.read()[-3000:]
    go.write_text('go')
    answers = []
    for worker in workers:
        out, errors = worker.communicate(timeout=300)
        assert worker.returncode == 0, errors[-3000:]
        answers.append(out.strip().splitlines()[-1])
    config.db.abort()               # see the workers' commits
    return answers


def test_two_undos_at_once_subscribe_once(mailman, tmp_path):
    mlist = make_list()
    add_member(mlist, BART)
    send_campaign(mlist, 1)
    refused(mlist, BART)            # verified: removed at once
    config.db.commit()
    assert mlist.members.get_member(BART) is None
    answers = at_once(tmp_path, ('undo', BART), ('undo', BART))
    assert answers.count('ok') == 1, answers
    [other] = [answer for answer in answers if answer != 'ok']
    if ON_POSTGRESQL:
        assert other.startswith('conflict: ') and 'already undone' in other
    members = [member for member in mlist.members.members
               if member.address.email == BART]
    assert len(members) == 1
    assert config.db.store.scalar(select(func.count()).select_from(
        Event).filter_by(email=BART, event='undo')) == 1


def test_release_and_discard_at_once_decide_once(mailman, tmp_path):
    mlist = make_list()
    domain = ['u%02d@big.example' % n for n in range(40)]
    add_members(mlist, domain)
    send_campaign(mlist, 1)
    with pushed(daily_cap_min=1000):
        for email in domain:
            refused(mlist, email)
    config.db.commit()
    [hold] = config.db.store.query(Hold).all()
    answers = at_once(tmp_path, ('release', str(hold.id)),
                      ('discard', str(hold.id)))
    assert answers.count('ok') == 1, answers
    [other] = [answer for answer in answers if answer != 'ok']
    if ON_POSTGRESQL:
        assert other.startswith('conflict: ') and 'was already' in other
    decided = config.db.store.scalars(select(Event.event).filter_by(
        hold_id=hold.id).filter(Event.event.in_(('released', 'discarded')))
    ).all()
    assert len(set(decided)) == 1
