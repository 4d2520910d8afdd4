"""The plugin's own tables in Mailman's database.

They live beside Mailman's, prefixed `bouncerules_`, with no foreign keys
into Mailman's tables (lists and members are named by List-ID and email),
so that Mailman's own migrations never see or touch them.  Their schema is
versioned by the plugin's alembic migrations (see database.py).
"""

from datetime import datetime

from public import public
from sqlalchemy import (
    Boolean,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped

from mailman_bouncerules.interfaces import (
    CampaignKind,
    Change,
    HoldScope,
    HoldStatus,
    ProbeStatus,
    State,
)
from mailman_bouncerules.model.declarative import Base, mapped_column, stored

POST, DIGEST = CampaignKind
OK, SOFT, HARD, CONFIRMED, REMOVED = State
STATES = tuple(state.value for state in State)


@public
class ListSettings(Base):
    """Per-list counters and settings."""
    __tablename__ = 'bouncerules_list'

    list_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    post_sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    digest_sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Hard bounces in this many consecutive campaigns confirm a bounce;
    # None: the site default.
    confirm_after: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Open tracking (tokens, pixel): off unless the list owner turns it on.
    tracking: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                           server_default=false())
    # Shadow mode: decide and record, change nothing; None: site default.
    shadow: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # The owner report: 'off', 'daily' or 'weekly', and when it last went.
    report: Mapped[str] = mapped_column(String(10), nullable=False, default='off',
                                        server_default='off')
    last_report_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # When the owners were last told that probes wait for the budget, and
    # of a notice naming many members (each at most once a day).
    budget_told_at: Mapped[datetime | None] = mapped_column(DateTime)
    suspicious_told_at: Mapped[datetime | None] = mapped_column(DateTime)


@public
class Campaign(Base):
    """One list post or one digest as Mailman delivered it."""
    __tablename__ = 'bouncerules_campaign'
    __table_args__ = (
        UniqueConstraint('list_id', 'message_id'),
        UniqueConstraint('list_id', 'kind', 'sequence'),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    message_id: Mapped[str] = mapped_column(String(998), nullable=False)
    sent_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    # how many it went to
    recipients: Mapped[int | None] = mapped_column(Integer, nullable=True)


@public
class MemberState(Base):
    """What the plugin knows of one address on one list."""
    __tablename__ = 'bouncerules_member'
    __table_args__ = (UniqueConstraint('list_id', 'email'),
                      Index('ix_bouncerules_member_state', 'list_id', 'state'))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[str] = mapped_column(String(255), nullable=False)
    email: Mapped[str] = mapped_column(String(255), nullable=False)
    state: Mapped[str] = mapped_column(String(10), nullable=False, default=OK)
    run: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Hard bounces of campaigns up to this sequence no longer count: the
    # member showed life (an open, a post) or was re-enabled after them.
    reset_after: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_bounce_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_classification: Mapped[str | None] = mapped_column(String(10))
    last_rule: Mapped[str | None] = mapped_column(String(100))
    last_status: Mapped[str | None] = mapped_column(String(20))
    last_smtp_code: Mapped[str | None] = mapped_column(String(3))
    last_campaign: Mapped[str | None] = mapped_column(String(998))
    changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The state was reached in shadow mode: what *would* have happened.
    shadow: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False,
                                         server_default=false())
    # The evidence of the last bounce (evidence.Evidence).
    last_evidence: Mapped[str | None] = mapped_column(String(12))
    # When its mail last failed hard on verified evidence: such a member's
    # probe goes first when probes wait.
    verified_failure_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When the member was last asked for a probe (None: never, so a bounce
    # needs not look for its probes).
    probed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Uncounted bounces on unverified evidence in its history: past the
    # ledger's bound, the oldest are deleted as new ones come.
    unverified_kept: Mapped[int] = mapped_column(Integer, nullable=False,
                                                 default=0, server_default='0')


@public
class HardBounce(Base):
    """A campaign in which the member hard-bounced: counted once each."""
    __tablename__ = 'bouncerules_hard'

    list_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    email: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True)


