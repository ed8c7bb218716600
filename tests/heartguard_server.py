"""HeartGuard itself, started the way ``heartguard run`` starts it, on a thread of its own.

``RunningHeartGuard(settings).start()`` runs :func:`bot.process.serve` in a new event loop on a
daemon thread (the database, the pipeline, the green channel, the web server and, when enabled,
WeChat's callback) and returns once the web server listens; ``stop()`` sets the stop event the
way SIGTERM would and waits for the graceful shutdown. Tests seed and read the database from
their own thread through their own engine.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import select

from bot.config.settings import Settings, settings_from_mapping
from bot.process import Process, serve
from bot.services import admin, enrollment, roster_import
from escalation.duty import round_the_clock
from storage.crypto import DataCipher
from storage.db import create_engine, session_factory
from storage.models import CaseRequest, ChannelIdentity, Message

DATA_KEY = Fernet.generate_key().decode()
WEB_SECRET = "a-test-secret-that-is-long-enough-0123456789"
STARTUP_SECONDS = 60.0
ROSTER = (
    "school,class,grade,student_number,name,guardian_consent\n"
    "BB01,初二(1)班,8,S001,测试甲,yes\n"
    "BB01,初二(1)班,8,S002,测试乙,yes\n"
).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def heartguard_settings(
    db_url: str,
    *,
    port: int | None = None,
    environ: Mapping[str, str] | None = None,
    **sections: Any,
) -> Settings:
    """Settings for a web-only HeartGuard on ``db_url`` (more sections may be given)."""
    web = {"enabled": True, "listen": "127.0.0.1", "port": port or free_port()}
    web.update(sections.pop("web", {}))
    return settings_from_mapping(
        {"database": {"url": db_url}, "web": web, **sections},
        source="test",
        environ={
            "HEARTGUARD_DATA_KEY": DATA_KEY,
            "HEARTGUARD_WEB_SECRET": WEB_SECRET,
            **(environ or {}),
        },
    )


class RunningHeartGuard:
    """``heartguard run`` on a background thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process: Process | None = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="heartguard", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.web.port}"

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self.error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()

        def ready(process: Process) -> None:
            self.process = process
            self._ready.set()

        await serve(self.settings, stop=self._stop, on_ready=ready)

    def start(self) -> str:
        self._thread.start()
        self._ready.wait(STARTUP_SECONDS)
        if self.process is None:
            raise RuntimeError(f"HeartGuard did not start: {self.error!r}")
        return self.url

    def call(self, coroutine: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine on the server's loop (to reach its runtime) and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(STARTUP_SECONDS)
        if self.error is not None:
            raise self.error


async def seed_school(db_url: str) -> dict[str, Any]:
    """A school, two roster students with codes, a counselor on duty around the clock."""
    now = datetime.now(UTC)
    engine = create_engine(db_url)
    cipher = DataCipher([DATA_KEY])
    try:
        async with session_factory(engine).begin() as session:
            school = await admin.add_school(
                session, code="BB01", name="示例中学", timezone="Asia/Shanghai", now=now, actor="t"
            )
            await roster_import.import_roster(session, ROSTER, now=now, actor="t")
            codes = {}
            for number in ("S001", "S002"):
                issued = await enrollment.issue_codes(
                    session,
                    cipher,
                    school_ref="BB01",
                    class_name=None,
                    student_number=number,
                    ttl=timedelta(days=7),
                    now=now,
                    actor="t",
                )
                codes[number] = issued[0].code
            counselor = await admin.add_counselor(
                session,
                name="陈老师",
                role="school_counselor",
                school_refs=["BB01"],
                contacts=[("console", "chen")],
                now=now,
                actor="t",
            )
            round_the_clock(session, counselor.id, tier="school", school_id=school.id, now=now)
    finally:
        await engine.dispose()
    return {"codes": codes, "counselor": counselor.id}


async def case_requests(db_url: str) -> list[tuple[int, str, str]]:
    """(student id, priority, reason) of every case request, oldest first."""
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as session:
            rows = (
                await session.execute(
                    select(
                        CaseRequest.student_id, CaseRequest.priority, CaseRequest.reason
                    ).order_by(CaseRequest.id)
                )
            ).all()
    finally:
        await engine.dispose()
    return [(sid, priority, reason) for sid, priority, reason in rows]


async def stored_lines(db_url: str) -> list[tuple[str, str, str]]:
    """(direction, channel, decrypted text) of every stored message, in order."""
    engine = create_engine(db_url)
    cipher = DataCipher([DATA_KEY])
    try:
        async with session_factory(engine)() as session:
            rows = (
                await session.execute(
                    select(Message.direction, Message.channel, Message.text_enc).order_by(
                        Message.id
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    return [(d, c, cipher.decrypt(t) if t else "") for d, c, t in rows]


async def identities(db_url: str) -> list[tuple[str, str, int]]:
    """(channel, external id, student id) of every chat identity."""
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as session:
            rows = (
                await session.execute(
                    select(
                        ChannelIdentity.channel,
                        ChannelIdentity.external_id,
                        ChannelIdentity.student_id,
                    ).order_by(ChannelIdentity.id)
                )
            ).all()
    finally:
        await engine.dispose()
    return [(c, e, s) for c, e, s in rows]
