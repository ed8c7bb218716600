"""Monday's reports: due at the configured local time, claimed once across processes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config.settings import load_settings
from bot.services.reports.delivery import WeeklyDelivery, due_week, notices
from storage.models import CounselorContact, ReportDelivery

SETTINGS = load_settings(None, {})
BEFORE = datetime(2026, 12, 6, 23, 55, tzinfo=UTC)  # Monday 07:55 in Shanghai
AFTER = datetime(2026, 12, 7, 0, 5, tzinfo=UTC)  # Monday 08:05


class Outbox:
    """Records what would have been e-mailed."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def __call__(self, to: str, subject: str, plain: str, html: str) -> None:
        self.sent.append((to, subject, html))


def test_due_from_the_configured_local_time() -> None:
    weekday, at = SETTINGS.reports.weekly_slot
    assert (weekday, at.hour, at.minute) == (0, 8, 0)
    assert due_week(BEFORE, "Asia/Shanghai", weekday, at) is None
    due = due_week(AFTER, "Asia/Shanghai", weekday, at)
    assert due is not None
    assert due.label == "2026-W49"


async def test_each_report_goes_out_once_to_its_own_people(
    district: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions.begin() as session:
        session.add(CounselorContact(counselor_id=1, channel="email", address="r00@school.cn"))
        session.add(CounselorContact(counselor_id=4, channel="email", address="team@district.cn"))
    outbox = Outbox()
    first, second = (
        WeeklyDelivery(sessions, SETTINGS, outbox),
        WeeklyDelivery(sessions, SETTINGS, outbox),
    )
    assert (await first.tick(BEFORE)).claimed == 0
    done = await first.tick(AFTER)
    assert (done.claimed, done.sent, done.skipped, done.failed) == (4, 2, 2, 0)
    assert (await second.tick(AFTER)).claimed == 0  # another process: nothing left to send
    assert sorted(to for to, _, _ in outbox.sent) == ["r00@school.cn", "team@district.cn"]
    for _to, subject, html in outbox.sent:
        assert "2026-W49" in subject
        assert "<svg" in html
    rows = {row.scope: (row.status, row.recipients, row.error) for row in await notices(sessions)}
    assert rows == {
        "school:1": ("sent", 1, None),
        "school:2": ("skipped", 0, "no e-mail recipients"),
        "school:3": ("skipped", 0, "no e-mail recipients"),
        "district": ("sent", 1, None),
    }


async def test_without_smtp_the_week_is_recorded_as_skipped(
    district: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    delivery = WeeklyDelivery(sessions, SETTINGS)
    assert delivery.send is None
    done = await delivery.tick(AFTER)
    assert done.skipped == 4
    assert "escalation.email.host is not set" in caplog.text
    async with sessions() as session:
        errors = set(await session.scalars(select(ReportDelivery.error)))
    assert errors == {"smtp not configured"}
