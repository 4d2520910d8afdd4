"""The plugin's contracts, so that other plugins can use or replace parts."""

from enum import StrEnum
from typing import Any

from public import public
from zope.interface import Attribute, Interface


@public
class IRule(Interface):
    """One named, ordered test on a recipient's report, with its verdict."""

    name = Attribute('Unique name; admins override or disable rules by it.')
    classification = Attribute("'hard', 'soft' or 'complaint'.")
    action = Attribute("'unsubscribe', 'count' or 'record'.")
    reason = Attribute('A one-word reason, e.g. userunknown or mailboxfull.')
    description = Attribute('Why the rule exists, in words for an admin.')

    def match(kind: str, recipient: Any, reading: Any = None) -> Any:
        """Return the `Evidence` if the rule applies, else None.

        `reading` is what a rule set worked out of the recipient once for
        all its rules (`Reading`), if known.
        """


@public
class IRuleSet(Interface):
    """The ordered rules in force; the first that matches decides."""

    rules = Attribute('The enabled rules, in the order they are tried.')

    def decide(kind: 'Kind', recipient: Any) -> Any:
        """Return the `Decision` for one recipient of a report of `kind`."""


@public
class IClassifier(Interface):
    """Reads a bounce and decides, per recipient, what it means."""

    ruleset = Attribute('The IRuleSet it decides with.')

    def classify(message: Any) -> Any:
        """Return (BounceReport, list of Decision) for bytes or a Message."""


@public
class IBounceStandings(Interface):
    """One list's bounce standings: what a bounce, a sign of life or an
    owner's decision does to a member.  An adapter of IMailingList
    (`IBounceStandings(mlist)`), as core's per-list managers are."""

    def state_of(email: str, lock: bool = False) -> Any:
        """The member's standing row (`MemberState`), or None if it never
        had one."""

    def apply(member: Any, email: str, decision: Any, campaign: Any,
              attribution: str, at: Any, evidence: Any = None,
              probe: Any = None, may_probe: bool = True) -> Any:
        """Record one classified bounce and act on it as the state
        machine says; returns what was applied (`Applied`)."""

    def reset(member: Any, email: str, why: str, sequence: Any,
              at: Any = None) -> bool:
        """The member showed life (an open, a post): hard bounces up to
        campaign `sequence` no longer count.  True if reset."""

    def reenable(member: Any, email: str, latest_sequence: Any,
                 at: Any = None) -> Any:
        """An owner's decision: deliver again and forget the run."""

    def undo(email: str, actor: str, latest_sequence: Any,
             at: Any = None) -> Any:
        """Take back the last removal or confirmation; LookupError if
        there is none."""


@public
class IBounceAdmin(Interface):
    """What a list's owners ask and do: the one implementation behind
    `mailman bouncerules` and the REST.  An adapter of IMailingList
    (`IBounceAdmin(mlist)`).  Answers are JSON-able rows; errors are
    `AdminError`s (NotFoundError, ConflictError) fit to show."""

    mlist = Attribute('The IMailingList it reports on and acts for.')

    def stats() -> dict:
        """The list's counts by state."""

    def settings() -> dict:
        """The list's settings."""

    def configure(confirm_after: Any = None, tracking_on: Any = None,
                  shadow_on: Any = None, report: Any = None) -> dict:
        """Change what is given; return all the list's settings."""

    def member(email: str) -> dict:
        """One current member's row."""

    def members(state: Any = None) -> list:
        """Every current member's row (or, for state removed, each removed
        address's), sorted by address."""

    def member_rows(state: Any = None, search: Any = None,
                    held: bool = False, campaign: Any = None,
                    bounced: Any = None) -> Any:
        """The members' rows as a sequence the database pages."""

    def history(email: str, newest_first: bool = False) -> list:
        """A member's history."""

    def record_open(email: str, campaign: Any = None) -> dict:
        """An open of a campaign, as a tracker or an ESP reports it."""

    def reenable(email: str) -> dict:
        """Deliver to the member again; ConflictError if nothing to do."""

    def undo(email: str, actor: str) -> dict:
        """Take back the last removal or confirmation."""

    def holds() -> list:
        """The circuit breaker's holds, newest first."""

    def decide_hold(hold_id: int, release: bool, actor: str) -> dict:
        """Release or discard a hold."""

    def open_rates() -> list:
        """Each campaign's open rate."""


# -- the vocabulary --------------------------------------------------------
# String enums: each member equals the word stored in the database, written
# in rule files and shown in JSON, so `State.CONFIRMED == 'confirmed'`.

@public
class Kind(StrEnum):
    """What kind of message a bounce address received."""
    BOUNCE = 'bounce'           # at least one recipient failed or was delayed
    FEEDBACK = 'feedback'       # RFC 5965 abuse/feedback report
    AUTOREPLY = 'autoreply'     # RFC 3834 auto-reply, e.g. out of office
    DELIVERED = 'delivered'     # success or relay notification only
    NOT_BOUNCE = 'not-bounce'   # nothing we recognise as a notification


