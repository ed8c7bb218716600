"""Who owns a student's conversation: the bot, a waiting state, or one counselor (pure).

One shared ``transitions`` machine is the table; :func:`fire` is the typed façade. It takes
the current :class:`Ownership` and a :class:`Move` and returns the new ownership or raises
:class:`TakeoverRefused`. No database, no clock: the caller stores the result and records the
case event.

States:

- ``bot``: the bot answers the student (the default; no row means this).
- ``waiting``: the student asked for a person in the chat (``/talk`` → "message me here"),
  or the owner passed the chat to the district team; the bot keeps the student company.
- ``counselor``: one counselor owns the chat; the bot is silent, the detector still reads.
- ``quiet``: the owner has not answered the student in time; they and the tier above were
  paged again. The owner (or anyone in scope, by taking it) can pick it up; if nobody does
  in time, the bot resumes with the crisis lines.

Who may fire what: ``request``, ``quiet``, ``fallback`` and ``end`` are the system's;
``take`` any counselor in scope (scope is the caller's check), but a chat another counselor
owns and answers cannot be taken from them; ``reply``, ``hand_back``, ``transfer`` and
``release`` only its owner (or an administrator, ``actor=None``, for hand back).
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass, replace
from typing import Any

from transitions import Machine
from transitions.core import EventData, MachineError

from core.errors import HeartGuardError


class Owner(enum.StrEnum):
    """Who the conversation belongs to now."""

    BOT = "bot"
    WAITING = "waiting"
    COUNSELOR = "counselor"
    QUIET = "quiet"


# A person holds the chat: the bot is silent and the student's words go to them.
HUMAN = frozenset({Owner.COUNSELOR, Owner.QUIET})


class Trigger(enum.StrEnum):
    """What can happen to a conversation's ownership."""

    REQUEST = "request"  # the student asked for a person in the chat (system)
    TAKE = "take"  # a counselor takes the chat
    REPLY = "reply"  # the owner wrote to the student (resets a quiet owner)
    QUIET = "quiet"  # the owner did not answer in time (system)
    FALLBACK = "fallback"  # still nobody answered: the bot resumes (system)
    HAND_BACK = "hand_back"  # the owner gives the chat back to the bot
    TRANSFER = "transfer"  # the owner gives the chat to a named colleague
    RELEASE = "release"  # the owner gives the chat to the district team (waiting)
    END = "end"  # the case closed under the chat (system)


SYSTEM = frozenset({Trigger.REQUEST, Trigger.QUIET, Trigger.FALLBACK, Trigger.END})


class TakeoverRefused(HeartGuardError):
    """A move that is not allowed now; ``reason`` is a short code a channel can explain."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Ownership:
    """A conversation's owner: a state, and the counselor when one holds it."""

    state: Owner = Owner.BOT
    counselor_id: int | None = None

    @property
    def human(self) -> bool:
        """A person holds the chat (the bot is silent)."""
        return self.state in HUMAN


@dataclass(frozen=True)
class Move:
    """One trigger, by whom (a counselor id; None for the system or an administrator)."""

    trigger: Trigger
    actor: int | None = None
    to_counselor: int | None = None


BOT = Ownership()

_TABLE: tuple[dict[str, Any], ...] = (
    {"trigger": Trigger.REQUEST, "source": Owner.BOT, "dest": Owner.WAITING},
    {"trigger": Trigger.REQUEST, "source": Owner.WAITING, "dest": Owner.WAITING},
    {
        "trigger": Trigger.TAKE,
        "source": [Owner.BOT, Owner.WAITING],
        "dest": Owner.COUNSELOR,
        "conditions": "is_counselor",
    },
    # A quiet chat may be picked up by whoever was paged for it.
    {
        "trigger": Trigger.TAKE,
        "source": Owner.QUIET,
        "dest": Owner.COUNSELOR,
        "conditions": "is_counselor",
    },
    {
        "trigger": Trigger.TAKE,
        "source": Owner.COUNSELOR,
        "dest": Owner.COUNSELOR,
        "conditions": "is_owner",
    },
    {
        "trigger": Trigger.REPLY,
        "source": [Owner.COUNSELOR, Owner.QUIET],
        "dest": Owner.COUNSELOR,
        "conditions": "is_owner",
    },
    {"trigger": Trigger.QUIET, "source": Owner.COUNSELOR, "dest": Owner.QUIET},
    {"trigger": Trigger.FALLBACK, "source": Owner.QUIET, "dest": Owner.BOT},
    {
        "trigger": Trigger.HAND_BACK,
        "source": [Owner.COUNSELOR, Owner.QUIET],
        "dest": Owner.BOT,
        "conditions": "is_owner_or_admin",
    },
    {
        "trigger": Trigger.TRANSFER,
        "source": [Owner.COUNSELOR, Owner.QUIET],
        "dest": Owner.COUNSELOR,
        "conditions": ["is_owner", "has_colleague"],
    },
    {
        "trigger": Trigger.RELEASE,
        "source": [Owner.COUNSELOR, Owner.QUIET],
        "dest": Owner.WAITING,
        "conditions": "is_owner",
    },
    {"trigger": Trigger.END, "source": list(Owner), "dest": Owner.BOT},
)


