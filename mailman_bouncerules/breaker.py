"""The circuit breaker: no mass removals when the list server is the problem.

When, within one campaign, an unusual share of the recipients at one
receiving domain (or of all recipients) fail with the same rule, the cause
is almost never that many dead mailboxes at once: the list server got
blocklisted, or the provider is having an outage, whatever its replies say
("550 5.1.1 user unknown" included).  The breaker then trips: every removal
and confirmation for that campaign and domain is held, the ones already
made in that campaign are taken back, and the list owners are told once.
An admin releases the held decisions (they are applied then) or discards
them (and the hard bounces of that campaign at that domain stop counting).
"""

import logging

from mailman.utilities.datetime import now
from public import public
from sqlalchemy import func, select, update

from mailman_bouncerules import notices
from mailman_bouncerules.model import (
    HELD, CampaignDomain, Event, Failures, Hold)
from mailman_bouncerules.settings import plugin_settings
from mailman_bouncerules.storage import insert_ignoring_duplicates

log = logging.getLogger('mailman.bounce')

ALL_DOMAINS = '*'
DEFAULT_MIN_FAILURES = 20
DEFAULT_SHARE = 0.3


@public
def thresholds():
    """(minimum failures, minimum share of recipients) that trip."""
    settings = plugin_settings()
    return (int(settings.get('breaker_min_failures', '') or
                DEFAULT_MIN_FAILURES),
            float(settings.get('breaker_share', '') or DEFAULT_SHARE))


def domain_of(email):
    return email.rpartition('@')[2].lower()


@public
class CircuitBreaker:

    def __init__(self, mlist, store):
        self.mlist = mlist
        self.store = store

    def active_hold(self, campaign, email):
        """The hold that keeps back decisions for `email` in `campaign`."""
        if campaign is None:
            return None
        return self.store.scalars(select(Hold).filter_by(
            campaign_id=campaign.id, status=HELD).filter(Hold.domain.in_(
                (domain_of(email), ALL_DOMAINS)))).first()

    def observe(self, campaign, email, decision):
        """After a hard bounce is recorded: trip if its rule now fails an
        unusual share of the domain's (or the campaign's) recipients.
        Returns the hold it created, or None."""
        if campaign is None or decision.classification != 'hard':
            return None
        minimum, share = thresholds()
        first = self._first_failure(campaign, email, decision.rule)
        for scope in (domain_of(email), ALL_DOMAINS):
            failures = self._count(campaign, scope, decision.rule, first)
            recipients = self._recipients(campaign, scope)
            if recipients and failures >= minimum and \
                    failures >= share * recipients:
                return self._trip(campaign, scope, decision, failures,
                                  recipients)
        return None

    def _first_failure(self, campaign, email, rule):
        """Is this the member's only bounce of `campaign` by `rule`?
        (Several bounces of one member count once.)"""
        return self.store.scalar(select(func.count()).select_from(
            Event).filter_by(list_id=self.mlist.list_id, email=email.lower(),
                             event='bounce', campaign=campaign.message_id,
                             rule=rule)) <= 1

    def _count(self, campaign, scope, rule, increment):
        key = dict(campaign_id=campaign.id, domain=scope, rule=rule)
        insert_ignoring_duplicates(self.store, Failures, failures=0, **key)
        if increment:
            self.store.execute(update(Failures).filter_by(**key).values(
                failures=Failures.failures + 1))
        return self.store.scalar(select(Failures.failures).filter_by(**key))

    def _recipients(self, campaign, scope):
        if scope == ALL_DOMAINS:
            return campaign.recipients or 0
        return self.store.scalar(select(CampaignDomain.recipients).filter_by(
            campaign_id=campaign.id, domain=scope)) or 0

    def _trip(self, campaign, scope, decision, failures, recipients):
        created = insert_ignoring_duplicates(
            self.store, Hold, list_id=self.mlist.list_id,
            campaign_id=campaign.id, domain=scope, rule=decision.rule,
            failures=failures, recipients=recipients,
            sample=(decision.recipient.diagnostic or '')[:500],
            tripped_at=now(), status=HELD)
        hold = self.store.scalars(select(Hold).filter_by(
            campaign_id=campaign.id, domain=scope)).one()
        if not created:
            return None         # tripped before (another process, or scope)
        log.warning('bouncerules: circuit breaker tripped on %s, campaign %s, '
                    'domain %s: %d of %d recipients failed by rule %s',
                    self.mlist.list_id, campaign.message_id, scope, failures,
                    recipients, decision.rule)
        notices.breaker_tripped(self.mlist, campaign, hold)
        return hold
