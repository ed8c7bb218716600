"""Telegram channel speed, with baselines measured in the same run.

1. Updates per second through ``Application.process_update`` with an offline Bot API: students
   in weekly check-ins answering with button presses, mixed with free text. Baseline: an echo
   bot built by the same ``build_application`` (same Application, request and rate limiter
   classes) fed the same mix. Prints the ratio (target <= 5x).
2. Reminder planning for 100,000 students and its ratio to a bare SELECT of the same rows
   (bench/reminders.py's measurement).
3. The achieved send rate of 3,000 reminders through the production stack (ReminderRunner,
   the Telegram port, PTB's bot and AIORateLimiter) against a fake Bot API that allows
   30 messages in any one second and answers 429 with retry_after beyond: the share of the
   allowed rate (target >= 90%) and the 429s after the first (target 0).

Run with `make bench` (or `.venv/bin/python bench/telegram_channel.py [--students N]`).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import json
import math
import tempfile
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest, RequestData

import bot.channels.telegram.builder as builder
from bot.bootstrap import AppContext
from bot.channels.telegram.kit import TelegramPort
from bot.channels.telegram.runner import BotProcess
from bot.config.settings import Settings, settings_from_mapping
from bot.services.reminders import ReminderRunner
from bot.services.render import Renderer
from flows import load_catalog
from storage.crypto import DataCipher
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import ChannelIdentity, Message, School, Student

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("bench_reminders", HERE / "reminders.py")
assert _spec is not None
assert _spec.loader is not None
reminders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reminders)

TOKEN = "123456:bench-token"
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
FREE_TEXT = ("最近考试压力有点大", "今天还行吧", "有点睡不着", "和同学吵架了")


def ok(result: Any) -> tuple[int, bytes]:
    return 200, json.dumps({"ok": True, "result": result}).encode()


ME = {"id": 1, "is_bot": True, "first_name": "心卫", "username": "hg_bench_bot"}


class Offline(BaseRequest):
    """A Bot API in this process: nothing to open or close, never the network."""

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    @property
    def read_timeout(self) -> float:
        return 1.0


class OfflineApi(Offline):
    """Answers the Bot API calls the bots make; remembers each chat's newest keyboard."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.sent = 0
        self.keyboards: dict[int, tuple[int, str, list[str]]] = {}

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *_: Any, **__: Any
    ) -> tuple[int, bytes]:
        api = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        if api == "getMe":
            return ok(ME)
        if api in ("sendMessage", "sendDocument"):
            self.sent += 1
            chat = int(params["chat_id"])
            message_id = next(self.ids)
            markup = params.get("reply_markup") or {}
            if isinstance(markup, str):
                markup = json.loads(markup)
            data = [b["callback_data"] for r in markup.get("inline_keyboard", []) for b in r]
            if data:
                self.keyboards[chat] = (message_id, str(params.get("text", "")), data)
            return ok(
                {
                    "message_id": message_id,
                    "date": 1_793_000_000,
                    "chat": {"id": chat, "type": "private"},
                    "text": str(params.get("text", "")),
                }
            )
        return ok(True)


