"""Notices to list owners that say what happened and why."""

from mailman.email.message import OwnerNotification
from public import public


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
def removed(mlist, email, decision):
    recipient = decision.recipient
    text = '\n'.join([
        '%s has been removed from %s because its mailbox does not exist.'
        % (email, mlist.fqdn_listname),
        '',
        'Why: %s' % decision.explain(),
        'Status %s, reply %s.' % (recipient.status or '-',
                                  recipient.smtp_code or '-'),
        'The server said: %s' % (recipient.diagnostic or '-')[:500],
        '',
        'No goodbye message was sent to the dead address.',
    ])
    send(mlist, '%s removed from %s by bounces' % (email, mlist.display_name),
          text)


@public
def breaker_tripped(mlist, campaign, hold):
    scope = ('all recipients' if hold.domain == '*'
             else 'recipients at %s' % hold.domain)
    text = '\n'.join([
        'The bounce circuit breaker tripped on %s.' % mlist.fqdn_listname,
        '',
        'Campaign <%s> (sent %s): %d of %d %s failed with the same rule, %s.'
        % (campaign.message_id, campaign.sent_at.isoformat()[:16],
           hold.failures, hold.recipients, scope, hold.rule),
        'That many failures at once usually means the list server is',
        'blocklisted or the provider has an outage, not that the mailboxes',
        'are gone.  Every removal and confirmation for this campaign and',
        'these recipients is held, and those already made were taken back.',
        '',
        'Sample diagnostic: %s' % (hold.sample or '-'),
        '',
        'Review, then apply or drop the held decisions:',
        '    mailman bouncerules holds %s' % mlist.list_id,
        '    mailman bouncerules release %s %d' % (mlist.list_id, hold.id),
        '    mailman bouncerules discard %s %d' % (mlist.list_id, hold.id),
    ])
    send(mlist, 'Bounce circuit breaker tripped on %s' % mlist.display_name,
          text)


@public
def send(mlist, subject, text):
    """A Mailman owner notification to the list's owners and moderators."""
    OwnerNotification(mlist, subject, text,
                      roster=mlist.administrators).send(mlist)
