"""Verification probes: the list asks the mailbox itself before acting.

When unverified evidence (a notice to the plain `-bounces` address) would
remove or confirm a member, the change waits and the member gets one short
message from a signed envelope sender (`LIST-bounces+<token>@domain`, with
the same token in an `X-BounceRules-Token` header, so that it comes back
whether the bouncing server answers the envelope or returns the headers).
If that probe bounces hard, the waiting change is carried out at once; if
it does not bounce within `probe_expiry_hours`, the change is dropped and
the history says so.

Why the plugin's own probes and not Mailman's `send_probe`: Mailman's probe
attaches the bounce that caused it (a forged notice would be forwarded to
the member, text of the attacker's choosing mailed by the list), resets
the member's bounce score, and its token (`-bounces+X@` with a pending
request) is read by stock Mailman's own runner, which would act on it for
lists in shadow mode.  These probes carry no quoted text, are signed with
the site secret under their own key, and are tied to the waiting change.

Limits, so that a flood of forgeries cannot make the list mail its
members: at most one probe in flight per member; none again for
`probe_cooldown_days` to a member whose last probe did not bounce; and a
per-list budget per hour and per day (a share of the roster, at least
`probe_min_budget`).  Past the budget probes wait in a queue, sent by the
bounce runner's periodic pass as the budget frees up, and the owners are
told once a day.
"""

import datetime
import logging
import math
from collections.abc import Iterable

from mailman.config import config
from mailman.core.i18n import _
from mailman.email.message import UserNotification
from mailman.interfaces.listmanager import IListManager
from mailman.interfaces.mailinglist import IMailingList
from mailman.interfaces.member import IMember
from mailman.utilities.datetime import now
from mailman.utilities.string import expand
from public import public
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from zope.component import getUtility

from mailman_bouncerules.app import notices
from mailman_bouncerules.app.machine import Change
from mailman_bouncerules.app.settings import settings
from mailman_bouncerules.app.tokens import (
    make_probe_token,
    read_probe_token,
    site_secret,
)
from mailman_bouncerules.classify.parsing.bounce import TOKEN_HEADER
from mailman_bouncerules.interfaces import EventName
from mailman_bouncerules.model.tables import (
    PROBE_BOUNCED,
    PROBE_EXPIRED,
    PROBE_QUEUED,
    PROBE_SENT,
    PROBE_SUPERSEDED,
    PROBES_OPEN,
    Campaign,
    Event,
    MemberState,
    Probe,
)
from mailman_bouncerules.templates import load_template

log = logging.getLogger('mailman.bounce')

TEMPLATE = 'list:user:notice:bouncerules-probe'
_BUDGET_MARK = EventName.PROBE_BUDGET   # the event that says owners were told
_SITE_ROW = '*'                        # list-wide history rows