@public
class Classification(StrEnum):
    """What a failure says about the address."""
    HARD = 'hard'               # permanently unusable
    SOFT = 'soft'               # a passing problem, or the sender's
    COMPLAINT = 'complaint'     # a feedback report, never a bounce


@public
class Action(StrEnum):
    """What a rule's verdict does to the member."""
    UNSUBSCRIBE = 'unsubscribe'     # remove at once (verified evidence only)
    COUNT = 'count'                 # counts toward a confirmed bounce
    RECORD = 'record'               # kept in the history only


@public
class Severity(StrEnum):
    PERMANENT = 'permanent'
    TEMPORARY = 'temporary'


@public
class State(StrEnum):
    """A member's bounce state, as `status` shows it."""
    OK = 'ok'
    SOFT = 'soft'
    HARD = 'hard'
    CONFIRMED = 'confirmed'
    REMOVED = 'removed'


@public
class EventName(StrEnum):
    """The kinds of row in a member's history (`history`, the REST)."""
    BOUNCE = 'bounce'                   # a classified bounce
    OPEN = 'open'                       # a reset: the member opened a post
    POST = 'post'                       # a reset: the member posted
    REENABLE = 'reenable'               # an owner re-enabled delivery
    UNDO = 'undo'                       # an owner undid a change
    CONFIRMED = 'confirmed'             # delivery stopped
    REMOVED = 'removed'                 # unsubscribed
    WOULD_CONFIRM = 'would-confirm'     # shadow mode's record
    WOULD_REMOVE = 'would-remove'       # shadow mode's record
    VERIFYING = 'verifying'             # a probe was sent first
    UNVERIFIED = 'unverified'           # no probe could be sent
    NOT_ENFORCED = 'not-enforced'       # shadow mode ended, record too old
    HELD = 'held'                       # the circuit breaker holds it
    RELEASED = 'released'               # an owner released the hold
    DISCARDED = 'discarded'             # an owner discarded the hold
    PROBE_SENT = 'probe-sent'
    PROBE_CLOSED = 'probe-closed'
    PROBE_EXPIRED = 'probe-expired'


@public
class CampaignKind(StrEnum):
    """One list post, or one digest, is one campaign."""
    POST = 'post'
    DIGEST = 'digest'


@public
class Attribution(StrEnum):
    """How a bounce was tied to its campaign, best first."""
    TOKEN = 'token'
    MESSAGE_ID = 'message-id'
    TIME = 'time'
    NONE = 'none'
    PROBE = 'probe'             # the bounce of a verification probe


@public
class Change(StrEnum):
    """What a bounce can call for beyond bookkeeping."""
    REMOVE = 'remove'           # unsubscribe the member
    CONFIRM = 'confirm'         # a confirmed bounce: stop delivery


@public
class HoldStatus(StrEnum):
    """What the circuit breaker did with the decisions it held."""
    HELD = 'held'
    RELEASED = 'released'
    DISCARDED = 'discarded'


@public
class HoldScope(StrEnum):
    """What tripped the breaker: one campaign, the list's recent
    failures, the daily cap."""
    CAMPAIGN = 'campaign'
    WINDOW = 'window'
    CAP = 'cap'


@public
class ProbeStatus(StrEnum):
    """What became of a verification probe."""
    QUEUED = 'queued'
    SENT = 'sent'
    BOUNCED = 'bounced'
    EXPIRED = 'expired'
    SUPERSEDED = 'superseded'


@public
class OwnerNotice(StrEnum):
    """The owners' notices that go at most once a day."""
    PROBE_BUDGET = 'probe-budget'       # probes wait: the budget is spent
    SUSPICIOUS = 'suspicious-report'    # one notice named many members


@public
class ReportFrequency(StrEnum):
    """How often the owners get the bounce report."""
    OFF = 'off'
    DAILY = 'daily'
    WEEKLY = 'weekly'


@public
class EvidenceLevel(StrEnum):
    """How far a bounce is trusted (see app/evidence.py)."""

    TOKEN = 'token'
    SMTP = 'smtp'
    PROBE = 'probe'
    UNVERIFIED = 'unverified'

    @classmethod
    def of(cls, recorded: str | None) -> 'EvidenceLevel':
        """The level a history row recorded (rows from before levels
        existed read as unverified)."""
        return cls(recorded or cls.UNVERIFIED.value)

    @property
    def verified(self) -> bool:
        return self is not EvidenceLevel.UNVERIFIED

    @property
    def described(self) -> str:
        return _DESCRIBED[self]


_DESCRIBED = {
    EvidenceLevel.TOKEN: 'verified by token',
    EvidenceLevel.SMTP: 'verified at SMTP time',
    EvidenceLevel.PROBE: 'verified by probe',
    EvidenceLevel.UNVERIFIED: 'unverified',
}
