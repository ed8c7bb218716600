"""Validation of the flows and catalogs: what ``heartguard flows check`` reports.

:func:`check_flows` returns one line per problem (an empty list means all is well):

- broken references: unknown states, flows, entries, conditions, actions or param sources;
- unreachable states, dead ends (a non-final state with no way out), answers that lead
  nowhere, pass-through states that can stall or loop;
- a crisis state that would answer free text with "please choose an option";
- text ids used by a flow or the engine but missing from a catalog, catalog keys present in
  one language but not another, placeholders that differ between languages or that nobody
  fills, and option labels that two options of one question share;
- a simple-register key (``simple.X``) without its ``X`` or with other placeholders;
- a student-facing key missing from the content-review checklist (``docs/content-review.md``):
  every text a student can read must have been reviewed for its trigger, the guideline it
  follows and the promise it makes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from flows import texts
from flows.answers import normalize
from flows.catalog import CALLER_PARAMS, Catalog, load_catalog, placeholders
from flows.definition import (
    CRISIS,
    CRISIS_ENTRIES,
    HOME,
    PARK_STATE,
    REQUIRED_FLOWS,
    RESUME,
    TEXT_ANSWER,
    FlowDef,
    StateDef,
    load_flows,
    split_target,
)
from flows.errors import DefinitionError
from flows.register import SIMPLE, base_key
from flows.registry import Registry, default_registry

# The review checklist lives in the source tree beside the package.
REVIEW_CHECKLIST = Path(__file__).resolve().parent.parent / "docs" / "content-review.md"
# A checklist row names its keys in backticks in its first cell: | `a.b`, `simple.a.b` | ...
_ROW = re.compile(r"^\|([^|]*)\|")
_KEY = re.compile(r"`([^`]+)`")

_BUILTIN_COMMANDS = frozenset({"help", "cancel"})


def _unknown(names: Iterable[str], known: Mapping[str, object], what: str, where: str) -> list[str]:
    return [f"{where}: unknown {what} {name!r}" for name in names if name not in known]


def _target_problem(target: str, flows: Mapping[str, FlowDef], where: str) -> str | None:
    if target == RESUME:
        return None
    flow, entry = split_target(target)
    if flow not in flows:
        return f"{where}: then: unknown flow {flow!r}"
    if entry is not None and entry not in flows[flow].entries:
        return f"{where}: then: {entry!r} is not an entry of flow {flow!r}"
    return None


def required_problems(flows: Mapping[str, FlowDef]) -> list[str]:
    """Flows, states and entries the engine relies on by name."""
    missing = [name for name in REQUIRED_FLOWS if name not in flows]
    if missing:
        return [f"missing required flow(s): {', '.join(missing)}"]
    park = flows[HOME].states.get(PARK_STATE)
    problems = (
        [] if park is not None and park.waits else [f"home: needs a waiting state {PARK_STATE!r}"]
    )
    problems += [
        f"crisis: needs the entry {entry!r}"
        for entry in CRISIS_ENTRIES
        if entry not in flows[CRISIS].entries
    ]
    return problems


def reference_problems(flows: Mapping[str, FlowDef], registry: Registry) -> list[str]:
    """Names that point nowhere, or are missing: the problems that stop the engine starting."""
    problems = required_problems(flows)
    seen_commands: dict[str, str] = {}
    for flow in flows.values():
        where = f"{flow.source}"
        problems += [
            f"{where}: flow.entries: unknown state {entry!r}"
            for entry in flow.entries
            if entry not in flow.states
        ]
        problems += _unknown(flow.on_leave, registry.actions, "action", f"{where}: flow.on_leave")
        for command, entry in flow.commands.items():
            if entry not in flow.entries:
                problems.append(f"{where}: flow.commands.{command}: {entry!r} is not an entry")
            if command in _BUILTIN_COMMANDS or command in seen_commands:
                owner = seen_commands.get(command, "the engine")
                problems.append(f"{where}: flow.commands.{command}: already taken by {owner}")
            seen_commands.setdefault(command, flow.name)
        for state in flow.states.values():
            problems += _state_references(flow, state, flows, registry)
    return problems


def _state_references(
    flow: FlowDef, state: StateDef, flows: Mapping[str, FlowDef], registry: Registry
) -> list[str]:
    where = f"{flow.source}: states.{state.name}"
    problems = _unknown(state.actions, registry.actions, "action", f"{where}.actions")
    problems += _unknown(state.params, registry.params, "param source", f"{where}.params")
    problems += _unknown(
        (c for c, _ in state.variants), registry.conditions, "condition", f"{where}.variants"
    )
    if state.then is not None:
        problem = _target_problem(state.then, flows, where)
        problems += [problem] if problem else []
    for index, go in enumerate(state.go):
        go_where = f"{where}.go[{index}]"
        if go.to not in flow.states:
            problems.append(f"{go_where}.to: unknown state {go.to!r}")
        problems += _unknown(go.conditions, registry.conditions, "condition", f"{go_where}.if")
        problems += _unknown(go.unless, registry.conditions, "condition", f"{go_where}.unless")
        problems += _unknown(go.actions, registry.actions, "action", f"{go_where}.do")
        strange = sorted(go.when - set(state.options) - {TEXT_ANSWER})
        problems += [f"{go_where}.when: {key!r} is not an answer of this state" for key in strange]
    return problems


def answers_of(state: StateDef) -> tuple[str, ...]:
    """The answer keys a waiting state can receive."""
    takes_text = state.input == "text" or state.accept_text
    return (*state.options, *((TEXT_ANSWER,) if takes_text else ()))


def _reachable(flow: FlowDef) -> set[str]:
    seen: set[str] = set()
    todo = [entry for entry in flow.entries if entry in flow.states]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [go.to for go in flow.states[name].go if go.to in flow.states]
    return seen


def _passthrough_cycle(flow: FlowDef) -> list[str]:
    passing = {name for name, state in flow.states.items() if state.input == "none"}
    problems: list[str] = []
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            problems.append(f"{flow.source}: pass-through loop {' → '.join([*path, name])}")
            return
        if name in done or name not in passing or flow.states[name].final:
            return
        for go in flow.states[name].go:
            visit(go.to, [*path, name])
        done.add(name)

    for name in sorted(passing):
        visit(name, [])
    return problems


def graph_problems(flows: Mapping[str, FlowDef]) -> list[str]:
    """Unreachable states, dead ends, answers leading nowhere, stalls and loops."""
    problems: list[str] = []
    for flow in flows.values():
        reachable = _reachable(flow)
        for state in flow.states.values():
            where = f"{flow.source}: states.{state.name}"
            if state.name not in reachable:
                problems.append(f"{where}: unreachable")
            if state.final:
                continue
            if not state.go:
                problems.append(f"{where}: dead end (not final, no way out)")
            elif state.input == "none" and not any(go.unconditional for go in state.go):
                problems.append(f"{where}: pass-through state may stall (no unconditional 'go')")
            for answer in answers_of(state) if state.input != "none" else ():
                if not any(
                    not go.conditions and not go.unless and (not go.when or answer in go.when)
                    for go in state.go
                ):
                    problems.append(f"{where}: answer {answer!r} has no unconditional way out")
            if flow.name == CRISIS and state.waits and TEXT_ANSWER not in answers_of(state):
                problems.append(f"{where}: a crisis state must accept free text")
            if state.input == "system" and not state.accept_text:
                # Nothing is shown while waiting for the outside world, so "please choose a
                # button" would leave the student stuck.
                problems.append(f"{where}: a system state must accept free text")
        problems += _passthrough_cycle(flow)
    return problems


def _used_text_ids(flows: Mapping[str, FlowDef]) -> dict[str, str]:
    used = dict.fromkeys(texts.ENGINE_TEXTS, "the engine")
    used.update(dict.fromkeys(texts.CALLER_TEXTS, "the caller"))
    for flow in flows.values():
        used.setdefault(flow.cancel_text, flow.source)
        for state in flow.states.values():
            for text_id in state.text_ids():
                used.setdefault(text_id, f"{flow.source}: states.{state.name}")
    return used


def text_problems(flows: Mapping[str, FlowDef], catalog: Catalog, registry: Registry) -> list[str]:
    """Missing translations, mismatched placeholders and ambiguous labels."""
    problems: list[str] = []
    languages = catalog.languages
    for text_id, user in sorted(_used_text_ids(flows).items()):
        problems += [
            f"{user}: text {text_id!r} is missing from the {lang!r} catalog"
            for lang in languages
            if not catalog.has(text_id, lang)
        ]
    every_key = set().union(*(set(catalog.texts[lang]) for lang in languages))
    known_params = CALLER_PARAMS | texts.ENGINE_PARAMS | registry.param_names
    for key in sorted(every_key):
        present = [lang for lang in languages if catalog.has(key, lang)]
        problems += [
            f"catalog {lang}: {key!r} is missing (present in {', '.join(present)})"
            for lang in languages
            if lang not in present
        ]
        shapes = {lang: placeholders(catalog.texts[lang][key]) for lang in present}
        if len(set(shapes.values())) > 1:
            problems.append(f"catalog: {key!r} has different placeholders per language: {shapes}")
        for lang, names in shapes.items():
            problems += [
                f"catalog {lang}: {key!r} uses unknown placeholder {{{name}}}"
                for name in sorted(names - known_params)
            ]
    option_keys = {
        f"opt.{key}" for flow in flows.values() for st in flow.states.values() for key in st.options
    }
    alias_keys = option_keys | {texts.ALIAS_CANCEL, texts.ALIAS_HELP}
    for lang in languages:
        problems += [
            f"catalog {lang}: aliases.{key}: no such option or command"
            for key in sorted(set(catalog.aliases.get(lang, {})) - alias_keys)
        ]
    problems += _label_clashes(flows, catalog)
    return problems


def _label_clashes(flows: Mapping[str, FlowDef], catalog: Catalog) -> list[str]:
    problems: list[str] = []
    for flow in flows.values():
        for state in flow.states.values():
            owner: dict[str, str] = {}
            for key in state.options:
                for phrase in {
                    normalize(p) for p in catalog.phrasings(state.label_id(key), f"opt.{key}")
                }:
                    if phrase and owner.setdefault(phrase, key) != key:
                        problems.append(
                            f"{flow.source}: states.{state.name}: options {owner[phrase]!r} and "
                            f"{key!r} share the label {phrase!r}"
                        )
    return problems


def register_problems(catalog: Catalog) -> list[str]:
    """Simple-register keys must word an existing text, with the same placeholders."""
    problems: list[str] = []
    for lang in catalog.languages:
        texts = catalog.texts[lang]
        for key in sorted(k for k in texts if k.startswith(SIMPLE)):
            base = base_key(key)
            if base not in texts:
                problems.append(f"catalog {lang}: {key!r} words {base!r}, which does not exist")
            elif placeholders(texts[key]) != placeholders(texts[base]):
                problems.append(f"catalog {lang}: {key!r} has other placeholders than {base!r}")
    return problems


def reviewed_keys(checklist: str) -> frozenset[str]:
    """The keys a review checklist lists: backticked names in the first cell of table rows."""
    keys: set[str] = set()
    for line in checklist.splitlines():
        row = _ROW.match(line.strip())
        if row:
            keys.update(_KEY.findall(row.group(1)))
    return frozenset(keys)


def review_problems(catalog: Catalog, checklist: str | None) -> list[str]:
    """Student-facing keys the content-review checklist does not list."""
    if checklist is None:
        return [f"{REVIEW_CHECKLIST}: the content-review checklist is missing"]
    listed = reviewed_keys(checklist)
    every_key = set().union(*(set(catalog.texts[lang]) for lang in catalog.languages))
    return [
        f"docs/content-review.md: {key!r} is not in the review checklist"
        for key in sorted(every_key - listed)
    ]


def _checklist() -> str | None:
    try:
        return REVIEW_CHECKLIST.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def check_flows(
    flows: Mapping[str, FlowDef] | None = None,
    catalog: Catalog | None = None,
    registry: Registry | None = None,
    checklist: str | None = None,
) -> list[str]:
    """Every problem in the flows and catalogs (default: the packaged ones), one per line.

    ``checklist`` is the review checklist's text (default: ``docs/content-review.md``).
    """
    try:
        flows = flows if flows is not None else load_flows()
        catalog = catalog if catalog is not None else load_catalog()
    except DefinitionError as err:
        return [str(err)]
    registry = registry or default_registry()
    return [
        *reference_problems(flows, registry),
        *graph_problems(flows),
        *text_problems(flows, catalog, registry),
        *register_problems(catalog),
        *review_problems(catalog, checklist if checklist is not None else _checklist()),
    ]
