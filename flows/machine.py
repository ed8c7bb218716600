"""One shared ``transitions`` machine per flow, compiled from its definition.

The machine is the flow's transition table: every waiting state has one trigger, ``go``, whose
transitions are tried in the order the TOML lists them. Conditions and actions are resolved
from the registry when the machine is built, so an unknown name fails at start-up.

Each machine owns one cursor model. Per step the engine puts the :class:`~flows.turn.Turn` in
the cursor, sets it to the stored state, fires ``go`` and takes the turn out again: the machine
never holds a student between steps, and the state stays a plain string the caller stores.
(Adding and removing a fresh model per step cost about 65 µs, a quarter of a step; setting the
state of a model already attached costs under 1 µs.) The cursor is a plain object
(``model_override`` off): with ``model_override=True`` transitions logs a warning for every
``is_<state>`` helper it declines to bind; we call the event through the machine and never use
those helpers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from transitions import Machine
from transitions.core import EventData

from flows.definition import FlowDef, Go
from flows.errors import DefinitionError, FlowError
from flows.registry import Registry
from flows.turn import Turn

if TYPE_CHECKING:
    # Only the type stubs define the callback alias.
    from transitions.core import Callback

TRIGGER = "go"


class _Cursor:
    """The model transitions moves for one step; ``state`` is set by the machine."""

    def __init__(self, state: str) -> None:
        self.turn: Turn | None = None
        self.state = state


def _turn(event: EventData) -> Turn:
    cursor = event.model
    if not isinstance(cursor, _Cursor) or cursor.turn is None:
        raise FlowError("a flow machine fired without a turn")
    return cursor.turn


def _check(predicate: Callable[[Turn], bool]) -> Callback:
    return lambda event: predicate(_turn(event))


def _run(action: Callable[[Turn], None]) -> Callback:
    def run(event: EventData) -> None:
        action(_turn(event))

    return run


class FlowMachine:
    """A flow's compiled transition table."""

    def __init__(self, flow: FlowDef, registry: Registry) -> None:
        self.flow = flow
        self._registry = registry
        # transitions keeps a list of attached models; guard it for threaded callers.
        self._lock = threading.Lock()
        self._machine = Machine(
            model=None,
            states=list(flow.states),
            initial=flow.entries[0],
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
            model_override=False,
        )
        for state in flow.states.values():
            for index, go in enumerate(state.go):
                where = f"{flow.source}: states.{state.name}.go[{index}]"
                self._add(state.name, go, where)
        self._cursor = _Cursor(flow.entries[0])
        self._machine.add_model(self._cursor, initial=flow.entries[0])

    def _condition(self, name: str, where: str) -> Callback:
        found = self._registry.conditions.get(name)
        if found is None:
            raise DefinitionError(f"{where}: unknown condition {name!r}")
        return _check(found)

    def _action(self, name: str, where: str) -> Callback:
        found = self._registry.actions.get(name)
        if found is None:
            raise DefinitionError(f"{where}: unknown action {name!r}")
        return _run(found)

    def _add(self, source: str, go: Go, where: str) -> None:
        if go.to not in self.flow.states:
            raise DefinitionError(f"{where}.to: unknown state {go.to!r}")
        conditions = [self._condition(name, where) for name in go.conditions]
        if go.when:
            when = go.when
            conditions.insert(0, lambda event: _turn(event).answer in when)
        self._machine.add_transition(
            TRIGGER,
            source=source,
            dest=go.to,
            conditions=conditions,
            unless=[self._condition(name, where) for name in go.unless],
            after=[self._action(name, where) for name in go.actions],
        )

    def advance(self, turn: Turn) -> str | None:
        """Fire ``go`` from ``turn.state``; the new state, or ``None`` if nothing matched.

        Transition actions run with ``turn.state`` still naming the source state.
        """
        event = self._machine.events.get(TRIGGER)
        if event is None or turn.state not in event.transitions:
            return None
        cursor = self._cursor
        with self._lock:
            self._machine.set_state(turn.state, model=cursor)
            cursor.turn = turn
            try:
                moved = event.trigger(cursor)
                state = str(cursor.state)
            finally:
                cursor.turn = None
        return state if moved else None

    @property
    def attached_models(self) -> int:
        """How many turns the shared machine holds right now (0 between steps)."""
        return int(self._cursor.turn is not None)
