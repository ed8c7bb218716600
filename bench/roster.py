"""Roster import and code issue for a 2,000-student school, on SQLite (and PostgreSQL when
reachable). Baseline in the same run: one bare INSERT of the same rows with executemany.

Run with `make bench` (or `.venv/bin/python bench/roster_import.py`).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from pgtemp import drop, pg_database
from sqlalchemy import insert

from bot.services import admin, enrollment, roster_import
from storage.crypto import DataCipher
from storage.db import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Student

STUDENTS = 2000
NOW = datetime(2026, 9, 1, tzinfo=UTC)


def make_csv() -> bytes:
    lines = ["school,class,grade,student_number,name,guardian_consent"]
    for n in range(STUDENTS):
        grade = 3 + n % 10
        consent = "yes" if n % 3 else "no"
        lines.append(f"BENCH,{grade}年级{n % 8 + 1}班,{grade},S{n:05d},学生{n:05d},{consent}")
    return ("\n".join(lines) + "\n").encode("gbk")


async def run(url: str) -> tuple[float, float, float]:
    engine = create_engine(url)
    await upgrade(engine)
    sessions = session_factory(engine)
    cipher = DataCipher([Fernet.generate_key()])
    async with sessions.begin() as session:
        await admin.add_school(
            session, code="BENCH", name="基准学校", timezone="Asia/Shanghai", now=NOW, actor="bench"
        )
    raw = make_csv()
    t0 = time.perf_counter()
    async with sessions.begin() as session:
        report = await roster_import.import_roster(session, raw, now=NOW, actor="bench")
    imported = time.perf_counter() - t0
    assert report.imported == STUDENTS, report.problems[:3]
    t0 = time.perf_counter()
    async with sessions.begin() as session:
        issued = await enrollment.issue_codes(
            session,
            cipher,
            school_ref="BENCH",
            class_name=None,
            student_number=None,
            ttl=timedelta(days=30),
            now=NOW,
            actor="bench",
        )
    issuing = time.perf_counter() - t0
    assert len(issued) == STUDENTS
    rows = [
        {
            "display_name": f"x{n}",
            "student_number": f"B{n}",
            "created_at": NOW,
            "status": "pending",
            "language": "zh",
            "guardian_consent": False,
            "reminder_opt_in": False,
        }
        for n in range(STUDENTS)
    ]
    t0 = time.perf_counter()
    async with sessions.begin() as session:
        await session.execute(insert(Student), rows)
    bare = time.perf_counter() - t0
    await engine.dispose()
    return imported, issuing, bare


def report(name: str, result: tuple[float, float, float]) -> None:
    imported, issuing, bare = result
    print(
        f"{name}: import {STUDENTS} students {imported:.2f} s, issue {STUDENTS} codes "
        f"{issuing:.2f} s, bare executemany insert {bare:.3f} s "
        f"(import / bare = {imported / bare:.1f}x)"
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        report("SQLite", await run(f"sqlite:///{Path(tmp) / 'bench.db'}"))
    url = await pg_database()
    if url:
        try:
            report("PostgreSQL", await run(url))
        finally:
            await drop(url)


if __name__ == "__main__":
    asyncio.run(main())
