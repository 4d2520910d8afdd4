"""Handling one bounce for one list: classify, attribute, record, act.

Used by the bounce runner (every message to a list's -bounces address),
by the IBounceProcessor override (refusals at SMTP time), by the REST
`classify` resource and by the demo.  Runs inside the caller's transaction:
a crash anywhere leaves nothing half applied.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import logging
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from email.message import Message

from mailman.app.bounces import StandardVERP, maybe_forward
from mailman.config import config
from mailman.interfaces.mailinglist import IMailingList
from mailman.utilities.datetime import now
from public import public
from sqlalchemy.orm import Session
from zope.component import getUtility

from mailman_bouncerules.app.campaigns import attribute, campaign_kind
from mailman_bouncerules.app.evidence import EvidenceLevel
from mailman_bouncerules.app.ledger import Ledger
from mailman_bouncerules.app.policy import ListPolicy
from mailman_bouncerules.app.probes import Prober, probe_named
from mailman_bouncerules.app.tracking import resolve
from mailman_bouncerules.classify.classifier import Classifier
from mailman_bouncerules.classify.parsing.codes import first_smtp_code, first_status
from mailman_bouncerules.classify.report import BounceReport, RecipientReport
from mailman_bouncerules.classify.rules.ruleset import Decision
from mailman_bouncerules.config.settings import settings
from mailman_bouncerules.interfaces import (
    Action,
    Classification,
    IClassifier,
    Kind,
)
from mailman_bouncerules.model.storage import (
    insert_ignoring_duplicates,
    normalize_message_id,
)
from mailman_bouncerules.model.tables import (
    Campaign,
    Probe,
    SeenBounce,
    SpentEvidence,
)
from mailman_bouncerules.utilities.tokens import TokenPurpose, site_secret
from mailman_bouncerules.utilities.untrusted import printable

log = logging.getLogger('mailman.bounce')

# Where the address a bounce was sent to shows (LMTP keeps no RCPT TO).
_ENVELOPE_HEADERS = ('To', 'Delivered-To', 'X-Original-To', 'Envelope-To',
                     'Apparently-To')


@public
def bounce_key(msg: Message) -> str:
    """What makes two deliveries of a bounce the same bounce."""
    message_id = normalize_message_id(msg.get('Message-ID'))
    if message_id:
        return message_id[:255]
    try:
        data = msg.as_bytes()
    except Exception:           # broken MIME the generator cannot write
        data = str(msg.get_payload()).encode('utf-8', 'replace')
    return 'sha1:' + hashlib.sha1(data).hexdigest()


def _message_id(msg: Message) -> str:
    """The bounce's Message-ID as a log line may show it: it is the
    sender's text, so control characters and length are taken out."""
    return ' '.join(printable(str(msg.get('Message-ID', 'n/a'))).split())[:200]


