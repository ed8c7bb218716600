"""What a counselor asks for on a case, read from a form or a JSON body: a pure core.

The console's buttons and the API's ``POST /api/v1/cases/{id}/<action>`` both end here, so a
field means the same thing on either, and a bad one is refused with the same sentence before
anything is touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from escalation.lifecycle import RESOLUTIONS

# Case actions (escalation's) and conversation actions (the takeover service's).
CASE_ACTIONS = ("ack", "contacted", "refer", "resolve", "note")
TALK_ACTIONS = ("take", "reply", "handback", "transfer")
ACTIONS = CASE_ACTIONS + TALK_ACTIONS
MAX_NOTE = 1000
MAX_TEXT = 4000


@dataclass(frozen=True)
class Command:
    """One action with its checked fields."""

    action: str
    note: str = ""
    resolution: str = "other"
    hospital: int | None = None
    text: str = ""
    # transfer: a colleague's id, or None for the district team.
    to: int | None = None


class BadCommand(ValueError):
    """A field is missing or wrong; the message says which, for the person who sent it."""


def _id(value: object, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadCommand(f"{name}: expected a number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        number = int(value)
    else:
        raise BadCommand(f"{name}: expected a number")
    if number <= 0:
        raise BadCommand(f"{name}: expected a positive number")
    return number


def _text(fields: Mapping[str, object], name: str, limit: int) -> str:
    value = fields.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadCommand(f"{name}: expected text")
    value = value.strip()
    if len(value) > limit:
        raise BadCommand(f"{name}: at most {limit} characters")
    return value


def parse(action: str, fields: Mapping[str, object]) -> Command:
    """The command, or BadCommand naming the field that is wrong."""
    if action not in ACTIONS:
        raise BadCommand(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    note = _text(fields, "note", MAX_NOTE)
    if action == "note" and not note:
        raise BadCommand("note: required")
    if action == "resolve":
        resolution = fields.get("resolution")
        if resolution not in RESOLUTIONS:
            raise BadCommand(f"resolution: expected one of {', '.join(RESOLUTIONS)}")
        return Command(action, note=note, resolution=str(resolution))
    if action == "refer":
        return Command(action, note=note, hospital=_id(fields.get("hospital"), "hospital"))
    if action == "reply":
        text = _text(fields, "text", MAX_TEXT)
        if not text:
            raise BadCommand("text: required")
        return Command(action, text=text)
    if action == "transfer":
        target = fields.get("to")
        to = None if target in (None, "", "district") else _id(target, "to")
        return Command(action, note=note, to=to)
    return Command(action, note=note)
