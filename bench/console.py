"""Console speed, each figure with a baseline measured in the same run on the same server.

1. A counselor's message to a web-chat student, with 50 conversations taken over at once:
   the counselor posts to all 50 cases at the same instant, several rounds; the time from the
   post to the counselor's line arriving on that student's open event stream, p50 and p99
   (target: p99 under 500 ms). Also one message at a time, and the 50 conversations as they
   go (each counselor writing once within ten seconds). Baseline: 50 other students on the
   same server sending a message at the same instant, the time to the bot's first line on
   their stream (the chat page's own path, which the web channel's bench holds to 1 s).
2. A crisis message to its case on an open console: the counselor's queue page waits on its
   long poll; a new student writes a crisis message; the time from the student's post to the
   poll answering with the new case (target: under 1 s). Baseline: the time from the same post
   to the student's own first reply (the crisis lines) on their stream.

The server is ``heartguard run`` with the web alone (database, pipeline, green channel, web
server, console) as its own process; students and the counselor are HTTP clients here.
Run with `make bench` (or `.venv/bin/python bench/console.py [--conversations N] [--pg]`).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import random
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bot.services import admin, console_login
from storage.crypto import DataCipher
from storage.db import create_engine, session_factory
from storage.models import Case, Student

HERE = Path(__file__).resolve().parent


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


web_bench = _load("web_channel")
pgtemp = _load("pgtemp")

PASSWORD = "bench-console-password"
HELLO = "你好"
WORDS = "我是老师，我在这里。你现在安全吗？"
CRISIS = "我已经站在楼顶上了，今晚就跳下去"
# Each counselor writes once within this many seconds in the spread-out rounds.
SPREAD = 10.0


class Page:
    """One student's chat page with its event stream open; notes when lines arrive."""

    def __init__(self, url: str) -> None:
        self.client = httpx.AsyncClient(base_url=url, timeout=60)
        self.csrf = ""
        self.listening = asyncio.Event()
        self.waiting: tuple[str, str, asyncio.Future[float]] | None = None
        self._task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        page = await self.client.get("/chat")
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found is not None
        self.csrf = found.group(1)
        self._task = asyncio.create_task(self._listen())
        await self.listening.wait()

    def expect(self, sender: str, fragment: str = "") -> asyncio.Future[float]:
        """A future set to the time a line from ``sender`` (holding ``fragment``) arrives."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting = (sender, fragment, future)
        return future

    async def _listen(self) -> None:
        async with self.client.stream("GET", "/chat/events?after=0") as stream:
            async for line in stream.aiter_lines():
                self.listening.set()
                if not line.startswith("data: ") or self.waiting is None:
                    continue
                shown = json.loads(line[6:])
                sender, fragment, future = self.waiting
                if shown["sender"] == sender and fragment in shown["text"] and not future.done():
                    future.set_result(time.perf_counter())

    async def send(self, text: str) -> float:
        started = time.perf_counter()
        answer = await self.client.post(
            "/chat/send",
            data={"csrf": self.csrf, "text": text},
            headers={"Accept": "application/json"},
        )
        assert answer.json() == {"ok": True}, answer.text
        return started

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.client.aclose()


async def seed(url: str) -> None:
    """A district counselor (anonymous students' cases are the district team's)."""
    await web_bench.migrated(url)
    engine = create_engine(url)
    now = datetime.now(UTC)
    try:
        async with session_factory(engine).begin() as session:
            counselor = await admin.add_counselor(
                session,
                name="区老师",
                role="district_crisis",
                school_refs=[],
                contacts=[("console", "qu")],
                now=now,
                actor="bench",
            )
            await session.flush()
            await console_login.set_password(
                session,
                DataCipher([web_bench.KEY]),
                counselor.id,
                PASSWORD,
                totp=False,
                now=now,
                actor="bench",
            )
    finally:
        await engine.dispose()


async def open_cases(url: str) -> list[int]:
    """An open case for every student without one (as the intake makes them)."""
    engine = create_engine(url)
    now = datetime.now(UTC)
    try:
        async with session_factory(engine).begin() as session:
            students = (
                await session.scalars(
                    select(Student.id)
                    .where(Student.id.not_in(select(Case.student_id)))
                    .order_by(Student.id)
                )
            ).all()
            cases = [
                Case(
                    student_id=sid,
                    priority="urgent",
                    status="open",
                    reason="risk_high",
                    categories=[],
                    chain={},
                    created_at=now,
                    updated_at=now,
                )
                for sid in students
            ]
            session.add_all(cases)
            await session.flush()
            return [case.id for case in cases]
    finally:
        await engine.dispose()


async def counselor(url: str) -> tuple[httpx.AsyncClient, str]:
    """A signed-in console client and its CSRF token."""
    client = httpx.AsyncClient(base_url=url, timeout=60)
    form = await client.get("/console/signin")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    signed = await client.post(
        "/console/signin", data={"csrf": token.group(1), "who": "区老师", "password": PASSWORD}
    )
    assert signed.status_code == 303, signed.text
    queue = await client.get("/console")
    csrf = re.search(r'name="csrf" value="([^"]+)"', queue.text)
    assert csrf is not None
    return client, csrf.group(1)


async def act(client: httpx.AsyncClient, csrf: str, case_id: int, **fields: str) -> float:
    started = time.perf_counter()
    done = await client.post(
        f"/console/cases/{case_id}/act",
        data={"csrf": csrf, **fields},
        headers={"Accept": "application/json"},
    )
    assert done.status_code == 200, done.text
    return started


async def conversations(
    url: str, db: str, count: int, rounds: int
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Counselor → student latencies (all at once), the baseline (student → bot, all at
    once), one message at a time, and the conversations' messages spread out."""
    pages = [Page(url) for _ in range(count)]
    others = [Page(url) for _ in range(count)]
    await asyncio.gather(*(page.open() for page in pages + others))
    try:
        for page in pages:  # each a student with a conversation (and a case)
            arrived = page.expect("bot")
            await page.send(HELLO)
            await arrived
        cases = await open_cases_for(db)
        client, csrf = await counselor(url)
        for page, case_id in zip(pages, cases, strict=True):
            joined = page.expect("bot", "老师")
            await act(client, csrf, case_id, action="take")
            await asyncio.wait_for(joined, 30)
        ours: list[float] = []
        for n in range(rounds):

            async def one(page: Page, case_id: int, n: int = n) -> float:
                arrived = page.expect("counselor", f"#{n}")
                started = await act(client, csrf, case_id, action="reply", text=f"{WORDS} #{n}")
                return await asyncio.wait_for(arrived, 30) - started

            ours += await asyncio.gather(*(one(p, c) for p, c in zip(pages, cases, strict=True)))
        alone = [await one(pages[0], cases[0], n) for n in range(rounds, rounds + 20)]
        # The same 50 conversations as they go: each counselor writes once in SPREAD seconds.
        rng = random.Random(7)

        async def later(page: Page, case_id: int, n: int) -> float:
            await asyncio.sleep(rng.uniform(0, SPREAD))
            return await one(page, case_id, n)

        spread: list[float] = []
        for n in range(rounds + 20, 2 * rounds + 20):
            spread += await asyncio.gather(
                *(later(p, c, n) for p, c in zip(pages, cases, strict=True))
            )
        await client.aclose()

        async def baseline(page: Page) -> float:
            arrived = page.expect("bot")
            started = await page.send(HELLO)
            return await asyncio.wait_for(arrived, 30) - started

        base = list(await asyncio.gather(*(baseline(page) for page in others)))
        return ours, base, alone, spread
    finally:
        await asyncio.gather(*(page.close() for page in pages + others))


