"""``/healthz``: ok only while the database answers and the green channel's heartbeat is fresh."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import bot.web.health as health
from bot.config.settings import settings_from_mapping
from bot.scheduler import Scheduler
from bot.web.app import create_app
from escalation.engine import TickReport


class FakeEngine:
    """An engine whose ticks report what the test says."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    async def tick(self, _now: Any) -> TickReport:
        return TickReport(errors=list(self.errors))


def serve(asgi_server: Callable[..., str], database: Any, heartbeat: Any) -> str:
    return asgi_server(create_app([health.health_group(database, heartbeat)]))


def test_ok_and_each_reason_for_503(asgi_server: Callable[..., str]) -> None:
    async def fine() -> str | None:
        return None

    async def down() -> str | None:
        return "database: OperationalError"

    async def hangs() -> str | None:
        await asyncio.sleep(60)
        return None

    assert httpx.get(serve(asgi_server, fine, lambda: None) + "/healthz").json() == {"status": "ok"}
    stale = httpx.get(
        serve(asgi_server, fine, lambda: "green channel: heartbeat stale") + "/healthz"
    )
    assert stale.status_code == 503
    assert stale.json() == {"status": "unavailable", "reason": "green channel: heartbeat stale"}
    broken = httpx.get(serve(asgi_server, down, lambda: None) + "/healthz")
    assert (broken.status_code, broken.json()["reason"]) == (503, "database: OperationalError")
    health.DB_TIMEOUT, saved = 0.2, health.DB_TIMEOUT
    try:
        slow = httpx.get(serve(asgi_server, hangs, lambda: None) + "/healthz", timeout=10)
    finally:
        health.DB_TIMEOUT = saved
    assert (slow.status_code, slow.json()["reason"]) == (503, "database: no answer")


async def test_the_heartbeat_is_fresh_only_after_good_ticks() -> None:
    engine = FakeEngine()
    settings = settings_from_mapping({}, source="test", environ={})
    scheduler = Scheduler(engine, auditor=None, settings=settings)  # type: ignore[arg-type]
    assert scheduler.heartbeat() == "green channel: not running"
    scheduler.start()
    try:
        await scheduler.tick()
        assert scheduler.heartbeat() is None
        engine.errors = ["dispatch: OperationalError"]
        assert scheduler.last_good_tick is not None
        scheduler.last_good_tick = time.monotonic() - 600
        await scheduler.tick()  # a faulty tick does not count as a heartbeat
        assert scheduler.heartbeat() == "green channel: heartbeat stale"
        engine.errors = []
        await scheduler.tick()
        assert scheduler.heartbeat() is None
    finally:
        scheduler.stop()


@pytest.mark.parametrize("status", [413, 500])
def test_the_fallback_page_keeps_the_crisis_lines(status: int) -> None:
    from bot.process import fallback_page

    settings = settings_from_mapping({}, source="test", environ={})
    content_type, body = fallback_page(settings)(status, False)
    assert content_type.startswith("text/html")
    assert b'href="tel:12356"' in body
    kind, answer = fallback_page(settings)(status, True)
    assert kind == "application/json"
    assert b'"ok": false' in answer
