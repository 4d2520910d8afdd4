"""A bounce runner killed at random points (test_crash.py).

    python crash_site.py prepare FOLDER COUNT   a site with COUNT queued bounces
    python crash_site.py run FOLDER             the runner, until the queue is empty
    python crash_site.py count FOLDER COUNT     what was recorded, as JSON

Each bounce names its own member, so every bounce must end up as exactly
one recorded bounce event, none lost, none counted twice, or be kept in
Mailman's bad queue by Mailman's own guard against a file that keeps
killing its runner (then not recorded at all).
"""

import json
import sys
from pathlib import Path

from mailman_bouncerules.tools.demo import free_port, site_config


def _initialize(folder):
    from mailman.core.initialize import initialize
    initialize(str(folder / 'mailman.cfg'))


def prepare(folder, count):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'mailman.cfg').write_text(site_config(folder, free_port()))
    _initialize(folder)
    from mailman.app.lifecycle import create_list
    from mailman.config import config
    from mailman.interfaces.domain import IDomainManager
    from zope.component import getUtility

    from mailman_bouncerules.app.campaigns import record_campaign
    from mailman_bouncerules.tools.demo import mailman_message, subscribe_verified
    from mailman_bouncerules.tools.testing import samples
    getUtility(IDomainManager).add('example.com')
    mlist = create_list('ant@example.com')
    emails = ['m%04d@example.org' % n for n in range(count)]
    subscribe_verified(mlist, emails)
    record_campaign(mlist.list_id, '<post-1@example.com>', 'post',
                    recipients=emails)
    config.db.commit()
    for number, email in enumerate(emails):
        data = samples.rfc3464(email, '5.2.1', '550 5.2.1 mailbox disabled',
                               original_id='<post-1@example.com>')
        config.switchboards['bounces'].enqueue(
            mailman_message(b'Message-ID: <dsn-%d@relay.example.com>\n' % number
                     + data), listid=mlist.list_id)


def run(folder):
    _initialize(folder)
    from mailman.testing.helpers import make_testable_runner

    from mailman_bouncerules.runners.bounce import RulesBounceRunner
    # Stops once the queue is empty, like the test helpers' runners.
    make_testable_runner(RulesBounceRunner, 'bounces').run()


def count(folder):
    _initialize(folder)
    import pickle

    from mailman.config import config
    from mailman.core.switchboard import MAX_BAK_COUNT
    from sqlalchemy import func, select

    from mailman_bouncerules.model.storage import normalize_message_id
    from mailman_bouncerules.model.tables import Event, SeenBounce
    store = config.db.store
    events = store.execute(select(Event.email, func.count()).filter_by(
        event='bounce').group_by(Event.email)).all()
    seen = set(store.scalars(select(SeenBounce.message_key)))
    # Mailman's own guard: a file whose runner died under it MAX_BAK_COUNT
    # times goes to the bad queue, kept for the admin.  Such a bounce is
    # preserved, not lost, and must not have been recorded as well.
    bad = config.switchboards['bad']
    preserved, preserved_otherwise = set(), 0
    for filebase in bad.get_files('.psv'):
        with open(Path(bad.queue_directory) / (filebase + '.psv'), 'rb') as fp:
            msg, data = pickle.load(fp), pickle.load(fp)
        if data.get('_bak_count', 0) >= MAX_BAK_COUNT:
            preserved.add(normalize_message_id(msg['Message-ID']))
        else:
            preserved_otherwise += 1
    sent = {'dsn-%d@relay.example.com' % n for n in range(int(sys.argv[3]))}
    print(json.dumps({
        'lost': len(sent - seen - preserved),
        'preserved_and_recorded': len(preserved & seen),
        'preserved_after_repeated_crashes': len(preserved),
        'preserved_otherwise': preserved_otherwise,
        'members_with_events': len(events),
        'most_events_per_member': max((n for _e, n in events), default=0),
        'queued': len(config.switchboards['bounces'].files),
        'shunted': len(config.switchboards['shunt'].files),
    }))


if __name__ == '__main__':
    command, folder = sys.argv[1], Path(sys.argv[2])
    if command == 'prepare':
        prepare(folder, int(sys.argv[3]))
    elif command == 'run':
        run(folder)
    else:
        count(folder)