class DecisionColumns:
    """What keeps a decision of the rules on a row: a history row's, a
    held decision's (the same names, so either can be carried out)."""

    classification: Mapped[str | None] = mapped_column(String(10))
    action: Mapped[str | None] = mapped_column(String(12))
    rule: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str | None] = mapped_column(String(20))
    smtp_code: Mapped[str | None] = mapped_column(String(3))
    diagnostic: Mapped[str | None] = mapped_column(Text)
    campaign: Mapped[str | None] = mapped_column(String(998))


@public
class Event(DecisionColumns, Base):
    """The history: every bounce, reset, open, confirmation and removal."""
    __tablename__ = 'bouncerules_event'
    __table_args__ = (Index('ix_bouncerules_event_member', 'list_id', 'email'),
                      # The daily cap counts a list's recent removals.
                      Index('ix_bouncerules_event_kind', 'list_id', 'event',
                            'at'),
                      # Pruning takes the oldest rows first.
                      Index('ix_bouncerules_event_at', 'at'))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[str] = mapped_column(String(255), nullable=False)
    email: Mapped[str] = mapped_column(String(255), nullable=False)
    event: Mapped[str] = mapped_column(String(20), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    attribution: Mapped[str | None] = mapped_column(String(12))
    counted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    detail: Mapped[str | None] = mapped_column(Text)
    # What an undo needs to restore (JSON), and who acted, for admin events.
    snapshot: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(255))
    hold_id: Mapped[int | None] = mapped_column(Integer)  # a decision the breaker holds
    # How far the list can trust the bounce: see evidence.Evidence.
    evidence: Mapped[str | None] = mapped_column(String(12))


@public
class Open(Base):
    """A member opened a campaign (pixel, REST, command line)."""
    __tablename__ = 'bouncerules_open'

    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255), primary_key=True)
    first_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


@public
class CampaignDomain(Base):
    """How many recipients of a campaign were at each receiving domain."""
    __tablename__ = 'bouncerules_campaign_domain'

    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    recipients: Mapped[int] = mapped_column(Integer, nullable=False)


@public
class Failures(Base):
    """Members of a campaign failing by one rule, per domain ('*': all).

    Kept as running counts so the circuit breaker's test costs the same
    for the first bounce of a storm as for the five-thousandth.
    """
    __tablename__ = 'bouncerules_failures'

    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    rule: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


# What the circuit breaker did with the decisions it held.
HELD, RELEASED, DISCARDED = HoldStatus
# What tripped it: one campaign, the list's recent failures, the daily cap.
CAMPAIGN_SCOPE, WINDOW_SCOPE, CAP_SCOPE = HoldScope


