"""Flood control: a student sending dozens of messages a second is slowed down, never ignored.

Every message is stored and risk-scanned and a crisis in the middle of a burst is escalated
at once; only the replies beyond the chat's burst are held, merged and sent when it calms.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from tg_world import STUDENT, Chat, onboard, texts_of

from bot.bootstrap import AppContext
from bot.channels.telegram.runner import BotProcess
from bot.services.flood import FloodGate
from storage.models import CaseRequest, Message, RiskAssessmentRecord

District = dict[str, object]
SLOW_DOWN = "慢一点"
CRISIS = "我已经把一整瓶安眠药都吃了"


class Ticks:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks(process: BotProcess) -> Ticks:
    clock = Ticks()
    process.runtime.students.floods["telegram"] = FloodGate(5, 1.0, clock=clock)
    return clock


async def stored(ctx: AppContext) -> tuple[int, int]:
    """Inbound messages and risk assessments on record."""
    async with ctx.sessions() as session:
        messages = await session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "in")
        )
        assessed = await session.scalar(select(func.count()).select_from(RiskAssessmentRecord))
    return int(messages or 0), int(assessed or 0)


async def settle(done: Callable[[], bool], limit: float = 5.0) -> None:
    for _ in range(int(limit / 0.02)):
        if done():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("held replies were never sent")


def test_the_gate_allows_a_burst_then_one_per_interval() -> None:
    clock = Ticks()
    gate = FloodGate(3, 2.0, clock=clock)
    assert [gate.admit(1) for _ in range(4)] == [True, True, True, False]
    assert gate.admit(2)  # another chat has its own bucket
    assert gate.wait(1) == pytest.approx(2.0)
    clock.now += 1.0
    assert not gate.admit(1)
    assert gate.wait(1) == pytest.approx(1.0)
    clock.now += 1.0
    assert gate.admit(1)
    assert not gate.admit(1)
    clock.now += 60
    assert [gate.admit(1) for _ in range(4)] == [True, True, True, False]  # never above burst


async def test_a_burst_of_50_is_all_read_and_the_crisis_in_it_escalates(
    chat: Chat, ctx: AppContext, process: BotProcess, ticks: Ticks, district: District
) -> None:
    await onboard(chat, STUDENT, str(district["code"]))
    before = await stored(ctx)
    chat.api.clear()
    words = [f"今天作业好多啊 {n}" for n in range(50)]
    words[25] = CRISIS
    burst = [chat.make.text(STUDENT, text) for text in words]
    await asyncio.gather(*(process.application.process_update(u) for u in burst))

    messages, assessed = await stored(ctx)
    assert (messages - before[0], assessed - before[1]) == (50, 50)  # all stored, all scanned
    async with ctx.sessions() as session:
        requests = (await session.scalars(select(CaseRequest.priority))).all()
        imminent = await session.scalar(
            select(func.count())
            .select_from(RiskAssessmentRecord)
            .where(RiskAssessmentRecord.level == "imminent")
        )
    assert "emergency" in requests
    assert imminent
    sent = [c.text for c in chat.api.sent_to(STUDENT)]
    assert any("12356" in text for text in sent)  # crisis replies are never held back
    assert sum(SLOW_DOWN in text for text in sent) == 1
    assert len(sent) < 25  # fifty messages did not get fifty-odd answers
    assert process.runtime.students.held("telegram", str(STUDENT)) is not None

    # The chat calms down: the newest held replies go out, once, without another note.
    chat.api.clear()
    ticks.now += 5
    await settle(lambda: process.runtime.students.held("telegram", str(STUDENT)) is None)
    flushed = chat.api.sent_to(STUDENT)
    assert flushed
    assert SLOW_DOWN not in texts_of(flushed)
    await asyncio.sleep(0.1)
    assert chat.api.sent_to(STUDENT) == flushed  # not twice


async def test_without_a_flood_every_message_is_answered(
    chat: Chat, ctx: AppContext, process: BotProcess, ticks: Ticks, district: District
) -> None:
    await onboard(chat, STUDENT, str(district["code"]))
    for n in range(8):
        ticks.now += 1.0  # a message a second: the bucket never runs dry
        calls = await chat.text(STUDENT, f"今天还行 {n}")
        assert calls, f"message {n} got no answer"
        assert SLOW_DOWN not in texts_of(calls)
    assert process.runtime.students.held("telegram", str(STUDENT)) is None


async def test_buttons_on_screen_go_stale_when_a_held_reply_moves_the_flow_on(
    chat: Chat, process: BotProcess, ticks: Ticks, district: District
) -> None:
    await onboard(chat, STUDENT, str(district["code"]))
    ticks.now += 60  # a full bucket after onboarding
    await chat.command(STUDENT, "/checkin")
    for _ in range(4):
        await chat.text(STUDENT, "嗯")  # the same question again, answered at once
    on_screen = chat.keyboard(STUDENT)
    chat.api.clear()
    await chat.text(STUDENT, "3")  # answers it by number: the next question is held back
    await chat.text(STUDENT, "嗯")
    assert process.runtime.students.held("telegram", str(STUDENT)) is not None
    assert [c.text for c in chat.api.sent_to(STUDENT)] == [
        "慢一点～你的每条消息我都收到了，也都读了，我马上一起回复你。"
    ]
    key = on_screen.callback_data[0].rsplit(":", 1)[1]
    calls = await chat.press(STUDENT, key, keyboard=on_screen)
    assert [c.method for c in calls] == ["answerCallbackQuery"]  # not an answer to a
    assert "过期" in calls[0].params["text"]  # question the student has not seen yet
    ticks.now += 5
    await settle(lambda: process.runtime.students.held("telegram", str(STUDENT)) is None)
    fresh = chat.keyboard(STUDENT)  # the merged reply brings the live keyboard
    assert fresh.text != on_screen.text
    calls = await chat.press(STUDENT, fresh.callback_data[0].rsplit(":", 1)[1])
    assert "editMessageReplyMarkup" in [c.method for c in calls]


async def test_help_in_a_flood_is_answered_at_once_and_shutdown_sends_what_is_held(
    chat: Chat, process: BotProcess, ticks: Ticks, district: District
) -> None:
    await onboard(chat, STUDENT, str(district["code"]))
    ticks.now += 60
    for _ in range(6):
        await chat.text(STUDENT, "无聊")
    held = process.runtime.students.held("telegram", str(STUDENT))
    assert held is not None
    help_calls = await chat.command(STUDENT, "/help")
    assert "12356" in texts_of(help_calls)
    chat.api.clear()
    await chat.text(STUDENT, "还是无聊")  # held again, no second note within a minute
    assert chat.api.sent_to(STUDENT) == []
    await process.runtime.students.drain()
    assert process.runtime.students.held("telegram", str(STUDENT)) is None
    assert chat.api.sent_to(STUDENT)  # owed replies went out before the stop
