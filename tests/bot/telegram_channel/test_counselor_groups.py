"""Counselor groups registered in config: linked counselors act there, nobody else is answered."""

from __future__ import annotations

from typing import Any

import pytest
from fake_telegram import FORBIDDEN, Call
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from test_counselor_desk import case_of, crisis_alert
from tg_world import COUNSELOR, STUDENT, TOKEN, Chat, Clock, onboard, texts_of

import bot.services.counselor_desk as desk_module
from bot.bootstrap import AppContext
from bot.channels.telegram.runner import BotProcess
from bot.config.settings import settings_from_mapping
from storage.crypto import DataCipher
from storage.models import CaseEvent, ChannelIdentity, Counselor, CounselorContact, Message

GROUP = -100_300  # registered
OTHER_GROUP = -100_200  # just a class group
MEMBER = 7777  # in the group, never linked

District = dict[str, object]


@pytest.fixture
def ctx(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> AppContext:
    settings = settings_from_mapping(
        {"telegram": {"counselor_groups": [GROUP]}},
        source="test",
        environ={"HEARTGUARD_TELEGRAM_TOKEN": TOKEN},
    )
    return AppContext(settings, engine, sessions, cipher)


def in_group(chat: Chat, user: int, text: str, group: int = GROUP) -> Any:
    return chat.make.group_text(user, text, chat_id=group)


def sent(calls: list[Call], chat_id: int) -> str:
    return texts_of([c for c in calls if str(c.params.get("chat_id")) == str(chat_id)])


async def events(ctx: AppContext) -> list[str]:
    async with ctx.sessions() as session:
        return list((await session.scalars(select(CaseEvent.action))).all())


async def test_queue_and_case_asked_in_the_group_go_to_the_private_chat(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    await crisis_alert(chat, process, clock, district)
    case = await case_of(ctx)
    queue = await chat.send(in_group(chat, COUNSELOR, "/queue"))
    assert "私信" in sent(queue, GROUP)
    assert f"#{case.id} 紧急 EMERGENCY" in sent(queue, COUNSELOR)
    assert f"#{case.id}" not in sent(queue, GROUP)
    shown = await chat.send(in_group(chat, COUNSELOR, f"/case@heartguard_test_bot {case.id}"))
    assert f"(#{case.id}) · EMERGENCY · open" in sent(shown, COUNSELOR)
    assert "EMERGENCY" not in sent(shown, GROUP)
    assert (await events(ctx)).count("viewed") == 1


async def test_nobody_but_a_linked_counselor_is_answered_in_the_group(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    await crisis_alert(chat, process, clock, district)
    case = await case_of(ctx)
    before = await events(ctx)
    for text in ("/queue", f"/case {case.id}", f"/note {case.id} 我来跟进", "/duty"):
        calls = await chat.send(in_group(chat, MEMBER, text))
        assert [c.method for c in calls] == ["sendMessage"]
        assert "只有已绑定的心理老师" in sent(calls, GROUP)
    chatter = await chat.send(in_group(chat, MEMBER, "我想自杀"))
    assert chatter == []  # a counselor group is not a student channel: nothing said, kept
    assert await events(ctx) == before
    async with ctx.sessions() as session:
        assert (
            await session.scalar(
                select(ChannelIdentity).where(ChannelIdentity.external_id == str(MEMBER))
            )
            is None
        )
        assert (
            await session.scalar(select(Message).where(Message.student_id != case.student_id))
            is None
        )


async def test_a_counselor_acts_on_an_alert_and_adds_a_note_in_the_group(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    alert = await crisis_alert(chat, process, clock, district)
    case = await case_of(ctx)
    refused = await chat.send(
        chat.make.press(MEMBER, f"c:{case.id}:ack", chat_id=GROUP, text=alert.text)
    )
    assert "只有已绑定的心理老师" in refused[0].params["text"]
    assert (await case_of(ctx)).status == "open"
    pressed = await chat.send(
        chat.make.press(
            COUNSELOR, f"c:{case.id}:ack", message_id=42, chat_id=GROUP, text=alert.text
        )
    )
    assert pressed[0].method == "answerCallbackQuery"
    [edit] = [c for c in pressed if c.method == "editMessageText"]
    assert edit.params["chat_id"] == GROUP
    assert "已确认 / acknowledged · 陈老师" in edit.text
    assert (await case_of(ctx)).acknowledged_by == district["counselor"]
    noted = await chat.send(in_group(chat, COUNSELOR, f"/note {case.id} 已电话联系家长"))
    assert "已记录" in sent(noted, GROUP)
    assert "note" in await events(ctx)


async def test_an_unregistered_group_gets_the_student_line_even_from_a_counselor(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    alert = await crisis_alert(chat, process, clock, district)
    case = await case_of(ctx)
    calls = await chat.send(in_group(chat, COUNSELOR, "/queue", group=OTHER_GROUP))
    assert texts_of(calls) == "请私聊我 / please message me privately"
    press = await chat.send(
        chat.make.press(COUNSELOR, f"c:{case.id}:ack", chat_id=OTHER_GROUP, text=alert.text)
    )
    assert "只有已绑定的心理老师" in press[0].params["text"]
    assert (await case_of(ctx)).status == "open"


async def test_a_deactivated_counselor_loses_the_desk_at_once(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    await crisis_alert(chat, process, clock, district)
    assert "私信" in sent(await chat.send(in_group(chat, COUNSELOR, "/queue")), GROUP)
    async with ctx.sessions.begin() as session:
        await session.execute(
            update(Counselor).where(Counselor.id == district["counselor"]).values(active=False)
        )
    # The bot's list of linked accounts is seconds old; a "yes" from it is always re-checked.
    group = await chat.send(in_group(chat, COUNSELOR, "/queue"))
    private = await chat.command(COUNSELOR, "/queue")
    assert "只有已绑定的心理老师" in sent(group, GROUP)
    assert "只有已绑定的心理老师" in texts_of(private)


async def test_a_counselor_linked_by_another_process_is_recognised_after_the_list_refreshes(
    chat: Chat,
    ctx: AppContext,
    process: BotProcess,
    district: District,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = await chat.command(8080, "/queue")  # the bot reads its list of linked accounts
    assert "只有已绑定的心理老师" in texts_of(first)
    async with ctx.sessions.begin() as session:  # as `heartguard` in another process would
        session.add(
            CounselorContact(
                counselor_id=int(str(district["counselor"])),
                channel="telegram",
                address="8080",
                rank=5,
            )
        )
    stale = await chat.command(8080, "/queue")
    assert "只有已绑定的心理老师" in texts_of(stale)  # the list is younger than its TTL
    monkeypatch.setattr(desk_module, "DIRECTORY_TTL", 0.0)
    fresh = await chat.command(8080, "/queue")
    assert "只有已绑定的心理老师" not in texts_of(fresh)
    assert "待处理案例" in texts_of(fresh) or "没有待处理" in texts_of(fresh)


async def test_details_that_cannot_be_sent_privately_are_not_shown_in_the_group(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    await crisis_alert(chat, process, clock, district)
    case = await case_of(ctx)
    chat.api.failures["sendMessage"] = [FORBIDDEN]  # the counselor blocked the bot since
    calls = await chat.send(in_group(chat, COUNSELOR, f"/case {case.id}"))
    assert "无法私信你" in sent(calls, GROUP)
    assert "EMERGENCY" not in sent(calls, GROUP)


async def test_a_group_can_be_a_counselors_first_contact_and_its_members_act_as_themselves(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    await chat.command(COUNSELOR, f"/link {district['link']}")
    async with ctx.sessions.begin() as session:  # `counselors add --contact telegram:-100300`
        session.add(
            CounselorContact(
                counselor_id=int(str(district["counselor"])),
                channel="telegram",
                address=str(GROUP),
                rank=-1,
            )
        )
    await onboard(chat, STUDENT, str(district["code"]))
    await chat.text(STUDENT, "我现在就站在楼顶，不想活了")
    await process.runtime.green.engine.tick(clock())
    [alert] = [c for c in chat.api.sent_to(GROUP) if c.callback_data]
    assert "紧急" in alert.text
    assert "楼顶" not in alert.text  # no student words unless configured
    case = await case_of(ctx)
    assert alert.message_id is not None
    stranger = await chat.send(
        chat.make.press(
            MEMBER, f"c:{case.id}:ack", message_id=alert.message_id, chat_id=GROUP, text=alert.text
        )
    )
    assert "只有已绑定的心理老师" in stranger[0].params["text"]
    pressed = await chat.send(
        chat.make.press(
            COUNSELOR,
            f"c:{case.id}:ack",
            message_id=alert.message_id,
            chat_id=GROUP,
            text=alert.text,
        )
    )
    [edit] = [c for c in pressed if c.method == "editMessageText"]
    assert edit.params["chat_id"] == GROUP
    assert (await case_of(ctx)).acknowledged_by == district["counselor"]
