"""The console's pure parts: reading a command, the inbox's answer, the queue's version."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from bot.channels.inbox import InboxHub, InboxItem, InboxKind
from bot.console.stream import ConsoleInbox, counselor_key
from bot.services.case_commands import BadCommand, Command, parse
from bot.web.live import LiveHub


@pytest.mark.parametrize(
    ("action", "fields", "expected"),
    [
        ("ack", {}, Command("ack")),
        ("resolve", {"resolution": "safe", "note": " ok "}, Command("resolve", "ok", "safe")),
        ("refer", {"hospital": "3"}, Command("refer", hospital=3)),
        ("refer", {"hospital": 3}, Command("refer", hospital=3)),
        ("refer", {"hospital": ""}, Command("refer")),
        ("reply", {"text": " 你好 "}, Command("reply", text="你好")),
        ("transfer", {"to": "district"}, Command("transfer")),
        ("transfer", {"to": "7", "note": "n"}, Command("transfer", note="n", to=7)),
        ("note", {"note": "家长已知情"}, Command("note", note="家长已知情")),
    ],
)
def test_commands_read_the_same_from_forms_and_json(
    action: str, fields: dict[str, object], expected: Command
) -> None:
    assert parse(action, fields) == expected


@pytest.mark.parametrize(
    ("action", "fields", "message"),
    [
        ("launch", {}, "unknown action"),
        ("resolve", {}, "resolution: expected one of"),
        ("resolve", {"resolution": ["safe"]}, "resolution: expected one of"),
        ("refer", {"hospital": "x"}, "hospital: expected a number"),
        ("refer", {"hospital": True}, "hospital: expected a number"),
        ("refer", {"hospital": "-1"}, "hospital: expected a number"),
        ("refer", {"hospital": 0}, "hospital: expected a positive number"),
        ("refer", {"hospital": "²"}, "hospital: expected a number"),
        ("reply", {"text": "  "}, "text: required"),
        ("reply", {"text": 5}, "text: expected text"),
        ("reply", {"text": "字" * 4001}, "text: at most 4000"),
        ("note", {}, "note: required"),
        ("note", {"note": "x" * 1001}, "note: at most 1000"),
        ("transfer", {"to": "someone"}, "to: expected a number"),
    ],
)
def test_bad_commands_name_the_field(action: str, fields: dict[str, object], message: str) -> None:
    with pytest.raises(BadCommand, match=message):
        parse(action, fields)


def test_the_inbox_says_whether_a_page_is_open() -> None:
    hub = LiveHub()
    inbox = ConsoleInbox(hub)
    item = InboxItem(4, (), 1, "2026-00001", "甲", InboxKind.STUDENT, datetime.now(UTC), "hi")

    async def scenario() -> tuple[bool, bool, bool]:
        alone = await inbox.deliver(item)
        with hub.listen(counselor_key(4)) as woken:
            seen = await inbox.deliver(item)
            return alone, seen, woken.is_set()

    assert asyncio.run(scenario()) == (False, True, True)


class Breaks:
    """An inbox whose failure quotes the student's words, as a careless library might."""

    name = "breaks"

    async def deliver(self, item: InboxItem) -> bool:
        raise ValueError(f"cannot show {item.text!r}")


def test_one_inbox_failing_neither_hides_the_student_nor_logs_their_words(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = LiveHub()
    console = ConsoleInbox(hub)
    inboxes = InboxHub([Breaks(), console])
    words = "我今晚不想活了"
    item = InboxItem(4, (), 1, "2026-00001", "甲", InboxKind.STUDENT, datetime.now(UTC), words)

    async def scenario() -> int:
        with hub.listen(counselor_key(4)):
            return await inboxes.deliver(item)

    caplog.set_level(logging.DEBUG)
    assert asyncio.run(scenario()) == 1
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "inbox breaks failed for counselor 4, case 1: ValueError" in logged
    assert words not in logged
    assert not any(r.exc_info for r in caplog.records)
