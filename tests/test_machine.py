"""Every transition of the state machine, as tables (no Mailman here).

Each row: the standing before, what happened, and the standing and the
change or effect after.  The ledger's own tests (test_processing.py,
test_breaker.py, test_shadow.py, test_undo.py ...) check that it carries
these out; here the rules themselves are checked, and two safety
properties over every input.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailman_bouncerules.app.machine import (
    Bounce,
    Change,
    Effect,
    Standing,
    after_bounce,
    after_discard,
    after_reenable,
    after_reset,
    after_shadow_ends,
    after_undo,
    enforce,
    held_back,
    standing_of,
    take,
)
from mailman_bouncerules.interfaces import Action, Classification, State

OK, SOFT, HARD, CONFIRMED, REMOVED = State
UNSUBSCRIBE, COUNT, RECORD = Action
H, S, C = Classification.HARD, Classification.SOFT, Classification.COMPLAINT
REMOVE, CONFIRM = Change.REMOVE, Change.CONFIRM


def counted(newest, through=None):
    """A hard bounce counted for a new campaign."""
    return Bounce(H, COUNT, counted=True, run_newest=newest,
                  run_through=newest if through is None else through)


AFTER_BOUNCE = [
    # standing before, bounce, standing after, change called for
    (Standing(OK), Bounce(S, RECORD), Standing(SOFT), None),
    (Standing(OK), Bounce(H, RECORD), Standing(HARD), None),
    (Standing(OK), Bounce(C, RECORD), Standing(OK), None),
    (Standing(SOFT), Bounce(C, RECORD), Standing(SOFT), None),
    (Standing(HARD, 2), Bounce(S, RECORD), Standing(HARD, 2), None),
    # Counted hard bounces build the run; the third confirms.
    (Standing(SOFT), counted(1), Standing(HARD, 1), None),
    (Standing(HARD, 1), counted(2), Standing(HARD, 2), None),
    (Standing(HARD, 2), counted(3), Standing(HARD, 3), CONFIRM),
    # A late bounce that completes a run through an older campaign.
    (Standing(HARD, 2), counted(2, through=3), Standing(HARD, 3), CONFIRM),
    # The same campaign again (or one voided by a reset): nothing moves.
    (Standing(HARD, 2), Bounce(H, COUNT, counted=False), Standing(HARD, 2),
     None),
    # A countable bounce with no campaign to count it against: flagged.
    (Standing(OK), Bounce(H, COUNT, campaign=False), Standing(HARD), None),
    (Standing(SOFT), Bounce(H, COUNT, campaign=False), Standing(HARD), None),
    # Confirmed already: late bounces count, the state stays.
    (Standing(CONFIRMED, 3), counted(4), Standing(CONFIRMED, 3), None),
    # Immediate removal, from any state.
    (Standing(OK), Bounce(H, UNSUBSCRIBE), Standing(HARD), REMOVE),
    (Standing(HARD, 2), Bounce(H, UNSUBSCRIBE), Standing(HARD, 2), REMOVE),
    (Standing(CONFIRMED, 3), Bounce(H, UNSUBSCRIBE), Standing(CONFIRMED, 3),
     REMOVE),
    # A probe to this address alone bounced hard: what waited is verified.
    (Standing(HARD, 3), Bounce(H, RECORD, probe_change=CONFIRM),
     Standing(HARD, 3), CONFIRM),
    (Standing(HARD, 1), Bounce(H, COUNT, counted=False, probe_change=REMOVE),
     Standing(HARD, 1), REMOVE),
    (Standing(HARD, 3), Bounce(H, UNSUBSCRIBE, probe_change=CONFIRM),
     Standing(HARD, 3), REMOVE),
    # ... but a soft bounce of the probe verifies nothing.
    (Standing(HARD, 3), Bounce(S, RECORD, probe_change=CONFIRM),
     Standing(HARD, 3), None),
    (Standing(CONFIRMED, 3), Bounce(H, RECORD, probe_change=CONFIRM),
     Standing(CONFIRMED, 3), None),
]


@pytest.mark.parametrize('before, bounce, after, change', AFTER_BOUNCE)
def test_after_bounce(before, bounce, after, change):
    assert after_bounce(before, bounce, confirm_after=3) == (after, change)


def test_only_a_counted_bounce_needs_the_setting():
    assert after_bounce(Standing(OK), Bounce(S, RECORD), None) == (
        Standing(SOFT), None)
    with pytest.raises(ValueError):
        after_bounce(Standing(HARD, 1), counted(2), None)


def test_confirm_after_is_the_list_s_setting():
    assert after_bounce(Standing(HARD, 1), counted(2), 2) == (
        Standing(HARD, 2), CONFIRM)
    assert after_bounce(Standing(HARD, 3), counted(4), 5) == (
        Standing(HARD, 4), None)


ENFORCE = [
    # standing, change, verified, shadow, held, standing after, effect
    (Standing(HARD, 3), CONFIRM, False, False, False, Standing(HARD, 3),
     Effect.PROBE),
    (Standing(HARD), REMOVE, False, False, True, Standing(HARD),
     Effect.PROBE),
    (Standing(HARD, 3), CONFIRM, True, False, False, Standing(CONFIRMED, 3),
     Effect.CONFIRM),
    (Standing(HARD), REMOVE, True, False, False, Standing(REMOVED, 0),
     Effect.REMOVE),
    (Standing(CONFIRMED, 3), REMOVE, True, False, False, Standing(REMOVED, 0),
     Effect.REMOVE),
    # The breaker's hold keeps it back, in shadow mode too.
    (Standing(HARD, 3), CONFIRM, True, False, True, Standing(HARD, 3),
     Effect.HOLD),
    (Standing(SOFT), REMOVE, True, False, True, Standing(HARD), Effect.HOLD),
    (Standing(CONFIRMED, 3), REMOVE, True, False, True,
     Standing(CONFIRMED, 3), Effect.HOLD),
    (Standing(HARD), REMOVE, True, True, True, Standing(HARD), Effect.HOLD),
    # Shadow mode records what would be done, verified or not.
    (Standing(HARD, 3), CONFIRM, True, True, False,
     Standing(CONFIRMED, 3, shadow=True), Effect.SHADOW),
    (Standing(HARD, 2), REMOVE, False, True, False,
     Standing(REMOVED, 0, shadow=True), Effect.SHADOW),
    (Standing(HARD, 3), CONFIRM, False, True, True,
     Standing(CONFIRMED, 3, shadow=True), Effect.SHADOW),
    # Nothing to do for a confirmed member's confirmation.
    (Standing(CONFIRMED, 3), CONFIRM, True, False, False,
     Standing(CONFIRMED, 3), None),
    (Standing(CONFIRMED, 3, shadow=True), CONFIRM, True, False, False,
     Standing(CONFIRMED, 3, shadow=True), None),
]


@pytest.mark.parametrize(
    'before, change, verified, shadow, held, after, effect', ENFORCE)
def test_enforce(before, change, verified, shadow, held, after, effect):
    assert enforce(before, change, verified=verified, shadow=shadow,
                   held=held) == (after, effect)


def test_a_confirmation_shows_the_newest_run():
    assert enforce(Standing(HARD, 3), CONFIRM, verified=True, shadow=False,
                   held=False, newest_run=4) == (Standing(CONFIRMED, 4),
                                                 Effect.CONFIRM)


RESET = [
    # standing, run left after the reset, standing after (None: no reset)
    (Standing(OK), 0, Standing(OK)),
    (Standing(SOFT), 0, Standing(OK)),
    (Standing(HARD, 2), 0, Standing(OK)),
    (Standing(HARD, 3), 1, Standing(HARD, 1)),
    (Standing(CONFIRMED, 3), 0, None),
    (Standing(REMOVED), 0, None),
    # What shadow mode only recorded is void.
    (Standing(CONFIRMED, 3, shadow=True), 0, Standing(OK)),
    (Standing(REMOVED, 0, shadow=True), 0, Standing(OK)),
]


@pytest.mark.parametrize('before, run, after', RESET)
def test_after_reset(before, run, after):
    assert after_reset(before, run) == after


ADMIN = [
    # what an owner did, standing before, standing after
    (after_reenable, Standing(CONFIRMED, 3), Standing(OK)),
    (after_reenable, Standing(HARD, 2), Standing(OK)),
    (after_reenable, Standing(SOFT), Standing(OK)),
    (after_undo, Standing(REMOVED), Standing(OK)),
    (after_undo, Standing(CONFIRMED, 3), Standing(OK)),
    (held_back, Standing(OK), Standing(HARD)),
    (held_back, Standing(SOFT), Standing(HARD)),
    (held_back, Standing(HARD, 2), Standing(HARD, 2)),
    (held_back, Standing(CONFIRMED, 3), Standing(CONFIRMED, 3)),
]


@pytest.mark.parametrize('transition, before, after', ADMIN)
def test_owner_transitions(transition, before, after):
    assert transition(before) == after


DISCARD = [
    # standing, run left once the hold's campaign no longer counts, after
    (Standing(HARD, 1), 0, Standing(OK)),
    (Standing(HARD, 2), 1, Standing(HARD, 1)),
    (Standing(SOFT), 0, Standing(SOFT)),
    (Standing(CONFIRMED, 3), 2, Standing(CONFIRMED, 2)),
]


@pytest.mark.parametrize('before, run, after', DISCARD)
def test_after_discard(before, run, after):
    assert after_discard(before, run) == after


def test_when_shadow_mode_ends_its_records_are_no_state():
    assert after_shadow_ends(Standing(CONFIRMED, 3, shadow=True), 2) == \
        Standing(HARD, 2)
    assert after_shadow_ends(Standing(REMOVED, 0, shadow=True), 0) == \
        Standing(HARD, 0)


def test_a_state_row_round_trips():
    class Row:
        state, run, shadow = 'confirmed', 3, None
    row = Row()
    assert standing_of(row) == Standing(CONFIRMED, 3, False)
    take(row, Standing(HARD, 1, True))
    assert (row.state, row.run, row.shadow) == ('hard', 1, True)


standings = st.builds(Standing, st.sampled_from(State),
                      st.integers(0, 10), st.booleans())
bounces = st.builds(Bounce, st.sampled_from(Classification),
                    st.sampled_from(Action), st.booleans(), st.booleans(),
                    st.integers(0, 10), st.integers(0, 10),
                    st.none() | st.sampled_from(Change))


@given(standings, bounces, st.integers(1, 10))
def test_a_bounce_alone_never_removes_or_confirms(before, bounce, after):
    """Only `enforce` can; a bounce calls for the change at most."""
    standing, _change = after_bounce(before, bounce, after)
    if standing.state in (CONFIRMED, REMOVED):
        assert standing.state is before.state


@given(standings, st.sampled_from(Change), st.booleans(), st.booleans(),
       st.integers(0, 10))
def test_unverified_evidence_never_changes_a_member(
        before, change, shadow, held, newest):
    """Never remove or confirm on weak evidence: at most a probe, or
    shadow mode's record."""
    standing, effect = enforce(before, change, verified=False, shadow=shadow,
                               held=held, newest_run=newest)
    assert effect in (Effect.PROBE, Effect.SHADOW, None)
    if effect is not Effect.SHADOW:
        assert standing == before
