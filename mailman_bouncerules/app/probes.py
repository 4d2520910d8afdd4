"""Verification probes: the list asks the mailbox itself before acting.

When unverified evidence (a notice to the plain `-bounces` address) would
remove or confirm a member, the change waits and the member gets one short
message from a signed envelope sender (`LIST-bounces+<token>@domain`, with
the same token in an `X-BounceRules-Token` header, so that it comes back
whether the bouncing server answers the envelope or returns the headers).
If that probe bounces hard, the waiting change is carried out at once; if
it does not bounce within `probe_expiry`, the change is dropped and
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
`probe_cooldown` to a member whose last probe did not bounce; at most
one probe a day to one address, whatever the number of lists; a notice
naming many members that nothing verifies gets at most `probe_sample` of
them probed (evidence.py); and a per-list budget per hour and per day (a
share of the roster, at least `probe_min_budget`).  Past the budget probes
wait in a queue, members with a history of verified failures first, sent
by the bounce runner's periodic pass as the budget frees up (a probe that
waited long is still sent, never dropped), and the owners are told once a
day.

A probe verifies once: only one that is out and waiting (sent, younger
than `probe_expiry`, not closed) is found by its token.
"""

import datetime
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

from mailman.config import config
from mailman.core.i18n import _
from mailman.email.message import UserNotification
from mailman.interfaces.languages import ILanguage
from mailman.interfaces.listmanager import IListManager
from mailman.interfaces.mailinglist import IMailingList
from mailman.interfaces.member import IMember, MemberRole
from mailman.utilities.datetime import now
from mailman.utilities.string import expand
from public import public
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session, selectinload
from zope.component import getUtility

from mailman_bouncerules.app import notices
from mailman_bouncerules.app.decisions import AnyDecision
from mailman_bouncerules.app.history import History, diagnostic_limit
from mailman_bouncerules.config.settings import in_words, settings
from mailman_bouncerules.interfaces import (
    Change,
    EventName,
    EvidenceLevel,
    OwnerNotice,
)
from mailman_bouncerules.model.storage import insert_ignoring_duplicates
from mailman_bouncerules.model.tables import (
    PROBE_BOUNCED,
    PROBE_EXPIRED,
    PROBE_QUEUED,
    PROBE_SENT,
    PROBE_SUPERSEDED,
    PROBES_OPEN,
    Campaign,
    ListSettings,
    MemberState,
    Probe,
)
from mailman_bouncerules.templates import load_template
from mailman_bouncerules.utilities.tokens import (
    make_probe_token,
    read_probe_token,
    site_secret,
)

log = logging.getLogger('mailman.bounce')

TEMPLATE = 'list:user:notice:bouncerules-probe'


@public
@dataclass
class ProbeFacts:
    """What a probe request needs, read with the rest of a bounce's facts:
    the member's recent probes (`Prober.recent`), and whether its mail
    ever failed on verified evidence (its probe goes first)."""

    recent: list[Probe]
    failed_verifiably: bool


