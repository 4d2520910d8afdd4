"""Helpers for tests that run inside Mailman's test layers."""

from email import message_from_bytes

from mailman.app.lifecycle import create_list
from mailman.config import config
from mailman.email.message import Message
from mailman.testing.helpers import get_queue_messages, make_testable_runner
from zope.component import getUtility

from mailman_bouncerules.app.campaigns import record_campaign
from mailman_bouncerules.app.ledger import Ledger
from mailman_bouncerules.runners.bounce import RulesBounceRunner
from mailman_bouncerules.tools.testing import samples
from mailman_bouncerules.tools.testing.roster import subscribe

BART = 'bart@example.org'


def hard(campaign, address=BART):
    """A mailbox-disabled DSN for `campaign`: hard, counted, never a
    removal at once."""
    return samples.rfc3464(address, '5.2.1', '550 5.2.1 mailbox disabled',
                           original_id=campaign)


def make_list(name='ant@example.com'):
    mlist = create_list(name)
    config.db.commit()
    return mlist


def add_member(mlist, email, digest=False):
    [member] = add_members(mlist, [email], digest)
    return member


def add_members(mlist, emails, digest=False):
    """Subscribe `emails` as verified addresses, in one transaction."""
    return subscribe(mlist, emails, digest)


def send_campaign(mlist, number, kind='post', recipients=None):
    """Record campaign <post-N@example.com> as the delivery hook would
    (to the list's members, unless `recipients` says otherwise)."""
    message_id = '<post-%d@example.com>' % number
    if recipients is None:
        recipients = [m.address.email for m in mlist.members.members]
    record_campaign(mlist.list_id, message_id, kind, recipients=recipients)
    return message_id


def as_message(data, message_id=None):
    msg = message_from_bytes(data, Message)
    if message_id is not None:
        del msg['Message-ID']
        msg['Message-ID'] = message_id
    return msg


def bounce(mlist, data, message_id=None, **msgdata):
    """Put one bounce into the bounces queue and run the runner over it."""
    bounces(mlist, [data], message_id, **msgdata)


def bounces(mlist, datas, message_id=None, **msgdata):
    """Queue several bounces, then run the runner over them once, as a
    storm reaches it."""
    from email.utils import make_msgid
    for data in datas:
        msg = as_message(data, message_id)
        if msg.get('Message-ID') is None:
            msg['Message-ID'] = make_msgid()
        config.switchboards['bounces'].enqueue(msg, listid=mlist.list_id,
                                               **msgdata)
    make_testable_runner(RulesBounceRunner, 'bounces').run()
    config.db.commit()


def state(mlist, email):
    return Ledger(mlist, config.db.store).state_of(email)


def history(mlist, email=BART):
    """The member's history rows, oldest first."""
    from mailman_bouncerules.model.tables import Event
    return config.db.store.query(Event).filter_by(
        list_id=mlist.list_id, email=email).order_by(Event.id).all()


def queue(name):
    return get_queue_messages(name)


def mailman_command(*args):
    """Run `mailman bouncerules ARGS` as Mailman's CLI would, committed."""
    from click.testing import CliRunner
    from mailman.bin.mailman import Subcommands
    command = Subcommands().get_command(None, 'bouncerules')
    result = CliRunner().invoke(command, list(args))
    config.db.commit()
    return result


def sent_probes():
    """The verification probes waiting in the virgin queue, taken out of
    it (other mail stays): [(recipients, envelope sender, message)]."""
    probes = []
    for item in get_queue_messages('virgin'):
        if 'bouncerules_probe' in item.msgdata:
            probes.append((item.msgdata['recipients'], item.msgdata['sender'],
                           item.msg))
        else:
            config.switchboards['virgin'].enqueue(item.msg, item.msgdata)
    return probes


def addressed_to(data, address):
    """A bounce as an MTA returns it to `address` (an envelope sender)."""
    msg = as_message(data)
    del msg['To']
    msg['To'] = address
    del msg['Message-ID']
    return msg.as_bytes()


def dead_mailbox(mlist, data, message_id=None):
    """A bounce to the plain -bounces address from a mailbox that bounces
    everything: the bounce, then the same failure for each probe it
    caused, addressed to the probe's envelope sender as an MTA returns it.
    Returns the probes bounced."""
    bounce(mlist, data, message_id)
    probes = sent_probes()
    for _recipients, sender, _probe in probes:
        bounce(mlist, addressed_to(data, sender))
    return probes


def refused(mlist, email, code=550, text='5.1.1 <%s>: user unknown'):
    """A refusal at SMTP time, handed over as Mailman's outgoing runner
    does (verified evidence: the list's own delivery got it)."""
    from mailman.interfaces.bounce import IBounceProcessor
    from mailman.runners.outgoing import OutgoingRunner
    # smtplib gives the server's reply as bytes, and so does Mailman.
    dsn = OutgoingRunner._fake_dsn(None, mlist, email, code, (
        text % email if '%s' in text else text).encode('utf-8'))
    getUtility(IBounceProcessor).register(mlist, email, dsn)
    config.db.commit()


def failed_together(emails, original_id=None,
                    diagnostic='550 5.1.1 user unknown'):
    """One notice naming every one of `emails` as failed alike (as a relay
    reports the recipients of one copy, or a forger many members)."""
    status = diagnostic.split()[1]
    return samples.rfc3464(
        emails[0], status, diagnostic,
        **({'original_id': original_id} if original_id else {}),
        extra_recipients=[(email, status, diagnostic, 'failed')
                          for email in emails[1:]])


def tracked_list(*emails):
    """ant@example.com with open tracking on and `emails` subscribed."""
    from mailman_bouncerules.app.admin import ListAdmin  # needs a site
    mlist = make_list()
    add_members(mlist, emails)
    ListAdmin(mlist).configure(tracking_on=True)
    config.db.commit()
    return mlist
