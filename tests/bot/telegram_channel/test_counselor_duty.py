"""Counselors in Telegram: /duty (who is on duty, start and end my shift) and /note N text."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from tg_world import COUNSELOR, STUDENT, T0, Chat, Clock, onboard, texts_of

from bot.bootstrap import AppContext
from bot.channels.telegram.runner import BotProcess
from bot.services import admin
from escalation.roster import on_duty
from storage.models import AuditEvent, Case, CaseEvent, DutyOverride, School

District = dict[str, object]
OTHER = 6161  # 李老师's chat (school BB02), linked in the fixture
CRISIS_TEAM = 7272


async def link(chat: Chat, district: District) -> None:
    assert "已绑定" in texts_of(await chat.command(COUNSELOR, f"/link {district['link']}"))


async def school_id(ctx: AppContext, code: str) -> int:
    async with ctx.sessions() as session:
        found = await session.scalar(select(School.id).where(School.code == code))
    assert found is not None
    return found


async def duty_now(ctx: AppContext, tier: str, school: int | None, now: datetime) -> list[int]:
    async with ctx.sessions() as session:
        return await on_duty(session, tier=tier, school_id=school, now=now, zone="Asia/Shanghai")


async def open_case(chat: Chat, process: BotProcess, clock: Clock, district: District) -> Case:
    await onboard(chat, STUDENT, str(district["code"]))
    await chat.text(STUDENT, "我现在就站在楼顶，不想活了")
    await process.runtime.green.engine.tick(clock())
    async with process.runtime.sessions() as session:
        case = await session.scalar(select(Case))
    assert case is not None
    return case


async def test_duty_shows_my_schools_and_the_district_only(
    chat: Chat, ctx: AppContext, district: District
) -> None:
    await link(chat, district)
    board = texts_of(await chat.command(COUNSELOR, "/duty"))
    assert "示例中学：陈老师" in board
    assert "另一所中学" not in board  # not 陈老师's school
    assert "District team：无人" in board
    other = texts_of(await chat.command(OTHER, "/duty"))
    assert "另一所中学：无人值班" in other
    assert "示例中学" not in other
    stranger = await chat.command(7777, "/duty")
    assert "只有已绑定的心理老师" in texts_of(stranger)


async def test_duty_start_puts_me_on_duty_now_and_duty_end_takes_me_off(
    chat: Chat, ctx: AppContext, clock: Clock, district: District
) -> None:
    bb02 = await school_id(ctx, "BB02")
    assert await duty_now(ctx, "school", bb02, clock.now) == []
    started = texts_of(await chat.command(OTHER, "/duty start 2h"))
    assert "你已开始值班，到 11-02 12:00" in started  # T0 is 10:00 Shanghai; minutes rounded
    on = await duty_now(ctx, "school", bb02, clock.now)
    assert on == [district["other"]]
    assert "另一所中学：李老师" in texts_of(await chat.command(OTHER, "/duty"))
    async with ctx.sessions() as session:
        rows = (await session.scalars(select(DutyOverride))).all()
    assert [(r.day, r.kind, r.tier, r.school_id, r.start_minute, r.end_minute) for r in rows] == [
        (date(2026, 11, 2), "on", "school", bb02, 600, 720)
    ]

    ended = texts_of(await chat.command(OTHER, "/duty end"))
    assert "临时值班已结束" in ended
    assert "排班表" not in ended  # 李老师 has no weekly shift to stay on
    assert await duty_now(ctx, "school", bb02, clock.now) == []
    again = texts_of(await chat.command(OTHER, "/duty end"))
    assert "没有临时值班" in again
    async with ctx.sessions() as session:
        audited = (
            await session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("duty_%")))
        ).all()
    assert audited == ["duty_started", "duty_ended"]


async def test_a_shift_past_midnight_continues_the_next_day_and_ends_cleanly(
    chat: Chat, ctx: AppContext, clock: Clock, district: District
) -> None:
    bb02 = await school_id(ctx, "BB02")
    clock.now = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
    await chat.command(OTHER, "/duty start 4h")
    after_midnight = datetime(2026, 11, 2, 17, 0, tzinfo=UTC)  # 01:00 on the 3rd
    assert await duty_now(ctx, "school", bb02, after_midnight) == [district["other"]]
    assert await duty_now(ctx, "school", bb02, datetime(2026, 11, 2, 18, 1, tzinfo=UTC)) == []
    clock.now = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # 23:00: the counselor stops early
    await chat.command(OTHER, "/duty end")
    assert await duty_now(ctx, "school", bb02, after_midnight) == []
    async with ctx.sessions() as session:
        rows = (await session.scalars(select(DutyOverride))).all()
    assert [(r.day, r.start_minute, r.end_minute) for r in rows] == [
        (date(2026, 11, 2), 1320, 1380)
    ]


async def test_ending_my_ad_hoc_shift_leaves_the_weekly_roster_alone(
    chat: Chat, ctx: AppContext, clock: Clock, district: District
) -> None:
    await link(chat, district)
    bb01 = await school_id(ctx, "BB01")
    await chat.command(COUNSELOR, "/duty start")
    reply = texts_of(await chat.command(COUNSELOR, "/duty end"))
    assert "临时值班已结束" in reply
    assert "排班表" in reply  # still on the weekly shift an administrator set
    assert await duty_now(ctx, "school", bb01, clock.now) == [district["counselor"]]


async def test_duty_start_for_the_crisis_team_and_refusals(
    chat: Chat, ctx: AppContext, clock: Clock, district: District
) -> None:
    async with ctx.sessions.begin() as session:
        team = await admin.add_counselor(
            session,
            name="区危机组王老师",
            role="district_crisis",
            school_refs=[],
            contacts=[("telegram", str(CRISIS_TEAM))],
            now=T0,
            actor="t",
        )
        await admin.add_counselor(
            session,
            name="医院联络员",
            role="hospital_liaison",
            school_refs=[],
            contacts=[("telegram", "7373")],
            now=T0,
            actor="t",
        )
    board = texts_of(await chat.command(CRISIS_TEAM, "/duty"))
    assert "示例中学" in board  # district scope sees every school
    assert "另一所中学" in board
    assert "无排班，提醒发给全体成员 / no shift; alerts go to all of them: 区危机组王老师" in board
    await chat.command(CRISIS_TEAM, "/duty start")
    assert await duty_now(ctx, "district", None, clock.now) == [team.id]
    assert "District team：区危机组王老师" in texts_of(await chat.command(CRISIS_TEAM, "/duty"))
    assert "只有学校心理老师和区危机干预团队" in texts_of(await chat.command(7373, "/duty start"))
    for wrong in ("/duty start 30h", "/duty start soon", "/duty maybe"):
        assert "用法：/duty" in texts_of(await chat.command(CRISIS_TEAM, wrong))


async def test_note_adds_to_the_timeline_in_scope_only(
    chat: Chat, ctx: AppContext, process: BotProcess, clock: Clock, district: District
) -> None:
    await link(chat, district)
    case = await open_case(chat, process, clock, district)
    done = texts_of(await chat.command(COUNSELOR, f"/note {case.id} 已电话联系家长\n明早复查"))
    assert "已记录到案例" in done
    outsider = texts_of(await chat.command(OTHER, f"/note {case.id} 看一下"))
    assert "不在你负责的学校" in outsider
    for wrong in ("/note", f"/note {case.id}", "/note abc 内容"):
        assert "用法：/note" in texts_of(await chat.command(COUNSELOR, wrong))
    assert "没有找到案例 #99999" in texts_of(await chat.command(COUNSELOR, "/note 99999 内容"))
    assert "只有已绑定的心理老师" in texts_of(await chat.command(7777, f"/note {case.id} x"))
    async with ctx.sessions() as session:
        events = (
            await session.execute(
                select(CaseEvent.actor, CaseEvent.action, CaseEvent.details)
                .where(CaseEvent.case_id == case.id, CaseEvent.action.in_(("note", "refused")))
                .order_by(CaseEvent.id)
            )
        ).all()
    assert [(actor, action) for actor, action, _ in events] == [
        (f"counselor:{district['counselor']}", "note"),
        (f"counselor:{district['other']}", "refused"),
    ]
    assert events[0][2]["note"] == "已电话联系家长\n明早复查"