class Updates:
    """Realistic private-chat updates."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)

    def _user(self, uid: int) -> dict[str, Any]:
        return {"id": uid, "is_bot": False, "first_name": "同学", "language_code": "zh-hans"}

    def text(self, uid: int, text: str, bot: Any) -> Update:
        message: dict[str, Any] = {
            "message_id": next(self.ids),
            "date": 1_793_000_000,
            "chat": {"id": uid, "type": "private"},
            "from": self._user(uid),
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        return Update.de_json({"update_id": next(self.ids), "message": message}, bot)

    def press(self, uid: int, message_id: int, text: str, data: str, bot: Any) -> Update:
        query = {
            "id": str(next(self.ids)),
            "from": self._user(uid),
            "chat_instance": f"ci{uid}",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": 1_793_000_000,
                "chat": {"id": uid, "type": "private"},
                "text": text,
            },
        }
        return Update.de_json({"update_id": next(self.ids), "callback_query": query}, bot)


def unthrottled(max_retries: int) -> AIORateLimiter:
    """PTB's rate limiter with Telegram's 30/s switched off.

    With it on, both bots would be held to the same 30 replies a second, which hides the
    handler cost this measures; the limiter's own bookkeeping stays in the path.
    """
    return AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=max_retries)


def bench_settings(url: str, **telegram: Any) -> Settings:
    return settings_from_mapping(
        {"database": {"url": url}, "telegram": telegram},
        source="bench",
        environ={"HEARTGUARD_TELEGRAM_TOKEN": TOKEN},
    )


async def seed_students(ctx: AppContext, count: int) -> list[int]:
    """Onboarded grade-8 students with Telegram chats, as a weekly check-in finds them."""
    async with ctx.sessions.begin() as session:
        school = School(code="B", name="基准", timezone="Asia/Shanghai", created_at=START)
        session.add(school)
        await session.flush()
        uids = [10_000 + n for n in range(count)]
        for uid in uids:
            student = Student(
                display_name=f"s{uid}",
                grade=8,
                status="active",
                onboarded=True,
                guardian_consent=True,
                school_id=school.id,
                consent_at=START,
                created_at=START,
            )
            session.add(student)
            await session.flush()
            session.add(
                ChannelIdentity(
                    student_id=student.id,
                    channel="telegram",
                    external_id=str(uid),
                    chat_id=str(uid),
                    created_at=START,
                )
            )
    return uids


async def student_session(
    app: Any, api: OfflineApi, make: Updates, uid: int, steps: int, *, echo: bool
) -> int:
    """/checkin, then press the first answer of each question; every third step is free text."""
    bot = app.bot
    await app.process_update(make.text(uid, "/checkin", bot))
    done = 1
    for step in range(steps - 1):
        shown = api.keyboards.get(uid)
        if step % 3 == 2 or shown is None:
            update = make.text(uid, FREE_TEXT[(uid + step) % len(FREE_TEXT)], bot)
        elif echo:
            update = make.press(uid, shown[0], shown[1], "x", bot)
        else:
            api.keyboards.pop(uid)
            update = make.press(uid, shown[0], shown[1], shown[2][0], bot)
        await app.process_update(update)
        done += 1
    return done


async def run_mix(
    app: Any, api: OfflineApi, uids: list[int], steps: int, *, echo: bool, together: int
) -> float:
    """Updates per second for every student's session, ``together`` students at a time."""
    make = Updates()
    total = 0
    t0 = time.perf_counter()
    for start in range(0, len(uids), together):
        group = uids[start : start + together]
        done = await asyncio.gather(
            *(student_session(app, api, make, uid, steps, echo=echo) for uid in group)
        )
        total += sum(done)
    return total / (time.perf_counter() - t0)


def echo_bot(settings: Settings, api: OfflineApi, store: AppContext | None = None) -> Any:
    """The baseline: the same Application machinery, answering every update with an echo.

    With ``store``, each update is first written as an encrypted message row in its own
    transaction: the least any bot that keeps a record must do.
    """
    app = builder.build_application(settings, request=api)

    async def keep(chat_id: int, text: str) -> None:
        if store is None:
            return
        async with store.sessions.begin() as session:
            session.add(
                Message(
                    student_id=chat_id - 10_000 + 1,
                    direction="in",
                    kind="text",
                    channel="telegram",
                    text_enc=store.cipher.encrypt(text),
                    created_at=START,
                )
            )

    async def echo(update: Update, context: Any) -> None:
        message = update.effective_message
        if message is not None and message.text:
            await keep(message.chat.id, message.text)
            await context.bot.send_message(message.chat.id, message.text)

    async def answer(update: Update, context: Any) -> None:
        query = update.callback_query
        if query is not None and query.message is not None:
            await keep(query.message.chat.id, query.data or "")
            await query.answer()
            await context.bot.send_message(query.message.chat.id, "ok")

    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(answer))
    return app


