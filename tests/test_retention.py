"""Retention: old rows go, a bounded batch a pass, and nothing a current
decision needs goes with them."""

import datetime

import pytest
from mailman.config import config
from mailman.utilities.datetime import now
from sitehelpers import (
    add_members,
    addressed_to,
    bounce,
    dead_mailbox,
    make_list,
    queue,
    send_campaign,
    sent_probes,
    state,
)
from sqlalchemy import event, func, insert, select

from mailman_bouncerules.app import retention
from mailman_bouncerules.app.admin import ListAdmin
from mailman_bouncerules.model.tables import (
    PROBE_SENT,
    Event,
    Probe,
    SeenBounce,
)
from mailman_bouncerules.tools.testing import samples

BART, ELLY = 'bart@example.org', 'elly@example.org'
DAY = datetime.timedelta(days=1)


@pytest.fixture
def ant(mailman):
    mlist = make_list()
    add_members(mlist, [BART, ELLY])
    return mlist


def fill_history(list_id, days, per_day, start=0, back=0):
    """`per_day` history rows and seen bounces a day, for `days` days
    back from `back` days ago, as a busy list leaves them."""
    at = now() - back * DAY
    store = config.db.store
    store.execute(insert(Event), [
        dict(list_id=list_id, email='m%05d@example.org' % (n % 500),
             event='bounce', at=at - day * DAY - datetime.timedelta(
                 seconds=n + 1), counted=False, evidence='unverified',
             classification='soft', action='record', rule='mailbox-full')
        for day in range(days) for n in range(per_day)])
    store.execute(insert(SeenBounce), [
        dict(list_id=list_id, message_key='<%d.%d.%d@mx>' % (start, day, n),
             seen_at=at - day * DAY - datetime.timedelta(seconds=n + 1))
        for day in range(days) for n in range(per_day)])
    config.db.commit()


def prune_to_the_end(passes=1000):
    """Run the pruning pass until it deletes nothing; the rows each pass
    deleted."""
    deleted = []
    for _ in range(passes):
        count = retention.prune(config.db.store)
        config.db.commit()
        if not count:
            return deleted
        deleted.append(count)
    raise AssertionError('pruning does not end')


def count(table, *where):
    return config.db.store.scalar(select(func.count()).select_from(
        table).filter(*where))


def test_a_year_of_history_is_pruned_and_every_decision_stays(ant):
    # A confirmed member two campaigns into a run, a removed member its
    # owner may still undo, both from long ago.
    old = now() - 500 * DAY
    campaigns = [send_campaign(ant, number) for number in (1, 2)]
    for campaign in campaigns:
        bounce(ant, samples.rfc3464(ELLY, '5.2.1', '550 5.2.1 disabled',
                                    original_id=campaign))
    dead_mailbox(ant, samples.rfc3464(BART, '5.1.1', '550 5.1.1 user '
                                      'unknown'))
    store = config.db.store
    for row in store.scalars(select(Event)):
        row.at = old
    config.db.commit()
    recent_seen = count(SeenBounce)
    fill_history(ant.list_id, days=450, per_day=20)
    before = count(Event)
    deleted = prune_to_the_end()
    # Oldest first, a bounded batch a pass.
    assert max(deleted) <= 2 * retention.BATCH + 40
    # What is younger than history_lifetime stays; what undo reads stays.
    assert count(Event) < before
    assert count(Event, Event.at < now() - 401 * DAY,
                 Event.event.not_in(retention.KEPT_EVENTS)) == 0
    assert count(Event, Event.at > now() - 399 * DAY) == 399 * 20
    assert count(SeenBounce, SeenBounce.seen_at < now() - 31 * DAY) == 0
    assert count(SeenBounce) == recent_seen + 30 * 20
    result = ListAdmin(ant).undo(BART, 'carol')
    config.db.commit()
    assert result['state'] == 'ok'
    assert ant.members.get_member(BART) is not None
    # The run survives its history: a third campaign confirms.
    dead_mailbox(ant, samples.rfc3464(ELLY, '5.2.1', '550 5.2.1 disabled',
                                original_id=send_campaign(ant, 3)))
    assert state(ant, ELLY).state == 'confirmed'


def test_an_open_probe_keeps_its_decision_when_the_history_goes(ant):
    notice = samples.rfc3464(BART, '5.1.1', '550 5.1.1 user unknown')
    queue('virgin')
    bounce(ant, notice)
    store = config.db.store
    probe = store.scalars(select(Probe)).one()
    assert probe.status == PROBE_SENT and probe.rule
    for row in store.scalars(select(Event)):
        row.at = now() - 500 * DAY
    config.db.commit()
    prune_to_the_end()
    assert count(Event) == 0
    # The probe bounces: what it waited for is carried out, with its rule.
    [(_recipients, sender, _probe)] = sent_probes()
    bounce(ant, addressed_to(notice, sender))
    assert ant.members.get_member(BART) is None
    [removed] = store.scalars(select(Event).filter_by(event='removed'))
    assert removed.rule == probe.rule
    # Closed, and past its cool-down: the probe goes too.
    probe.decided_at = now() - 500 * DAY
    config.db.commit()
    prune_to_the_end()
    assert count(Probe) == 0


def test_a_pass_costs_the_same_on_a_table_ten_times_larger(ant):
    statements = [0]

    def counted(*_args):
        statements[0] += 1
    engine = config.db.engine
    costs = []
    for days, start in ((60, 1), (600, 2)):
        # All of it past history_lifetime and past the seen bounces' month.
        fill_history(ant.list_id, days=days, per_day=40, start=start,
                     back=450)
        statements[0] = 0
        event.listen(engine, 'before_cursor_execute', counted)
        try:
            deleted = retention.prune(config.db.store)
        finally:
            event.remove(engine, 'before_cursor_execute', counted)
        config.db.commit()
        costs.append((statements[0], deleted))
        prune_to_the_end()
    (small_statements, small_deleted), (large_statements, large_deleted) = costs
    assert small_statements == large_statements
    assert large_deleted == small_deleted == 2 * retention.BATCH
