"""Web chat speed, with Telegram's figure measured in the same run as the baseline.

1. 200 students on the chat page, each a new visitor with the page open (its event stream
   listening) sending one message: the time from sending to the bot's first line arriving on
   that student's stream, p50 and p99 (target: p99 under 1 s). Twice: all 200 in the same
   instant (a burst), and spread over ten seconds (20 messages a second, a school's break).
   The server is HeartGuard itself (``heartguard run`` with the web alone: database,
   pipeline, green channel, web server) as its own process; the students are HTTP clients in
   this one.
   Baseline: 200 new Telegram students sending the same message on the same schedule through
   HeartGuard's Telegram Application (``process_update``, an offline Bot API that notes when
   each chat's first reply is sent), with PTB's rate limiter as in production (Telegram's 30
   messages a second, which a burst of new students meets) and without it (the handler's
   cost alone, in this one process). Prints web / Telegram for p50 and p99.
2. The first reply on an idle server: one student at a time, 20 times (target: under 300 ms).

Run with `make bench` (or `.venv/bin/python bench/web_channel.py [--students N] [--pg]`).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from bot.bootstrap import AppContext
from bot.channels.telegram.runner import BotProcess
from bot.config.settings import settings_from_mapping
from storage.crypto import DataCipher
from storage.db import create_engine, session_factory
from storage.migrate import upgrade

HERE = Path(__file__).resolve().parent


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


telegram_bench = _load("telegram_channel")
pgtemp = _load("pgtemp")

KEY = Fernet.generate_key().decode()
SECRET = "bench-web-secret-0123456789-abcdefghij"
MESSAGE = "最近考试压力有点大，晚上睡不着"
TOKEN = "123456:bench-token"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``heartguard run`` with the web alone, as its own process (its own core and GIL)."""

    def __init__(self, url: str) -> None:
        self.port = free_port()
        self.url = url
        self.tmp = tempfile.TemporaryDirectory()
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str:
        config = Path(self.tmp.name) / "config.toml"
        config.write_text(
            f'[web]\nenabled = true\nport = {self.port}\n[logging]\nlevel = "WARNING"\n',
            encoding="utf-8",
        )
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HEARTGUARD_")},
            "HEARTGUARD_DATABASE_URL": self.url,
            "HEARTGUARD_DATA_KEY": KEY,
            "HEARTGUARD_WEB_SECRET": SECRET,
        }
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "heartguard"), "--config", str(config), "run"],
            cwd=self.tmp.name,
            env=env,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    return base
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError("heartguard run did not start")

    def __exit__(self, *_: object) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.tmp.cleanup()


class Student:
    """One browser: the page opened, its event stream listening."""

    def __init__(self, url: str) -> None:
        self.client = httpx.AsyncClient(base_url=url, timeout=60)
        self.csrf = ""
        self.first_bot = asyncio.Event()
        self.arrived = 0.0
        self.listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        page = await self.client.get("/chat")
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found is not None
        self.csrf = found.group(1)
        self._task = asyncio.create_task(self._listen())
        await self.listening.wait()

    async def _listen(self) -> None:
        async with self.client.stream("GET", "/chat/events?after=0") as stream:
            async for line in stream.aiter_lines():
                self.listening.set()
                if line.startswith("data: "):
                    shown = json.loads(line[6:])
                    if shown["sender"] == "bot" and not self.first_bot.is_set():
                        self.arrived = time.perf_counter()
                        self.first_bot.set()

    async def send(self, text: str) -> float:
        """Seconds from sending to the first bot line on the stream."""
        started = time.perf_counter()
        answer = await self.client.post(
            "/chat/send",
            data={"csrf": self.csrf, "text": text},
            headers={"Accept": "application/json"},
        )
        assert answer.json() == {"ok": True}, answer.text
        await asyncio.wait_for(self.first_bot.wait(), 60)
        return self.arrived - started

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.client.aclose()


def schedule(count: int, spread: float) -> list[float]:
    """When each student sends, in seconds from the start (the same for both channels)."""
    if spread <= 0:
        return [0.0] * count
    rng = random.Random(13)
    return sorted(rng.uniform(0, spread) for _ in range(count))


async def web_latencies(url: str, offsets: list[float]) -> list[float]:
    students = [Student(url) for _ in offsets]
    await asyncio.gather(*(student.open() for student in students))

    async def later(student: Student, offset: float) -> float:
        await asyncio.sleep(offset)
        return await student.send(MESSAGE)

    try:
        return list(
            await asyncio.gather(*(later(s, o) for s, o in zip(students, offsets, strict=True)))
        )
    finally:
        await asyncio.gather(*(student.close() for student in students))


async def first_replies(url: str, count: int) -> list[float]:
    out = []
    for _ in range(count):
        student = Student(url)
        await student.open()
        out.append(await student.send(MESSAGE))
        await student.close()
    return out


class FirstReplyApi(telegram_bench.OfflineApi):  # type: ignore[misc,name-defined]
    """The offline Bot API, noting when each chat's first reply is sent."""

    def __init__(self) -> None:
        super().__init__()
        self.first: dict[int, float] = {}

    async def do_request(self, url: str, method: str, request_data: Any = None, *a: Any, **k: Any):  # type: ignore[no-untyped-def]
        if url.endswith("/sendMessage") and request_data is not None:
            chat = int(dict(request_data.parameters)["chat_id"])
            self.first.setdefault(chat, time.perf_counter())
        return await super().do_request(url, method, request_data, *a, **k)


