"""The circuit breaker: no mass removals when the list server is the problem.

When an unusual share of a list's recipients fail at once, the cause is
almost never that many dead mailboxes: the list server got blocklisted, a
provider has an outage, or someone is mailing forged bounces to the public
`-bounces` address.  Three tests, each of which an attacker cannot stay
under by spreading forgeries over posts, rules or digests:

- **campaign**: within one campaign, failures by one rule at one domain
  (or overall) reach `breaker_min_failures` and `breaker_share` of that
  campaign's recipients there;
- **window**: over the last `breaker_window`, a list's hard failures
  at one domain (or overall), across posts and rules, reach the same
  thresholds of the list's recipients there; failures tied to no campaign
  count in a bucket of their own, digests in theirs;
- **cap**: removals plus confirmations in the last day reach
  `daily_cap_share` of the roster (at least `daily_cap_min`).

Only verified failures are counted (the ledger does not show it the
others): forged notices can neither trip it, and so hold real removals,
nor make a trip take back what verified bounces did.

A trip holds every removal and confirmation in its scope; a campaign trip
also takes back those already made in that campaign.  The owners are told
of the first trip at once, and of later ones in one digest a day at most
(`send_breaker_digests`, from the bounce runner's periodic pass).  An
admin releases the held decisions (they are applied then) or discards
them.
"""

import datetime
import logging
import math
from typing import Any

from mailman.interfaces.listmanager import IListManager
from mailman.interfaces.mailinglist import IMailingList
from mailman.utilities.datetime import now
from public import public
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from zope.component import getUtility

from mailman_bouncerules.app import notices
from mailman_bouncerules.classify.rules.ruleset import Decision
from mailman_bouncerules.config.settings import settings
from mailman_bouncerules.interfaces import EventName
from mailman_bouncerules.model.storage import insert_ignoring_duplicates
from mailman_bouncerules.model.tables import (
    CAMPAIGN_SCOPE,
    CAP_SCOPE,
    HELD,
    WINDOW_SCOPE,
    Campaign,
    CampaignDomain,
    Event,
    Failures,
    Hold,
    WindowFailures,
)

log = logging.getLogger('mailman.bounce')

ALL_DOMAINS = '*'
UNATTRIBUTED_BUCKET = 'none'
CAP_RULE = 'daily-cap'
_EPOCH = datetime.datetime(1970, 1, 1)


@public
def thresholds() -> tuple[int, float]:
    """(minimum failures, minimum share of recipients) that trip."""
    return settings().breaker_min_failures, settings().breaker_share


def domain_of(email: str) -> str:
    return email.rpartition('@')[2].lower()


