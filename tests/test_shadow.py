"""Shadow mode: the same decisions, no changes, stock Mailman in charge."""

from click.testing import CliRunner
from mailman.config import config
from mailman.interfaces.member import DeliveryStatus
from mailman.model.bounce import BounceEvent

from mailman_bouncerules.admin import ListAdmin
from mailman_bouncerules.model import Event
from mailman_bouncerules.runner import RulesBounceRunner
from mailman_bouncerules.testing import samples

from sitehelpers import add_member, bounce, make_list, queue, send_campaign

BART, CRIS, ELLY = 'bart@example.org', 'cris@example.org', 'elly@example.org'


def scenario(mlist):
    """Bart unknown, Cris full, Elly disabled three campaigns running."""
    for email in (BART, CRIS, ELLY):
        add_member(mlist, email)
    mlist.bounce_notify_owner_on_removal = True
    mlist.bounce_notify_owner_on_disable = True
    config.db.commit()
    queue('virgin')
    for number in (1, 2, 3):
        campaign = send_campaign(mlist, number)
        bounce(mlist, samples.rfc3464(ELLY, '5.2.1', '550 5.2.1 disabled',
                                      original_id=campaign))
        bounce(mlist, samples.rfc3464(CRIS, '5.2.2', '552 5.2.2 full',
                                      original_id=campaign))
    bounce(mlist, samples.rfc3464(BART, '5.1.1', '550 5.1.1 user unknown',
                                  original_id=campaign))


def decisions(mlist):
    rows = ListAdmin(mlist).members() + ListAdmin(mlist).members('removed')
    return {row['email']: (row['state'], row['last_bounce']['rule'])
            for row in rows}


def test_shadow_changes_nothing_and_reports_the_same_decisions(mailman):
    enforced = make_list('bee@example.com')
    scenario(enforced)
    shadowed = make_list('ant@example.com')
    ListAdmin(shadowed).configure(shadow_on=True)
    config.db.commit()
    scenario(shadowed)
    # The same decisions ...
    assert decisions(shadowed) == decisions(enforced)
    assert decisions(shadowed)[ELLY][0] == 'confirmed'
    assert decisions(shadowed)[BART][0] == 'removed'
    # ... but nothing changed and nobody was told.
    for email in (BART, CRIS, ELLY):
        member = shadowed.members.get_member(email)
        assert member is not None
        assert member.delivery_status == DeliveryStatus.enabled
    assert [item for item in queue('virgin')
            if item.msgdata.get('listid') == 'ant.example.com'] == []
    events = {e.event for e in config.db.store.query(Event).filter_by(
        list_id='ant.example.com')}
    assert {'would-confirm', 'would-remove'} <= events
    assert not {'confirmed', 'removed'} & events
    rows = {row['email']: row for row in ListAdmin(shadowed).members()}
    assert rows[ELLY]['shadow'] and rows[BART]['shadow']
    # Stock Mailman stays in charge: its events and scores exist.
    stock = config.db.store.query(BounceEvent).filter_by(
        list_id='ant.example.com').all()
    assert {event.email for event in stock} >= {BART, ELLY}
    assert config.db.store.query(BounceEvent).filter_by(
        list_id='bee.example.com').count() == 0


def test_status_says_would(mailman):
    mlist = make_list()
    ListAdmin(mlist).configure(shadow_on=True)
    config.db.commit()
    scenario(mlist)
    from mailman.bin.mailman import Subcommands
    command = Subcommands().get_command(None, 'bouncerules')
    output = CliRunner().invoke(command, ['status', 'ant@example.com']).output
    assert 'would confirm' in output and 'would remove' in output


def test_stock_scoring_runs_for_shadow_lists_only(mailman):
    mlist = make_list()
    ListAdmin(mlist).configure(shadow_on=True)
    config.db.commit()
    scenario(mlist)
    from mailman.testing.helpers import make_testable_runner
    runner = make_testable_runner(RulesBounceRunner, 'bounces')
    runner._do_periodic()
    config.db.commit()
    assert mlist.members.get_member(ELLY).bounce_score >= 1   # stock's score
    assert config.db.store.query(BounceEvent).filter_by(
        processed=False).count() == 0


def test_switching_shadow_off_enforces_silently(mailman):
    mlist = make_list()
    ListAdmin(mlist).configure(shadow_on=True)
    config.db.commit()
    scenario(mlist)
    queue('virgin')
    ListAdmin(mlist).configure(shadow_on=False)
    config.db.commit()
    assert mlist.members.get_member(BART) is None
    assert mlist.members.get_member(ELLY).delivery_status == \
        DeliveryStatus.by_bounces
    assert mlist.members.get_member(CRIS).delivery_status == \
        DeliveryStatus.enabled
    assert queue('virgin') == []                    # no replayed notices
    enforced = config.db.store.query(Event).filter_by(event='enforced').all()
    assert {event.email for event in enforced} == {BART, ELLY}
    rows = {row['email']: row for row in ListAdmin(mlist).members()}
    assert rows[ELLY]['shadow'] is False
    assert config.db.store.query(BounceEvent).filter_by(
        processed=False).count() == 0
