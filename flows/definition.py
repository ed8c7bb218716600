"""Flow definitions: the TOML schema, parsed into frozen values.

A flow file ``flows/definitions/<name>.toml`` looks like this::

    [flow]
    entries = ["ask_mood"]          # states the flow can be started at; the first is default
    requires = "full"               # "none" | "onboarded" | "full" (onboarded, not restricted)
    commands = { checkin = "ask_mood" }   # command → entry state
    on_leave = []                   # actions run when the flow is left before it finishes
    cancel_text = "cancel.done"     # reply when the student cancels this flow

    [states.ask_mood]
    say = ["checkin.intro"]         # text ids sent on entry
    ask = "checkin.mood.q"          # the question, sent last, with the buttons
    input = "choice"                # "choice" | "text" | "system" | "none" (pass-through)
    options = ["mood_1", "mood_2"]  # answer keys; label text id is "opt.<key>" …
    labels = { mood_1 = "x.y" }     # … unless overridden here
    accept_text = false             # choice only: unmatched text becomes the answer "_text"
    store = "mood"                  # context key that keeps the answer
    actions = []                    # run on entry, before the texts
    params = []                     # param sources filling placeholders in say/ask
    variants = { phq_a = "x.q1" }   # ask this text instead when the condition holds
    cancel_text = "x.closed"        # reply to /cancel here, instead of the flow's

    [[states.ask_mood.go]]          # tried in order; the first that matches wins
    to = "next_state"
    when = ["mood_1"]               # answer keys (or "_text"); omitted = any answer
    if = ["cond"]                   # all must hold
    unless = ["cond"]               # none may hold
    do = ["action"]                 # run on the way

    [states.bye]
    final = true
    then = "home"                   # "home", "resume", "<flow>" or "<flow>:<entry>"

Structural errors raise :class:`DefinitionError` naming the file and key. Cross-references
(states, flows, conditions, actions, texts) are checked by :mod:`flows.check` and the compiler.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Literal, cast, get_args

from flows.errors import DefinitionError

InputKind = Literal["choice", "text", "system", "none"]
Access = Literal["none", "onboarded", "full"]
TEXT_ANSWER = "_text"
RESUME = "resume"

# Flows and states the engine relies on by name.
HOME = "home"
ONBOARDING = "onboarding"
CRISIS = "crisis"
ASQ = "asq"
REQUIRED_FLOWS = (HOME, ONBOARDING, CRISIS, ASQ)
# Where a student rests when no flow is running: the home menu.
PARK_STATE = "menu"
# The crisis entries a risk signal jumps to.
CRISIS_ENTRIES = ("high", "imminent")

_FLOW_KEYS = {"entries", "requires", "commands", "on_leave", "cancel_text", "description"}
_STATE_KEYS = {
    "cancel_text",
    "say",
    "ask",
    "input",
    "options",
    "labels",
    "accept_text",
    "store",
    "max_length",
    "actions",
    "params",
    "variants",
    "go",
    "final",
    "then",
}
_GO_KEYS = {"to", "when", "if", "unless", "do"}


@dataclass(frozen=True)
class Go:
    """One outgoing transition of a state."""

    to: str
    when: frozenset[str] = frozenset()
    conditions: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()

    @property
    def unconditional(self) -> bool:
        """Whether this transition matches every answer."""
        return not (self.when or self.conditions or self.unless)


@dataclass(frozen=True)
class StateDef:
    """One state of a flow."""

    name: str
    input: InputKind = "none"
    say: tuple[str, ...] = ()
    ask: str | None = None
    options: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    accept_text: bool = False
    store: str | None = None
    max_length: int | None = None
    actions: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    variants: tuple[tuple[str, str], ...] = ()
    go: tuple[Go, ...] = ()
    final: bool = False
    then: str | None = None
    cancel_text: str | None = None

    @property
    def waits(self) -> bool:
        """Whether the conversation can rest here, waiting for the student or the caller."""
        return not self.final and self.input != "none"

    @property
    def buttons(self) -> tuple[tuple[str, str], ...]:
        """``(key, label text id)`` for each option, in order."""
        return tuple((key, self.label_id(key)) for key in self.options)

    def label_id(self, key: str) -> str:
        """The catalog key of an option's label."""
        return self.labels.get(key, f"opt.{key}")

    def text_ids(self) -> tuple[str, ...]:
        """Every catalog key this state can send."""
        ids = [*self.say, *([self.ask] if self.ask else []), *(v for _, v in self.variants)]
        ids.extend([self.cancel_text] if self.cancel_text else [])
        if self.input != "system":
            ids.extend(self.label_id(key) for key in self.options)
        return tuple(ids)


@dataclass(frozen=True)
class FlowDef:
    """One flow: its entries, access rule, commands and states."""

    name: str
    source: str
    entries: tuple[str, ...]
    states: Mapping[str, StateDef]
    requires: Access = "none"
    commands: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    on_leave: tuple[str, ...] = ()
    cancel_text: str = "cancel.done"
    description: str = ""


def split_target(target: str) -> tuple[str, str | None]:
    """Split a ``then`` target ``"flow"`` or ``"flow:entry"`` into its parts."""
    flow, _, entry = target.partition(":")
    return flow, entry or None