@public
def hour_of(at: datetime.datetime) -> int:
    """Hours since the epoch: the window counters' key."""
    return int((at - _EPOCH).total_seconds() // 3600)


@public
class CircuitBreaker:

    def __init__(self, mlist: IMailingList, store: Session) -> None:
        self.mlist = mlist
        self.store = store

    def active_hold(self, campaign: Campaign | None,
                    email: str) -> Hold | None:
        """The hold that keeps back decisions for `email` (in `campaign`):
        one of the campaign's, the list's window hold for its domain, or
        the list's daily-cap hold."""
        scopes = (domain_of(email), ALL_DOMAINS)
        if campaign is not None:
            hold = self.store.scalars(select(Hold).filter_by(
                campaign_id=campaign.id, status=HELD).filter(
                Hold.domain.in_(scopes))).first()
            if hold is not None:
                return hold
        return self.store.scalars(select(Hold).filter_by(
            list_id=self.mlist.list_id, status=HELD).filter(
            Hold.scope.in_((WINDOW_SCOPE, CAP_SCOPE)),
            Hold.domain.in_(scopes + (CAP_RULE,))).order_by(
            Hold.id)).first()

    def observe(self, campaign: Campaign | None, email: str,
                decision: Decision, at: datetime.datetime | None = None) -> Hold | None:
        """After a hard bounce is recorded: trip if its rule now fails an
        unusual share of the campaign's recipients, or the list's recent
        failures do.  Returns the hold it created, or None."""
        if decision.classification != 'hard':
            return None
        at = at or now()
        if campaign is not None:
            if not self._first_failure(campaign, email, decision.rule):
                return None     # several bounces of one member count once
            hold = self._observe_campaign(campaign, email, decision)
            if hold is not None or self._campaign_tripped(campaign, email):
                # The campaign's own hold covers it: one trip, one notice.
                return hold
        return self._observe_window(campaign, email, decision, at)

    def _campaign_tripped(self, campaign: Campaign, email: str) -> bool:
        return self.store.scalar(select(Hold.id).filter_by(
            campaign_id=campaign.id).filter(Hold.domain.in_(
                (domain_of(email), ALL_DOMAINS))).limit(1)) is not None

    def cap_hold(self, at: datetime.datetime | None = None) -> Hold | None:
        """The daily-cap hold, created when removals plus confirmations in
        the last day reach the cap; None below it."""
        at = at or now()
        done = self.store.scalar(select(func.count()).select_from(
            Event).filter_by(list_id=self.mlist.list_id).filter(
            Event.event.in_((EventName.REMOVED, EventName.CONFIRMED)),
            Event.at > at - datetime.timedelta(days=1))) or 0
        roster = self.mlist.members.member_count
        cap = max(settings().daily_cap_min,
                  math.ceil(settings().daily_cap_share * roster))
        if done < cap:
            return None
        return self._trip(None, CAP_RULE, CAP_RULE, done, roster, '', at,
                          'Removals and confirmations in the last day '
                          'reached the daily cap: %d (of %d members).'
                          % (done, roster), kind=CAP_SCOPE)

    # -- the campaign test ----------------------------------------------

    def _observe_campaign(self, campaign: Campaign, email: str,
                          decision: Decision) -> Hold | None:
        minimum, share = thresholds()
        for scope in (domain_of(email), ALL_DOMAINS):
            failures = self._count(campaign, scope, decision.rule)
            recipients = self._recipients(campaign, scope)
            if recipients and failures >= minimum and \
                    failures >= share * recipients:
                what = ('Campaign <%s> (sent %s): %d of %d %s failed with the '
                        'same rule, %s.' % (
                            campaign.message_id,
                            campaign.sent_at.isoformat()[:16], failures,
                            recipients, _scope_words(scope), decision.rule))
                return self._trip(campaign, scope, decision.rule, failures,
                                  recipients, decision.recipient.diagnostic,
                                  now(), what)
        return None

    def _first_failure(self, campaign: Campaign, email: str,
                       rule: str) -> bool:
        """Is this the member's only bounce of `campaign` by `rule`?
        (Several bounces of one member count once.)"""
        return (self.store.scalar(select(func.count()).select_from(
            Event).filter_by(list_id=self.mlist.list_id, email=email.lower(),
                             event=EventName.BOUNCE, campaign=campaign.message_id,
                             rule=rule)) or 0) <= 1

    def _count(self, campaign: Campaign, scope: str, rule: str) -> int:
        key = dict(campaign_id=campaign.id, domain=scope, rule=rule)
        self._increment(Failures, key)
        return self.store.scalar(
            select(Failures.failures).filter_by(**key)) or 0

    def _increment(self, table: Any, key: dict[str, Any]) -> None:
        """One more failure in the running count `key` of `table`, safely
        when several processes count at once."""
        insert_ignoring_duplicates(self.store, table, failures=0, **key)
        self.store.execute(update(table).filter_by(**key).values(
            failures=table.failures + 1))

    def _recipients(self, campaign: Campaign, scope: str) -> int:
        if scope == ALL_DOMAINS:
            return campaign.recipients or 0
        return self.store.scalar(select(CampaignDomain.recipients).filter_by(
            campaign_id=campaign.id, domain=scope)) or 0

    # -- the window test ------------------------------------------------

    def _observe_window(self, campaign: Campaign | None, email: str,
                        decision: Decision, at: datetime.datetime) -> Hold | None:
        minimum, share = thresholds()
        bucket = campaign.kind if campaign is not None else UNATTRIBUTED_BUCKET
        hour = hour_of(at)
        first_hour = hour - settings().breaker_window_hours + 1
        for scope in (domain_of(email), ALL_DOMAINS):
            self._increment(WindowFailures, dict(
                list_id=self.mlist.list_id, hour=hour, bucket=bucket,
                domain=scope))
            failures = self.store.scalar(select(
                func.sum(WindowFailures.failures)).filter_by(
                list_id=self.mlist.list_id, bucket=bucket,
                domain=scope).filter(WindowFailures.hour >= first_hour)) or 0
            if failures < minimum:
                continue        # the share is looked up only when it matters
            recipients = self._window_recipients(bucket, scope, at)
            if failures >= share * recipients:
                if self._list_hold(WINDOW_SCOPE, scope) is not None:
                    return None
                what = ('In the last %d hours %d hard failures (%s) of %d %s '
                        'on this list, across posts and rules.' % (
                            settings().breaker_window_hours, failures,
                            _bucket_words(bucket), recipients,
                            _scope_words(scope)))
                return self._trip(None, scope, decision.rule, failures,
                                  recipients, decision.recipient.diagnostic,
                                  at, what, kind=WINDOW_SCOPE)
        return None

    def _window_recipients(self, bucket: str, scope: str,
                           at: datetime.datetime) -> int:
        """What the window's failures are a share of: the deliveries of
        the bucket's campaigns sent in the window (at the domain); for
        failures tied to no campaign, the list's recipients as its newest
        campaign went out, else its roster."""
        since = at - settings().breaker_window
        if bucket != UNATTRIBUTED_BUCKET:
            if scope == ALL_DOMAINS:
                delivered = self.store.scalar(select(
                    func.sum(Campaign.recipients)).filter_by(
                    list_id=self.mlist.list_id, kind=bucket).filter(
                    Campaign.sent_at >= since))
            else:
                delivered = self.store.scalar(select(
                    func.sum(CampaignDomain.recipients)).join(
                    Campaign, Campaign.id == CampaignDomain.campaign_id)
                    .filter(Campaign.list_id == self.mlist.list_id,
                            Campaign.kind == bucket,
                            Campaign.sent_at >= since,
                            CampaignDomain.domain == scope))
            if delivered:
                return delivered
        latest = self.store.scalars(select(Campaign).filter_by(
            list_id=self.mlist.list_id).order_by(Campaign.id.desc())).first()
        return ((latest is not None and latest.recipients
                 and self._recipients(latest, scope))
                or self.mlist.members.member_count)

    def _list_hold(self, kind: str, domain: str) -> Hold | None:
        """The list's window or cap hold of `domain`, while it holds."""
        return self.store.scalars(select(Hold).filter_by(
            list_id=self.mlist.list_id, scope=kind, domain=domain,
            status=HELD)).first()

    # -- tripping ---------------------------------------------------------

    def _trip(self, campaign: Campaign | None, domain: str, rule: str,
              failures: int, recipients: int, sample: str | None,
              at: datetime.datetime, what: str,
              kind: str = CAMPAIGN_SCOPE) -> Hold | None:
        if kind == CAP_SCOPE:
            existing = self._list_hold(CAP_SCOPE, CAP_RULE)
            if existing is not None:
                return existing
        values = dict(list_id=self.mlist.list_id, scope=kind,
                      campaign_id=campaign.id if campaign else None,
                      domain=domain, rule=rule, failures=failures,
                      recipients=recipients, sample=(sample or '')[:500],
                      tripped_at=at, status=HELD)
        if campaign is not None:
            if not insert_ignoring_duplicates(self.store, Hold, **values):
                return None     # tripped before (another process, or scope)
            hold = self.store.scalars(select(Hold).filter_by(
                campaign_id=campaign.id, domain=domain)).one()
        else:
            hold = Hold(**values)
            self.store.add(hold)
            self.store.flush()
        log.warning('bouncerules: circuit breaker tripped on %s (%s, %s): %s',
                    self.mlist.list_id, kind, domain, what)
        if _last_told(self.store, self.mlist.list_id, at) is None:
            hold.told_at = at
            notices.breaker_tripped(self.mlist, hold, what)
        return hold


def _last_told(store: Session, list_id: str,
               at: datetime.datetime) -> datetime.datetime | None:
    """When the list's owners were last told of a trip, if in the last
    day."""
    return store.scalar(select(func.max(Hold.told_at)).filter(
        Hold.list_id == list_id,
        Hold.told_at > at - datetime.timedelta(days=1)))


@public
def send_breaker_digests(store: Session,
                         at: datetime.datetime | None = None) -> int:
    """Tell each list's owners, in one message, of the trips they were not
    told of, once their last notice is a day old.  Returns how many
    digests went."""
    at = at or now()
    untold = store.scalars(select(Hold).filter(Hold.told_at.is_(None))
                           .order_by(Hold.id)).all()
    by_list: dict[str, list[Hold]] = {}
    for hold in untold:
        by_list.setdefault(hold.list_id, []).append(hold)
    sent = 0
    for list_id, holds in by_list.items():
        mlist = getUtility(IListManager).get_by_list_id(list_id)
        if mlist is None or _last_told(store, list_id, at) is not None:
            continue
        for hold in holds:
            hold.told_at = at
        notices.breaker_digest(mlist, holds)
        sent += 1
    return sent


def _scope_words(scope: str) -> str:
    return 'recipients' if scope == ALL_DOMAINS else 'recipients at %s' % scope


def _bucket_words(bucket: str) -> str:
    return {'post': 'of posts', 'digest': 'of digests'}.get(
        bucket, 'tied to no post')
