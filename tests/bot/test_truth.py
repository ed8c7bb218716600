"""The bot says only what is true: who was told, and only if they can be reached.

Each scenario is a student writing a crisis (or asking for a counselor) through the console
channel, on SQLite and PostgreSQL, with a roster that can or cannot reach someone: no
counselor at all, a counselor whose only contact is on a channel that is not configured (an
e-mail address without SMTP, a Telegram chat without a token, a phone number), a school
counselor on duty, or only the district team. The reply must match, and the green channel
must page whoever can be reached at once.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.bootstrap import AppContext, build_runtime
from bot.channels.console import CHANNEL, Console
from bot.cli.main import main
from bot.config.settings import load_settings
from bot.services import admin
from escalation.coverage import Reach, ReachFinder, gaps, snapshot
from escalation.duty import round_the_clock
from storage.crypto import DataCipher
from storage.models import CaseEvent, ChannelIdentity, DutyShift, Notification, Student

# Monday 2026-11-02 10:00 in Shanghai.
MONDAY_10 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
CRISIS = "我今晚就去跳楼，药也准备好了"
TOLD_SCHOOL = "我已经通知了学校值班的心理老师"
TOLD_DISTRICT = "区里值班的危机干预老师"
NOBODY = "现在我没能联系上值班的老师"


class Clock:
    def __init__(self) -> None:
        self.now = MONDAY_10

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def app(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> AppContext:
    return AppContext(load_settings(None, {}), engine, sessions, cipher)


async def school_and_student(app: AppContext) -> tuple[int, str]:
    """A school and an onboarded student of it who talks through the console."""
    async with app.sessions.begin() as session:
        school = await admin.add_school(
            session, code="T01", name="真话中学", timezone="Asia/Shanghai", now=MONDAY_10, actor="t"
        )
        student = Student(
            school_id=school.id,
            display_name="小真",
            grade=8,
            status="active",
            onboarded=True,
            guardian_consent=True,
            consent_at=MONDAY_10,
            created_at=MONDAY_10,
        )
        session.add(student)
        await session.flush()
        session.add(
            ChannelIdentity(
                student_id=student.id,
                channel=CHANNEL,
                external_id="s1",
                chat_id="s1",
                created_at=MONDAY_10,
            )
        )
    return school.id, "s1"


async def counselor(
    app: AppContext,
    contacts: list[tuple[str, str]],
    *,
    role: str = "school_counselor",
    duty_school: int | None = None,
) -> int:
    async with app.sessions.begin() as session:
        row = await admin.add_counselor(
            session,
            name="老师",
            role=role,
            school_refs=["T01"] if role == "school_counselor" else [],
            contacts=contacts,
            now=MONDAY_10,
            actor="t",
        )
        if duty_school is not None:
            round_the_clock(session, row.id, tier="school", school_id=duty_school, now=MONDAY_10)
    return row.id


async def say(app: AppContext, text: str) -> tuple[str, Console]:
    runtime = build_runtime(app, clock=Clock(), plugs={"telegram": None})

    async def tick(outcome: object) -> None:
        await runtime.green.engine.tick(MONDAY_10 + timedelta(minutes=1))

    console = Console(runtime.students, after_commit=tick)
    outcome = await console.send("s1", "text", text)
    return "\n".join(r.text for r in outcome.replies), console


async def test_a_fresh_install_promises_nobody_and_gives_the_numbers(app: AppContext) -> None:
    await school_and_student(app)
    said, _ = await say(app, CRISIS)
    assert NOBODY in said
    for number in ("110", "120", "12356"):
        assert number in said
    assert "已经通知" not in said


@pytest.mark.parametrize(
    "contacts",
    [
        [("email", "chen@school.example")],  # no SMTP host configured
        [("telegram", "12345")],  # no Telegram token in this process
        [("phone", "13800000000")],  # HeartGuard has no phone channel
    ],
    ids=["email-without-smtp", "telegram-without-token", "phone-only"],
)
async def test_a_counselor_on_an_unusable_channel_is_not_promised(
    app: AppContext, contacts: list[tuple[str, str]]
) -> None:
    school, _ = await school_and_student(app)
    await counselor(app, contacts, duty_school=school)
    said, _ = await say(app, CRISIS)
    assert NOBODY in said
    async with app.sessions() as session:
        queued = (await session.scalars(select(Notification))).all()
        events = set((await session.scalars(select(CaseEvent.action))).all())
    assert not queued  # nothing waits forever on a channel nobody can send
    assert "nobody_on_duty" in events  # the auditor raises it


async def test_a_school_counselor_on_duty_is_told_and_paged(app: AppContext) -> None:
    school, _ = await school_and_student(app)
    await counselor(app, [("phone", "13800138000"), ("console", "chen")], duty_school=school)
    said, _ = await say(app, CRISIS)
    assert TOLD_SCHOOL in said
    assert NOBODY not in said
    async with app.sessions() as session:
        sent = (await session.execute(select(Notification.tier, Notification.channel))).all()
    assert ("school", "console") in [tuple(r) for r in sent]


async def test_with_no_school_counselor_on_duty_the_district_team_is_paged_at_once(
    app: AppContext,
) -> None:
    await school_and_student(app)
    await counselor(app, [("console", "district")], role="district_crisis")
    said, _ = await say(app, CRISIS)
    assert TOLD_DISTRICT in said
    async with app.sessions() as session:
        tiers = set((await session.scalars(select(Notification.tier))).all())
    assert tiers == {"district"}  # straight to the tier that can act, not after a timeout


async def test_asking_for_a_counselor_with_nobody_configured_is_told_where_to_go(
    app: AppContext,
) -> None:
    await school_and_student(app)
    runtime = build_runtime(app, clock=Clock(), plugs={"telegram": None})
    console = Console(runtime.students)
    await console.send("s1", "command", "talk")
    replies = []
    for _ in range(4):  # answer the questions with their first option until it is done
        buttons = console.last_buttons.get("s1", ())
        if not buttons:
            break
        outcome = await console.send("s1", "button", buttons[0][0])
        replies += [r.text for r in outcome.replies]
    said = "\n".join(replies)
    assert "还没有能联系上的心理老师" in said
    assert "12355" in said


async def test_reach_and_gaps_follow_the_shifts(app: AppContext) -> None:
    school, _ = await school_and_student(app)
    teacher = await counselor(app, [("console", "chen")])
    async with app.sessions.begin() as session:
        # Weekdays 08:00–17:00 only.
        session.add_all(
            DutyShift(
                counselor_id=teacher,
                tier="school",
                school_id=school,
                weekday=day,
                start_minute=8 * 60,
                end_minute=17 * 60,
                created_at=MONDAY_10,
            )
            for day in range(5)
        )
    finder = ReachFinder({"console"}, district_zone="Asia/Shanghai")
    evening = MONDAY_10 + timedelta(hours=10)  # 20:00 local
    async with app.sessions() as session:
        assert await finder.find(session, school, MONDAY_10, look_ahead=False) is Reach.SCHOOL
        assert await finder.find(session, school, evening, look_ahead=False) is Reach.NOBODY
        assert await finder.find(session, school, evening, look_ahead=True) is Reach.LATER
        snap = await snapshot(session, channels={"console"}, since=MONDAY_10)
    found = gaps(
        snap, tier="school", school_id=school, start=MONDAY_10, days=7, zone="Asia/Shanghai"
    )
    starts = [(g.start.strftime("%a %H:%M"), g.end.strftime("%a %H:%M")) for g in found]
    assert starts[0] == ("Mon 17:00", "Tue 08:00")
    assert ("Fri 17:00", "Mon 08:00") in starts  # the weekend
    assert len(found) == 5


def test_duty_check_names_each_gap_and_each_unusable_contact(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(*args: str) -> str:
        assert main(list(args)) == 0
        return capsys.readouterr().out

    run("schools", "add", "T01", "真话中学")
    run("counselors", "add", "陈老师", "--role", "school_counselor", "--school", "T01",
        "--email", "chen@school.example")  # fmt: skip
    run("duty", "add", "1", "--tier", "school", "--school", "T01", "--days", "all",
        "--from", "00:00", "--to", "24:00")  # fmt: skip
    text = run("duty", "check")
    assert "T01\t真话中学\tnobody reachable" in text  # on duty, but e-mail has no SMTP here
    assert "email contact cannot be used (set escalation.email.host)" in text
    report = json.loads(run("duty", "check", "--json", "--days", "2"))
    [school] = [p for p in report["places"] if p["code"] == "T01"]
    assert len(school["gaps"]) == 1  # the whole two days
    assert school["gaps"][0]["start"].endswith("+08:00")
    assert report["unusable_contacts"] == [{"counselor": 1, "name": "陈老师", "channel": "email"}]
    assert main(["duty", "check", "--days", "0"]) == 1