@public
class BounceHandler:

    def __init__(self, classifier: Classifier | None = None) -> None:
        self.classifier = classifier or getUtility(IClassifier)

    def handle(self, mlist: IMailingList, msg: Message,
               received_at: datetime | None = None,
               forward: bool = True, policy: ListPolicy | None = None) -> bool:
        """Process a bounce sent to the list; False if not recognised.

        An unrecognised message is offered to Mailman's
        `forward_unrecognized_bounces_to`, as stock Mailman does (unless
        `forward` is false: stock Mailman itself will).  `policy`: the
        list's settings, if the caller read them.
        """
        store = config.db.store
        received_at = received_at or now()
        if not insert_ignoring_duplicates(
                store, SeenBounce, list_id=mlist.list_id,
                message_key=bounce_key(msg), seen_at=received_at):
            log.info('bouncerules: %s already processed for %s',
                     _message_id(msg), mlist.list_id)
            return True
        report, decisions = self.classifier.classify(msg)
        if report.problems:
            log.warning('bouncerules: %s for %s read in part: %s',
                        _message_id(msg), mlist.list_id,
                        '; '.join(report.problems))
        if not decisions:
            if report.kind == Kind.DELIVERED:
                return True
            log.info('bouncerules: unrecognised %s for %s (%s)',
                     _message_id(msg), mlist.list_id, report.kind)
            if forward:
                maybe_forward(mlist, msg)
            return False
        verp = StandardVERP().get_verp(mlist, msg)
        envelope = self._envelope_tokens(mlist, msg)
        returned = self._resolve(mlist, envelope, TokenPurpose.RETURN)
        named = returned or self._resolve(
            mlist, envelope + [report.original.token or ''], TokenPurpose.OPEN)
        probe = None if returned else probe_named(config.db.store, mlist,
                                                  envelope, received_at)
        probed = (None if returned or probe else
                  self._probe_sample(mlist, msg, decisions, received_at))
        single = len(decisions) == 1
        ledger = Ledger(mlist, store, policy)
        for decision in decisions:
            self._apply(ledger, report, decision, verp, received_at,
                        single=single, named=named,
                        returned=returned is not None, probe=probe,
                        may_probe=probed is None
                        or decision.recipient.address in probed)
        return True

    def _probe_sample(self, mlist: IMailingList, msg: Message,
                      decisions: list[Decision],
                      at: datetime) -> set[str] | None:
        """The addresses an unverified notice may have probed: all (None)
        when it names at most `probe_sample` of them; else that many, those
        with verified failures in the history first, the rest in an order
        no sender can choose or foresee (keyed by the site secret).
        Such a notice is a suspicious report: the owners are told."""
        limit = settings().probe_sample
        named = sorted({decision.recipient.address for decision in decisions
                        if decision.classification == Classification.HARD})
        if len(named) <= limit:
            return None
        prober = Prober(mlist, config.db.store)
        key = site_secret() + bounce_key(msg).encode('utf-8')
        failed = prober.failed_verifiably(named)

        def rank(address: str) -> tuple[bool, str]:
            return (address not in failed, hmac.new(
                key, address.encode('utf-8'), hashlib.sha256).hexdigest())
        sample = set(sorted(named, key=rank)[:limit])
        prober.suspicious_report(len(named), len(sample), _message_id(msg), at)
        return sample

    def _envelope_tokens(self, mlist: IMailingList, msg: Message) -> list[str]:
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

    def _resolve(self, mlist: IMailingList, candidates: list[str],
                 purpose: TokenPurpose) -> tuple[Campaign, str] | None:
        """(campaign, email) named by a valid `purpose` token of this list."""
        for candidate in candidates:
            found = resolve(config.db.store, candidate.strip().lower(),
                            mlist.list_id, purpose=purpose)
            if found is not None:
                return found
        return None

    def handle_smtp_failure(self, mlist: IMailingList, email: str,
                            msg: Message) -> None:
        """A permanent refusal at SMTP time, as Mailman's outgoing runner
        reports it: a short text naming the code and the server's words.
        The list's own delivery got it, so it is verified evidence."""
        _read_reply_as_text(msg)
        report, decisions = self.classifier.classify(msg)
        ours = [d for d in decisions if d.recipient.address == email.lower()]
        if not ours:
            # Not recognised as a report on `email`: classify the text as
            # the server's reply to that address.
            text = str(msg.get_payload())
            recipient = RecipientReport(
                address=email.lower(), action='failed',
                status=first_status(text), smtp_code=first_smtp_code(text),
                diagnostic=' '.join(text.split()))
            ours = [self.classifier.ruleset.decide(Kind.BOUNCE, recipient)]
        ledger = Ledger(mlist, config.db.store)
        for decision in ours:
            self._apply(ledger, report, decision, (), now(), single=True,
                        evidence=EvidenceLevel.SMTP)

    def _apply(self, ledger: Ledger, report: BounceReport,
               decision: Decision, verp: Iterable[str], received_at: datetime,
               single: bool, named: tuple[Campaign, str] | None = None,
               returned: bool = False, probe: Probe | None = None,
               evidence: EvidenceLevel = EvidenceLevel.UNVERIFIED,
               may_probe: bool = True) -> None:
        """Find the member a decision is about, weigh the evidence, and
        hand it to the ledger.

        `named`: the (campaign, email) a token names; `returned`: that
        token was the copy's return token (it verifies); `probe`: the open
        probe whose token the bounce was sent to (it verifies).
        """
        mlist = ledger.mlist
        recipient = decision.recipient
        candidates: list[str | None] = [recipient.address,
                                        recipient.original_address]
        # A signed token names the member exactly, whatever address the
        # bounce reports (a forwarding target, a rewritten alias) when it
        # reports one recipient; with several, only that one.
        named_email: str | None = named[1] if named else (
            str(probe.email) if probe is not None else None)
        if named_email is not None and (
                single or named_email in candidates):
            candidates.insert(0, named_email)
        if single:
            # A VERPed -bounces address names the member even when the
            # bounce names a forwarding target instead (not verified: the
            # address is readable, not signed).
            candidates.extend(verp)
        member, email = None, recipient.address
        for candidate in dict.fromkeys(
                each.lower() for each in candidates if each):
            member = mlist.members.get_member(candidate)
            if member is not None:
                email = candidate
                break
        if member is None:
            log.info('bouncerules: a bounce names a non-member of %s (%s)',
                     mlist.list_id, decision.explain())
            return
        if decision.action == Action.UNSUBSCRIBE and \
                email.lower() != recipient.address.lower():
            decision = _failed_further_on(decision)
        is_named = named_email is not None and \
            email.lower() == named_email.lower()
        store = config.db.store
        if is_named and named is not None and returned:
            evidence = spend(store, mlist.list_id, EvidenceLevel.TOKEN,
                             named[0].id, email, decision, received_at)
        elif is_named and probe is not None:
            evidence = spend(store, mlist.list_id, EvidenceLevel.PROBE,
                             probe.id, email, decision, received_at)
        if probe is not None and is_named and named is None:
            campaign, how = None, 'probe'
        else:
            campaign, how = attribute(store, mlist.list_id, report.original,
                                      received_at, lambda: campaign_kind(member),
                                      by_token=named[0] if named and is_named
                                      else None)
        ledger.apply(member, email, decision, campaign, how,
                                   received_at, evidence=evidence,
                                   probe=probe if evidence is EvidenceLevel.PROBE
                                   else None, may_probe=may_probe)


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