class _Cursor:
    """The one model of the shared machine: moved for one ``fire`` at a time."""

    state: Owner

    def __init__(self) -> None:
        self.state = Owner.BOT
        self.owner: int | None = None
        self.move = Move(Trigger.END)

    def is_counselor(self, _event: EventData) -> bool:
        """Only a person takes a chat (never the system or an administrator's console)."""
        return self.move.actor is not None

    def is_owner(self, _event: EventData) -> bool:
        """The actor holds the chat."""
        return self.move.actor is not None and self.move.actor == self.owner

    def is_owner_or_admin(self, event: EventData) -> bool:
        """The owner, or an administrator (no counselor id) at the command line."""
        return self.move.actor is None or self.is_owner(event)

    def has_colleague(self, _event: EventData) -> bool:
        """A transfer names someone other than the owner."""
        target = self.move.to_counselor
        return target is not None and target != self.move.actor


_cursor = _Cursor()
_machine = Machine(
    model=_cursor,
    states=list(Owner),
    transitions=list(_TABLE),
    initial=Owner.BOT,
    auto_transitions=False,
    send_event=True,
    ignore_invalid_triggers=False,
    model_override=True,
)
_lock = threading.Lock()


def allowed(state: Owner) -> frozenset[Trigger]:
    """The triggers the table has from ``state`` (guards aside)."""
    return frozenset(Trigger(name) for name in _machine.get_triggers(state.name))


def _explain(current: Ownership, move: Move) -> TakeoverRefused:
    if move.trigger is Trigger.TAKE and move.actor is None:
        return TakeoverRefused("counselor_only", "only a counselor can take a conversation")
    if move.trigger is Trigger.TAKE and current.state is Owner.COUNSELOR:
        return TakeoverRefused("owned_by_other", "another counselor holds this conversation")
    if (
        move.trigger is Trigger.TRANSFER
        and move.actor is not None
        and move.actor == current.counselor_id
    ):
        return TakeoverRefused("no_colleague", "transfer to someone other than yourself")
    if current.human and move.trigger in (
        Trigger.REPLY,
        Trigger.HAND_BACK,
        Trigger.TRANSFER,
        Trigger.RELEASE,
    ):
        return TakeoverRefused("not_owner", "only the counselor who took the conversation can")
    if move.trigger in (Trigger.REPLY, Trigger.HAND_BACK, Trigger.TRANSFER, Trigger.RELEASE):
        return TakeoverRefused("not_taken", "nobody has taken this conversation")
    return TakeoverRefused(
        "not_now", f"cannot {move.trigger.value} a conversation that is {current.state.value}"
    )


def fire(current: Ownership, move: Move) -> Ownership:
    """The ownership after ``move``; raises TakeoverRefused when it is not allowed."""
    if move.trigger in SYSTEM and move.actor is not None:
        raise TakeoverRefused("system_only", f"{move.trigger.value} is the system's")
    with _lock:
        _machine.set_state(current.state, model=_cursor)
        _cursor.owner, _cursor.move = current.counselor_id, move
        try:
            moved = bool(_machine.events[move.trigger].trigger(_cursor))
        except MachineError:
            moved = False
        state = Owner(_cursor.state)
    if not moved:
        raise _explain(current, move)
    if state is Owner.COUNSELOR:
        holder = move.to_counselor if move.trigger is Trigger.TRANSFER else move.actor
        if move.trigger is Trigger.REPLY:
            holder = current.counselor_id
        return Ownership(state, holder)
    if state is Owner.QUIET:
        return replace(current, state=state)
    return Ownership(state, None)
