"""How far the list can trust a bounce: only its own mail proves a failure.

A list's `-bounces` address is public (it is the envelope sender of every
post and shows in every archived message), so anyone can mail it a notice
that names any member and quotes any archived post.  What only the list
can know is what it signed or saw itself:

- a bounce to a signed per-recipient envelope sender (tracked delivery),
  which names the member and the post exactly;
- a refusal that Mailman's own outgoing runner got at SMTP time;
- the bounce of a verification probe, whose envelope sender carries a
  signed token and which went to the member's address alone.

Everything else is unverified: recorded, classified and counted like any
bounce, but a removal or confirmation it would cause waits for a probe.

This module reads what a bounce proves: the tokens in the address it was
sent to (`Envelope`), the member a decision is about (`member_of`), and
the level of evidence it gives once its token is spent (`weigh`).
"""

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import Message

from mailman.app.bounces import StandardVERP
from mailman.config import config
from mailman.interfaces.mailinglist import IMailingList
from mailman.interfaces.member import IMember
from public import public
from sqlalchemy.orm import Session

from mailman_bouncerules.app.probes import Prober, probe_named
from mailman_bouncerules.app.tracking import resolve
from mailman_bouncerules.classify.report import BounceReport
from mailman_bouncerules.classify.rules.ruleset import Decision
from mailman_bouncerules.config.settings import settings
from mailman_bouncerules.interfaces import Action, Classification, EvidenceLevel
from mailman_bouncerules.model.storage import insert_ignoring_duplicates
from mailman_bouncerules.model.tables import Campaign, Probe, SpentEvidence
from mailman_bouncerules.utilities.tokens import TokenPurpose, site_secret

log = logging.getLogger('mailman.bounce')

# Where the address a bounce was sent to shows (LMTP keeps no RCPT TO).
_ENVELOPE_HEADERS = ('To', 'Delivered-To', 'X-Original-To', 'Envelope-To',
                     'Apparently-To')


@public
@dataclass(frozen=True)
class Envelope:
    """What the address a bounce was sent to, and its returned original,
    say of it.

    `returned`: the (campaign, email) of a return token (it verifies);
    `named`: the same, or those of an open token (it ties the bounce to a
    copy, verifies nothing); `probe`: the open probe whose token it was
    sent to (it verifies); `verp`: the members a VERPed address names;
    `sample`: the members an unverified notice naming many may have
    probed (None: all of them).
    """

    returned: tuple[Campaign, str] | None = None
    named: tuple[Campaign, str] | None = None
    probe: Probe | None = None
    verp: tuple[str, ...] = ()
    sample: frozenset[str] | None = None

    @property
    def named_email(self) -> str | None:
        if self.named is not None:
            return self.named[1]
        return str(self.probe.email) if self.probe is not None else None

    def names(self, email: str) -> bool:
        """Does a token of this envelope name the member `email`?"""
        named = self.named_email
        return named is not None and email.lower() == named.lower()

    def may_probe(self, decision: Decision) -> bool:
        return self.sample is None or decision.recipient.address in self.sample

    @classmethod
    def read(cls, store: Session, mlist: IMailingList, msg: Message,
             report: BounceReport, decisions: list[Decision], key: str,
             at: datetime) -> 'Envelope':
        """The envelope of a bounce to the list's -bounces address; `key`
        tells this bounce from others (see bounces.bounce_key)."""
        tokens = envelope_tokens(mlist, msg)
        returned = _resolve(store, mlist, tokens, TokenPurpose.RETURN)
        named = returned or _resolve(
            store, mlist, tokens + [report.original.token or ''],
            TokenPurpose.OPEN)
        probe = None if returned else probe_named(store, mlist, tokens, at)
        sample = (None if returned or probe else
                  probe_sample(store, mlist, decisions, key, at))
        return cls(returned, named, probe,
                   tuple(StandardVERP().get_verp(mlist, msg)), sample)


@public
def envelope_tokens(mlist: IMailingList, msg: Message) -> list[str]:
    """Tokens in the address the bounce was sent to
    (`list-bounces+<token>@`), as the returning system names it.

    Only these can verify: a return or probe token is in no header or
    body the list sent, so whoever writes it saw the envelope.  The
    returned original's X-BounceRules-Token is an open token, which
    anyone who saw the copy (or a reply quoting its pixel) knows.
    """
    local = mlist.bounces_address.partition('@')[0]
    pattern = re.compile(r'%s%s([a-z2-7]{12,40})@' % (
        re.escape(local), re.escape(config.mta.verp_delimiter)),
        re.IGNORECASE)
    candidates: list[str] = []
    for header in _ENVELOPE_HEADERS:
        for value in (msg.get_all(header) or ())[:10]:
            candidates.extend(pattern.findall(str(value)[:2000])[:10])
    return [candidate.lower() for candidate in candidates]