@public
class Prober:
    """One list's probes."""

    def __init__(self, mlist: IMailingList, store: Session) -> None:
        self.mlist = mlist
        self.store = store
        self.list_id = mlist.list_id
        self.history = History(self.list_id, store)

    def open_probe(self, email: str) -> Probe | None:
        return self.store.scalars(select(Probe).filter_by(
            list_id=self.list_id, email=email.lower()).filter(
            Probe.status.in_(PROBES_OPEN)).order_by(Probe.id.desc())).first()

    def recent(self, email: str, at: datetime.datetime) -> list[Probe]:
        """The member's probes a new one depends on: the one in flight, and
        those that found the mailbox alive within `probe_cooldown`."""
        cooldown = at - settings().probe_cooldown
        return list(self.store.scalars(select(Probe).filter_by(
            list_id=self.list_id, email=email.lower()).filter(or_(
                Probe.status.in_(PROBES_OPEN), and_(
                    Probe.status == PROBE_EXPIRED,
                    Probe.decided_at > cooldown))).order_by(
            Probe.id.desc())))

    def request(self, email: str, change: Change, decision: AnyDecision,
                evidence: EvidenceLevel, campaign: Campaign | None,
                at: datetime.datetime,
                facts: ProbeFacts) -> tuple[Probe | None, str]:
        """Unverified evidence (`decision`, on `evidence`) wants `change`:
        queue a probe of the member unless one is in flight or it was
        probed alive lately (`facts`, read before).  The probe keeps the
        decision, to carry it out if it bounces.  Returns (the probe or
        None, why), the reason for the caller's history row.  Queued
        probes go out in batches (`send_queued_probes`), after the
        runner's pass over its queue; those of members with verified
        failures first."""
        probe = next((each for each in facts.recent
                      if each.status in PROBES_OPEN), None)
        if probe is not None:
            if change is Change.REMOVE and probe.change != Change.REMOVE:
                probe.change = Change.REMOVE
                _keep(probe, decision, evidence)
            return probe, 'a probe is already in flight'
        if facts.recent:
            alive = max(each.decided_at for each in facts.recent
                        if each.decided_at is not None)
            return None, ('not verified: a probe of %s did not bounce'
                          % alive.isoformat()[:10])
        probe = Probe(list_id=self.list_id, email=email.lower(),
                      change=change, status=PROBE_QUEUED, created_at=at,
                      due_at=at, priority=int(facts.failed_verifiably),
                      campaign=campaign.message_id if campaign else None)
        _keep(probe, decision, evidence)
        self.store.add(probe)
        facts.recent.insert(0, probe)
        return probe, 'a probe goes out'

    def bounced(self, probe: Probe, at: datetime.datetime) -> None:
        probe.status, probe.decided_at = PROBE_BOUNCED, at

    def supersede(self, email: str, at: datetime.datetime, why: str) -> None:
        """Verified evidence arrived, or an admin acted: no probe needed."""
        probe = self.open_probe(email)
        if probe is not None:
            probe.status, probe.decided_at = PROBE_SUPERSEDED, at
            self.history.record(email, EventName.PROBE_CLOSED, at,
                                detail=why)

    def expire(self, probe: Probe, at: datetime.datetime) -> None:
        """The probe went out and did not bounce in time: the mailbox is
        alive, the waiting change is dropped, and the cool-down starts."""
        change = ('removal' if probe.change == Change.REMOVE
                  else 'confirmation')
        probe.status, probe.decided_at = PROBE_EXPIRED, at
        self.history.record(probe.email, EventName.PROBE_EXPIRED, at,
                            detail='the probe did not bounce within %s: '
                            'the waiting %s is dropped' % (
                                in_words(settings().probe_expiry), change))

    # -- internals --------------------------------------------------------

    def failed_verifiably(self, emails: Iterable[str]) -> set[str]:
        """Those of `emails` whose mail failed on verified evidence (the
        members whose probes go first)."""
        return set(self.store.scalars(select(MemberState.email).filter(
            MemberState.list_id == self.list_id,
            MemberState.email.in_([email.lower() for email in emails]),
            MemberState.verified_failure_at.is_not(None))))

    def suspicious_report(self, named: int, probed: int, message_id: str,
                          at: datetime.datetime) -> None:
        """One notice that nothing verifies named `named` members: only
        `probed` of them are probed.  The owners are told once a day."""
        log.warning('bouncerules: notice %s on %s names %d members and '
                    'nothing verifies it: %d probed', message_id,
                    self.list_id, named, probed)
        if tell_owners_once(self.store, self.list_id, OwnerNotice.SUSPICIOUS,
                            at):
            notices.suspicious_report(self.mlist, named, probed)



def _keep(probe: Probe, decision: AnyDecision, evidence: EvidenceLevel) -> None:
    """The decision a probe waits to carry out, on the probe's row."""
    recipient = decision.recipient
    probe.classification, probe.action = decision.classification, decision.action
    probe.rule, probe.reason = decision.rule, decision.reason
    probe.reply_status, probe.smtp_code = recipient.status, recipient.smtp_code
    probe.diagnostic = (recipient.diagnostic or '')[:diagnostic_limit(evidence)]
    probe.evidence = evidence.value


@public
def tell_owners_once(store: Session, list_id: str, notice: OwnerNotice,
                     at: datetime.datetime) -> bool:
    """True if the owners were not told of `notice` in the last day: the
    list's row now says they are (one UPDATE that only one process of
    several can win)."""
    column = _TOLD_AT[notice]
    insert_ignoring_duplicates(store, ListSettings, list_id=list_id,
                               post_sequence=0, digest_sequence=0)
    result = store.execute(update(ListSettings).where(
        ListSettings.list_id == list_id, or_(
            column.is_(None), column <= at - datetime.timedelta(days=1)))
        .values({column: at}).execution_options(synchronize_session=False))
    return result.rowcount == 1     # type: ignore[attr-defined]