@public
class Hold(Base):
    """The circuit breaker tripped for a campaign at a domain ('*': all),
    for a list's recent failures at a domain, or at the daily cap."""
    __tablename__ = 'bouncerules_hold'
    __table_args__ = (UniqueConstraint('campaign_id', 'domain'),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    # None for a window or cap hold (NULLs never collide in the key).
    campaign_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scope: Mapped[HoldScope] = mapped_column(
        stored(HoldScope), nullable=False, default=HoldScope.CAMPAIGN,
        server_default=HoldScope.CAMPAIGN.value)
    domain: Mapped[str] = mapped_column(String(255), nullable=False)
    rule: Mapped[str] = mapped_column(String(100), nullable=False)
    failures: Mapped[int] = mapped_column(Integer, nullable=False)
    recipients: Mapped[int] = mapped_column(Integer, nullable=False)
    sample: Mapped[str | None] = mapped_column(Text)
    tripped_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    status: Mapped[HoldStatus] = mapped_column(stored(HoldStatus),
                                               nullable=False,
                                               default=HoldStatus.HELD)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    actor: Mapped[str | None] = mapped_column(String(255))
    # When the owners were told of it (None: in the next daily digest).
    told_at: Mapped[datetime | None] = mapped_column(DateTime)


@public
class HeldDecision(DecisionColumns, Base):
    """A removal or confirmation a circuit-breaker hold keeps back, with
    the decision that asked for it, until an owner releases or discards
    the hold."""
    __tablename__ = 'bouncerules_held'

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hold_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    list_id: Mapped[str] = mapped_column(String(255), nullable=False)
    email: Mapped[str] = mapped_column(String(255), nullable=False)
    change: Mapped[Change] = mapped_column(stored(Change), nullable=False)
    held_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    evidence: Mapped[str | None] = mapped_column(String(12))


@public
class ShadowDecision(DecisionColumns, Base):
    """What shadow mode recorded it would do to a member (the newest such
    decision of each), carried out when shadow mode ends if it still
    holds; the history keeps its `would-*` row as history."""
    __tablename__ = 'bouncerules_shadowed'

    list_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    email: Mapped[str] = mapped_column(String(255), primary_key=True)
    change: Mapped[Change] = mapped_column(stored(Change), nullable=False)
    decided_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    evidence: Mapped[str | None] = mapped_column(String(12))


@public
class SeenBounce(Base):
    """Bounce messages already processed: the same one twice changes nothing."""
    __tablename__ = 'bouncerules_seen'
    __table_args__ = (Index('ix_bouncerules_seen_at', 'seen_at'),)

    list_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    message_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


@public
class WindowFailures(Base):
    """Hard failures on a list per hour, bucket and domain ('*': all).

    The bucket is the campaign kind the failure was tied to, or 'none' for
    a notice that matches no campaign: a flood of those must trip the
    breaker too, and cannot hide among the posts.
    """
    __tablename__ = 'bouncerules_window'

    list_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    # hours since the epoch
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[str] = mapped_column(String(10), primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


# What became of a verification probe.
PROBE_QUEUED, PROBE_SENT, PROBE_BOUNCED, PROBE_EXPIRED, PROBE_SUPERSEDED = (
    ProbeStatus)
PROBES_OPEN = (PROBE_QUEUED, PROBE_SENT)


@public
class Probe(Base):
    """A verification probe: unverified evidence would remove or confirm a
    member, so the list mails the member itself, from a signed envelope
    sender, and acts only if that mail bounces."""
    __tablename__ = 'bouncerules_probe'
    __table_args__ = (Index('ix_bouncerules_probe_open', 'status', 'due_at'),
                      Index('ix_bouncerules_probe_member', 'list_id', 'email'),
                      Index('ix_bouncerules_probe_address', 'email', 'sent_at'),
                      Index('ix_bouncerules_probe_decided', 'decided_at'))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[str] = mapped_column(String(255), nullable=False)
    email: Mapped[str] = mapped_column(String(255), nullable=False)
    # The waiting change: 'remove' or 'confirm'.
    change: Mapped[str] = mapped_column(String(10), nullable=False)
    status: Mapped[ProbeStatus] = mapped_column(stored(ProbeStatus),
                                                nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Queued: when the budget is checked again; sent: when it expires.
    due_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The decision that asked for it, carried out when the probe bounces
    # (its rule says why the member is removed).
    rule: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(String(40))
    classification: Mapped[str | None] = mapped_column(String(10))
    action: Mapped[str | None] = mapped_column(String(12))
    reply_status: Mapped[str | None] = mapped_column(String(20))
    smtp_code: Mapped[str | None] = mapped_column(String(3))
    diagnostic: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(String(12))
    campaign: Mapped[str | None] = mapped_column(String(998))
    # Sent first when the budget is short: 1 for a member with a history
    # of verified failures, 0 otherwise.
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=0,
                                          server_default='0')


@public
class SpentEvidence(Base):
    """A return or probe token that verified a hard failure once: a second
    notice carrying it (a replay, a copy) verifies nothing."""
    __tablename__ = 'bouncerules_spent'

    list_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    # 'return' (the id is the campaign's) or 'probe' (the probe's).
    purpose: Mapped[str] = mapped_column(String(10), primary_key=True)
    ref: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(255), primary_key=True)
    spent_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
