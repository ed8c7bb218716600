"""Students in Telegram, through a real Application, pipeline and database, offline.

Each test reads like a chat: what the student sent, what the bot called on the Bot API, and
what the database holds afterwards.
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from fake_telegram import FORBIDDEN
from sqlalchemy import func, select
from tg_world import STUDENT, Chat, onboard, texts_of

from bot.bootstrap import AppContext
from bot.channels.telegram.commands import STUDENT_COMMANDS, register_commands
from bot.channels.telegram.runner import BotProcess
from storage.models import (
    AuditEvent,
    CaseRequest,
    ChannelIdentity,
    Message,
    RiskAssessmentRecord,
    Student,
)


async def count(ctx: AppContext, model: type, **where: object) -> int:
    async with ctx.sessions() as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(await session.scalar(query) or 0)


async def test_start_asks_for_a_language_with_buttons_tied_to_the_question(
    chat: Chat, ctx: AppContext
) -> None:
    calls = await chat.command(STUDENT, "/start")
    assert "Which language" in texts_of(calls)
    question = chat.keyboard(STUDENT)
    token = question.callback_data[0].split(":")[1]
    assert question.callback_data == [f"s:{token}:zh", f"s:{token}:en"]
    async with ctx.sessions() as session:
        stored = await session.scalar(
            select(ChannelIdentity.prompt).where(ChannelIdentity.external_id == str(STUDENT))
        )
    assert stored == token


async def test_a_press_answers_the_callback_and_goes_to_the_pipeline(chat: Chat) -> None:
    await chat.command(STUDENT, "/start")
    calls = await chat.press(STUDENT, "zh")
    methods = [c.method for c in calls]
    assert methods[0] == "answerCallbackQuery"
    assert "text" not in calls[0].params  # a valid press needs no note
    assert "editMessageReplyMarkup" in methods  # the used keyboard is taken away
    assert "同意" in texts_of(calls)


async def test_a_stale_button_gets_a_note_and_never_reaches_the_pipeline(
    chat: Chat, ctx: AppContext
) -> None:
    await chat.command(STUDENT, "/start")
    old = chat.keyboard(STUDENT)
    await chat.press(STUDENT, "zh")
    stored = await count(ctx, Message)
    calls = await chat.press(STUDENT, "en", keyboard=old)
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert "过期" in calls[0].params["text"]
    assert await count(ctx, Message) == stored


async def test_a_press_from_an_unknown_account_is_stale_and_creates_no_student(
    chat: Chat, ctx: AppContext
) -> None:
    # An old keyboard in the chat of an account we hold nothing for (never met, or erased).
    calls = await chat.send(chat.make.press(8181, "s:0badc0de:zh", chat_id=8181))
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert "过期" in calls[0].params["text"]
    assert await count(ctx, Student) == 0
    assert await count(ctx, ChannelIdentity) == 0


async def test_same_option_keys_on_an_older_question_are_still_stale(
    chat: Chat, district: dict[str, object]
) -> None:
    await onboard(chat, STUDENT, str(district["code"]))
    await chat.command(STUDENT, "/checkin")
    await chat.press(STUDENT, "mood_3")
    await chat.press(STUDENT, "skip")
    first_item = chat.keyboard(STUDENT)
    await chat.press(STUDENT, "not_at_all")
    # The second item has the very same keys; a press on the first item's keyboard is stale.
    calls = await chat.press(STUDENT, "not_at_all", keyboard=first_item)
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert "过期" in calls[0].params["text"]


async def test_a_press_in_someone_elses_chat_or_with_foreign_data_is_refused(
    chat: Chat, ctx: AppContext
) -> None:
    await chat.command(STUDENT, "/start")
    shown = chat.keyboard(STUDENT)
    stranger = await chat.send(
        chat.make.press(7777, shown.callback_data[0], chat_id=STUDENT, message_id=1)
    )
    crafted = await chat.send(chat.make.press(STUDENT, "give-me-admin"))
    for calls in (stranger, crafted):
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert "不能在这里使用" in calls[0].params["text"]
    assert await count(ctx, Student) == 1  # the stranger never became a student


async def test_in_a_group_students_get_one_line_and_nothing_is_stored(
    chat: Chat, ctx: AppContext
) -> None:
    calls = await chat.send(chat.make.group_text(STUDENT, "/start@heartguard_test_bot"))
    assert [(c.method, c.text) for c in calls] == [
        ("sendMessage", "请私聊我 / please message me privately")
    ]
    chatter = await chat.send(chat.make.group_text(STUDENT, "大家好"))
    other_bot = await chat.send(chat.make.group_text(STUDENT, "/start@some_other_bot"))
    assert chatter == other_bot == []  # not addressed to us: silence
    assert await count(ctx, Student) == 0
    assert await count(ctx, Message) == 0


async def test_edits_and_captions_are_scanned_and_can_raise_a_case(
    chat: Chat, ctx: AppContext, district: dict[str, object]
) -> None:
    await onboard(chat, STUDENT, str(district["code"]))
    edited = await chat.send(chat.make.edited(STUDENT, "我已经把一整瓶安眠药都吃了"))
    assert "12356" in texts_of(edited)
    await chat.send(chat.make.photo(STUDENT, caption="我想自杀"))
    async with ctx.sessions() as session:
        rows = (
            await session.execute(
                select(Message.kind, RiskAssessmentRecord.level)
                .join(RiskAssessmentRecord, RiskAssessmentRecord.message_id == Message.id)
                .where(Message.kind.in_(("edited", "caption")))
                .order_by(Message.id)
            )
        ).all()
    assert [tuple(r) for r in rows] == [("edited", "imminent"), ("caption", "high")]
    assert await count(ctx, CaseRequest, priority="emergency") == 1


@pytest.mark.parametrize(
    "line", ["/talk 我今晚就去跳楼，药已经准备好了", "/help@HeartGuardBot 我现在就站在楼顶"]
)
async def test_words_after_a_command_are_read_and_raise_a_case(
    chat: Chat, ctx: AppContext, district: dict[str, object], line: str
) -> None:
    await onboard(chat, STUDENT, str(district["code"]))
    calls = await chat.command(STUDENT, line)
    assert "12356" in texts_of(calls)
    async with ctx.sessions() as session:
        [(kind, level)] = (
            await session.execute(
                select(Message.kind, RiskAssessmentRecord.level)
                .join(RiskAssessmentRecord, RiskAssessmentRecord.message_id == Message.id)
                .where(Message.kind == "command")
            )
        ).all()
    assert (kind, level) in {("command", "high"), ("command", "imminent")}
    assert await count(ctx, CaseRequest) == 1


async def test_a_sticker_gets_a_gentle_reply(chat: Chat, district: dict[str, object]) -> None:
    await onboard(chat, STUDENT, str(district["code"]))
    calls = await chat.send(chat.make.sticker(STUDENT))
    assert "只能看懂文字" in texts_of(calls)


async def test_mydata_arrives_as_a_json_document(chat: Chat, district: dict[str, object]) -> None:
    await onboard(chat, STUDENT, str(district["code"]))
    await chat.text(STUDENT, "今天有点累")
    calls = await chat.command(STUDENT, "/mydata")
    [document] = [c for c in calls if c.method == "sendDocument"]
    assert int(document.params["chat_id"]) == STUDENT
    [(name, body)] = document.files.values()
    assert name == "heartguard-mydata.json"
    assert any(m["text"] == "今天有点累" for m in json.loads(body)["messages"])


async def test_replies_to_one_student_leave_in_the_order_the_messages_came(
    chat: Chat, district: dict[str, object]
) -> None:
    await onboard(chat, STUDENT, str(district["code"]))
    chat.api.clear()
    await asyncio.gather(
        chat.command(STUDENT, "/help"),
        chat.command(STUDENT, "/checkin"),
    )
    texts = [c.text for c in chat.api.sent_to(STUDENT)]
    help_at = next(i for i, t in enumerate(texts) if "12356" in t)
    checkin_at = next(i for i, t in enumerate(texts) if "心情小调查" in t)
    assert help_at < checkin_at


async def test_the_command_menu_is_registered_in_chinese_and_english(
    process: BotProcess, chat: Chat
) -> None:
    assert await register_commands(process.application.bot, process.texts)
    zh, en = chat.api.of("setMyCommands")
    assert "language_code" not in zh.params
    assert en.params["language_code"] == "en"
    for call in (zh, en):
        assert [c["command"] for c in call.params["commands"]] == list(STUDENT_COMMANDS)
    assert zh.params["commands"][1]["description"] == "每周心情小调查"


async def test_a_failure_tells_the_student_the_crisis_lines_and_logs_ids_only(
    chat: Chat,
    process: BotProcess,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> None:
        raise ValueError("我真的不想活了 (a message that must never reach a log)")

    monkeypatch.setattr(process.runtime.pipeline, "handle", broken)
    update = chat.make.text(STUDENT, "我真的不想活了")
    with caplog.at_level(logging.INFO):
        calls = await chat.send(update)
    [reply] = calls
    assert reply.text.startswith("出了点问题")
    assert all(number in reply.text for number in ("12356", "120", "110"))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"update {update.update_id} (chat {STUDENT}) failed: ValueError" in logged
    assert "不想活" not in logged


async def test_a_blocked_bot_is_not_retried_with_an_error_message(
    chat: Chat, caplog: pytest.LogCaptureFixture
) -> None:
    chat.api.failures["sendMessage"] = [dict(FORBIDDEN)]
    with caplog.at_level(logging.WARNING):
        calls = await chat.command(STUDENT, "/start")
    assert [c.method for c in calls] == ["sendMessage"]  # the refused one, nothing after it
    assert "refused (blocked)" in caplog.text


async def student_status(ctx: AppContext) -> tuple[str, list[str]]:
    async with ctx.sessions() as session:
        status = await session.scalar(
            select(Student.status)
            .join(ChannelIdentity, ChannelIdentity.student_id == Student.id)
            .where(ChannelIdentity.external_id == str(STUDENT))
        )
        audited = (await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    assert status is not None
    return status, [a for a in audited if a.startswith("student_")]


async def test_a_student_who_blocked_the_bot_is_unreachable_until_they_write_again(
    chat: Chat, ctx: AppContext, district: dict[str, object]
) -> None:
    await onboard(chat, STUDENT, str(district["code"]))
    assert (await student_status(ctx))[0] == "active"
    chat.api.failures["sendMessage"] = [dict(FORBIDDEN)]
    refused = await chat.text(STUDENT, "今天有点累")
    assert [c.method for c in refused] == ["sendMessage"]  # no second try, no error text
    assert await student_status(ctx) == ("unreachable", ["student_unreachable"])
    assert await count(ctx, Message, kind="text") >= 1  # what they wrote is kept

    answered = await chat.text(STUDENT, "我又回来了")  # they unblocked us and wrote
    assert texts_of(answered)
    assert await student_status(ctx) == (
        "active",
        ["student_unreachable", "student_reachable"],
    )
