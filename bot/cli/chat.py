"""``heartguard chat`` and ``heartguard demo``: the console channel from the command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.app import AppContext, build_pipeline, open_app
from bot.channels.console import Console
from bot.cli.main import run_async, utcnow
from bot.config.settings import Settings
from bot.green import GreenChannel, build_green_channel
from bot.services import admin, enrollment, roster_import
from bot.services.pipeline import Outcome
from storage.migrate import upgrade
from storage.models import DutyShift, School

DEMO_SCHOOL = "DEMO"
# Invented pupils for the demo; no real student data lives in this repository.
DEMO_ROSTER = (
    "school,class,grade,student_number,name,guardian_consent\n"
    "DEMO,初二(1)班,8,D001,小林,yes\n"
    "DEMO,初二(1)班,8,D002,小周,yes\n"
    "DEMO,五年级(2)班,5,D003,小吴,no\n"
).encode()


def register(commands: Any) -> None:
    """Add the chat and demo commands."""
    chat = commands.add_parser("chat", help="talk to HeartGuard in the terminal")
    chat.add_argument(
        "--student", default=None, help="chat identity (default: a fresh anonymous demo student)"
    )
    chat.add_argument(
        "--jsonl",
        action="store_true",
        help='script it: JSON lines {"from": ..., "text"|"button": ...} on stdin',
    )
    chat.set_defaults(handler=run_async(_chat))
    demo = commands.add_parser(
        "demo", help="migrate, seed a demo school, and start a chat (the embedded SQLite default)"
    )
    demo.set_defaults(handler=run_async(_demo))


def _kicker(green: GreenChannel) -> Callable[[Outcome], Awaitable[None]]:
    """Run the green channel in-process right after a message that asked for a case."""

    async def after(outcome: Outcome) -> None:
        if outcome.created_case_request:
            await green.engine.tick(utcnow())

    return after


async def _chat(args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings) as app:
        green = build_green_channel(app)
        console = Console(build_pipeline(app), after_commit=_kicker(green))
        try:
            if args.jsonl:
                bad = await console.run_jsonl(sys.stdin, sys.stdout)
                if bad:
                    print(f"heartguard: {bad} input line(s) could not be used", file=sys.stderr)
                return 1 if bad else 0
            who = args.student or f"demo-{os.getpid()}"
            await console.run_interactive(who, sys.stdin, sys.stdout)
        finally:
            await green.aclose()
    return 0


async def seed_demo(app: AppContext) -> str:
    """A demo school, class, counselor and roster; returns a fresh enrollment code."""
    now = utcnow()
    async with app.sessions.begin() as session:
        school = await session.scalar(select(School).where(School.code == DEMO_SCHOOL))
        if school is None:
            await admin.add_school(
                session,
                code=DEMO_SCHOOL,
                name="心卫示范中学",
                timezone=app.settings.schools.default_timezone,
                now=now,
                actor="demo",
            )
            await roster_import.import_roster(session, DEMO_ROSTER, now=now, actor="demo")
            counselor = await admin.add_counselor(
                session,
                name="陈老师（示范）",
                role="school_counselor",
                school_refs=[DEMO_SCHOOL],
                contacts=[("console", "demo")],
                now=now,
                actor="demo",
            )
            await admin.add_counselor(
                session,
                name="区危机干预组（示范）",
                role="district_crisis",
                school_refs=[],
                contacts=[("console", "district")],
                now=now,
                actor="demo",
            )
            school = await session.scalar(select(School).where(School.code == DEMO_SCHOOL))
            assert school is not None
            # On duty around the clock, so the demo shows the green channel at any hour.
            session.add_all(
                DutyShift(
                    counselor_id=counselor.id,
                    tier="school",
                    school_id=school.id,
                    weekday=day,
                    start_minute=0,
                    end_minute=1440,
                    created_at=now,
                )
                for day in range(7)
            )
        issued = await enrollment.issue_codes(
            session,
            app.cipher,
            school_ref=DEMO_SCHOOL,
            class_name=None,
            student_number=None,
            ttl=timedelta(days=1),
            now=now,
            actor="demo",
            include_enrolled=True,
        )
    return issued[0].code


async def _demo(_args: argparse.Namespace, settings: Settings) -> int:
    async with open_app(settings, need_schema=False) as app:
        await upgrade(app.engine)
        code = await seed_demo(app)
        print("心卫 HeartGuard 演示 / demo")
        print(f"数据库 / database: {settings.database.url}")
        print(f"示范学校的入学码 / a demo enrollment code: {code}")
        print("试试：做一次心情小调查（/checkin），或者说说心里话。")
        print("Try /checkin, or tell it how you feel. The detector reads every message.\n")
        green = build_green_channel(app)
        console = Console(build_pipeline(app), after_commit=_kicker(green))
        try:
            await console.run_interactive(f"demo-{os.getpid()}", sys.stdin, sys.stdout)
        finally:
            await green.aclose()
    return 0