async def telegram_latencies(
    url: str, offsets: list[float], base: int, *, throttled: bool = True
) -> list[float]:
    """Telegram's time to the first reply; ``throttled``: behind Telegram's 30 messages/s."""
    if throttled:
        return await _telegram_latencies(url, offsets, base)
    original = telegram_bench.builder.AIORateLimiter
    telegram_bench.builder.AIORateLimiter = telegram_bench.unthrottled
    try:
        return await _telegram_latencies(url, offsets, base)
    finally:
        telegram_bench.builder.AIORateLimiter = original


async def _telegram_latencies(url: str, offsets: list[float], base: int) -> list[float]:
    settings = settings_from_mapping(
        {"database": {"url": url}},
        source="bench",
        environ={"HEARTGUARD_TELEGRAM_TOKEN": TOKEN, "HEARTGUARD_DATA_KEY": KEY},
    )
    engine = create_engine(url)
    ctx = AppContext(settings, engine, session_factory(engine), DataCipher([KEY]))
    api = FirstReplyApi()
    process = BotProcess.build(ctx, request=api)
    app = process.application
    make = telegram_bench.Updates()
    try:
        async with app:
            # Warm: the same path once, so both channels are measured warm.
            for uid in range(5):
                await app.process_update(make.text(900_000 + uid, MESSAGE, app.bot))
            uids = [base + n for n in range(len(offsets))]
            started: dict[int, float] = {}

            async def later(uid: int, offset: float) -> None:
                await asyncio.sleep(offset)
                started[uid] = time.perf_counter()
                await app.process_update(make.text(uid, MESSAGE, app.bot))

            await asyncio.gather(*(later(uid, o) for uid, o in zip(uids, offsets, strict=True)))
            await process.runtime.students.drain()
        return [api.first[uid] - started[uid] for uid in uids]
    finally:
        await process.runtime.aclose()
        await engine.dispose()


async def migrated(url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()


def report(label: str, values: list[float]) -> tuple[float, float]:
    p50, p99 = statistics.median(values), percentile(values, 0.99)
    print(
        f"    {label}: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms,"
        f" max {max(values) * 1000:.0f} ms"
    )
    return p50, p99


async def run(backend: str, url_of: Any, students: int, spread: float) -> None:
    web_url, tg_url = await url_of("web"), await url_of("telegram")
    await migrated(web_url)
    await migrated(tg_url)
    plans = {"at once": schedule(students, 0), f"over {spread:.0f} s": schedule(students, spread)}
    tg = {
        name: await telegram_latencies(tg_url, offsets, 500_000 + 10_000 * n)
        for n, (name, offsets) in enumerate(plans.items())
    }
    bare = {
        name: await telegram_latencies(tg_url, offsets, 700_000 + 10_000 * n, throttled=False)
        for n, (name, offsets) in enumerate(plans.items())
    }
    with Server(web_url) as url:
        await first_replies(url, 5)  # warm: connections, statement caches
        web = {name: await web_latencies(url, offsets) for name, offsets in plans.items()}
        first = await first_replies(url, 20)
    print(f"{backend}: {students} new students, one message each; time to the first reply")
    for name in plans:
        print(f"  {name}:")
        tg50, tg99 = report("Telegram (process_update, its 30 messages/s limiter)", tg[name])
        bare50, bare99 = report("Telegram without the limiter (handler cost only)", bare[name])
        web50, web99 = report(
            "web chat (POST to the first bot line on the page's stream)", web[name]
        )
        verdict = "under" if web99 < 1.0 else "OVER"
        print(
            f"    web / Telegram: p50 {web50 / tg50:.2f}x, p99 {web99 / tg99:.2f}x;"
            f" web / Telegram without the limiter: p50 {web50 / bare50:.2f}x,"
            f" p99 {web99 / bare99:.2f}x; web p99 {verdict} the 1 s target"
        )
    verdict = "under" if max(first) < 0.3 else "OVER"
    print(
        f"  first reply on an idle server (20 students, one at a time): median"
        f" {statistics.median(first) * 1000:.0f} ms, max {max(first) * 1000:.0f} ms"
        f" ({verdict} the 300 ms target)"
    )


async def main(students: int, spread: float, pg: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:

        async def sqlite_url(name: str) -> str:
            return f"sqlite:///{Path(tmp) / name}.db"

        await run("SQLite", sqlite_url, students, spread)
    if pg:
        made: list[str] = []

        async def pg_url(_name: str) -> str:
            url = await pgtemp.pg_database()
            if url is None:
                raise RuntimeError("no PostgreSQL")
            made.append(url)
            return str(url)

        try:
            await run("PostgreSQL", pg_url, students, spread)
        except RuntimeError as exc:
            print(f"PostgreSQL: skipped ({exc})")
        finally:
            for url in made:
                await pgtemp.drop(url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--spread", type=float, default=10.0, help="seconds to spread over")
    parser.add_argument("--pg", action="store_true", help="also on a throwaway PostgreSQL")
    args = parser.parse_args()
    asyncio.run(main(args.students, args.spread, args.pg))
