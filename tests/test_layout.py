"""The dependency rule, checked on the source: each layer imports only what lies beneath it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imports(folder: str) -> dict[str, set[str]]:
    """Every module under ``folder`` and the top-level names it imports (at any depth)."""
    out: dict[str, set[str]] = {}
    for path in (ROOT / folder).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
        out[str(path.relative_to(ROOT))] = names
    return out


def offenders(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{module} imports {name}"
        for module, names in imports(folder).items()
        for name in names
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    )


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("core", ("bot", "flows", "lexicons", "escalation", "storage", "sqlalchemy", "telegram")),
        ("lexicons", ("bot", "flows", "escalation", "storage", "sqlalchemy", "telegram")),
        ("flows", ("bot", "lexicons", "escalation", "storage", "sqlalchemy", "telegram")),
        ("escalation", ("bot", "flows", "lexicons", "telegram")),
        ("storage", ("bot", "flows", "lexicons", "escalation", "telegram")),
        # Channels only translate: no SQL, no storage; they reach the database through services.
        ("bot/channels", ("sqlalchemy", "storage")),
        # The console and the API likewise: pages and JSON over the services.
        ("bot/console", ("sqlalchemy", "storage")),
        # Services are channel-neutral.
        ("bot/services", ("telegram", "bot.channels.telegram", "bot.channels.console")),
    ],
)
def test_each_layer_imports_only_what_lies_beneath(folder: str, forbidden: tuple[str, ...]) -> None:
    assert offenders(folder, forbidden) == []
