"""The circuit breaker: a sender-side incident removes nobody."""

import json

import pytest
from mailman.config import config
from mailman.interfaces.member import DeliveryStatus
from sitehelpers import (
    add_members,
    mailman_command,
    make_list,
    queue,
    refused,
    send_campaign,
    state,
)

from mailman_bouncerules.app.admin import ListAdmin
from mailman_bouncerules.config.settings import pushed
from mailman_bouncerules.model.tables import Event, HardBounce, Hold
from mailman_bouncerules.tools.testing import samples

BIG = ['user%02d@bigmail.example' % n for n in range(40)]
SCATTERED = ['one@a.example', 'two@b.example', 'three@c.example']


def unknown(email, campaign):
    return samples.rfc3464(email, '5.1.1', '550 5.1.1 <%s>: user unknown'
                           % email, original_id=campaign)




@pytest.fixture
def site(mailman):
    """The per-campaign test alone: the daily cap out of the way."""
    mlist = make_list()
    mlist.bounce_notify_owner_on_removal = False
    add_members(mlist, BIG + SCATTERED)
    config.db.commit()
    with pushed(daily_cap_min=1000):
        yield mlist


def test_a_whole_domain_bouncing_removes_nobody(site):
    send_campaign(site, 1)
    queue('virgin')
    for email in BIG:
        refused(site, email)
    assert all(site.members.get_member(email) is not None for email in BIG)
    [hold] = config.db.store.query(Hold).all()
    assert (hold.domain, hold.rule, hold.status) == (
        'bigmail.example', 'user-unknown', 'held')
    assert hold.failures == 20 and hold.recipients == 40
    held = config.db.store.query(Event).filter_by(event='held').all()
    assert {event.email for event in held} == set(BIG)
    # The owners are told once, not forty times.
    notices = [item for item in queue('virgin')
               if 'circuit breaker' in str(item.msg['Subject'])]
    assert len(notices) == 1
    assert 'bigmail.example' in notices[0].msg.get_payload()


def test_scattered_unknown_users_still_go_at_once(site):
    send_campaign(site, 1)
    for email in SCATTERED:
        refused(site, email)
    assert all(site.members.get_member(email) is None for email in SCATTERED)
    assert config.db.store.query(Hold).count() == 0


def test_release_applies_the_held_decisions(site):
    send_campaign(site, 1)
    for email in BIG:
        refused(site, email)
    [row] = json.loads(mailman_command('holds', 'ant@example.com',
                                       '--json').output)
    assert len(row['held']) == 40
    # Who the hold covers, what releasing it does to each, in words.
    assert row['scope'] == 'addresses at bigmail.example'
    assert {member['email'] for member in row['members']} == set(BIG)
    assert {member['change'] for member in row['members']} == {'remove'}
    stats = json.loads(mailman_command('stats', 'ant@example.com',
                                       '--json').output)
    assert stats['held'] == 40
    admin = ListAdmin(site)
    held_rows = admin.member_rows(held=True)
    assert len(held_rows) == 40 and {r['email'] for r in held_rows} == set(BIG)
    assert held_rows[0]['held'] == {'hold': row['id'], 'change': 'remove'}
    assert admin.member(BIG[0])['held'] == held_rows[0]['held']
    result = mailman_command('release', 'ant@example.com', str(row['id']),
                             '--by', 'carol')
    assert result.exit_code == 0, result.output
    stats = json.loads(mailman_command('stats', 'ant@example.com',
                                       '--json').output)
    assert stats['held'] == 0
    assert len(admin.member_rows(held=True)) == 0
    assert all(site.members.get_member(email) is None for email in BIG)
    assert state(site, BIG[0]).state == 'removed'
    released = config.db.store.query(Event).filter_by(event='released').all()
    assert {event.actor for event in released} == {'carol'}


def test_discard_drops_them_and_the_counts(mailman):
    mlist = make_list()
    add_members(mlist, BIG)
    send_campaign(mlist, 1)
    for email in BIG:
        refused(mlist, email, 550, '5.2.1 <%s>: disabled')
    assert config.db.store.query(Hold).count() == 1
    assert config.db.store.query(HardBounce).count() == 40
    hold_id = config.db.store.query(Hold).one().id
    result = mailman_command('discard', 'ant@example.com', str(hold_id))
    assert result.exit_code == 0, result.output
    assert config.db.store.query(HardBounce).count() == 0
    assert state(mlist, BIG[0]).state == 'ok'
    assert mlist.members.get_member(BIG[0]).delivery_status == \
        DeliveryStatus.enabled
    assert 'already discarded' in mailman_command(
        'release', 'ant@example.com', str(hold_id)).output


def test_rest_holds_release_and_errors(site):
    import base64

    import falcon.testing
    from mailman.rest.wsgiapp import make_application
    send_campaign(site, 1)
    for email in BIG:
        refused(site, email)
    app = make_application()
    client = falcon.testing.TestClient(lambda environ, start: app(environ,
                                                                  start))
    credentials = '%s:%s' % (config.webservice.admin_user,
                             config.webservice.admin_pass)
    auth = {'Authorization': 'Basic '
            + base64.b64encode(credentials.encode()).decode()}
    base = '/3.1/plugins/bouncerules/lists/ant.example.com/'
    [row] = client.simulate_get(base + 'holds', headers=auth).json['entries']
    assert client.simulate_post(base + 'holds/999/release',
                                headers=auth).status_code == 404
    assert client.simulate_post(base + 'holds/x/release',
                                headers=auth).status_code == 404
    result = client.simulate_post(base + 'holds/%d/discard' % row['id'],
                                  headers=auth)
    config.db.commit()
    assert result.status_code == 200, result.text
    assert result.json['status'] == 'discarded'
    again = client.simulate_post(base + 'holds/%d/release' % row['id'],
                                 headers=auth)
    assert again.status_code == 409
    from mailman.interfaces.listmanager import IListManager
    from zope.component import getUtility
    mlist = getUtility(IListManager).get('ant@example.com')  # REST closed
    assert all(mlist.members.get_member(email) is not None for email in BIG)


def test_a_confirmation_held_by_a_trip_is_carried_out_on_release(site):
    """A confirmation that arrives while a campaign's hold is in force is
    kept back (the member stays hard, delivery on); releasing the hold
    confirms it (delivery stopped, by bounces)."""
    for number in (1, 2, 3):
        send_campaign(site, number)
        for email in BIG:
            refused(site, email, text='5.2.1 <%s>: mailbox disabled')
    assert state(site, BIG[0]).state == 'hard'
    assert site.members.get_member(BIG[0]).delivery_status == \
        DeliveryStatus.enabled
    held = config.db.store.query(Event).filter_by(
        event='held', email=BIG[0]).all()
    assert [event.detail for event in held] == ['would confirm']
    [hold] = config.db.store.query(Hold).filter_by(id=held[0].hold_id).all()
    result = mailman_command('release', 'ant@example.com', str(hold.id))
    assert result.exit_code == 0, result.output
    assert state(site, BIG[0]).state == 'confirmed'
    assert site.members.get_member(BIG[0]).delivery_status == \
        DeliveryStatus.by_bounces