_CASES_SEEN: set[int] = set()


async def open_cases_for(url: str) -> list[int]:
    """Cases for the students who wrote so far (once each)."""
    made = await open_cases(url)
    fresh = [case for case in made if case not in _CASES_SEEN]
    _CASES_SEEN.update(fresh)
    return fresh


async def crisis_to_console(url: str, times: int) -> tuple[list[float], list[float]]:
    """(crisis post → case on the open console, crisis post → the student's first reply)."""
    client, _ = await counselor(url)
    first = await client.get("/console/queue/poll", params={"v": ""})
    version = first.json()["version"]
    seen, replies = [], []
    try:
        for _ in range(times):
            page = Page(url)
            await page.open()
            poll = asyncio.create_task(client.get("/console/queue/poll", params={"v": version}))
            await asyncio.sleep(0.2)  # the poll is waiting, as an open console's is
            reply = page.expect("bot")
            started = await page.send(CRISIS)
            answer = await poll
            shown = time.perf_counter()
            replies.append(await asyncio.wait_for(reply, 30) - started)
            body = answer.json()
            assert body["version"] != version, "the queue did not change"
            version = body["version"]
            seen.append(shown - started)
            await page.close()
    finally:
        await client.aclose()
    return seen, replies


def report(label: str, values: list[float]) -> tuple[float, float]:
    p50, p99 = statistics.median(values), web_bench.percentile(values, 0.99)
    print(
        f"    {label}: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms,"
        f" max {max(values) * 1000:.0f} ms (n={len(values)})"
    )
    return p50, p99


