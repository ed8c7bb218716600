"""Counselors in Telegram: linking a chat, alerts with buttons, acting, /queue and /case."""

from __future__ import annotations

from datetime import timedelta

from fake_telegram import Call
from sqlalchemy import select
from tg_world import COUNSELOR, STUDENT, T0, Chat, Clock, onboard, texts_of

from bot.bootstrap import AppContext
from bot.channels.telegram.runner import BotProcess
from bot.services import counselor_links
from storage.models import (
    Case,
    CaseEvent,
    CaseRequest,
    CounselorContact,
    Message,
    Notification,
)

District = dict[str, object]


async def contacts(ctx: AppContext, counselor_id: object) -> list[tuple[str, str, int]]:
    async with ctx.sessions() as session:
        rows = await session.execute(
            select(CounselorContact.channel, CounselorContact.address, CounselorContact.rank)
            .where(CounselorContact.counselor_id == counselor_id)
            .order_by(CounselorContact.rank)
        )
    return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def link(chat: Chat, district: District) -> None:
    calls = await chat.command(COUNSELOR, f"/link {district['link']}")
    assert "已绑定：陈老师" in texts_of(calls)


async def crisis_alert(chat: Chat, process: BotProcess, clock: Clock, district: District) -> Call:
    """A student in crisis; the green channel ticks; the alert the counselor got."""
    await link(chat, district)
    await onboard(chat, STUDENT, str(district["code"]))
    await chat.text(STUDENT, "我现在就站在楼顶，不想活了")
    await process.runtime.green.engine.tick(clock())
    [alert] = [c for c in chat.api.sent_to(COUNSELOR) if c.callback_data]
    return alert


async def case_of(ctx: AppContext) -> Case:
    async with ctx.sessions() as session:
        case = await session.scalar(select(Case))
    assert case is not None
    return case


async def test_link_code_makes_the_private_chat_the_first_contact(
    chat: Chat, ctx: AppContext, district: District
) -> None:
    await link(chat, district)
    assert await contacts(ctx, district["counselor"]) == [
        ("telegram", str(COUNSELOR), 0),
        ("email", "chen@school.example", 1),
    ]
    again = await chat.command(8888, f"/link {district['link']}")
    assert "已经用过" in texts_of(again)
    wrong = await chat.command(8888, "/link NOPE2-NOPE3")
    assert "无效" in texts_of(wrong)


async def test_an_expired_or_groupwide_link_is_refused(
    chat: Chat, ctx: AppContext, district: District
) -> None:
    async with ctx.sessions.begin() as session:
        issued = await counselor_links.issue(
            session, int(str(district["other"])), ttl=timedelta(minutes=1), now=T0, actor="t"
        )
    in_group = await chat.send(chat.make.group_text(COUNSELOR, f"/link {issued.code}"))
    assert texts_of(in_group) == "请私聊我 / please message me privately"
    chat.process.desk.service.clock = lambda: T0 + timedelta(hours=1)
    late = await chat.command(COUNSELOR, f"/link {issued.code}")
    assert "过期" in texts_of(late)
    assert await contacts(ctx, district["other"]) == [("telegram", "6161", 0)]


async def test_a_linked_counselor_is_not_treated_as_a_student(
    chat: Chat, ctx: AppContext, district: District
) -> None:
    await link(chat, district)
    calls = await chat.text(COUNSELOR, "我想自杀")
    assert "/queue" in texts_of(calls)
    async with ctx.sessions() as session:
        assert await session.scalar(select(Message)) is None
        assert await session.scalar(select(CaseRequest)) is None


