"""Forged or garbled counselor button data is refused in one line, before any database read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from tg_world import COUNSELOR, Chat

from bot.bootstrap import AppContext
from bot.channels.telegram.callbacks import CounselorPress, parse, parse_case_id

FORGED = [
    "c:²:ack",  # str.isdigit() says yes, int() says no
    "c:٣:ack",  # Arabic-Indic digit
    "c:99999999999999999999:ack",  # overflows every integer column
    "c:2147483648:ack",  # one past the largest case id
    "c:0:ack",
    "c:-1:ack",
    "c:007:ack",
    "c: 7:ack",
    "c:7:delete",
    "c:7",
    "c::ack",
]


@pytest.mark.parametrize("data", FORGED)
def test_forged_counselor_data_is_not_a_press(data: str) -> None:
    assert parse(data) is None


def test_well_formed_ids_read_back() -> None:
    assert parse("c:2147483647:resolve") == CounselorPress(2147483647, "resolve")
    assert parse_case_id("12") == 12
    assert parse_case_id("１２") is None  # full-width digits


@pytest.fixture
def statements(ctx: AppContext) -> Iterator[list[str]]:
    """Every SQL statement the test's engine runs while the fixture is alive."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(ctx.engine.sync_engine, "before_cursor_execute", count)
    yield seen
    event.remove(ctx.engine.sync_engine, "before_cursor_execute", count)


@pytest.mark.parametrize("data", ["c:²:ack", "c:99999999999999999999:ack", "c:1:drop"])
async def test_a_forged_press_is_answered_without_touching_the_database(
    chat: Chat, statements: list[str], data: str
) -> None:
    calls = await chat.send(chat.make.press(COUNSELOR, data))
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert "Not a valid button" in calls[0].params["text"]
    assert statements == []
