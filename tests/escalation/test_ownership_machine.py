"""The ownership machine on its own: who may fire what, and what it leaves behind."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalation.takeover import (
    BOT,
    HUMAN,
    Move,
    Owner,
    Ownership,
    TakeoverRefused,
    Trigger,
    allowed,
    fire,
)

CHEN, LI, WANG = 1, 2, 3
HELD = Ownership(Owner.COUNSELOR, CHEN)
QUIET = Ownership(Owner.QUIET, CHEN)
WAITING = Ownership(Owner.WAITING)


@pytest.mark.parametrize(
    ("before", "move", "after"),
    [
        (BOT, Move(Trigger.TAKE, CHEN), HELD),
        (WAITING, Move(Trigger.TAKE, CHEN), HELD),
        (BOT, Move(Trigger.REQUEST), WAITING),
        (WAITING, Move(Trigger.REQUEST), WAITING),
        (HELD, Move(Trigger.TAKE, CHEN), HELD),  # taking again is harmless
        (HELD, Move(Trigger.REPLY, CHEN), HELD),
        (HELD, Move(Trigger.QUIET), QUIET),
        (QUIET, Move(Trigger.REPLY, CHEN), HELD),
        (QUIET, Move(Trigger.TAKE, LI), Ownership(Owner.COUNSELOR, LI)),  # the paged pick it up
        (QUIET, Move(Trigger.FALLBACK), BOT),
        (HELD, Move(Trigger.HAND_BACK, CHEN), BOT),
        (HELD, Move(Trigger.HAND_BACK, None), BOT),  # an administrator
        (HELD, Move(Trigger.TRANSFER, CHEN, WANG), Ownership(Owner.COUNSELOR, WANG)),
        (HELD, Move(Trigger.RELEASE, CHEN), WAITING),
        (HELD, Move(Trigger.END), BOT),
        (WAITING, Move(Trigger.END), BOT),
    ],
)
def test_allowed_moves(before: Ownership, move: Move, after: Ownership) -> None:
    assert fire(before, move) == after


@pytest.mark.parametrize(
    ("before", "move", "reason"),
    [
        (HELD, Move(Trigger.TAKE, LI), "owned_by_other"),
        (HELD, Move(Trigger.REPLY, LI), "not_owner"),
        (HELD, Move(Trigger.HAND_BACK, LI), "not_owner"),
        (HELD, Move(Trigger.TRANSFER, LI, WANG), "not_owner"),
        (HELD, Move(Trigger.TRANSFER, CHEN, CHEN), "no_colleague"),
        (BOT, Move(Trigger.REPLY, CHEN), "not_taken"),
        (WAITING, Move(Trigger.HAND_BACK, CHEN), "not_taken"),
        (BOT, Move(Trigger.QUIET), "not_now"),
        (HELD, Move(Trigger.FALLBACK), "not_now"),
        (HELD, Move(Trigger.REQUEST), "not_now"),
        (HELD, Move(Trigger.QUIET, CHEN), "system_only"),
    ],
)
def test_refused_moves(before: Ownership, move: Move, reason: str) -> None:
    with pytest.raises(TakeoverRefused) as refused:
        fire(before, move)
    assert refused.value.reason == reason


def test_the_table_from_the_bot() -> None:
    assert allowed(Owner.BOT) == {Trigger.REQUEST, Trigger.TAKE, Trigger.END}


moves = st.builds(
    Move,
    st.sampled_from(list(Trigger)),
    st.one_of(st.none(), st.sampled_from([CHEN, LI, WANG])),
    st.one_of(st.none(), st.sampled_from([CHEN, LI, WANG])),
)


@given(st.lists(moves, max_size=30))
def test_any_sequence_keeps_one_owner_at_a_time(sequence: list[Move]) -> None:
    state = BOT
    for move in sequence:
        try:
            state = fire(state, move)
        except TakeoverRefused:
            continue
        # A person holds the chat exactly when it names them.
        assert (state.state in HUMAN) == (state.counselor_id is not None)
