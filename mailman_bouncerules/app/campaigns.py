"""Campaigns: recording what Mailman sent, and finding what a bounce is about.

One list post is one campaign; one digest is one campaign for digest
members.  Each gets the next number in its list's sequence for its kind, so
that "consecutive" has a meaning that does not depend on when bounces
arrive.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from datetime import datetime

from mailman.config import config
from mailman.interfaces.mailinglist import IMailingList
from mailman.interfaces.member import DeliveryMode, IMember
from mailman.utilities.datetime import now
from public import public
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailman_bouncerules.classify.report import OriginalMessage
from mailman_bouncerules.interfaces import Attribution, CampaignKind
from mailman_bouncerules.model.storage import (
    insert_ignoring_duplicates,
    normalize_message_id,
)
from mailman_bouncerules.model.tables import (
    DIGEST,
    POST,
    Campaign,
    CampaignDomain,
    HardBounce,
    ListSettings,
)

BY_TOKEN, BY_MESSAGE_ID, BY_TIME, UNATTRIBUTED = (
    Attribution.TOKEN, Attribution.MESSAGE_ID, Attribution.TIME,
    Attribution.NONE)


@public
def record_campaign(list_id: str, message_id: str | None,
                    kind: CampaignKind = POST,
                    sent_at: datetime | None = None,
                    recipients: Collection[str] = ()) -> int:
    """Record one delivery of a post or digest; idempotent per Message-ID.

    Runs in its own short transaction, committed at once: the numbering
    lock on the list is then held for milliseconds, not for the whole SMTP
    delivery, and bounces can be attributed while delivery is still going.
    `recipients` (addresses) gives the campaign's size, per receiving
    domain too, for open rates and the circuit breaker.  Returns the
    campaign's id.
    """
    message_id = normalize_message_id(message_id)
    with Session(config.db.engine) as session, session.begin():
        existing = session.scalars(select(Campaign).filter_by(
            list_id=list_id, message_id=message_id)).one_or_none()
        if existing is not None:
            return existing.id
        insert_ignoring_duplicates(session, ListSettings, list_id=list_id,
                                   post_sequence=0, digest_sequence=0)
        settings = session.scalars(select(ListSettings).filter_by(
            list_id=list_id).with_for_update()).one()
        # Re-check under the lock: another process may have just won.
        existing = session.scalars(select(Campaign).filter_by(
            list_id=list_id, message_id=message_id)).one_or_none()
        if existing is not None:
            return existing.id
        column = ('digest_sequence' if kind == DIGEST else 'post_sequence')
        sequence = getattr(settings, column) + 1
        session.execute(update(ListSettings).filter_by(
            list_id=list_id).values({column: sequence}))
        campaign = Campaign(list_id=list_id, kind=kind, sequence=sequence,
                            message_id=message_id, sent_at=sent_at or now(),
                            recipients=len(recipients) or None)
        session.add(campaign)
        session.flush()
        domains = Counter(address.rpartition('@')[2].lower()
                          for address in recipients)
        session.add_all(CampaignDomain(campaign_id=campaign.id, domain=domain,
                                       recipients=count)
                        for domain, count in domains.items())
        return campaign.id


@public
def find_campaign(store: Session, list_id: str,
                  message_id: str | None) -> Campaign | None:
    return store.query(Campaign).filter_by(
        list_id=list_id,
        message_id=normalize_message_id(message_id)).one_or_none()


@public
def latest_campaign(store: Session, list_id: str, kind: str,
                    before: datetime | None = None) -> Campaign | None:
    """The newest campaign of `kind` sent at or before `before`."""
    query = store.query(Campaign).filter_by(list_id=list_id, kind=kind)
    if before is not None:
        query = query.filter(Campaign.sent_at <= before)
    return query.order_by(Campaign.sequence.desc()).first()


@public
def attribute(store: Session, list_id: str, original: OriginalMessage | None,
              received_at: datetime, kind: Callable[[], str],
              by_token: Campaign | None = None
              ) -> tuple[Campaign | None, Attribution]:
    """(campaign or None, how) for a bounce, by the best evidence there is.

    A verified token (`by_token`, the campaign it names) is exact; so is
    the returned original's Message-ID; failing both, the newest campaign
    of the member's `kind` (asked only then: it reads the member's
    preferences) sent before the bounce arrived.
    """
    if by_token is not None:
        return by_token, BY_TOKEN
    if original is not None and original.message_id:
        campaign = find_campaign(store, list_id, original.message_id)
        if campaign is not None:
            return campaign, BY_MESSAGE_ID
    campaign = latest_campaign(store, list_id, kind(), received_at)
    if campaign is not None:
        return campaign, BY_TIME
    return None, UNATTRIBUTED


@public
def campaign_kind(member: IMember | None) -> CampaignKind:
    """Digest members' campaigns are digests; everyone else's, posts."""
    if member is not None and member.delivery_mode != DeliveryMode.regular:
        return DIGEST
    return POST


@public
def longest_run_through(sequences: Collection[int], sequence: int) -> int:
    """Length of the run of consecutive numbers in `sequences` through
    `sequence` (0 if it is not there)."""
    if sequence not in sequences:
        return 0
    low = high = sequence
    while low - 1 in sequences:
        low -= 1
    while high + 1 in sequences:
        high += 1
    return high - low + 1


@public
def latest_sequence(store: Session, mlist: IMailingList,
                    member: IMember | None) -> int:
    """The newest campaign the member could have seen, or 0."""
    campaign = latest_campaign(store, mlist.list_id,
                               campaign_kind(member))
    return campaign.sequence if campaign else 0


@public
class HardBounces:
    """One list's counted hard bounces, one per member and campaign, and
    the runs of consecutive campaigns they make.

    The confirmed state depends only on *which* campaigns hard-bounced,
    never on the order bounces arrive in: a member is confirmed when the
    set of its counted campaigns holds `confirm_after` consecutive
    sequence numbers.  A reset moves the member's watermark
    (`reset_after`): hard bounces of campaigns up to it no longer count.
    """

    def __init__(self, list_id: str, store: Session) -> None:
        self.list_id = list_id
        self.store = store

    def count(self, email: str, campaign: Campaign, reset_after: int) -> bool:
        """Count a hard bounce once per campaign; False if already counted
        or voided by a later reset.

        Late bounces still count after a confirmation, so that what is
        recorded does not depend on the order bounces arrived in.
        """
        if campaign.sequence <= reset_after:
            return False
        return insert_ignoring_duplicates(
            self.store, HardBounce, list_id=self.list_id, email=email.lower(),
            kind=campaign.kind, sequence=campaign.sequence)

    def sequences(self, email: str, kind: str, after: int) -> set[int]:
        return set(self.store.scalars(
            select(HardBounce.sequence).filter_by(
                list_id=self.list_id, email=email.lower(), kind=kind).filter(
                HardBounce.sequence > after)))

    def newest_run(self, email: str, kind: str, after: int) -> int:
        """The run ending at the member's newest counted hard bounce."""
        sequences = self.sequences(email, kind, after)
        return longest_run_through(sequences, max(sequences)) if sequences else 0

    def campaigns(self, kind: str, sequences: Collection[int]) -> list[str]:
        """The Message-IDs of those campaigns, oldest first."""
        return list(self.store.scalars(select(Campaign.message_id).filter_by(
            list_id=self.list_id, kind=kind).filter(
            Campaign.sequence.in_(sorted(sequences))).order_by(
            Campaign.sequence)))