# When the owners were last told of each notice that goes once a day.
_TOLD_AT = {OwnerNotice.PROBE_BUDGET: ListSettings.budget_told_at,
            OwnerNotice.SUSPICIOUS: ListSettings.suspicious_told_at}


@public
def probe_named(store: Session, mlist: IMailingList,
                candidates: Iterable[str],
                at: datetime.datetime | None = None) -> Probe | None:
    """The probe of `mlist` that a valid token among `candidates` names,
    if it is out and waiting: sent, not yet bounced, expired, superseded
    or closed by an owner, and younger than `probe_expiry` (a bounce
    may arrive before the periodic pass expires it).  Else None: a closed
    probe changes nothing, whoever returns its token."""
    if not candidates:
        return None             # most notices: no need to read the secret
    at = at or now()
    secret = site_secret()
    expiry = settings().probe_expiry
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
    bounce in time, then send the queued ones that are due.  Returns how
    many probes were looked at."""
    at = at or now()
    expired = store.scalars(select(Probe).filter(
        Probe.status == PROBE_SENT, Probe.due_at <= at).order_by(
        Probe.due_at, Probe.id).limit(BATCH)).all()
    lists = getUtility(IListManager)
    for probe in expired:
        mlist = lists.get_by_list_id(probe.list_id)
        if mlist is None:
            probe.status, probe.decided_at = PROBE_SUPERSEDED, at
        else:
            Prober(mlist, store).expire(probe, at)
    return len(expired) + send_queued_probes(store, at)


@public
def send_queued_probes(store: Session, at: datetime.datetime | None = None,
                       list_id: str | None = None) -> int:
    """Send the queued probes that are due (of one list, if `list_id`), in
    one batch: members with a history of verified failures first, within
    each list's budget, and one a day to an address whatever the list.  A
    probe that cannot go yet gets a new due time and waits (never
    dropped).  Returns how many probes were looked at."""
    at = at or now()
    query = select(Probe).filter(Probe.status == PROBE_QUEUED,
                                 Probe.due_at <= at)
    if list_id is not None:
        query = query.filter(Probe.list_id == list_id)
    queued = store.scalars(query.order_by(
        Probe.priority.desc(), Probe.due_at, Probe.id).limit(BATCH)).all()
    if not queued:
        return 0
    day = datetime.timedelta(days=1)
    lately = {email: sent for email, sent in store.execute(select(
        Probe.email, func.max(Probe.sent_at)).filter(
        Probe.email.in_({probe.email for probe in queued}),
        Probe.sent_at > at - day).group_by(Probe.email)) if sent is not None}
    lists = getUtility(IListManager)
    by_list: dict[str, list[Probe]] = {}
    for probe in queued:
        by_list.setdefault(probe.list_id, []).append(probe)
    for list_id, probes in by_list.items():
        mlist = lists.get_by_list_id(list_id)
        if mlist is None:
            for probe in probes:
                probe.status, probe.decided_at = PROBE_SUPERSEDED, at
            continue
        _ListBatch(mlist, store, at).send(probes, lately)
    return len(queued)


# The most probes one pass looks at.
BATCH = 500
# Where a probe's text has the member's address (no template has it).
_ADDRESS_MARK = '\x00email\x00'


class _ListBatch:
    """One list's share of a batch of queued probes."""

    def __init__(self, mlist: IMailingList, store: Session,
                 at: datetime.datetime) -> None:
        self.mlist = mlist
        self.store = store
        self.at = at
        self.texts: dict[str, str] = {}
        # Probes sent after they waited: (email, name, at, detail).
        self.sent_late: list[tuple[str, str, datetime.datetime, str]] = []

    def send(self, probes: list[Probe],
             lately: dict[str, datetime.datetime]) -> None:
        with self.store.no_autoflush:
            self._send_all(probes, lately)
        History(self.mlist.list_id, self.store).record_all(self.sent_late)

    def _send_all(self, probes: list[Probe],
                  lately: dict[str, datetime.datetime]) -> None:
        room = self._room()
        members = self._members([probe.email for probe in probes])
        state_ids = {email: state_id for email, state_id in self.store.execute(
            select(MemberState.email, MemberState.id).filter(
                MemberState.list_id == self.mlist.list_id,
                MemberState.email.in_([probe.email for probe in probes])))}
        spent = False
        for probe in probes:
            if probe.email in lately:
                probe.due_at = lately[probe.email] + datetime.timedelta(days=1)
                continue
            if room <= 0:
                probe.due_at = self.at + datetime.timedelta(hours=1)
                spent = True
                continue
            member = members.get(probe.email)
            if member is None:
                probe.status, probe.decided_at = PROBE_SUPERSEDED, self.at
                continue
            self._send(probe, member, state_ids.get(probe.email, 0))
            lately[probe.email] = self.at
            room -= 1
        if spent and tell_owners_once(self.store, self.mlist.list_id,
                                      OwnerNotice.PROBE_BUDGET, self.at):
            log.warning('bouncerules: probe budget spent on %s; probes wait',
                        self.mlist.list_id)
            notices.probe_budget_spent(self.mlist)

    def _room(self) -> int:
        """How many probes the list may send now: a share of its roster an
        hour and a day, at least `probe_min_budget` each."""
        hour = self.at - datetime.timedelta(hours=1)
        last_hour, last_day = self.store.execute(select(
            func.count(case((Probe.sent_at > hour, 1))),
            func.count(Probe.id)).filter(
            Probe.list_id == self.mlist.list_id,
            Probe.sent_at > self.at - datetime.timedelta(days=1))).one()
        roster = self.mlist.members.member_count
        known = settings()

        def budget(share: float) -> int:
            return max(known.probe_min_budget, math.ceil(share * roster))
        return min(budget(known.probe_hourly_share) - last_hour,
                   budget(known.probe_daily_share) - last_day)

    def _members(self, emails: list[str]) -> dict[str, IMember]:
        """The list's members among `emails`, with what the probe's
        language needs, in one query (a member subscribed through its
        user's preferred address is looked up as Mailman does)."""
        from mailman.model.address import Address
        from mailman.model.member import Member
        found: dict[str, IMember] = {}
        for member in self.store.scalars(select(Member).join(
                Address, Member.address_id == Address.id).filter(
                Member.list_id == self.mlist.list_id,
                Member.role == MemberRole.member,
                Address.email.in_(emails)).options(
                selectinload(Member.preferences),
                selectinload(Member._address).selectinload(
                    Address.preferences))):
            found[member.address.email] = member
        for email in emails:
            if email not in found:
                member = self.mlist.members.get_member(email)
                if member is not None:
                    found[email] = member
        return found

    def _language(self, member: IMember) -> ILanguage:
        """The member's preferred language, as Mailman's `_lookup` finds
        it (the member's, its address's, its user's, the list's), without
        looking the list up again for each member."""
        address = member.address
        for preferences in (member.preferences, address.preferences,
                            address.user.preferences if address.user
                            else None):
            language = getattr(preferences, 'preferred_language', None)
            if language is not None:
                return language
        return self.mlist.preferred_language

    def _send(self, probe: Probe, member: IMember, state_id: int) -> None:
        token = make_probe_token(site_secret(), self.mlist.list_id, probe.id,
                                 state_id)
        local, _at, domain = self.mlist.bounces_address.partition('@')
        sender = '%s%s%s@%s' % (local, config.mta.verp_delimiter, token,
                                domain)
        language = self._language(member)
        if language.code not in self.texts:
            # Mailman's expand() reads the list's domain each time: the
            # text is expanded once a language, the address put in after.
            self.texts[language.code] = expand(load_template(
                TEMPLATE, self.mlist, language.code), self.mlist,
                dict(email=_ADDRESS_MARK))
        text = self.texts[language.code].replace(_ADDRESS_MARK, probe.email)
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
        waited = probe.due_at != probe.created_at
        probe.status, probe.sent_at = PROBE_SENT, self.at
        probe.due_at = self.at + settings().probe_expiry
        if waited:
            # (One sent at once: the history row that asked for it says so.)
            self.sent_late.append((
                probe.email, EventName.PROBE_SENT, self.at,
                'verifying: would %s if this probe bounces' % probe.change))
        log.info('bouncerules: verification probe %d sent on %s',
                 probe.id, self.mlist.list_id)
