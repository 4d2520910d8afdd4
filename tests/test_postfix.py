"""End to end with a real MTA: Postfix writes the bounces.

Mailman hands each post to a private Postfix on 127.0.0.1; Postfix relays it
to a scripted remote server that refuses some recipients the way real
servers do; Postfix writes real DSNs and delivers them over LMTP to
Mailman's LMTP runner; the plugin's bounce runner does the rest.  Needs
Debian's postfix and root (CI has both); skipped otherwise.
"""

import os
import shutil

import pytest
from mailflow import MailFlow, free_port, wait_for
from mailman.config import config
from mailman.runners.outgoing import OutgoingRunner
from mailman.runners.pipeline import PipelineRunner
from mailman.runners.virgin import VirginRunner
from mailman.testing.helpers import make_testable_runner
from sitehelpers import add_members, as_message, make_list, queue, state

from mailman_bouncerules.app.admin import ListAdmin
from mailman_bouncerules.model.tables import Event
from mailman_bouncerules.runners.bounce import RulesBounceRunner

pytestmark = pytest.mark.skipif(
    shutil.which('postfix') is None or os.geteuid() != 0,
    reason='needs Debian postfix and root')

REPLIES = {
    'bart@example.org': '550 5.1.1 <bart@example.org>: Recipient address '
                        'rejected: User unknown in local recipient table',
    'cris@example.org': '552 5.2.2 <cris@example.org>: Mailbox full',
    'dave@example.org': '550 5.7.1 Message rejected as spam by Content '
                        'Filtering',
    'elly@example.org': '550 5.2.1 The email account that you tried to '
                        'reach is disabled',
    'erin@example.org': '450 4.2.1 Mailbox busy, try again later',
}
MEMBERS = ['anne@example.org'] + sorted(REPLIES)

POST = """\
From: anne@example.org
To: ant@example.com
Subject: Post {n}
Message-ID: <e2e-post-{n}@example.com>

Post number {n}.
"""


@pytest.fixture
def flow(mailman):
    mail = MailFlow(config.filename, 'example.com', ['example.org'], REPLIES,
                    free_port())
    config.push('e2e', '[mta]\nsmtp_host: 127.0.0.1\nsmtp_port: %d\n'
                % mail.smtp_port)
    yield mail
    config.pop('e2e')
    mail.close()


def bounce_files():
    return [name for name in os.listdir(
        config.switchboards['bounces'].queue_directory)
        if name.endswith('.pck')]


def postfix_idle(flow):
    spool = flow.root / 'spool'
    return not any((spool / name).is_dir() and any((spool / name).iterdir())
                   for name in ('incoming', 'active', 'deferred', 'maildrop'))


def send_post(mlist, flow, number):
    recipients = [m.address.email for m in mlist.members.members
                  if m.delivery_status.name == 'enabled']
    config.switchboards['out'].enqueue(
        as_message(POST.format(n=number).encode()), listid=mlist.list_id,
        recipients=recipients)
    make_testable_runner(OutgoingRunner, 'out').run()
    config.db.commit()
    failing = [r for r in recipients if r in REPLIES]
    # Postfix has refused, bounced and handed every DSN to Mailman.
    assert wait_for(lambda: all('to=<%s>' % r in flow.log() for r in failing)
                    and postfix_idle(flow) and bounce_files()), flow.log()
    make_testable_runner(RulesBounceRunner, 'bounces').run()
    config.db.commit()
    send_probes(flow)
    return recipients


def send_probes(flow):
    """The verification probes the bounces asked for go out through
    Mailman's own runners (virgin, pipeline, out) and Postfix; their DSNs
    come back over LMTP to the probes' signed envelope senders."""
    probes = [name for name in os.listdir(
        config.switchboards['virgin'].queue_directory) if name.endswith('.pck')]
    if not probes:
        return
    for runner_class, name in ((VirginRunner, 'virgin'),
                               (PipelineRunner, 'pipeline'),
                               (OutgoingRunner, 'out')):
        make_testable_runner(runner_class, name).run()
        config.db.commit()
    # Postfix took each probe before Mailman's SMTP session ended; once its
    # queue is empty, every DSN is in Mailman's bounces queue.
    assert wait_for(lambda: postfix_idle(flow)), flow.log()
    make_testable_runner(RulesBounceRunner, 'bounces').run()
    config.db.commit()


def test_postfix_bounces_drive_member_states(flow):
    mlist = make_list()
    add_members(mlist, MEMBERS)
    queue('virgin')                 # welcome messages: not this test's mail
    first = send_post(mlist, flow, 1)
    assert 'bart@example.org' in first
    send_post(mlist, flow, 2)
    third = send_post(mlist, flow, 3)
    assert 'bart@example.org' not in third          # removed after post 1
    assert 'elly@example.org' in third
    assert flow.remote.accepted.count('anne@example.org') == 3
    states = {row['email']: row['state']
              for row in ListAdmin(mlist).members() +
              ListAdmin(mlist).members('removed')}
    assert states == {
        'anne@example.org': 'ok',
        'bart@example.org': 'removed',
        'cris@example.org': 'soft',
        'dave@example.org': 'soft',
        'elly@example.org': 'confirmed',
        'erin@example.org': 'soft',
    }
    assert mlist.members.get_member('bart@example.org') is None
    # Bulk delivery: the bounces came to the plain -bounces address, so
    # Bart's removal and Elly's confirmation each waited for a probe,
    # whose bounce came back through Postfix to its signed sender.
    assert 'ant-bounces+' in flow.log()
    [removal] = config.db.store.query(Event).filter_by(
        email='bart@example.org', event='removed').all()
    assert removal.evidence == 'probe'
    elly = config.db.store.query(Event).filter_by(
        email='elly@example.org', event='bounce').order_by(Event.id).all()
    assert [e.campaign for e in elly if e.attribution != 'probe'] == [
        'e2e-post-%d@example.com' % n for n in (1, 2, 3)]
    assert {e.attribution for e in elly} == {'message-id', 'probe'}
    assert [e.evidence for e in elly][-1] == 'probe'
    erin = config.db.store.query(Event).filter_by(email='erin@example.org',
                                                  event='bounce').first()
    assert (erin.status, erin.classification) == ('4.2.1', 'soft')
    assert state(mlist, 'dave@example.org').last_rule.startswith('spam')


def test_tokens_survive_a_real_mta(flow):
    """With open tracking, each copy's envelope sender carries its token;
    Postfix returns the DSN to that address, which names the member and
    campaign even though the DSN quotes nothing but headers."""
    mlist = make_list()
    add_members(mlist, ['anne@example.org', 'elly@example.org'])
    queue('virgin')
    ListAdmin(mlist).configure(tracking_on=True)
    config.db.commit()
    send_post(mlist, flow, 1)
    assert 'ant-bounces+' in flow.log()
    [event] = config.db.store.query(Event).filter_by(
        email='elly@example.org', event='bounce').all()
    assert (event.attribution, event.campaign) == ('token',
                                                   'e2e-post-1@example.com')
