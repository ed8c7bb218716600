"""``heartguard chat`` and ``heartguard demo``: the console channel from the command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.bootstrap import (
    AppContext,
    Runtime,
    build_runtime,
    open_app,
    open_runtime,
    upgrade_database,
)
from bot.channels.console import Console
from bot.channels.telegram import CHANNEL as TELEGRAM
from bot.cli.main import run_async, utcnow
from bot.config.settings import DatabaseSettings, EmailSettings, Settings, TelegramSettings
from bot.errors import HeartGuardError
from bot.services import admin, console_login, enrollment, roster_import
from bot.services.pipeline import Outcome
from bot.translation import _
from escalation.duty import round_the_clock
from storage.models import Counselor, School

DEMO_SCHOOL = "DEMO"
DEMO_DATABASE = "var/demo.db"
DEMO_KEY = "var/demo.key"
# Invented pupils for the demo; no real student data lives in this repository.
DEMO_ROSTER = (
    "school,class,grade,student_number,name,guardian_consent\n"
    "DEMO,初二(1)班,8,D001,小林,yes\n"
    "DEMO,初二(1)班,8,D002,小周,yes\n"
    "DEMO,五年级(2)班,5,D003,小吴,no\n"
).encode()


def register(commands: Any) -> None:
    """Add the chat and demo commands."""
    chat = commands.add_parser("chat", help=_("talk to HeartGuard in the terminal"))
    chat.add_argument(
        "--student", default=None, help=_("chat identity (default: a fresh anonymous demo student)")
    )
    chat.add_argument(
        "--jsonl",
        action="store_true",
        help='script it: JSON lines {"from": ..., "text"|"button": ...} on stdin',
    )
    chat.set_defaults(handler=run_async(_chat))
    demo = commands.add_parser(
        "demo",
        help=_("migrate, seed a demo school, and start a chat (the embedded SQLite default)"),
    )
    demo.set_defaults(handler=run_async(_demo), no_database=True)


def console_for(runtime: Runtime) -> Console:
    """The console channel, running the green channel in-process after each case request.

    A tick right after the commit (instead of the scheduler's next one) keeps a scripted
    conversation's alerts in order with its replies.
    """

    async def after(outcome: Outcome) -> None:
        if outcome.created_case_request:
            await runtime.green.engine.tick(runtime.clock())

    return Console(runtime.students, after_commit=after)


async def _chat(args: argparse.Namespace, settings: Settings) -> int:
    async with open_runtime(settings) as runtime:
        console = console_for(runtime)
        if args.jsonl:
            bad = await console.run_jsonl(sys.stdin, sys.stdout)
            if bad:
                print(f"heartguard: {bad} input line(s) could not be used", file=sys.stderr)
            return 1 if bad else 0
        who = args.student or f"demo-{os.getpid()}"
        await console.run_interactive(who, sys.stdin, sys.stdout)
    return 0


@dataclass(frozen=True)
class DemoCodes:
    """Fresh enrollment codes: a pupil who may use every feature, and one who may not."""

    full: str
    limited: str
    # The demo counselor's console sign-in: their number and a password made for this run.
    counselor_id: int = 0
    console_password: str = ""


DEMO_COUNSELOR = "陈老师（示范）"
# 小林 (grade 8, guardian consent): check-ins, the safety plan, reminders, everything.
FULL_PUPIL = "D001"
# 小吴 (grade 5, under 14, no guardian consent): the limited menu such a pupil sees.
LIMITED_PUPIL = "D003"


async def seed_demo(app: AppContext) -> DemoCodes:
    """A demo school, class, counselor and roster; returns fresh enrollment codes."""
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
                name=DEMO_COUNSELOR,
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
            round_the_clock(session, counselor.id, tier="school", school_id=school.id, now=now)
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
        # A fresh password every run, printed once: the demo's console is only on this machine,
        # and a fixed password in the source would be a fixed password in every demo.
        counselor_id = await session.scalar(
            select(Counselor.id).where(Counselor.name == DEMO_COUNSELOR)
        )
        password = ""
        if counselor_id is not None:
            password = secrets.token_urlsafe(9)
            await console_login.set_password(
                session, app.cipher, counselor_id, password, totp=False, now=now, actor="demo"
            )
    by_number = {item.student_number: item.code for item in issued}
    return DemoCodes(
        full=by_number[FULL_PUPIL],
        limited=by_number[LIMITED_PUPIL],
        counselor_id=counselor_id or 0,
        console_password=password,
    )


def demo_settings(settings: Settings) -> Settings:
    """The demo's own settings: its own database and key, and no way to reach real people.

    Whatever ``config.toml`` or ``HEARTGUARD_DATABASE_URL`` says, the demo seeds and talks
    only to ``var/demo.db`` (encrypted with ``var/demo.key``), and it sends nothing through
    Telegram, e-mail or webhooks: an invented school must never reach a real counselor, and
    a production database must never get an invented school.
    """
    return settings.model_copy(
        update={
            "database": DatabaseSettings(url=f"sqlite:///{DEMO_DATABASE}"),
            "privacy": settings.privacy.model_copy(
                update={"key_file": DEMO_KEY, "allow_generated_key": True}
            ),
            "data_keys": (),
            "telegram": TelegramSettings(),
            "escalation": settings.escalation.model_copy(
                update={
                    "shifts": (),
                    "email": EmailSettings(),
                    "webhook_secret": None,
                    "dingtalk_secret": None,
                    "heartbeat_url": "",
                }
            ),
        }
    )


@contextlib.asynccontextmanager
async def _chat_page(runtime: Runtime) -> AsyncIterator[str | None]:
    """The student chat page, served beside the terminal chat; yields its address (or None)."""
    from bot.process import web_groups
    from bot.web.secret import web_secret
    from bot.web.server import WebServer
    from bot.web.signing import Signer

    web = runtime.settings.web
    # The demo's terminal is the chat: the web server's own lines stay out of it while it
    # runs (and come back after, for whoever called the demo in this process).
    quieted = [logging.getLogger(n) for n in ("heartguard.web", "bot.web", "uvicorn.error")]
    levels = [logger.level for logger in quieted]
    for logger in quieted:
        logger.setLevel(logging.WARNING)
    try:
        try:
            server = WebServer(
                web_groups(runtime, Signer(web_secret(runtime.settings))),
                host=web.listen,
                port=web.port,
                grace=1.0,
            )
            await server.start()
        except HeartGuardError as exc:
            print(f"（聊天页没有启动 / the chat page is not served: {exc}）")
            yield None
            return
        try:
            yield f"{server.url}/chat"
        finally:
            await server.stop()
    finally:
        for logger, level in zip(quieted, levels, strict=True):
            logger.setLevel(level)


async def _demo(_args: argparse.Namespace, configured: Settings) -> int:
    # The demo serves the chat page too, whatever web.enabled says, so that a newcomer can
    # try the student side in a browser.
    isolated = demo_settings(configured)
    settings = isolated.model_copy(
        update={"web": isolated.web.model_copy(update={"enabled": True})}
    )
    async with open_app(settings, need_schema=False) as app:
        await upgrade_database(app, utcnow())
        codes = await seed_demo(app)
        runtime = build_runtime(app, clock=utcnow, plugs={TELEGRAM: None})
        # No timer runs in the demo: a case asked for from the page is taken in at once.
        green = runtime.green.engine
        runtime.students.kick = lambda: _later(green.tick(utcnow()))
        try:
            async with _chat_page(runtime) as page:
                print("心卫 HeartGuard 演示 / demo")
                print(f"数据库 / database: {DEMO_DATABASE}")
                print("(the demo's own database; the configured one is never touched)")
                print(f"入学码（初二，监护人已同意，全部功能）/ enrollment code: {codes.full}")
                print(
                    f"另一个入学码（五年级，未满14岁且无监护人同意，功能受限）/ a pupil under 14 "
                    f"without guardian consent, to see the limited menu: {codes.limited}"
                )
                if page:
                    print(f"学生聊天页 / the student chat page: {page}")
                    if codes.console_password:
                        console = page.removesuffix("/chat") + "/console"
                        print(
                            f"心理老师工作台 / the counselor console: {console}  "
                            f"(编号 / number {codes.counselor_id}, "
                            f"密码 / password {codes.console_password})"
                        )
                print("试试：做一次心情小调查（/checkin），或者说说心里话。")
                print("Try /checkin, or tell it how you feel. The detector reads every message.\n")
                await console_for(runtime).run_interactive(
                    f"demo-{os.getpid()}", sys.stdin, sys.stdout
                )
        finally:
            await runtime.aclose()
    return 0


_pending: set[asyncio.Task[Any]] = set()


def _later(work: Any) -> None:
    task = asyncio.ensure_future(work)
    _pending.add(task)
    task.add_done_callback(_pending.discard)
