"""Configuration problems in words a person reads: the key, what it is, what is expected."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from bot.translation import N_, _

# The last part of a key, said plainly; shown after the key itself.
_NAMES = {
    "steps": N_("the steps of this priority's alert chain"),
    "tiers": N_("who is alerted at this step"),
    "ack_timeout": N_("how long to wait for someone to acknowledge"),
    "repeat": N_("how many times the chain repeats"),
    "days": N_("the days of the week"),
    "counselor": N_("the counselor's id, as `heartguard counselors list` shows it"),
    "caring_contact_days": N_("the days after a case closes when the student is contacted"),
    "default_timezone": N_("the schools' time zone"),
    "url": N_("the database address"),
    "instruments": N_("the questionnaires by grade"),
    "lines": N_("the crisis lines shown to students"),
    "holidays": N_("the holidays"),
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
    return f"{key} ({_(name)})" if name else key


def _message(error: Mapping[str, Any]) -> str:
    kind = str(error["type"])
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    msg = str(error["msg"])
    plain = {
        "extra_forbidden": N_("unknown key"),
        "missing": N_("required key is missing"),
        "int_parsing": N_("expected a whole number, e.g. 3"),
        "int_type": N_("expected a whole number, e.g. 3"),
        "int_from_float": N_("expected a whole number, e.g. 3"),
        "float_parsing": N_("expected a number"),
        "float_type": N_("expected a number"),
        "bool_parsing": N_("expected true or false"),
        "bool_type": N_("expected true or false"),
        "string_type": N_('expected text in quotes, e.g. "value"'),
        "tuple_type": N_("expected a list in brackets, e.g. [1, 2]"),
        "list_type": N_("expected a list in brackets, e.g. [1, 2]"),
        "dict_type": N_("expected a table of keys"),
        "model_type": N_("expected a table of keys"),
        "model_attributes_type": N_("expected a table of keys"),
        "date_parsing": N_("expected a date like 2026-10-01"),
        "date_from_datetime_parsing": N_("expected a date like 2026-10-01"),
        "date_type": N_("expected a date like 2026-10-01"),
    }
    if kind in plain:
        return _(plain[kind])
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        if least == 1:
            return _("must not be empty: give at least 1")
        return _("give at least {count}").format(count=least)
    if kind == "too_long":
        return _("give at most {count}").format(count=ctx.get("max_length"))
    for bound, words in (
        ("greater_than_equal", N_("expected a number of at least {limit}")),
        ("less_than_equal", N_("expected a number of at most {limit}")),
        ("greater_than", N_("expected a number more than {limit}")),
        ("less_than", N_("expected a number less than {limit}")),
    ):
        if kind == bound:
            return _(words).format(limit=next(iter(ctx.values()), ""))
    if msg.startswith("Value error, "):
        msg = msg.removeprefix("Value error, ")
    if msg.startswith("Input should be "):
        msg = "expected " + msg.removeprefix("Input should be ")
    return _(msg)  # the validators' own messages are in the catalogs too


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
