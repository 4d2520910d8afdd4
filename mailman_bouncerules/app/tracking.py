"""Open tracking: tokens for recipients, and what an open does.

Tracking is off unless a list turns it on.  When on, every copy of a post
carries a token (envelope sender, header, pixel URL in HTML parts).  A valid
token back from the pixel records an open of that campaign by that member
and resets the member's hard-bounce run; a bounce carrying one is tied to
its campaign and member exactly.
"""

import datetime
from collections.abc import Iterable
from typing import Any

from mailman.config import config
from mailman.interfaces.listmanager import IListManager
from mailman.interfaces.mailinglist import IMailingList
from mailman.interfaces.member import IMember
from mailman.utilities.datetime import now
from public import public
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from zope.component import getUtility

from mailman_bouncerules.app.campaigns import campaign_kind
from mailman_bouncerules.config.settings import settings
from mailman_bouncerules.interfaces import EventName, IBounceStandings
from mailman_bouncerules.model.storage import insert_ignoring_duplicates
from mailman_bouncerules.model.tables import (
    OK,
    Campaign,
    Event,
    ListSettings,
    MemberState,
    Open,
)
from mailman_bouncerules.utilities import tokens


@public
def tracking_enabled(store: Session, list_id: str) -> bool:
    settings = store.get(ListSettings, list_id)
    return bool(settings is not None and settings.tracking)


@public
def token_lifetime(
        purpose: tokens.TokenPurpose = tokens.TokenPurpose.OPEN
) -> datetime.timedelta:
    """How long after its campaign went out a token counts: an open token
    for months (people open old mail), a return token only as long as a
    mail system may take to return a failure."""
    if purpose is tokens.TokenPurpose.RETURN:
        return settings().return_token_lifetime
    return settings().token_lifetime


@public
def recipient_ids(store: Session, list_id: str,
                  emails: Iterable[str]) -> dict[str, int]:
    """{email: the plugin's id for it on the list}, creating what is new.

    One query for those already known and one insert each for the rest, so
    a campaign to a large list costs little more than its delivery.
    """
    wanted = {email.lower() for email in emails}
    known: dict[str, int] = {row.email: row.id for row in store.execute(
        select(MemberState.email, MemberState.id).filter_by(
            list_id=list_id).filter(MemberState.email.in_(wanted)))}
    for email in wanted - set(known):
        insert_ignoring_duplicates(store, MemberState, list_id=list_id,
                                   email=email, state=OK, run=0,
                                   reset_after=0)
    if wanted - set(known):
        known.update({row.email: row.id for row in store.execute(
            select(MemberState.email, MemberState.id).filter_by(
                list_id=list_id).filter(
                MemberState.email.in_(wanted - set(known))))})
    return known


@public
def resolve(store: Session, token: str, list_id: str | None = None,
            secret: bytes | None = None,
            purpose: tokens.TokenPurpose = tokens.TokenPurpose.OPEN
            ) -> tuple[Campaign, str] | None:
    """(campaign, email) that a valid token made for `purpose` names, else
    None.

    `list_id` given: the token must belong to that list.  Tokens of
    campaigns older than the purpose's lifetime are expired.
    """
    parts = tokens.split_token(token)
    if parts is None:
        return None
    campaign_id, recipient_id, payload, mac = parts
    campaign = store.get(Campaign, campaign_id)
    if campaign is None or (list_id is not None
                            and campaign.list_id != list_id):
        return None
    if not tokens.verify(secret or tokens.site_secret(), campaign.list_id,
                         payload, mac, purpose):
        return None
    if now() - campaign.sent_at > token_lifetime(purpose):
        return None
    state = store.get(MemberState, recipient_id)
    if state is None or state.list_id != campaign.list_id:
        return None
    return campaign, state.email


@public
def record_open(mlist: IMailingList, member: IMember, email: str,
                campaign: Campaign, source: str,
                at: datetime.datetime | None = None,
                first_only: bool = False) -> bool:
    """Store an open of `campaign` and reset the member's run through it.

    `first_only`: a repeat (the pixel fetched again) changes nothing.
    Returns True if the member's run was reset.
    """
    store = config.db.store
    at = at or now()
    first = insert_ignoring_duplicates(store, Open, campaign_id=campaign.id,
                                       email=email.lower(), first_at=at,
                                       count=1)
    if not first:
        if first_only:
            return False
        store.execute(update(Open).filter_by(
            campaign_id=campaign.id, email=email.lower()).values(
            count=Open.count + 1))
    sequence = (campaign.sequence if campaign.kind == campaign_kind(member)
                else 0)
    return IBounceStandings(mlist).reset(member, email, source, sequence,
                                         at)


@public
def open_rates(store: Session, list_id: str) -> list[dict[str, Any]]:
    """[{campaign, kind, sequence, sent_at, recipients, bounces, opened,
    rate, tracked}]; `bounces` counts the bounces attributed to the
    campaign by classification ({'hard': 2, 'soft': 1}).

    A campaign of a list without tracking, and with no open reported by
    other means, is not tracked: its rate is None ("not tracked"), never a
    0% that would read as "nobody opened it".
    """
    tracked = tracking_enabled(store, list_id)
    rows = store.execute(
        select(Campaign, Open.email).outerjoin(
            Open, Open.campaign_id == Campaign.id).filter(
            Campaign.list_id == list_id).order_by(Campaign.id)).all()
    by_campaign: dict[int, dict] = {}
    for campaign, email in rows:
        entry = by_campaign.setdefault(campaign.id, {
            'campaign': campaign.message_id, 'kind': campaign.kind,
            'sequence': campaign.sequence,
            'sent_at': campaign.sent_at.isoformat(),
            'recipients': campaign.recipients, 'bounces': {}, 'opened': 0})
        if email is not None:
            entry['opened'] += 1
    by_message_id = {entry['campaign']: entry
                     for entry in by_campaign.values()}
    for message_id, classification, count in store.execute(
            select(Event.campaign, Event.classification, func.count())
            .filter(Event.list_id == list_id, Event.event == EventName.BOUNCE,
                    Event.campaign.is_not(None))
            .group_by(Event.campaign, Event.classification)):
        if message_id in by_message_id:
            by_message_id[message_id]['bounces'][classification] = count
    for entry in by_campaign.values():
        entry['tracked'] = tracked or entry['opened'] > 0
        entry['rate'] = (round(entry['opened'] / entry['recipients'], 4)
                         if entry['recipients'] and entry['tracked'] else None)
    return list(by_campaign.values())


@public
def record_token_open(token: str) -> bool:
    """Apply a pixel request's token; True if it was a new, valid open."""
    store = config.db.store
    found = resolve(store, token.lower())
    if found is None:
        return False
    campaign, email = found
    mlist = getUtility(IListManager).get_by_list_id(campaign.list_id)
    member = mlist.members.get_member(email) if mlist is not None else None
    if member is None:
        return False
    return record_open(mlist, member, email, campaign, EventName.OPEN,
                       first_only=True)
