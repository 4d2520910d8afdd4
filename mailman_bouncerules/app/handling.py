"""Handling one bounce for one list: classify, attribute, record, act.

Used by the bounce runner (every message to a list's -bounces address),
by the IBounceProcessor override (refusals at SMTP time), by the REST
`classify` resource and by the demo.  Runs inside the caller's transaction:
a crash anywhere leaves nothing half applied.
"""

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from email.message import Message

from mailman.app.bounces import StandardVERP, maybe_forward
from mailman.config import config
from mailman.interfaces.mailinglist import IMailingList
from mailman.interfaces.member import IMember
from mailman.utilities.datetime import now
from public import public
from zope.component import getUtility

from mailman_bouncerules.app.campaigns import attribute, campaign_kind, latest_campaign
from mailman_bouncerules.app.evidence import EvidenceLevel
from mailman_bouncerules.app.ledger import Ledger
from mailman_bouncerules.app.probes import probe_named
from mailman_bouncerules.app.tracking import resolve
from mailman_bouncerules.app.untrusted import printable
from mailman_bouncerules.classify.classifier import Classifier
from mailman_bouncerules.classify.parsing.codes import first_smtp_code, first_status
from mailman_bouncerules.classify.report import BounceReport, RecipientReport
from mailman_bouncerules.classify.rules.ruleset import Decision
from mailman_bouncerules.interfaces import Action, IClassifier, Kind
from mailman_bouncerules.model.storage import (
    insert_ignoring_duplicates,
    normalize_message_id,
)
from mailman_bouncerules.model.tables import Campaign, Probe, SeenBounce

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
               forward: bool = True) -> bool:
        """Process a bounce sent to the list; False if not recognised.

        An unrecognised message is offered to Mailman's
        `forward_unrecognized_bounces_to`, as stock Mailman does (unless
        `forward` is false: stock Mailman itself will).
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
        candidates = self._token_candidates(mlist, msg, report)
        token = self._token(mlist, candidates)
        probe = None if token else probe_named(config.db.store, mlist,
                                               candidates)
        single = len(decisions) == 1
        for decision in decisions:
            self._apply(mlist, report, decision, verp, received_at,
                        single=single, token=token, probe=probe)
        return True

    def _token_candidates(self, mlist: IMailingList, msg: Message,
                          report: BounceReport) -> list[str]:
        """Tokens the bounce carries: in the VERP address it was sent to,
        or in the returned original's X-BounceRules-Token header."""
        local = mlist.bounces_address.partition('@')[0]
        pattern = re.compile(r'%s%s([a-z2-7]{12,40})@' % (
            re.escape(local), re.escape(config.mta.verp_delimiter)),
            re.IGNORECASE)
        candidates: list[str] = []
        for header in _ENVELOPE_HEADERS:
            for value in (msg.get_all(header) or ())[:10]:
                candidates.extend(pattern.findall(str(value)[:2000])[:10])
        if report.original.token:
            candidates.append(report.original.token.strip())
        return candidates

    def _token(self, mlist: IMailingList,
               candidates: list[str]) -> tuple[Campaign, str] | None:
        """(campaign, email) named by a valid campaign token of this list."""
        for candidate in candidates:
            found = resolve(config.db.store, candidate.lower(), mlist.list_id)
            if found is not None:
                return found
        return None

    def handle_smtp_failure(self, mlist: IMailingList, email: str,
                            msg: Message) -> None:
        """A permanent refusal at SMTP time, as Mailman's outgoing runner
        reports it: a short text naming the code and the server's words.
        The list's own delivery got it, so it is verified evidence."""
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
        for decision in ours:
            self._apply(mlist, report, decision, (), now(), single=True,
                        evidence=EvidenceLevel.SMTP)

    def _apply(self, mlist: IMailingList, report: BounceReport,
               decision: Decision, verp: Iterable[str], received_at: datetime,
               single: bool, token: tuple[Campaign, str] | None = None,
               probe: Probe | None = None,
               evidence: EvidenceLevel = EvidenceLevel.UNVERIFIED) -> None:
        recipient = decision.recipient
        candidates: list[str | None] = [recipient.address,
                                        recipient.original_address]
        # A signed token names the member exactly, whatever address the
        # bounce reports (a forwarding target, a rewritten alias) when it
        # reports one recipient; with several, only that one is verified.
        verified_email: str | None = token[1] if token else (
            str(probe.email) if probe is not None else None)
        if verified_email is not None and (
                single or verified_email in candidates):
            candidates.insert(0, verified_email)
        if single:
            # A VERPed -bounces address names the member even when the
            # bounce names a forwarding target instead (not verified: the
            # address is readable, not signed).
            candidates.extend(verp)
        member, email = None, recipient.address
        for candidate in filter(None, candidates):
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
        verified = verified_email is not None and \
            email.lower() == verified_email.lower()
        if verified and token is not None:
            evidence = EvidenceLevel.TOKEN
        elif verified:
            evidence = EvidenceLevel.PROBE
        store = config.db.store
        if evidence is EvidenceLevel.PROBE:
            campaign, how = None, 'probe'
        else:
            campaign, how = attribute(store, mlist.list_id, report.original,
                                      received_at, campaign_kind(member),
                                      by_token=token[0] if token and verified
                                      else None)
        Ledger(mlist, store).apply(member, email, decision, campaign, how,
                                   received_at, evidence=evidence,
                                   probe=probe if evidence is EvidenceLevel.PROBE
                                   else None)


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


@public
def latest_sequence(mlist: IMailingList, member: IMember | None) -> int:
    """The newest campaign the member could have seen, or 0."""
    campaign = latest_campaign(config.db.store, mlist.list_id,
                               campaign_kind(member))
    return campaign.sequence if campaign else 0
