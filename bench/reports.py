"""The district report on a district's year, against a bare count in the same run.

Builds bench/report_district.py's district (20 schools, 10,000 pupils, 52 weeks of weekly
check-ins by default) on SQLite or PostgreSQL, then times, five times each after one warm-up:

- ``baseline_ms``: ``SELECT count(*) FROM checkin_results`` (a bare scan of the largest table);
- ``district_ms``: the district report for the last week, read, built (with suppression) and
  rendered to HTML, as ``heartguard report weekly --district`` does (target: under 2 s);
- ``school_ms``: one school's report; ``watch_ms``: the district's watch list;
- ``pdf_ms``: the district report printed to PDF by Chromium, once (when Chromium is there).

The last line printed is one JSON object with every figure and the ratios to the baseline.
Run: ``.venv/bin/python bench/reports.py [--db pg] [--students 10000] [--weeks 52]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from report_district import Shape, build
from sqlalchemy import text

from bot.config.settings import load_settings
from bot.services.reports.pdf import print_pdf
from bot.services.reports.report_html import render_html
from bot.services.reports.watch_list import WatchList
from bot.services.reports.weekly_reports import WeeklyReports
from escalation.actions import Actor
from storage.db import create_engine, is_sqlite, session_factory
from storage.migrate import upgrade

# Monday 2026-12-07 00:00 in Shanghai: the year ends with week 2026-W49.
END = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)
WEEK = "2026-W49"
RUNS = 5


async def timed(work: Callable[[], Awaitable[Any]], runs: int = RUNS) -> float:
    """Median milliseconds over ``runs``, after one warm-up run."""
    await work()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        times.append((time.perf_counter() - started) * 1e3)
    return statistics.median(times)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    temp: str | None = None
    url = args.db
    if url == "pg":
        from pgtemp import pg_database

        url = await pg_database()
        if url is None:
            return {"skipped": "no PostgreSQL"}
    elif url is None:
        temp = tempfile.mkdtemp(prefix="reports-")
        url = f"sqlite:///{Path(temp) / 'reports.db'}"
    engine = create_engine(url)
    settings = load_settings(None, {})
    sessions = session_factory(engine)
    figures: dict[str, Any] = {"db": "sqlite" if is_sqlite(url) else "postgresql"}
    try:
        await upgrade(engine)
        shape = Shape(schools=args.schools, students=args.students, weeks=args.weeks)
        started = time.perf_counter()
        figures["rows"] = await build(engine, shape, end=END)
        figures["build_s"] = round(time.perf_counter() - started, 1)
        print(f"built in {figures['build_s']} s: {figures['rows']}", flush=True)
        reports = WeeklyReports(sessions, settings)

        async def baseline() -> None:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT count(*) FROM checkin_results"))

        async def district() -> str:
            report = await reports.build(school=None, week=WEEK, actor=Actor.admin(), now=END)
            return render_html(report)

        async def school() -> str:
            report = await reports.build(school="R03", week=WEEK, actor=Actor.admin(), now=END)
            return render_html(report)

        async def watch() -> None:
            await WatchList(sessions, settings).build(school=None, actor=Actor.admin(), now=END)

        figures["baseline_ms"] = round(await timed(baseline), 1)
        figures["district_ms"] = round(await timed(district), 1)
        figures["school_ms"] = round(await timed(school), 1)
        figures["watch_ms"] = round(await timed(watch, 3), 1)
        figures["district_ratio"] = round(figures["district_ms"] / figures["baseline_ms"], 2)
        if shutil.which(settings.reports.chromium):
            page = await district()
            started = time.perf_counter()
            await print_pdf(page, chromium=settings.reports.chromium)
            figures["pdf_ms"] = round((time.perf_counter() - started) * 1e3, 1)
    finally:
        await engine.dispose()
        if args.db == "pg":
            from pgtemp import drop

            await drop(url)
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="database URL, or 'pg' for a throwaway PostgreSQL one")
    parser.add_argument("--schools", type=int, default=20)
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--weeks", type=int, default=52)
    result = asyncio.run(main(parser.parse_args()))
    print(json.dumps(result, ensure_ascii=False))
