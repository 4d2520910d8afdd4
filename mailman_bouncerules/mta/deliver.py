"""Mailman's `[mta] outgoing` hook: record each campaign, then deliver.

Mailman calls it for every message leaving a list: posts, digests and
Mailman's own notices.  Posts and digests are campaigns; they are recorded
(idempotently per Message-ID: the outgoing runner retries deliveries)
before delivery, so refusals at SMTP time and early bounces already find
their campaign.

Lists with open tracking get one copy per recipient, each carrying two
tokens (tokens.py): its return token in the envelope sender only, which
verifies the copy's bounce, and its open token where people see it
(header, pixel, footer), which never does.  Everything else is delivered
by Mailman's own `deliver`, unchanged.

Nothing here may stop list mail: any error of the plugin's own while
recording or preparing a tracked delivery is logged and the post goes out
as stock Mailman sends it.
"""

import logging
import time
from typing import Any

from mailman.config import config
from mailman.email.message import Message
from mailman.interfaces.mailinglist import IMailingList
from mailman.interfaces.mta import SomeRecipientsFailed
from mailman.mta.deliver import Deliver
from mailman.mta.deliver import deliver as stock_deliver
from public import public

from mailman_bouncerules.app.availability import plugin_active
from mailman_bouncerules.app.campaigns import record_campaign
from mailman_bouncerules.app.tracking import recipient_ids, tracking_enabled
from mailman_bouncerules.classify.parsing.bounce import TOKEN_HEADER
from mailman_bouncerules.config.settings import settings
from mailman_bouncerules.interfaces import CampaignKind
from mailman_bouncerules.model.tables import DIGEST, POST
from mailman_bouncerules.utilities.pixel import add_pixel
from mailman_bouncerules.utilities.tokens import TokenPurpose, make_token, site_secret

# The queue's metadata of one message, as Mailman's runners pass it.
MsgData = dict[str, Any]

log = logging.getLogger('mailman.smtp')


@public
def campaign_kind_of(msgdata: MsgData) -> CampaignKind | None:
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
def deliver(mlist: IMailingList, msg: Message, msgdata: MsgData) -> None:
    """Record the campaign, then deliver; as stock Mailman's `deliver`
    when the plugin is not active or fails in any way before the first
    copy is handed to the MTA (list mail must flow whatever the plugin's
    state)."""
    kind = campaign_kind_of(msgdata)
    if kind is None or not msg.get('Message-ID') or not plugin_active():
        return stock_deliver(mlist, msg, msgdata)
    try:
        campaign_id = record_campaign(mlist.list_id, msg['Message-ID'], kind,
                                      recipients=msgdata['recipients'])
        tracked = None
        if kind == POST and tracking_enabled(config.db.store, mlist.list_id):
            tracked = (TrackingDelivery(), recipient_ids(
                config.db.store, mlist.list_id, msgdata['recipients']))
    except Exception:
        # Anything of the plugin's own (the database, the secret, the
        # settings): stock delivery, and a log line nobody can miss.
        log.exception('bouncerules: the campaign of %s could not be recorded '
                      'or prepared; delivered as stock Mailman does',
                      mlist.list_id)
        return stock_deliver(mlist, msg, msgdata)
    if tracked is not None:
        return deliver_tracked(mlist, msg, msgdata, campaign_id, *tracked)
    return stock_deliver(mlist, msg, msgdata)


@public
def deliver_tracked(mlist: IMailingList, msg: Message, msgdata: MsgData,
                    campaign_id: int, agent: 'TrackingDelivery',
                    ids: dict[str, int]) -> None:
    """One copy per recipient, each with its token.

    What stock `deliver` does after its agent ran (close the connection,
    split refusals into permanent and temporary) is done the same way, so
    the outgoing runner retries and reports exactly as it would.
    """
    recipients = msgdata['recipients']
    # A copy: the runner may requeue `msgdata` for a retry.
    agent_data = dict(msgdata, bouncerules_campaign=campaign_id,
                      bouncerules_ids=ids)
    started = time.time()
    refused = agent.deliver(mlist, msg, agent_data)
    agent._connection.quit()
    log.info('%s: tracked delivery to %d recipients in %.3fs, %d refused',
             msg.get('Message-ID', 'n/a').strip(), len(recipients),
             time.time() - started, len(refused))
    temporary: list[str] = []
    permanent: list[tuple[str, int, str]] = []
    for recipient, (code, smtp_message) in refused.items():
        # RFC 5321 4.5.3.1.10: a 552 for "too many recipients" is temporary.
        if code >= 500 and code != 552:
            permanent.append((recipient, code, smtp_message))
        else:
            temporary.append(recipient)
    if temporary or permanent:
        raise SomeRecipientsFailed(temporary, permanent)


@public
class TrackingDelivery(Deliver):
    """Mailman's individual delivery, plus the recipient's tokens.

    The open token goes in before decoration (so footers can use
    $bouncerules_token) and ARC signing stays last; the return token goes
    into the envelope sender alone.
    """

    def __init__(self) -> None:
        super().__init__()
        self.callbacks.insert(self.callbacks.index(self.decorate),
                              self.add_token)
        self.secret = site_secret()
        self.pixel_base = settings().tracker_url

    def add_token(self, mlist: IMailingList, msg: Message,
                  msgdata: MsgData) -> None:
        recipient_id = msgdata['bouncerules_ids'].get(
            msgdata['recipient'].lower())
        if recipient_id is None:
            return
        campaign_id = msgdata['bouncerules_campaign']
        token = make_token(self.secret, mlist.list_id, campaign_id,
                           recipient_id)
        msgdata['bouncerules_return_token'] = make_token(
            self.secret, mlist.list_id, campaign_id, recipient_id,
            TokenPurpose.RETURN)
        del msg[TOKEN_HEADER]
        msg[TOKEN_HEADER] = token
        # A fresh dict per copy: msgdata is a shallow copy of the original.
        msgdata['decoration-data'] = dict(
            msgdata.get('decoration-data') or {}, bouncerules_token=token)
        if self.pixel_base:
            add_pixel(msg, '%s/%s.gif' % (self.pixel_base.rstrip('/'), token))

    def _get_sender(self, mlist: IMailingList, msg: Message,
                    msgdata: MsgData) -> str:
        """list-bounces+<return token>@domain: the bounce names its
        recipient and campaign even when it quotes nothing of the original,
        and only the receiving system saw that address."""
        token = msgdata.get('bouncerules_return_token')
        if token is None:
            return super()._get_sender(mlist, msg, msgdata)
        local, _at, domain = mlist.bounces_address.partition('@')
        return '%s%s%s@%s' % (local, config.mta.verp_delimiter, token, domain)
