"""Handling one bounce for one list, in one pass, one way.

Used by the bounce runner (every message to a list's -bounces address),
by the IBounceProcessor override (refusals at SMTP time), by the REST
`classify` resource and by the demo.  Runs inside the caller's transaction:
a crash anywhere leaves nothing half applied.

The pass: the bounce seen once (duplicates change nothing) → classified
→ what its envelope proves (evidence.py) → for each failed recipient, the
member, the evidence and the campaign → the standing applies it (reads
the facts, asks the state machine once, writes) → a circuit-breaker trip
takes back what its campaign already did (holds.py).
"""

import hashlib
import logging
from datetime import datetime
from email.message import Message

from mailman.app.bounces import maybe_forward
from mailman.config import config
from mailman.interfaces.mailinglist import IMailingList
from mailman.utilities.datetime import now
from public import public
from zope.component import getUtility

from mailman_bouncerules.app.campaigns import attribute, campaign_kind
from mailman_bouncerules.app.evidence import Envelope, member_of, weigh
from mailman_bouncerules.app.holds import HeldDecisions
from mailman_bouncerules.app.ledger import Ledger
from mailman_bouncerules.app.policy import ListPolicy
from mailman_bouncerules.classify.classifier import Classifier
from mailman_bouncerules.classify.parsing.refusal import (
    read_reply_as_text,
    refused_recipient,
)
from mailman_bouncerules.classify.report import BounceReport
from mailman_bouncerules.classify.rules.ruleset import Decision
from mailman_bouncerules.interfaces import (
    Attribution,
    EvidenceLevel,
    IClassifier,
    Kind,
)
from mailman_bouncerules.model.storage import (
    insert_ignoring_duplicates,
    normalize_message_id,
)
from mailman_bouncerules.model.tables import SeenBounce
from mailman_bouncerules.utilities.untrusted import printable

log = logging.getLogger('mailman.bounce')


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
        key = bounce_key(msg)
        if not insert_ignoring_duplicates(
                store, SeenBounce, list_id=mlist.list_id, message_key=key,
                seen_at=received_at):
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
        envelope = Envelope.read(store, mlist, msg, report, decisions, key,
                                 received_at)
        ledger = Ledger(mlist, store, policy)
        single = len(decisions) == 1
        for decision in decisions:
            self._apply(ledger, report, decision, envelope, received_at,
                        single)
        return True

    def handle_smtp_failure(self, mlist: IMailingList, email: str,
                            msg: Message) -> None:
        """A permanent refusal at SMTP time, as Mailman's outgoing runner
        reports it: a short text naming the code and the server's words.
        The list's own delivery got it, so it is verified evidence."""
        read_reply_as_text(msg)
        report, decisions = self.classifier.classify(msg)
        ours = [d for d in decisions if d.recipient.address == email.lower()]
        if not ours:
            # Not recognised as a report on `email`: classify the text as
            # the server's reply to that address.
            ours = [self.classifier.ruleset.decide(
                Kind.BOUNCE, refused_recipient(email, msg))]
        ledger = Ledger(mlist, config.db.store)
        for decision in ours:
            self._apply(ledger, report, decision, Envelope(), now(), True,
                        EvidenceLevel.SMTP)

    def _apply(self, ledger: Ledger, report: BounceReport, decision: Decision,
               envelope: Envelope, received_at: datetime, single: bool,
               evidence: EvidenceLevel | None = None) -> None:
        """Find the member a decision is about, weigh the evidence (unless
        the caller knows it), find the campaign, and apply it."""
        mlist = ledger.mlist
        found = member_of(mlist, decision, envelope, single)
        if found is None:
            log.info('bouncerules: a bounce names a non-member of %s (%s)',
                     mlist.list_id, decision.explain())
            return
        member, email, decision = found
        store = config.db.store
        if evidence is None:
            evidence = weigh(store, mlist.list_id, envelope, email, decision,
                             received_at)
        named = envelope.names(email)
        if envelope.probe is not None and named and envelope.named is None:
            campaign, how = None, Attribution.PROBE
        else:
            campaign, how = attribute(
                store, mlist.list_id, report.original, received_at,
                lambda: campaign_kind(member),
                by_token=envelope.named[0] if envelope.named and named
                else None)
        applied = ledger.apply(
            member, email, decision, campaign, how, received_at,
            evidence=evidence,
            probe=envelope.probe if evidence is EvidenceLevel.PROBE else None,
            may_probe=envelope.may_probe(decision))
        if applied.tripped is not None and campaign is not None:
            HeldDecisions(ledger).take_back(applied.tripped, campaign,
                                            received_at)
