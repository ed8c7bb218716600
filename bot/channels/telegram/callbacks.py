"""Inline buttons: what their callback data says, and the keyboards that carry it.

Telegram gives callback data 1–64 bytes and sends it back untouched, but anybody can craft a
press, so data is only a claim to check. Two shapes exist:

- ``s:TOKEN:KEY``: a student's answer. TOKEN names the question it was shown with, so a press
  on an older keyboard (whose keys may fit the current question too) is recognised as stale.
- ``c:CASE:ACTION``: a counselor's action on a green-channel case.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from escalation.lifecycle import ALLOWED, OPEN_STATUSES

MAX_DATA = 64
STUDENT = "s"
COUNSELOR = "c"
CASE_ACTIONS = ("ack", "contacted", "refer", "resolve")
# Take over the student's chat: not a case status change, but offered on every open case.
TAKE = "take"
BUTTONS = (*CASE_ACTIONS, TAKE)
# Short labels share a row; longer ones (instrument answers) get a row each to stay readable.
_SHORT_LABEL = 8
_PER_ROW = 3
# A case id as we write it: ASCII digits only (str.isdigit also takes "²" and "٣"), no
# leading zero, and small enough for every database's integer column.
_CASE_ID = re.compile(r"[1-9][0-9]{0,9}")
MAX_CASE_ID = 2**31 - 1


@dataclass(frozen=True)
class StudentPress:
    """A student's press: the question's token and the option (key, or number as fallback)."""

    token: str
    value: str


@dataclass(frozen=True)
class CounselorPress:
    """A counselor's press: a case and an action on it."""

    case_id: int
    action: str


def prompt_token(text: str, keys: Sequence[str]) -> str:
    """A short name for one question: the same question asked again gets the same token."""
    digest = hashlib.sha256("\x1f".join([text, *keys]).encode("utf-8")).hexdigest()
    return digest[:8]


def student_data(token: str, key: str, number: int) -> str:
    """Callback data for one option; an over-long key travels as the option's number."""
    data = f"{STUDENT}:{token}:{key}"
    return data if len(data.encode("utf-8")) <= MAX_DATA else f"{STUDENT}:{token}:{number}"


def counselor_data(case_id: int, action: str) -> str:
    """Callback data for a case action."""
    return f"{COUNSELOR}:{case_id}:{action}"


def parse(data: str | None) -> StudentPress | CounselorPress | None:
    """What a press claims, or None when the data is not ours."""
    if not data or len(data.encode("utf-8")) > MAX_DATA:
        return None
    kind, _, rest = data.partition(":")
    first, sep, second = rest.partition(":")
    if not sep or not first or not second:
        return None
    if kind == STUDENT:
        return StudentPress(first, second)
    if kind == COUNSELOR and second in BUTTONS:
        case_id = parse_case_id(first)
        return CounselorPress(case_id, second) if case_id is not None else None
    return None


def parse_case_id(text: str) -> int | None:
    """A case id from button data, or None unless it is 1-10 ASCII digits within range."""
    if not _CASE_ID.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_CASE_ID else None


def student_keyboard(buttons: Sequence[tuple[str, str]], token: str) -> InlineKeyboardMarkup:
    """The options of one question as an inline keyboard."""
    keys = [
        InlineKeyboardButton(label, callback_data=student_data(token, key, number))
        for number, (key, label) in enumerate(buttons, start=1)
    ]
    if all(len(label) <= _SHORT_LABEL for _, label in buttons):
        rows = [keys[i : i + _PER_ROW] for i in range(0, len(keys), _PER_ROW)]
    else:
        rows = [[key] for key in keys]
    return InlineKeyboardMarkup(rows)


def open_actions(status: str, offered: Sequence[str] = BUTTONS) -> list[str]:
    """The actions that still make sense for a case in ``status``.

    Acknowledging again is allowed by the service but is noise once someone has.
    """
    return [
        action
        for action in BUTTONS
        if action in offered
        and status in ALLOWED.get(action, OPEN_STATUSES)
        and not (action == "ack" and status != "open")
    ]


def case_keyboard(
    case_id: int, actions: Sequence[str], label_of: dict[str, str]
) -> InlineKeyboardMarkup | None:
    """Two buttons a row for the case actions given; None when there is nothing left to do."""
    if not actions:
        return None
    keys = [
        InlineKeyboardButton(label_of.get(a, a), callback_data=counselor_data(case_id, a))
        for a in actions
    ]
    return InlineKeyboardMarkup([keys[i : i + 2] for i in range(0, len(keys), 2)])
