"""A counselor takes over a student's chat from Telegram, on both databases.

The whole story runs through the real Application: the alert's "Take over" button, words both
ways (the counselor answers with Telegram's reply-to and with /reply), the bot silent while the
counselor holds the chat, a new imminent message still raising the case, hand back, the answer
timer's page and fallback on a moved clock, and scope.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from fake_telegram import Call
from sqlalchemy import select
from tg_world import COUNSELOR, STUDENT, Chat, Clock, onboard, texts_of

from bot.bootstrap import AppContext
from bot.channels.telegram.runner import BotProcess
from storage.models import Case, CaseEvent, CaseRequest, ConversationOwner, Message, Notification

District = dict[str, object]
OTHER = 6161  # 李老师, a counselor of the other school, linked by her contact


async def crisis(chat: Chat, process: BotProcess, clock: Clock, district: District) -> Call:
    """A linked counselor, a student who says she wants to die (urgent), the alert."""
    assert "已绑定" in texts_of(await chat.command(COUNSELOR, f"/link {district['link']}"))
    await onboard(chat, STUDENT, str(district["code"]))
    await chat.text(STUDENT, "我想自杀")
    await process.runtime.green.engine.tick(clock())
    [alert] = [c for c in chat.api.sent_to(COUNSELOR) if c.callback_data]
    return alert


async def the_case(ctx: AppContext) -> Case:
    async with ctx.sessions() as session:
        case = await session.scalar(select(Case))
    assert case is not None
    return case


async def timeline(ctx: AppContext) -> list[str]:
    async with ctx.sessions() as session:
        return list((await session.scalars(select(CaseEvent.action).order_by(CaseEvent.id))).all())


async def take(chat: Chat, alert: Call, case_id: int) -> list[Call]:
    assert f"c:{case_id}:take" in alert.callback_data
    assert alert.message_id is not None
    return await chat.send(
        chat.make.press(
            COUNSELOR, f"c:{case_id}:take", message_id=alert.message_id, text=alert.text
        )
    )


async def test_take_talk_raise_and_hand_back(
    chat: Chat,
    ctx: AppContext,
    process: BotProcess,
    clock: Clock,
    district: District,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for package in ("bot", "escalation", "storage", "flows"):
        caplog.set_level(logging.DEBUG, logger=package)
    alert = await crisis(chat, process, clock, district)
    case = await the_case(ctx)
    assert case.priority == "urgent"

    calls = await take(chat, alert, case.id)
    to_student = texts_of([c for c in calls if c.params.get("chat_id") == STUDENT])
    assert to_student.startswith("陈老师来了")
    to_counselor = texts_of([c for c in calls if c.params.get("chat_id") == COUNSELOR])
    assert "你已接手案例" in to_counselor
    assert "案例已同时确认" in to_counselor
    assert "我想自杀" in to_counselor  # the recent messages, for the counselor only
    assert (await the_case(ctx)).status == "acknowledged"

    # The student writes: the bot says nothing; the counselor gets the words, naming the case.
    calls = await chat.text(STUDENT, "老师我好难受")
    assert chat.api.sent_to(STUDENT)[-1].text.startswith("陈老师来了")
    [relayed] = [c for c in calls if c.params.get("chat_id") == COUNSELOR]
    assert relayed.text.startswith(f"💬 案例 Case #{case.id}")
    assert relayed.text.endswith("老师我好难受")

    # The counselor answers by replying to the relayed message.
    reply = chat.make.build(
        {
            "message": {
                "message_id": 900,
                "date": 1_793_000_100,
                "chat": {"id": COUNSELOR, "type": "private", "first_name": "陈"},
                "from": {"id": COUNSELOR, "is_bot": False, "first_name": "陈"},
                "text": "我在，慢慢说",
                "reply_to_message": {
                    "message_id": relayed.message_id,
                    "date": 1_793_000_050,
                    "chat": {"id": COUNSELOR, "type": "private", "first_name": "陈"},
                    "from": {"id": 999_000, "is_bot": True, "first_name": "心卫"},
                    "text": relayed.text,
                },
            }
        }
    )
    calls = await chat.send(reply)
    assert (
        texts_of([c for c in calls if c.params.get("chat_id") == STUDENT]) == "陈老师：我在，慢慢说"
    )
    assert "已发给学生" in texts_of([c for c in calls if c.params.get("chat_id") == COUNSELOR])
    calls = await chat.command(COUNSELOR, f"/reply {case.id} 你现在在哪里？")
    assert (
        texts_of([c for c in calls if c.params.get("chat_id") == STUDENT])
        == "陈老师：你现在在哪里？"
    )

    # An imminent message while held: still silent, but the case is raised and flagged.
    calls = await chat.text(STUDENT, "我已经吃了一整瓶药")
    assert not [c for c in calls if c.params.get("chat_id") == STUDENT]
    [flagged] = [c for c in calls if c.params.get("chat_id") == COUNSELOR]
    assert "IMMINENT" in flagged.text
    assert "我已经吃了一整瓶药" in flagged.text
    await process.runtime.green.engine.tick(clock())
    assert (await the_case(ctx)).priority == "emergency"
    async with ctx.sessions() as session:
        request = await session.scalar(select(CaseRequest).order_by(CaseRequest.id.desc()))
        out = (await session.scalars(select(Message).where(Message.direction == "out"))).all()
    assert request is not None
    assert request.priority == "emergency"
    assert len(out) == 2
    assert all(b"\xe6" not in (m.text_enc or b"") for m in out)
    assert ctx.cipher.decrypt(out[0].text_enc or b"") == "我在，慢慢说"

    # Hand back: the student is told the bot is back, and the bot answers again.
    calls = await chat.command(COUNSELOR, f"/handback {case.id} 已联系家长")
    assert "交还给机器人" in texts_of(calls)
    assert "心卫机器人" in chat.api.sent_to(STUDENT)[-1].text
    calls = await chat.text(STUDENT, "好的")
    assert [c for c in calls if c.params.get("chat_id") == STUDENT]
    events = await timeline(ctx)
    for action in ("taken", "ack", "student_message", "counselor_message", "handed_back"):
        assert action in events, action
    async with ctx.sessions() as session:
        handed = await session.scalar(select(CaseEvent).where(CaseEvent.action == "handed_back"))
    assert handed is not None
    assert "已联系家长" not in str(handed.details)
    assert ctx.cipher.decrypt(handed.details["note_enc"].encode()) == "已联系家长"
    said = ("老师我好难受", "我在，慢慢说", "你现在在哪里", "一整瓶药", "已联系家长")
    assert caplog.records  # our loggers did speak, with ids
    assert not [r for r in caplog.records if any(w in r.getMessage() for w in said)]


async def test_a_quiet_counselor_is_paged_again_then_the_bot_resumes(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    alert = await crisis(chat, process, clock, district)
    case = await the_case(ctx)
    await take(chat, alert, case.id)
    timer = process.runtime.scheduler.timers[0]
    assert await timer(clock()) == 0  # within the answer time: nothing to do

    clock.now += timedelta(minutes=6)
    chat.api.clear()
    assert await timer(clock()) == 1
    async with ctx.sessions() as session:
        owner = await session.get(ConversationOwner, case.student_id)
        pages = (
            await session.scalars(
                select(Notification).where(Notification.extra["takeover"].as_string() == "quiet")
            )
        ).all()
    assert owner is not None
    assert owner.state == "quiet"
    assert {n.recipient_id for n in pages} == {district["counselor"]}
    assert "学生在等你回复" in texts_of(chat.api.sent_to(COUNSELOR))
    assert not chat.api.sent_to(STUDENT)  # still the counselor's chat

    clock.now += timedelta(minutes=6)
    assert await timer(clock()) == 1
    fallback = texts_of(chat.api.sent_to(STUDENT))
    assert "心卫机器人" in fallback
    assert "12356" in fallback
    assert "机器人已重新接管" in texts_of(chat.api.sent_to(COUNSELOR))
    events = await timeline(ctx)
    assert events.index("counselor_quiet") < events.index("takeover_fallback")
    calls = await chat.text(STUDENT, "还有人吗")
    assert [c for c in calls if c.params.get("chat_id") == STUDENT]  # the bot answers


async def test_another_school_cannot_take_reply_or_hand_back(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    alert = await crisis(chat, process, clock, district)
    case = await the_case(ctx)
    for command in (f"/take {case.id}", f"/reply {case.id} 你好", f"/handback {case.id}"):
        calls = await chat.command(OTHER, command)
        assert "不在你负责的学校范围内" in texts_of(calls), command
    await take(chat, alert, case.id)
    calls = await chat.command(OTHER, f"/reply {case.id} 你好")
    assert "不在你负责的学校范围内" in texts_of(calls)
    assert not [c for c in calls if c.params.get("chat_id") == STUDENT]
    async with ctx.sessions() as session:
        refused = (
            await session.scalars(select(CaseEvent).where(CaseEvent.action == "refused"))
        ).all()
        owner = await session.get(ConversationOwner, case.student_id)
    assert [e.details["attempted"] for e in refused] == ["take", "reply", "hand_back", "reply"]
    assert owner is not None
    assert owner.counselor_id == district["counselor"]


async def test_reply_before_take_is_refused_and_not_stored(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    await crisis(chat, process, clock, district)
    case = await the_case(ctx)
    calls = await chat.command(COUNSELOR, f"/reply {case.id} 你好")
    assert f"请先 /take {case.id}" in texts_of(calls)
    assert not [c for c in calls if c.params.get("chat_id") == STUDENT]
    async with ctx.sessions() as session:
        # Refused words are never stored.
        assert await session.scalar(select(Message).where(Message.direction == "out")) is None


async def test_a_case_resolved_while_held_gives_the_chat_back_on_the_next_message(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    alert = await crisis(chat, process, clock, district)
    case = await the_case(ctx)
    await take(chat, alert, case.id)
    await chat.command(COUNSELOR, f"/reply {case.id} 我们明天见")
    assert alert.message_id is not None
    await chat.send(
        chat.make.press(
            COUNSELOR, f"c:{case.id}:resolve", message_id=alert.message_id, text=alert.text
        )
    )
    assert (await the_case(ctx)).status == "resolved"
    calls = await chat.text(STUDENT, "老师再见")
    to_student = texts_of([c for c in calls if c.params.get("chat_id") == STUDENT])
    assert to_student.startswith("陈老师已经结束了这次对话")
    assert not [c for c in calls if c.params.get("chat_id") == COUNSELOR]
    assert "takeover_ended" not in await timeline(ctx)  # the case had closed: nothing to add
    async with ctx.sessions() as session:
        owner = await session.get(ConversationOwner, case.student_id)
    assert owner is not None
    assert owner.state == "bot"


async def test_talk_message_me_here_waits_for_a_counselor_with_the_wishes_shown(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    assert "已绑定" in texts_of(await chat.command(COUNSELOR, f"/link {district['link']}"))
    await onboard(chat, STUDENT, str(district["code"]))
    await chat.command(STUDENT, "/talk")
    await chat.press(STUDENT, "asap")
    await chat.press(STUDENT, "chat")
    async with ctx.sessions() as session:
        owner = await session.get(ConversationOwner, 1)
    assert owner is not None
    assert owner.state == "waiting"
    await process.runtime.green.engine.tick(clock())
    case = await the_case(ctx)
    assert (case.priority, case.wishes) == (
        "routine",
        {"preferred_time": "asap", "preferred_channel": "chat"},
    )
    [alert] = [c for c in chat.api.sent_to(COUNSELOR) if c.callback_data]
    assert "学生的希望 Wishes: 越快越好 · 在这里发消息" in alert.text
    shown = texts_of(await chat.command(COUNSELOR, f"/case {case.id}"))
    assert "越快越好" in shown
    assert "等待老师接手" in shown
    # While it waits, the bot still keeps the student company.
    assert [c for c in await chat.text(STUDENT, "在吗") if c.params.get("chat_id") == STUDENT]
    calls = await take(chat, alert, case.id)
    assert texts_of([c for c in calls if c.params.get("chat_id") == STUDENT]).startswith(
        "陈老师来了"
    )
    shown = texts_of(await chat.command(COUNSELOR, f"/case {case.id}"))
    assert "陈老师 正在对话" in shown
    assert "taken" in await timeline(ctx)