def _resolve(store: Session, mlist: IMailingList, candidates: list[str],
             purpose: TokenPurpose) -> tuple[Campaign, str] | None:
    """(campaign, email) named by a valid `purpose` token of this list."""
    for candidate in candidates:
        found = resolve(store, candidate.strip().lower(), mlist.list_id,
                        purpose=purpose)
        if found is not None:
            return found
    return None


@public
def probe_sample(store: Session, mlist: IMailingList,
                 decisions: list[Decision], key: str,
                 at: datetime) -> frozenset[str] | None:
    """The addresses an unverified notice may have probed: all (None)
    when it names at most `probe_sample` of them; else that many, those
    with verified failures first, the rest in an order no sender can
    choose or foresee (keyed by the site secret and the notice's `key`).
    Such a notice is a suspicious report: the owners are told."""
    limit = settings().probe_sample
    named = sorted({decision.recipient.address for decision in decisions
                    if decision.classification == Classification.HARD})
    if len(named) <= limit:
        return None
    prober = Prober(mlist, store)
    secret = site_secret() + key.encode('utf-8')
    failed = prober.failed_verifiably(named)

    def rank(address: str) -> tuple[bool, str]:
        return (address not in failed, hmac.new(
            secret, address.encode('utf-8'), hashlib.sha256).hexdigest())
    sample = frozenset(sorted(named, key=rank)[:limit])
    prober.suspicious_report(len(named), len(sample), key, at)
    return sample


@public
def member_of(mlist: IMailingList, decision: Decision, envelope: Envelope,
              single: bool) -> tuple[IMember, str, Decision] | None:
    """The member a decision is about, the address it is subscribed
    with, and the decision for that member; None for a non-member.

    A signed token names the member exactly, whatever address the bounce
    reports (a forwarding target, a rewritten alias) when it reports one
    recipient; with several, only that one.  A VERPed -bounces address
    names the member when the bounce reports one recipient (not verified:
    the address is readable, not signed).
    """
    recipient = decision.recipient
    candidates: list[str | None] = [recipient.address,
                                    recipient.original_address]
    named_email = envelope.named_email
    if named_email is not None and (single or named_email in candidates):
        candidates.insert(0, named_email)
    if single:
        candidates.extend(envelope.verp)
    for candidate in dict.fromkeys(each.lower() for each in candidates
                                   if each):
        member = mlist.members.get_member(candidate)
        if member is not None:
            if decision.action == Action.UNSUBSCRIBE and \
                    candidate != recipient.address.lower():
                decision = failed_further_on(decision)
            return member, candidate, decision
    return None


@public
def failed_further_on(decision: Decision) -> Decision:
    """The decision for a member whose own address was not the one that
    failed: the bounce names an address the member's mail went on to (a
    forward's target, an alias's mailbox), reached through the DSN's
    Original-Recipient, a VERP address or a token.  The member's address
    exists, so the failure is counted, never a removal at once (as for
    Exim's hidden redirects)."""
    return replace(decision, action=Action.COUNT, evidence=replace(
        decision.evidence, facts=decision.evidence.facts + (
            'failed further on, at %s' % decision.recipient.address,)))


@public
def weigh(store: Session, list_id: str, envelope: Envelope, email: str,
          decision: Decision, at: datetime) -> EvidenceLevel:
    """The level of evidence a bounce gives on `email`: a return token or
    an open probe that names that member verifies (once: see `spend`);
    anything else is unverified."""
    if not envelope.names(email):
        return EvidenceLevel.UNVERIFIED
    if envelope.returned is not None:
        return spend(store, list_id, EvidenceLevel.TOKEN,
                     envelope.returned[0].id, email, decision, at)
    if envelope.probe is not None:
        return spend(store, list_id, EvidenceLevel.PROBE, envelope.probe.id,
                     email, decision, at)
    return EvidenceLevel.UNVERIFIED


@public
def spend(store: Session, list_id: str, level: EvidenceLevel, ref: int,
          email: str, decision: Decision, at: datetime) -> EvidenceLevel:
    """The evidence a return or probe token gives this bounce: `level`,
    once.  A hard failure spends the token (the campaign's copy, or the
    probe, for that member); a second notice carrying it, a replay or a
    copy, is unverified.  A soft one (a delay report before the failure)
    spends nothing."""
    if decision.classification != Classification.HARD:
        return level
    if insert_ignoring_duplicates(store, SpentEvidence, list_id=list_id,
                                  purpose=level.value, ref=ref,
                                  email=email.lower(), spent_at=at):
        return level
    log.warning('bouncerules: a second hard failure on one %s token for %s '
                'on %s: unverified', level.value, email, list_id)
    return EvidenceLevel.UNVERIFIED
