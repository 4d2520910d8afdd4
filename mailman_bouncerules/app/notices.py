"""Notices to list owners that say what happened and why.

The server's words in a bounce are untrusted text: they are quoted,
shortened and defanged (see untrusted.py), never written as the list's own.
"""

from mailman.email.message import OwnerNotification
from public import public

from mailman_bouncerules.app.untrusted import printable, quoted

# What a removal means, by the rule's reason word.
_REMOVAL_REASONS = {
    'userunknown': 'the receiving server says the mailbox does not exist',
    'hostunknown': 'the address\'s domain does not exist',
    'notaccept': 'the domain accepts no mail',
}


@public
def confirmed(mlist, email, state, campaigns):
    text = '\n'.join([
        'Delivery to %s on %s has been stopped: its mail hard-bounced in'
        % (email, mlist.fqdn_listname),
        '%d consecutive campaigns.  The member stays subscribed and is listed'
        % state.run,
        'as a confirmed bounce; re-enable it with',
        '',
        '    mailman bouncerules reenable %s %s' % (mlist.list_id, email),
        '',
        'Last bounce: rule %s, status %s, reply %s.' % (
            state.last_rule, state.last_status or '-',
            state.last_smtp_code or '-'),
        'Campaigns (Message-IDs):',
    ] + ['    <%s>' % message_id for message_id in campaigns])
    send(mlist, "%s's delivery stopped by bounces on %s"
          % (email, mlist.display_name), text)


@public
def removed(mlist, email, decision, evidence):
    recipient = decision.recipient
    because = _REMOVAL_REASONS.get(
        decision.reason, 'a bounce rule (%s) removes at once' % decision.reason)
    text = '\n'.join([
        '%s has been removed from %s: %s (%s).'
        % (email, mlist.fqdn_listname, because, evidence.described),
        '',
        'Why: %s' % printable(decision.explain()),
        'Status %s, reply %s.' % (printable(recipient.status) or '-',
                                  printable(recipient.smtp_code) or '-'),
        'The bounce said (quoted, not checked):',
        quoted(recipient.diagnostic),
        '',
        'No goodbye message was sent to the dead address.  To take the',
        'removal back:',
        '',
        '    mailman bouncerules undo %s %s' % (mlist.list_id, email),
    ])
    send(mlist, '%s removed from %s by bounces' % (email, mlist.display_name),
          text)


@public
def breaker_tripped(mlist, hold, what):
    """`what`: one sentence on what tripped (see breaker.py)."""
    text = '\n'.join([
        'The bounce circuit breaker tripped on %s.' % mlist.fqdn_listname,
        '',
        what,
        'That many failures at once usually means the list server is',
        'blocklisted, the provider has an outage, or someone is sending',
        'forged bounces; not that the mailboxes are gone.  Removals and',
        'confirmations in its scope are held%s.' % (
            ', and those already made for the campaign were taken back'
            if hold.campaign_id is not None else ''),
        '',
        'Sample diagnostic (quoted, not checked):',
        quoted(hold.sample),
        '',
        'Review, then apply or drop the held decisions:',
        '    mailman bouncerules holds %s' % mlist.list_id,
        '    mailman bouncerules release %s %d' % (mlist.list_id, hold.id),
        '    mailman bouncerules discard %s %d' % (mlist.list_id, hold.id),
    ])
    send(mlist, 'Bounce circuit breaker tripped on %s' % mlist.display_name,
          text)


@public
def probe_budget_spent(mlist):
    text = '\n'.join([
        'Bounces on %s would remove or confirm more members than the'
        % mlist.fqdn_listname,
        'verification probe budget allows (probe_hourly_share,',
        'probe_daily_share).  Those changes wait; their probes go out as the',
        'budget frees up.  Many unverified bounces at once are often forged:',
        'nobody is removed on them unless their probe bounces.',
        '',
        '    mailman bouncerules status %s' % mlist.list_id,
    ])
    send(mlist, 'Bounce verification waits on %s' % mlist.display_name, text)


@public
def send(mlist, subject, text):
    """A Mailman owner notification to the list's owners and moderators."""
    OwnerNotification(mlist, subject, text,
                      roster=mlist.administrators).send(mlist)