class _Reader:
    """Typed access to one TOML table, with errors naming the file and key."""

    def __init__(self, table: object, where: str, allowed: set[str]) -> None:
        if not isinstance(table, dict):
            raise DefinitionError(f"{where}: expected a table")
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise DefinitionError(f"{where}.{unknown[0]}: unknown key")
        self.table: dict[str, object] = table
        self.where = where

    def error(self, key: str, expected: str) -> DefinitionError:
        return DefinitionError(f"{self.where}.{key}: expected {expected}")

    def string(self, key: str, default: str | None = None) -> str | None:
        value = self.table.get(key, default)
        if value is not None and (not isinstance(value, str) or not value):
            raise self.error(key, "a non-empty string")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(key, "a string or a list of non-empty strings")
        return tuple(cast(list[str], value))

    def mapping(self, key: str) -> dict[str, str]:
        value = self.table.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) and v for v in value.values()):
            raise self.error(key, "a table of non-empty strings")
        return cast(dict[str, str], value)

    def flag(self, key: str) -> bool:
        value = self.table.get(key, False)
        if not isinstance(value, bool):
            raise self.error(key, "true or false")
        return value

    def choice(self, key: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.table.get(key, default)
        if value not in allowed:
            raise self.error(key, "one of " + ", ".join(repr(a) for a in allowed))
        return value


def _parse_go(table: object, where: str) -> Go:
    reader = _Reader(table, where, _GO_KEYS)
    to = reader.string("to")
    if to is None:
        raise reader.error("to", "a state name")
    return Go(
        to=to,
        when=frozenset(reader.strings("when")),
        conditions=reader.strings("if"),
        unless=reader.strings("unless"),
        actions=reader.strings("do"),
    )


def _parse_state(name: str, table: object, where: str) -> StateDef:
    reader = _Reader(table, where, _STATE_KEYS)
    final = reader.flag("final")
    kind = reader.choice("input", get_args(InputKind), "none")
    go_list = reader.table.get("go", [])
    if not isinstance(go_list, list):
        raise reader.error("go", "an array of tables ([[states.NAME.go]])")
    max_length = reader.table.get("max_length")
    if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
        raise reader.error("max_length", "a positive integer")
    state = StateDef(
        name=name,
        input=cast(InputKind, kind),
        say=reader.strings("say"),
        ask=reader.string("ask"),
        options=reader.strings("options"),
        labels=MappingProxyType(reader.mapping("labels")),
        accept_text=reader.flag("accept_text"),
        store=reader.string("store"),
        max_length=max_length,
        actions=reader.strings("actions"),
        params=reader.strings("params"),
        variants=tuple(reader.mapping("variants").items()),
        go=tuple(_parse_go(g, f"{where}.go[{i}]") for i, g in enumerate(go_list)),
        final=final,
        then=reader.string("then"),
        cancel_text=reader.string("cancel_text"),
    )
    if final and (state.go or state.input != "none"):
        raise DefinitionError(f"{where}: a final state takes no input and has no 'go'")
    if state.then is not None and not final:
        raise reader.error("then", "only on a final state (final = true)")
    if state.input in ("choice", "system") and not state.options:
        raise reader.error("options", f"at least one option for input = {state.input!r}")
    if len(set(state.options)) != len(state.options) or TEXT_ANSWER in state.options:
        raise reader.error("options", f"distinct keys, none of them {TEXT_ANSWER!r}")
    unknown_labels = sorted(set(state.labels) - set(state.options))
    if unknown_labels:
        raise DefinitionError(f"{where}.labels.{unknown_labels[0]}: not one of the options")
    if state.accept_text and state.input not in ("choice", "system"):
        raise reader.error("accept_text", "only with input = 'choice' or 'system'")
    return state


def parse_flow(name: str, text: str, source: str) -> FlowDef:
    """Parse one flow file's text; ``source`` names the file in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise DefinitionError(f"{source}: {err}") from None
    flow = _Reader(data.get("flow"), f"{source}: flow", _FLOW_KEYS)
    unknown = sorted(set(data) - {"flow", "states"})
    if unknown:
        raise DefinitionError(f"{source}: {unknown[0]}: unknown table")
    states_table = data.get("states")
    if not isinstance(states_table, dict) or not states_table:
        raise DefinitionError(f"{source}: states: expected at least one [states.NAME] table")
    states = {
        state_name: _parse_state(state_name, table, f"{source}: states.{state_name}")
        for state_name, table in states_table.items()
    }
    entries = flow.strings("entries")
    if not entries:
        raise flow.error("entries", "at least one entry state")
    return FlowDef(
        name=name,
        source=source,
        entries=entries,
        states=MappingProxyType(states),
        requires=cast(Access, flow.choice("requires", get_args(Access), "none")),
        commands=MappingProxyType(flow.mapping("commands")),
        on_leave=flow.strings("on_leave"),
        cancel_text=flow.string("cancel_text") or "cancel.done",
        description=flow.string("description") or "",
    )


def definitions_dir() -> Traversable:
    """The packaged ``flows/definitions`` directory."""
    return resources.files("flows").joinpath("definitions")


def load_flows(directory: Traversable | None = None) -> dict[str, FlowDef]:
    """Parse every ``*.toml`` flow in ``directory`` (default: the packaged definitions)."""
    folder = directory if directory is not None else definitions_dir()
    flows: dict[str, FlowDef] = {}
    for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if item.name.endswith(".toml"):
            name = item.name.removesuffix(".toml")
            flows[name] = parse_flow(name, item.read_text(encoding="utf-8"), item.name)
    if not flows:
        raise DefinitionError(f"{folder}: no flow definitions found")
    return flows
