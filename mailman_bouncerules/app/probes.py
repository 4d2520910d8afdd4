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
`probe_cooldown_days` to a member whose last probe did not bounce; at most
one probe a day to one address, whatever the number of lists; a notice
naming many members that nothing verifies gets at most `probe_sample` of
them probed (handling.py); and a per-list budget per hour and per day (a
share of the roster, at least `probe_min_budget`).  Past the budget probes
wait in a queue, members with a history of verified failures first, sent
by the bounce runner's periodic pass as the budget frees up (a probe that
waited long is still sent, never dropped), and the owners are told once a
day.

A probe verifies once: only one that is out and waiting (sent, younger
than `probe_expiry_hours`, not closed) is found by its token.
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
from mailman_bouncerules.app.evidence import VERIFIED_LEVELS
from mailman_bouncerules.app.machine import Change
from mailman_bouncerules.app.settings import settings
from mailman_bouncerules.app.tokens import (
    make_probe_token,
    read_probe_token,
    site_secret,
)
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
                      priority=int(self.failed_verifiably(email)),
                      campaign=campaign.message_id if campaign else None)
        self.store.add(probe)
        self.store.flush()
        if self._queued_ahead(probe):
            probe.due_at = at + datetime.timedelta(hours=1)
            return probe, 'probe queued behind others'
        waits = self.send_if_budget(probe, at, record=False)
        return probe, ('probe sent' if waits is None
                       else 'probe queued: %s' % waits)

    def send_if_budget(self, probe: Probe, at: datetime.datetime,
                       record: bool = True) -> str | None:
        """Send a queued probe if the address had none in the last day (on
        any list) and the list's budget allows (and, if `record`, say so
        in the history).  None if sent, else why not."""
        lately = self._probed_lately(probe, at)
        if lately is not None:
            probe.due_at = lately + datetime.timedelta(days=1)
            return 'the address had a probe in the last day'
        if not self._within_budget(at):
            probe.due_at = at + datetime.timedelta(hours=1)
            self._tell_owners_once(at)
            return 'the probe budget is spent'
        member = self.mlist.members.get_member(probe.email)
        if member is None:
            probe.status, probe.decided_at = PROBE_SUPERSEDED, at
            return 'no longer a member'
        self._send(probe, member)
        probe.status, probe.sent_at = PROBE_SENT, at
        probe.due_at = at + datetime.timedelta(
            hours=settings().probe_expiry_hours)
        if record:
            self._history(probe.email, EventName.PROBE_SENT, at,
                          'verifying: would %s if this probe bounces'
                          % probe.change)
        return None

    def bounced(self, probe: Probe, at: datetime.datetime) -> None:
        probe.status, probe.decided_at = PROBE_BOUNCED, at

    def supersede(self, email: str, at: datetime.datetime, why: str) -> None:
        """Verified evidence arrived, or an admin acted: no probe needed."""
        probe = self.open_probe(email)
        if probe is not None:
            probe.status, probe.decided_at = PROBE_SUPERSEDED, at
            self._history(email, EventName.PROBE_CLOSED, at, why)

    def expire(self, probe: Probe, at: datetime.datetime) -> None:
        """The probe went out and did not bounce in time: the mailbox is
        alive, the waiting change is dropped, and the cool-down starts."""
        change = ('removal' if probe.change == Change.REMOVE
                  else 'confirmation')
        probe.status, probe.decided_at = PROBE_EXPIRED, at
        self._history(probe.email, EventName.PROBE_EXPIRED, at,
                      'the probe did not bounce within %d hours: the waiting '
                      '%s is dropped' % (settings().probe_expiry_hours,
                                         change))

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
        # The token is in the envelope sender alone: From: is the list's
        # plain -bounces address and no header carries it, so a member who
        # forwards the odd message ("is this phishing?") gives nothing away.
        # (Mailman's own probes sign their From: too; a server that answers
        # the From instead of the envelope returns an unverified notice.)
        message = UserNotification(probe.email, self.mlist.bounces_address,
                                   subject, text, language)
        message.send(self.mlist, sender=sender, verp=False,
                     add_precedence=False, bouncerules_probe=probe.id)
        log.info('bouncerules: verification probe %d sent on %s',
                 probe.id, self.list_id)

    def failed_verifiably(self, email: str) -> bool:
        """Has `email` a bounce on verified evidence in the list's history
        (a member whose mail really failed, probed first)?"""
        return self.store.scalar(select(Event.id).filter_by(
            list_id=self.list_id, email=email.lower(),
            event=EventName.BOUNCE).filter(
            Event.evidence.in_(VERIFIED_LEVELS)).limit(1)) is not None

    def _queued_ahead(self, probe: Probe) -> bool:
        """Do probes of the list wait that go before `probe`?"""
        return self.store.scalar(select(Probe.id).filter_by(
            list_id=self.list_id, status=PROBE_QUEUED).filter(
            Probe.id != probe.id, Probe.priority >= probe.priority).limit(
            1)) is not None

    def _probed_lately(self, probe: Probe,
                       at: datetime.datetime) -> datetime.datetime | None:
        """When a probe last went to the address, on any list, if in the
        last day: one address gets one probe a day, site-wide."""
        return self.store.scalar(select(func.max(Probe.sent_at)).filter(
            Probe.email == probe.email, Probe.id != probe.id,
            Probe.sent_at > at - datetime.timedelta(days=1)))

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
        if tell_owners_once(self.store, self.list_id, _BUDGET_MARK, at,
                            'probe budget spent'):
            log.warning('bouncerules: probe budget spent on %s; probes wait',
                        self.list_id)
            notices.probe_budget_spent(self.mlist)

    def suspicious_report(self, named: int, probed: int, message_id: str,
                          at: datetime.datetime) -> None:
        """One notice that nothing verifies named `named` members: only
        `probed` of them are probed.  The owners are told once a day."""
        log.warning('bouncerules: notice %s on %s names %d members and '
                    'nothing verifies it: %d probed', message_id,
                    self.list_id, named, probed)
        if tell_owners_once(self.store, self.list_id, EventName.SUSPICIOUS,
                            at, 'a notice named %d members; %d probed'
                            % (named, probed)):
            notices.suspicious_report(self.mlist, named, probed)

    def _history(self, email: str, name: str, at: datetime.datetime,
                 detail: str) -> None:
        self.store.add(Event(list_id=self.list_id, email=email, event=name,
                             at=at, detail=detail, counted=False))