@public
class Prober:
    """One list's probes."""

    def __init__(self, mlist: IMailingList, store: Session) -> None:
        self.mlist = mlist
        self.store = store
        self.list_id = mlist.list_id

    def open_probe(self, email: str) -> Probe | None:
        return self.store.scalars(select(Probe).filter_by(
            list_id=self.list_id, email=email.lower()).filter(
            Probe.status.in_(PROBES_OPEN)).order_by(Probe.id.desc())).first()

    def request(self, email: str, change: Change, event: Event,
                campaign: Campaign | None, at: datetime.datetime
                ) -> tuple[Probe | None, str]:
        """Unverified evidence (history row `event`) wants `change`:
        probe the member unless one is in flight
        or it was probed alive lately.  Returns (the probe or None, why),
        the reason for the caller's history row."""
        email = email.lower()
        if event.id is None:
            self.store.flush()          # the probe names the row that asked
        probe = self.open_probe(email)
        if probe is not None:
            if change is Change.REMOVE and probe.change != Change.REMOVE:
                probe.change, probe.event_id = Change.REMOVE, event.id
            return probe, 'a probe is already in flight'
        alive = self._last_alive(email)
        if alive is not None and at - alive < datetime.timedelta(
                days=settings().probe_cooldown_days):
            return None, ('not verified: a probe of %s did not bounce'
                          % alive.isoformat()[:10])
        probe = Probe(list_id=self.list_id, email=email, change=change,
                      status=PROBE_QUEUED, created_at=at, due_at=at,
                      event_id=event.id,
                      campaign=campaign.message_id if campaign else None)
        self.store.add(probe)
        self.store.flush()
        if self.send_if_budget(probe, at, record=False):
            return probe, 'probe sent'
        return probe, 'probe queued: the probe budget is spent'

    def send_if_budget(self, probe: Probe, at: datetime.datetime,
                       record: bool = True) -> bool:
        """Send a queued probe if the list's budget allows; True if sent
        (and, if `record`, said so in the history)."""
        if not self._within_budget(at):
            probe.due_at = at + datetime.timedelta(hours=1)
            self._tell_owners_once(at)
            return False
        member = self.mlist.members.get_member(probe.email)
        if member is None:
            probe.status, probe.decided_at = PROBE_SUPERSEDED, at
            return False
        self._send(probe, member)
        probe.status, probe.sent_at = PROBE_SENT, at
        probe.due_at = at + datetime.timedelta(
            hours=settings().probe_expiry_hours)
        if record:
            self._history(probe.email, EventName.PROBE_SENT, at,
                          'verifying: would %s if this probe bounces'
                          % probe.change)
        return True

    def bounced(self, probe: Probe, at: datetime.datetime) -> None:
        probe.status, probe.decided_at = PROBE_BOUNCED, at

    def supersede(self, email: str, at: datetime.datetime, why: str) -> None:
        """Verified evidence arrived, or an admin acted: no probe needed."""
        probe = self.open_probe(email)
        if probe is not None:
            probe.status, probe.decided_at = PROBE_SUPERSEDED, at
            self._history(email, EventName.PROBE_CLOSED, at, why)

    def expire(self, probe: Probe, at: datetime.datetime) -> None:
        """The probe did not bounce in time (or, still queued, could not be
        sent in time): the waiting change is dropped."""
        change = ('removal' if probe.change == Change.REMOVE
                  else 'confirmation')
        if probe.status == PROBE_SENT:
            # Only a probe that went out and came not back shows the
            # mailbox alive (and starts the cool-down).
            probe.status = PROBE_EXPIRED
            why = 'the probe did not bounce within %d hours' % (
                settings().probe_expiry_hours)
        else:
            probe.status = PROBE_SUPERSEDED
            why = 'the probe budget stayed spent for %d hours' % (
                settings().probe_expiry_hours)
        probe.decided_at = at
        self._history(probe.email, EventName.PROBE_EXPIRED, at,
                      '%s: the waiting %s is dropped' % (why, change))

    # -- internals --------------------------------------------------------

    def _send(self, probe: Probe, member: IMember) -> None:
        state_id = self.store.scalar(select(MemberState.id).filter_by(
            list_id=self.list_id, email=probe.email))
        token = make_probe_token(site_secret(), self.list_id, probe.id,
                                 state_id or 0)
        local, _at, domain = self.mlist.bounces_address.partition('@')
        sender = '%s%s%s@%s' % (local, config.mta.verp_delimiter, token,
                                domain)
        language = member.preferred_language
        text = expand(load_template(TEMPLATE, self.mlist, language.code),
                      self.mlist, dict(email=probe.email))
        mlist = self.mlist  # noqa: F841 (the subject's template names it)
        with _.using(language.code):
            # Mailman's own wording, so its translations apply.
            subject = _('${mlist.display_name} mailing list probe message')
        message = UserNotification(probe.email, sender, subject, text,
                                   language)
        message[TOKEN_HEADER] = token
        # From: the signed address too, as Mailman's probes do: some servers
        # answer the From instead of the envelope.
        message.send(self.mlist, sender=sender, verp=False,
                     add_precedence=False, bouncerules_probe=probe.id)
        log.info('bouncerules: verification probe %d sent on %s',
                 probe.id, self.list_id)

    def _budget(self, share: float) -> int:
        roster = self.mlist.members.member_count
        return max(settings().probe_min_budget, math.ceil(share * roster))

    def _within_budget(self, at: datetime.datetime) -> bool:
        def sent_since(delta: datetime.timedelta) -> int:
            return self.store.scalar(
                select(func.count()).select_from(Probe).filter_by(
                    list_id=self.list_id).filter(
                    Probe.sent_at > at - delta)) or 0
        return (sent_since(datetime.timedelta(hours=1))
                < self._budget(settings().probe_hourly_share)
                and sent_since(datetime.timedelta(days=1))
                < self._budget(settings().probe_daily_share))

    def _last_alive(self, email: str) -> datetime.datetime | None:
        """When a probe to `email` last expired without bouncing."""
        return self.store.scalar(select(func.max(Probe.decided_at)).filter_by(
            list_id=self.list_id, email=email, status=PROBE_EXPIRED))

    def _tell_owners_once(self, at: datetime.datetime) -> None:
        told = self.store.scalar(select(Event.id).filter_by(
            list_id=self.list_id, email=_SITE_ROW, event=_BUDGET_MARK).filter(
            Event.at > at - datetime.timedelta(days=1)).limit(1))
        if told is not None:
            return
        self._history(_SITE_ROW, _BUDGET_MARK, at, 'probe budget spent')
        log.warning('bouncerules: probe budget spent on %s; probes wait',
                    self.list_id)
        notices.probe_budget_spent(self.mlist)

    def _history(self, email: str, name: str, at: datetime.datetime,
                 detail: str) -> None:
        self.store.add(Event(list_id=self.list_id, email=email, event=name,
                             at=at, detail=detail, counted=False))


@public
def probe_named(store: Session, mlist: IMailingList,
                candidates: Iterable[str]) -> Probe | None:
    """The open probe of `mlist` that a valid token among `candidates`
    names, else None."""
    if not candidates:
        return None             # most notices: no need to read the secret
    secret = site_secret()
    for candidate in candidates:
        found = read_probe_token(secret, mlist.list_id, candidate.lower())
        if found is None:
            continue
        probe = store.get(Probe, found[0])
        if probe is not None and probe.list_id == mlist.list_id:
            return probe
    return None


@public
def process_due_probes(store: Session,
                       at: datetime.datetime | None = None) -> int:
    """The bounce runner's periodic pass: expire probes that did not
    bounce in time, send queued ones as budgets allow.  Returns how many
    probes changed."""
    at = at or now()
    due = store.scalars(select(Probe).filter(
        Probe.status.in_(PROBES_OPEN), Probe.due_at <= at).order_by(
        Probe.due_at, Probe.id).limit(500)).all()
    lists = getUtility(IListManager)
    expiry = datetime.timedelta(hours=settings().probe_expiry_hours)
    for probe in due:
        mlist = lists.get_by_list_id(probe.list_id)
        if mlist is None:
            probe.status, probe.decided_at = PROBE_SUPERSEDED, at
            continue
        prober = Prober(mlist, store)
        if probe.status == PROBE_SENT or at - probe.created_at >= expiry:
            prober.expire(probe, at)
        else:
            prober.send_if_budget(probe, at)
    return len(due)