async def run(backend: str, url: str, count: int, rounds: int, crises: int) -> None:
    await seed(url)
    _CASES_SEEN.clear()
    with web_bench.Server(url) as base:
        await web_bench.first_replies(base, 3)  # warm: connections, statement caches
        await open_cases_for(url)  # the warm-up students' cases stay out of the rounds
        ours, baseline, alone, spread = await conversations(base, url, count, rounds)
        seen, replies = await crisis_to_console(base, crises)
    print(f"{backend}: the console, {count} conversations taken over at once")
    print("  counselor message → web-chat student's page:")
    o50, o99 = report("console post to the line on the student's stream", ours)
    b50, b99 = report("baseline: a student's post to the bot's first line", baseline)
    verdict = "under" if o99 < 0.5 else "OVER"
    print(
        f"    counselor / baseline: p50 {o50 / b50:.2f}x, p99 {o99 / b99:.2f}x;"
        f" p99 {verdict} the 500 ms target"
    )
    report("one message at a time (the others' pages still open)", alone)
    s99 = report(f"all {count} writing within {SPREAD:.0f} s (a busy evening)", spread)[1]
    print(f"    spread out: p99 {'under' if s99 < 0.5 else 'OVER'} the 500 ms target")
    print("  crisis message → its case on an open console:")
    s50, s99 = report("student's post to the queue poll answering", seen)
    r50, r99 = report("baseline: the same post to the student's first reply", replies)
    verdict = "under" if max(seen) < 1.0 else "OVER"
    print(
        f"    console / baseline: p50 {s50 / r50:.2f}x, p99 {s99 / r99:.2f}x;"
        f" max {verdict} the 1 s target"
    )


async def main(count: int, rounds: int, crises: int, pg: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await run("SQLite", f"sqlite:///{Path(tmp) / 'console.db'}", count, rounds, crises)
    if pg:
        url = await pgtemp.pg_database()
        if url is None:
            print("PostgreSQL: skipped (not reachable)")
            return
        try:
            await run("PostgreSQL", str(url), count, rounds, crises)
        finally:
            await pgtemp.drop(url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--crises", type=int, default=10)
    parser.add_argument("--pg", action="store_true", help="also on a throwaway PostgreSQL")
    args = parser.parse_args()
    asyncio.run(main(args.conversations, args.rounds, args.crises, args.pg))
