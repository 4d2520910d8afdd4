"""Mailman's `[mta] outgoing` hook: record each campaign, then deliver.

Mailman calls it for every message leaving the list: posts, digests and
Mailman's own notices.  Posts and digests are campaigns; they are recorded
(idempotently per Message-ID: the outgoing runner retries deliveries)
before the stock delivery runs, so refusals at SMTP time and early bounces
already find their campaign.
"""

from mailman.mta.deliver import deliver as stock_deliver
from public import public

from mailman_bouncerules.campaigns import record_campaign
from mailman_bouncerules.model import DIGEST, POST


@public
def campaign_kind_of(msgdata):
    """'post', 'digest' or None for mail that is no campaign.

    Mailman's own notices and mail to the list owners are queued with
    `nodecorate` (the `_fasttrack` flag does not survive the queue), probes
    with a `probe_token`.
    """
    if msgdata.get('isdigest'):
        return DIGEST
    if (msgdata.get('nodecorate') or 'probe_token' in msgdata
            or not msgdata.get('listid') or not msgdata.get('recipients')):
        return None
    return POST


@public
def deliver(mlist, msg, msgdata):
    kind = campaign_kind_of(msgdata)
    if kind is not None and msg.get('Message-ID'):
        record_campaign(mlist.list_id, msg['Message-ID'], kind)
    return stock_deliver(mlist, msg, msgdata)
