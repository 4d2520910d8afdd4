"""What the plugin announces, as zope.event events, for other plugins.

Subscribe with `zope.event.subscribers.append(handler)` and test the type
with isinstance().  Events fire inside the transaction that makes the
change; a handler that raises aborts it.
"""

from dataclasses import dataclass

from public import public


@public
@dataclass
class BounceClassified:
    """A bounce for a member was classified and recorded."""
    mlist: object
    email: str
    decision: object            # rules.ruleset.Decision
    campaign: object            # model.Campaign or None
    counted: bool               # a hard bounce that counts (first for its campaign)


@public
@dataclass
class BounceConfirmed:
    """Hard bounces in enough consecutive campaigns: delivery stopped."""
    mlist: object
    email: str
    run: int


@public
@dataclass
class MemberRemoved:
    """A rule with action `unsubscribe` removed the member."""
    mlist: object
    email: str
    decision: object


@public
@dataclass
class BounceRunReset:
    """The member showed life (open, post) or was re-enabled."""
    mlist: object
    email: str
    why: str                    # 'open', 'post' or 'reenable'
