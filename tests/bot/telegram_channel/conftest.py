"""A real Application, pipeline and green channel on a real database, with an offline Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from fake_telegram import RecordingRequest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.request import HTTPXRequest
from tg_world import ROSTER, T0, TOKEN, Chat, Clock

from bot.bootstrap import AppContext
from bot.channels.telegram.runner import BotProcess
from bot.config.settings import settings_from_mapping
from bot.services import admin, counselor_links, enrollment, roster_import
from escalation.duty import round_the_clock
from storage.crypto import DataCipher


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything builds a real transport and uses it."""

    async def refuse(*_args: object, **_kwargs: object) -> tuple[int, bytes]:
        pytest.fail("network access attempted in an offline test")

    monkeypatch.setattr(HTTPXRequest, "do_request", refuse)


@pytest.fixture
def ctx(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> AppContext:
    settings = settings_from_mapping(
        {}, source="test", environ={"HEARTGUARD_TELEGRAM_TOKEN": TOKEN}
    )
    return AppContext(settings, engine, sessions, cipher)


@pytest.fixture
def api() -> RecordingRequest:
    return RecordingRequest()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def process(
    ctx: AppContext, api: RecordingRequest, clock: Clock
) -> AsyncIterator[BotProcess]:
    bot_process = BotProcess.build(ctx, request=api, clock=clock)
    async with bot_process.application:
        yield bot_process
        await bot_process.runtime.students.drain()  # no flood-control flusher outlives the test
    await bot_process.runtime.aclose()


@pytest.fixture
def chat(process: BotProcess, api: RecordingRequest) -> Chat:
    return Chat(process, api)


@pytest.fixture
async def district(ctx: AppContext) -> dict[str, int | str]:
    """Two schools, a roster student with a code, a counselor for each school, on duty."""
    async with ctx.sessions.begin() as session:
        schools = [
            await admin.add_school(
                session, code=code, name=name, timezone="Asia/Shanghai", now=T0, actor="t"
            )
            for code, name in (("BB01", "示例中学"), ("BB02", "另一所中学"))
        ]
        await roster_import.import_roster(session, ROSTER, now=T0, actor="t")
        issued = await enrollment.issue_codes(
            session,
            ctx.cipher,
            school_ref="BB01",
            class_name=None,
            student_number="S001",
            ttl=timedelta(days=7),
            now=T0,
            actor="t",
        )
        ours = await admin.add_counselor(
            session,
            name="陈老师",
            role="school_counselor",
            school_refs=["BB01"],
            contacts=[("email", "chen@school.example")],
            now=T0,
            actor="t",
        )
        other = await admin.add_counselor(
            session,
            name="李老师",
            role="school_counselor",
            school_refs=["BB02"],
            contacts=[("telegram", "6161")],
            now=T0,
            actor="t",
        )
        round_the_clock(session, ours.id, tier="school", school_id=schools[0].id, now=T0)
        link = await counselor_links.issue(
            session, ours.id, ttl=timedelta(hours=24), now=T0, actor="t"
        )
    return {
        "code": issued[0].code,
        "counselor": ours.id,
        "other": other.id,
        "link": link.code,
    }
