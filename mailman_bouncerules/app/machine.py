"""A member's bounce state as pure functions: no Mailman, no database.

    (standing, what happened, circumstances) -> (new standing, effect)

The ledger (ledger.py) reads the facts (which campaigns hard-bounced and
the runs they make, whether the evidence is verified, whether shadow mode
is on, whether a circuit-breaker hold covers the member), asks here what
follows, and carries out the effect: membership changes, notices, events,
Mailman's mirrored fields and the history.  Shadow mode is the effect
SHADOW (record what would be done), the breaker the effect HOLD (keep it
back under the hold); an unverified removal or confirmation is PROBE.

Every transition is a row of the tables in tests/test_machine.py.
"""

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from public import public

from mailman_bouncerules.interfaces import Action, Change, Classification, State


@public
class Effect(StrEnum):
    """What the ledger does for a change, given the circumstances."""
    PROBE = 'probe'             # unverified evidence: ask the mailbox first
    SHADOW = 'shadow'           # shadow mode: record what would be done
    HOLD = 'hold'               # a circuit-breaker hold keeps it back
    REMOVE = 'remove'           # unsubscribe now
    CONFIRM = 'confirm'         # stop delivery now


@public
@dataclass(frozen=True)
class Standing:
    """A member's bounce state: the state, the run of consecutive
    hard-bounced campaigns, and whether the state is only what shadow
    mode would have done."""
    state: State = State.OK
    run: int = 0
    shadow: bool = False


@public
@dataclass(frozen=True)
class Bounce:
    """One classified bounce, as the ledger found it.

    `counted`: a hard bounce counted now, for a campaign of this member
    not counted before (and not voided by a reset); `run_newest` and
    `run_through`: the runs of counted campaigns ending at the newest one
    and running through this bounce's campaign (both with this one);
    `probe_change`: a probe sent to this address alone bounced hard, and
    this change was waiting for it.
    """
    classification: Classification
    action: Action
    campaign: bool = True
    counted: bool = False
    run_newest: int = 0
    run_through: int = 0
    probe_change: Change | None = None


@public
def after_bounce(standing: Standing, bounce: Bounce,
                 confirm_after: int | None) -> tuple[Standing, Change | None]:
    """The standing a bounce leaves, and the change it calls for.

    A change called for is not yet carried out: `enforce` says how.
    `confirm_after` (the list's setting) is read only for a counted hard
    bounce of a member not yet confirmed; the ledger looks it up only then.
    """
    state, run = standing.state, standing.run
    change = None
    if bounce.action is Action.UNSUBSCRIBE:
        change = Change.REMOVE
    if bounce.action is Action.COUNT and bounce.campaign:
        if bounce.counted and state is not State.CONFIRMED:
            if confirm_after is None:
                raise ValueError('a counted bounce needs confirm_after')
            run = bounce.run_newest
            if max(bounce.run_through, run) >= confirm_after:
                run = max(bounce.run_through, run)
                change = Change.CONFIRM
            else:
                state = State.HARD
    elif state in (State.OK, State.SOFT) and \
            bounce.classification is not Classification.COMPLAINT:
        # Flagged only: a soft bounce, or a hard one with no campaign to
        # count it against.
        state = (State.SOFT if bounce.classification is Classification.SOFT
                 else State.HARD)
    if bounce.probe_change is not None and \
            bounce.classification is Classification.HARD and \
            change is not Change.REMOVE:
        change = bounce.probe_change
    if change is Change.CONFIRM and state is State.CONFIRMED:
        change = None           # confirmed already
    if change is not None and state is not State.CONFIRMED:
        # Hard until the change is carried out, if it ever is.
        state = State.HARD
    return replace(standing, state=state, run=run), change


@public
def enforce(standing: Standing, change: Change, *, verified: bool,
            shadow: bool, held: bool,
            newest_run: int = 0) -> tuple[Standing, Effect | None]:
    """How a removal or confirmation is carried out, or kept back; None
    when there is nothing to do (a confirmation of a confirmed member).

    Unverified evidence: shadow mode records it, otherwise a probe goes
    first.  Verified: a hold keeps it back (in shadow mode too, so that
    ending shadow mode does not carry out what an incident caused); else
    shadow mode records it, or it is done.  `newest_run`: the run ending
    at the member's newest counted campaign, which a confirmation shows
    (shadow mode's record keeps the run it had).
    """
    if change is Change.CONFIRM and standing.state is State.CONFIRMED:
        return standing, None
    if not verified and not shadow:
        return standing, Effect.PROBE
    if verified and held:
        return held_back(standing), Effect.HOLD
    if shadow:
        return Standing(State.REMOVED if change is Change.REMOVE
                        else State.CONFIRMED,
                        0 if change is Change.REMOVE else standing.run,
                        True), Effect.SHADOW
    if change is Change.REMOVE:
        return replace(standing, state=State.REMOVED, run=0), Effect.REMOVE
    return replace(standing, state=State.CONFIRMED,
                   run=max(standing.run, newest_run)), Effect.CONFIRM


@public
def held_back(standing: Standing) -> Standing:
    """A change a circuit-breaker hold keeps back, or takes back after the
    fact: the member is hard (a confirmed one stays confirmed) until an
    owner releases or discards the hold."""
    if standing.state is State.CONFIRMED:
        return standing
    return replace(standing, state=State.HARD)


@public
def after_reset(standing: Standing, run: int) -> Standing | None:
    """The member showed life (an open, a post): hard bounces up to the
    reset no longer count, and `run` is what is left.  None: confirmed and
    removed members are not reset (only an admin's re-enable or undo
    brings them back), unless that state is only shadow mode's record."""
    if standing.state in (State.CONFIRMED, State.REMOVED) \
            and not standing.shadow:
        return None
    return Standing(State.OK if run == 0 else State.HARD, run, False)


@public
def after_reenable(standing: Standing) -> Standing:
    """An admin's re-enable: deliver again, the run forgotten."""
    return Standing(State.OK, 0, standing.shadow)


@public
def after_undo(standing: Standing) -> Standing:
    """An admin's undo of a removal or confirmation: the run starts over."""
    return Standing(State.OK, 0, standing.shadow)


@public
def after_discard(standing: Standing, run: int) -> Standing:
    """A hold discarded: its campaign's hard bounces no longer count and
    `run` is what is left; a member only flagged hard by it is fine."""
    state = (State.OK if run == 0 and standing.state is State.HARD
             else standing.state)
    return replace(standing, state=state, run=run)


@public
def after_shadow_ends(standing: Standing, run: int) -> Standing:
    """Shadow mode ends: a recorded removal or confirmation is no longer
    a state; the member is hard with `run` until it is carried out."""
    return Standing(State.HARD, run, False)


@public
def standing_of(row: Any) -> Standing:
    """The standing of a member's state row (anything with `state`, `run`
    and `shadow`: the ledger's MemberState)."""
    return Standing(State(row.state), row.run, bool(row.shadow))


@public
def take(row: Any, standing: Standing) -> None:
    """Write a standing into a member's state row."""
    row.state = standing.state.value
    row.run = standing.run
    row.shadow = standing.shadow
