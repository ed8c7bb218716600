"""Mermaid state diagrams of the flows: what ``heartguard flows graph NAME`` prints.

The output is deterministic, so the diagrams committed beside the flows
(``flows/definitions/<name>.mmd``) can be checked for freshness by a test.
"""

from __future__ import annotations

from collections.abc import Mapping

from flows.definition import FlowDef, Go, load_flows

_INDENT = "    "


def _label(go: Go) -> str:
    parts = []
    if go.when:
        parts.append(" / ".join(sorted(go.when)))
    parts += [f"if {name}" for name in go.conditions]
    parts += [f"unless {name}" for name in go.unless]
    parts += [f"do {name}" for name in go.actions]
    # Mermaid ends a label at a newline and reads ':' and ';' specially; keep labels plain.
    return ", ".join(parts).replace(":", " ").replace(";", ",")


def render(flow: FlowDef) -> str:
    """The stateDiagram-v2 text of one flow."""
    lines = ["stateDiagram-v2"]
    if flow.description:
        lines.append(f"{_INDENT}%% {flow.description}")
    for entry in flow.entries:
        lines.append(f"{_INDENT}[*] --> {entry}")
    for state in flow.states.values():
        if state.input != "none":
            lines.append(f"{_INDENT}{state.name} : {state.name} ({state.input})")
        for go in state.go:
            label = _label(go)
            lines.append(f"{_INDENT}{state.name} --> {go.to}" + (f" : {label}" if label else ""))
        if state.final:
            target = (state.then or "home").replace(":", " at ")
            lines.append(f"{_INDENT}{state.name} --> [*] : then {target}")
    return "\n".join(lines) + "\n"


def mermaid(flow_name: str, flows: Mapping[str, FlowDef] | None = None) -> str:
    """The Mermaid diagram of ``flow_name``; raises ``KeyError`` for an unknown flow."""
    found = (flows if flows is not None else load_flows())[flow_name]
    return render(found)