@public
def tell_owners_once(store: Session, list_id: str, mark: str,
                     at: datetime.datetime, detail: str) -> bool:
    """True, and the list's history row `mark` written, if the owners were
    not told of `mark` in the last day: tell them now."""
    told = store.scalar(select(Event.id).filter_by(
        list_id=list_id, email=_SITE_ROW, event=mark).filter(
        Event.at > at - datetime.timedelta(days=1)).limit(1))
    if told is not None:
        return False
    store.add(Event(list_id=list_id, email=_SITE_ROW, event=mark, at=at,
                    detail=detail, counted=False))
    return True


@public
def probe_named(store: Session, mlist: IMailingList,
                candidates: Iterable[str],
                at: datetime.datetime | None = None) -> Probe | None:
    """The probe of `mlist` that a valid token among `candidates` names,
    if it is out and waiting: sent, not yet bounced, expired, superseded
    or closed by an owner, and younger than `probe_expiry_hours` (a bounce
    may arrive before the periodic pass expires it).  Else None: a closed
    probe changes nothing, whoever returns its token."""
    if not candidates:
        return None             # most notices: no need to read the secret
    at = at or now()
    secret = site_secret()
    expiry = datetime.timedelta(hours=settings().probe_expiry_hours)
    for candidate in candidates:
        found = read_probe_token(secret, mlist.list_id, candidate.lower())
        if found is None:
            continue
        probe = store.get(Probe, found[0])
        if probe is not None and probe.list_id == mlist.list_id and \
                probe.status == PROBE_SENT and probe.sent_at is not None \
                and at - probe.sent_at <= expiry:
            return probe
        log.info('bouncerules: a bounce to closed probe %d of %s changes '
                 'nothing', found[0], mlist.list_id)
    return None


@public
def process_due_probes(store: Session,
                       at: datetime.datetime | None = None) -> int:
    """The bounce runner's periodic pass: expire probes that did not
    bounce in time, send queued ones as budgets allow (members with a
    history of verified failures first; a probe that waited long is tried
    again, never dropped).  Returns how many probes were looked at."""
    at = at or now()
    due = store.scalars(select(Probe).filter(
        Probe.status.in_(PROBES_OPEN), Probe.due_at <= at).order_by(
        Probe.priority.desc(), Probe.due_at, Probe.id).limit(500)).all()
    lists = getUtility(IListManager)
    for probe in due:
        mlist = lists.get_by_list_id(probe.list_id)
        if mlist is None:
            probe.status, probe.decided_at = PROBE_SUPERSEDED, at
            continue
        prober = Prober(mlist, store)
        if probe.status == PROBE_SENT:
            prober.expire(probe, at)
        else:
            prober.send_if_budget(probe, at)
    return len(due)