async def test_the_alert_has_action_buttons_and_acknowledge_stops_escalation(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    alert = await crisis_alert(chat, process, clock, district)
    case = await case_of(ctx)
    assert alert.callback_data == [
        f"c:{case.id}:ack",
        f"c:{case.id}:contacted",
        f"c:{case.id}:refer",
        f"c:{case.id}:resolve",
        f"c:{case.id}:take",
    ]
    assert "紧急" in alert.text
    async with ctx.sessions() as session:
        sent = await session.scalar(select(Notification).where(Notification.channel == "telegram"))
    assert sent is not None
    assert (sent.status, sent.external_id) == ("sent", str(alert.message_id))
    assert alert.message_id is not None
    calls = await chat.send(
        chat.make.press(COUNSELOR, f"c:{case.id}:ack", message_id=alert.message_id, text=alert.text)
    )
    answer, edit = calls
    assert answer.method == "answerCallbackQuery"
    assert "确认" in answer.params["text"]
    assert edit.method == "editMessageText"
    assert "状态 Status: 已确认 / acknowledged · 陈老师" in edit.text
    assert edit.callback_data == [
        f"c:{case.id}:contacted",
        f"c:{case.id}:refer",
        f"c:{case.id}:resolve",
        f"c:{case.id}:take",
    ]
    acked = await case_of(ctx)
    assert (acked.status, acked.acknowledged_by, acked.next_step_at) == (
        "acknowledged",
        district["counselor"],
        None,
    )
    chat.api.clear()
    clock.now += timedelta(minutes=20)  # past every ack timeout: nobody is paged again
    await process.runtime.green.engine.tick(clock())
    assert chat.api.sent_to(COUNSELOR) == []


async def test_a_press_by_anyone_but_that_counselor_is_refused(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    alert = await crisis_alert(chat, process, clock, district)
    case = await case_of(ctx)
    data = f"c:{case.id}:ack"
    stranger = await chat.send(chat.make.press(7777, data, chat_id=7777))
    forwarded = await chat.send(chat.make.press(7777, data, chat_id=COUNSELOR))
    other_school = await chat.send(chat.make.press(6161, data, chat_id=6161))
    for calls, note in (
        (stranger, "只有已绑定的心理老师"),
        (forwarded, "只有已绑定的心理老师"),
        (other_school, "不在你负责的学校"),
    ):
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert note in calls[0].params["text"]
        assert calls[0].params["show_alert"] is True
    assert (await case_of(ctx)).status == "open"
    assert alert.message_id is not None


async def test_a_press_on_a_resolved_case_is_refused_politely(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    alert = await crisis_alert(chat, process, clock, district)
    case = await case_of(ctx)
    assert alert.message_id is not None
    resolve = f"c:{case.id}:resolve"
    await chat.send(
        chat.make.press(COUNSELOR, resolve, message_id=alert.message_id, text=alert.text)
    )
    calls = await chat.send(
        chat.make.press(COUNSELOR, f"c:{case.id}:ack", message_id=alert.message_id, text=alert.text)
    )
    assert calls[0].method == "answerCallbackQuery"
    assert "已解决" in calls[0].params["text"]
    assert [c.method for c in calls[1:]] == ["editMessageReplyMarkup"]
    assert "reply_markup" not in calls[1].params  # nothing left to press
    assert (await case_of(ctx)).status == "resolved"


async def test_queue_lists_open_cases_in_scope_and_case_records_the_view(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    await crisis_alert(chat, process, clock, district)
    case = await case_of(ctx)
    queue = texts_of(await chat.command(COUNSELOR, "/queue"))
    assert f"#{case.id} 紧急 EMERGENCY" in queue
    assert "示例中学" in queue
    shown = texts_of(await chat.command(COUNSELOR, f"/case {case.id}"))
    assert f"(#{case.id}) · EMERGENCY · open" in shown
    assert "system opened" in shown
    assert shown.endswith(f"counselor:{district['counselor']} viewed")  # this very view
    async with ctx.sessions() as session:
        actions = (
            await session.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case.id))
        ).all()
    assert "viewed" in actions
    outsider = await chat.command(6161, f"/case {case.id}")
    assert "不在你负责的学校" in texts_of(outsider)
    not_linked = await chat.command(7777, "/queue")
    assert "只有已绑定的心理老师" in texts_of(not_linked)


async def test_case_and_note_take_the_number_printed_in_alerts(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    await crisis_alert(chat, process, clock, district)
    case = await case_of(ctx)
    number = f"{case.created_at:%Y}-{case.id:05d}"
    shown = texts_of(await chat.command(COUNSELOR, f"/case {number}"))
    assert f"Case {number} (#{case.id})" in shown
    noted = texts_of(await chat.command(COUNSELOR, f"/note {number} 已电话联系家长"))
    assert f"Note added to case {number}" in noted
    wrong_year = texts_of(await chat.command(COUNSELOR, f"/case 1999-{case.id:05d}"))
    assert "No case #1999-" in wrong_year
    forged = texts_of(await chat.command(COUNSELOR, "/case ²"))
    assert "Usage: /case N" in forged
