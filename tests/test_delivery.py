"""The outgoing hook records campaigns; posts by members reset the run."""

import zope.event
from mailman.app.inject import inject_text
from mailman.config import config
from mailman.runners.incoming import IncomingRunner
from mailman.runners.outgoing import OutgoingRunner
from mailman.testing.helpers import make_testable_runner
from sitehelpers import (
    add_member,
    as_message,
    bounce,
    dead_mailbox,
    make_list,
    send_campaign,
    state,
)

from mailman_bouncerules.app.campaigns import find_campaign
from mailman_bouncerules.app.events import (
    BounceClassified,
    BounceConfirmed,
    BounceRunReset,
    MemberRemoved,
)
from mailman_bouncerules.model.tables import Campaign, Event
from mailman_bouncerules.tools.testing import samples

BART, CRIS = 'bart@example.org', 'cris@example.org'

POST = b"""\
From: cris@example.org
To: ant@example.com
Subject: Hello
Message-ID: <%s>

Hi all.
"""


def deliver(mlist, message_id, recipients, **msgdata):
    config.switchboards['out'].enqueue(
        as_message(POST % message_id.encode()), listid=mlist.list_id,
        recipients=recipients, **msgdata)
    make_testable_runner(OutgoingRunner, 'out').run()
    config.db.commit()


def test_posts_and_digests_become_numbered_campaigns(smtp):
    mlist = make_list()
    add_member(mlist, BART)
    deliver(mlist, 'a@example.com', [BART])
    deliver(mlist, 'b@example.com', [BART])
    deliver(mlist, 'digest-1@example.com', [BART], isdigest=True)
    # A retried delivery of the same post is the same campaign.
    deliver(mlist, 'b@example.com', [BART])
    store = config.db.store
    kinds = [(c.kind, c.sequence, c.message_id) for c in
             store.query(Campaign).order_by(Campaign.id)]
    assert kinds == [('post', 1, 'a@example.com'), ('post', 2, 'b@example.com'),
                     ('digest', 1, 'digest-1@example.com')]
    assert len(list(smtp.messages)) == 4


def test_mailman_notices_are_not_campaigns(smtp):
    mlist = make_list()
    # As Mailman's UserNotification and OwnerNotification queue them.
    deliver(mlist, 'notice@example.com', [BART], nodecorate=True,
            reduced_list_headers=True)
    assert find_campaign(config.db.store, mlist.list_id,
                         'notice@example.com') is None


def test_refusal_at_smtp_time_is_attributed_to_the_campaign(smtp):
    mlist = make_list()
    add_member(mlist, BART)
    smtp.err_queue.put(('rcpt', 550))
    deliver(mlist, 'c@example.com', [BART])
    [event] = config.db.store.query(Event).filter_by(email=BART).all()
    # A bare 550 says nothing about why: recorded, never a removal.
    assert (event.campaign, event.action) == ('c@example.com', 'record')
    assert mlist.members.get_member(BART) is not None


def test_a_post_by_the_member_resets_the_run(mailman):
    mlist = make_list()
    add_member(mlist, BART)
    for number in (1, 2):
        bounce(mlist, samples.rfc3464(BART, '5.2.1', '550 5.2.1 disabled',
                                      original_id=send_campaign(mlist, number)))
    assert state(mlist, BART).run == 2
    inject_text(mlist, (POST.replace(b'cris@', b'bart@')
                        % b'from-bart@example.org').decode())
    make_testable_runner(IncomingRunner, 'in').run()
    config.db.commit()
    assert (state(mlist, BART).run, state(mlist, BART).state) == (0, 'ok')
    # A third hard bounce starts a new run; no confirmation.
    bounce(mlist, samples.rfc3464(BART, '5.2.1', '550 5.2.1 disabled',
                                  original_id=send_campaign(mlist, 3)))
    assert (state(mlist, BART).run, state(mlist, BART).state) == (1, 'hard')


def test_events_announce_what_happened(mailman):
    mlist = make_list()
    add_member(mlist, BART)
    add_member(mlist, CRIS)
    seen = []
    zope.event.subscribers.append(seen.append)
    try:
        for number in (1, 2, 3):
            dead_mailbox(mlist, samples.rfc3464(
                BART, '5.2.1', '550 5.2.1 disabled',
                original_id=send_campaign(mlist, number)))
        dead_mailbox(mlist, samples.rfc3464(CRIS, '5.1.1',
                                            '550 5.1.1 no such user'))
    finally:
        zope.event.subscribers.remove(seen.append)
    ours = [type(event) for event in seen if type(event) in (
        BounceClassified, BounceConfirmed, MemberRemoved, BounceRunReset)]
    # The third bounce and Cris's ask for a probe; each probe's bounce
    # (classified too) carries out the change.
    assert ours == [BounceClassified] * 4 + [BounceConfirmed] + [
        BounceClassified] * 2 + [MemberRemoved]
    confirmed = next(e for e in seen if isinstance(e, BounceConfirmed))
    assert (confirmed.email, confirmed.run) == (BART, 3)