async def updates_per_second(students: int, steps: int, together: int) -> None:
    original = builder.AIORateLimiter
    builder.AIORateLimiter = unthrottled  # type: ignore[assignment,misc]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'tg.db'}"
            # Bench students type at machine speed; flood control is not what is measured.
            settings = bench_settings(url, flood_burst=100)
            engine = create_engine(url)
            await upgrade(engine)
            ctx = AppContext(
                settings, engine, session_factory(engine), DataCipher([Fernet.generate_key()])
            )
            uids = await seed_students(ctx, students + 5)
            warm, uids = uids[:5], uids[5:]
            hg_api = OfflineApi()
            process = BotProcess.build(ctx, request=hg_api)
            app = process.application
            async with app:
                await run_mix(app, hg_api, warm, steps, echo=False, together=together)
                hg_rate = await run_mix(app, hg_api, uids, steps, echo=False, together=together)
                await process.runtime.students.drain()
            await process.runtime.aclose()
            rates = []
            for store in (None, ctx):
                echo_api = OfflineApi()
                echo = echo_bot(settings, echo_api, store)
                async with echo:
                    await run_mix(echo, echo_api, warm, steps, echo=True, together=together)
                    rates.append(
                        await run_mix(echo, echo_api, uids, steps, echo=True, together=together)
                    )
            echo_rate, storing_rate = rates
            await engine.dispose()
    finally:
        builder.AIORateLimiter = original  # type: ignore[misc]
    print(
        f"process_update, {students} students x {steps} updates (check-in presses + free text),"
        f" {together} at a time:"
        f" HeartGuard {hg_rate:,.0f} updates/s ({hg_api.sent:,} replies); echo bot on the same"
        f" Application {echo_rate:,.0f} updates/s; ratio {echo_rate / hg_rate:.1f}x (target <= 5x)"
    )
    print(
        f"  context: an echo bot that also commits each update as an encrypted message row"
        f" {storing_rate:,.0f} updates/s; ratio {storing_rate / hg_rate:.1f}x"
    )


class RateLimitedApi(Offline):
    """A Bot API that takes 30 messages in any one second and answers 429 beyond that."""

    def __init__(self, limit: int = 30) -> None:
        self.limit = limit
        self.window: deque[float] = deque()
        self.sent = 0
        self.refused = 0

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *_: Any, **__: Any
    ) -> tuple[int, bytes]:
        if url.endswith("/getMe"):
            return ok(ME)
        now = time.monotonic()
        while self.window and now - self.window[0] >= 1.0:
            self.window.popleft()
        if len(self.window) >= self.limit:
            self.refused += 1
            wait = max(1, math.ceil(1.0 - (now - self.window[0])))
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {wait}",
                "parameters": {"retry_after": wait},
            }
            return 429, json.dumps(body).encode()
        self.window.append(now)
        self.sent += 1
        params = dict(request_data.parameters) if request_data is not None else {}
        chat = int(params.get("chat_id", 0))
        return ok({"message_id": self.sent, "date": 0, "chat": {"id": chat, "type": "private"}})


async def send_rate(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'send.db'}"
        await reminders.seed(url, count)
        settings = bench_settings(url)
        engine = create_engine(url)
        api = RateLimitedApi()
        app = builder.build_application(settings, request=api)  # the real rate limiter
        async with app:
            runner = ReminderRunner(
                session_factory(engine),
                settings,
                Renderer(load_catalog(), settings),
                TelegramPort(app.bot),
            )
            t0 = time.perf_counter()
            report = await runner.tick(reminders.FRI_1631)
            elapsed = time.perf_counter() - t0
        await engine.dispose()
    rate = report.sent / elapsed
    after_first = max(0, api.refused - 1)
    print(
        f"sending {report.sent:,} reminders through PTB's bot and rate limiter to a Bot API"
        f" allowing 30/s: {rate:.1f} messages/s ({rate / 30:.0%} of the allowed rate, target"
        f" >= 90%); {api.refused} answered 429 ({after_first} after the first, target 0);"
        f" {report.failed} failed"
    )


async def main(students: int, steps: int, together: int, planned: int, sends: int) -> None:
    await updates_per_second(students, steps, together)
    await reminders.planning(planned)
    await send_rate(sends)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--steps", type=int, default=10, help="updates per student")
    parser.add_argument("--together", type=int, default=10, help="students at once")
    parser.add_argument("--plan", type=int, default=100_000, help="students to plan for")
    parser.add_argument("--reminders", type=int, default=3000)
    args = parser.parse_args()
    asyncio.run(main(args.students, args.steps, args.together, args.plan, args.reminders))