# Mailman's outgoing runner writes the server's reply into its stand-in DSN
# with str.format, so a reply that smtplib gave as bytes reads b'...'.
_BYTES_REPLY = re.compile(r'^(Error message: )(b([\'"]).{0,4000}\3)[ \t]*$',
                          re.MULTILINE)


def _read_reply_as_text(msg: Message) -> None:
    """Turn the b'...' of Mailman's stand-in DSN back into the server's
    words, so that history, notices and the panel show the reply."""
    text = msg.get_payload()
    if not isinstance(text, str):
        return

    def as_text(match: re.Match) -> str:
        try:
            value = ast.literal_eval(match.group(2))
        except (ValueError, SyntaxError):
            return match.group(0)
        if not isinstance(value, bytes):
            return match.group(0)
        return match.group(1) + value.decode('utf-8', 'replace')
    readable = _BYTES_REPLY.sub(as_text, text)
    if readable != text:
        msg.set_payload(readable)


def _failed_further_on(decision: Decision) -> Decision:
    """The decision for a member whose own address was not the one that
    failed: the bounce names an address the member's mail went on to (a
    forward's target, an alias's mailbox), reached through the DSN's
    Original-Recipient, a VERP address or a token.  The member's address
    exists, so the failure is counted, never a removal at once (as for
    Exim's hidden redirects)."""
    return replace(decision, action=Action.COUNT, evidence=replace(
        decision.evidence, facts=decision.evidence.facts + (
            'failed further on, at %s' % decision.recipient.address,)))
