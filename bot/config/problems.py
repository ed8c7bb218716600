"""Configuration problems in words a person reads: the key, what it is, what is expected."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

# The last part of a key, said plainly; shown after the key itself.
_NAMES = {
    "steps": "the steps of this priority's alert chain",
    "tiers": "who is alerted at this step",
    "ack_timeout": "how long to wait for someone to acknowledge",
    "repeat": "how many times the chain repeats",
    "days": "the days of the week",
    "counselor": "the counselor's id, as `heartguard counselors list` shows it",
    "caring_contact_days": "the days after a case closes when the student is contacted",
    "default_timezone": "the schools' time zone",
    "url": "the database address",
    "instruments": "the questionnaires by grade",
    "lines": "the crisis lines shown to students",
    "holidays": "the holidays",
}


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-after", "function-before")) or part in {
            "literal['polling','webhook']",
        }:
            continue
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def _said(loc: tuple[int | str, ...]) -> str:
    key = _location(loc)
    last = next((p for p in reversed(loc) if isinstance(p, str)), "")
    name = _NAMES.get(last)
    return f"{key} ({name})" if name else key


def _message(error: Mapping[str, Any]) -> str:
    kind = str(error["type"])
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    msg = str(error["msg"])
    plain = {
        "extra_forbidden": "unknown key",
        "missing": "required key is missing",
        "int_parsing": "expected a whole number, e.g. 3",
        "int_type": "expected a whole number, e.g. 3",
        "int_from_float": "expected a whole number, e.g. 3",
        "float_parsing": "expected a number",
        "float_type": "expected a number",
        "bool_parsing": "expected true or false",
        "bool_type": "expected true or false",
        "string_type": 'expected text in quotes, e.g. "value"',
        "tuple_type": "expected a list in brackets, e.g. [1, 2]",
        "list_type": "expected a list in brackets, e.g. [1, 2]",
        "dict_type": "expected a table of keys",
        "model_type": "expected a table of keys",
        "model_attributes_type": "expected a table of keys",
        "date_parsing": "expected a date like 2026-10-01",
        "date_from_datetime_parsing": "expected a date like 2026-10-01",
        "date_type": "expected a date like 2026-10-01",
    }
    if kind in plain:
        return plain[kind]
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return (
            f"must not be empty: give at least {least}" if least == 1 else f"give at least {least}"
        )
    if kind == "too_long":
        return f"give at most {ctx.get('max_length')}"
    for bound, words in (
        ("greater_than_equal", "of at least"),
        ("less_than_equal", "of at most"),
        ("greater_than", "more than"),
        ("less_than", "less than"),
    ):
        if kind == bound:
            limit = next(iter(ctx.values()), "")
            return f"expected a number {words} {limit}"
    if msg.startswith("Value error, "):
        msg = msg.removeprefix("Value error, ")
    if msg.startswith("Input should be "):
        msg = "expected " + msg.removeprefix("Input should be ")
    return msg


def problems_from(
    exc: ValidationError, source: str, renamed: Mapping[tuple[str, ...], str] | None = None
) -> list[str]:
    """One line per problem: ``file: key (plain words): what is expected``.

    ``renamed`` names values that came from elsewhere (an environment variable) by their origin.
    """
    lines = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))
        origin = (renamed or {}).get(tuple(str(p) for p in loc))
        if origin:
            lines.append(f"${origin}: {_message(error)}")
        else:
            lines.append(f"{source}: {_said(loc)}: {_message(error)}")
    return lines
