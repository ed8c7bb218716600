"""Every send is recorded the moment it completes; a claim is an attempt only once tried;
the lease is refused when it is shorter than a send. Real SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from green_world import T0, build_world
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config.settings import settings_from_mapping
from bot.errors import ConfigError
from escalation.engine import EscalationEngine
from escalation.lease import LEASE
from escalation.notifiers.base import Alert, SendResult
from escalation.outbox import MAX_ATTEMPTS, claim
from storage.models import Notification

SEC = timedelta(seconds=1)


@dataclass
class Gate:
    """A channel whose first send answers at once and whose others wait to be let through."""

    channel: str = "telegram"
    sent: list[Alert] = field(default_factory=list)
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    first_done: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, alert: Alert) -> SendResult:
        if self.sent:
            await self.opened.wait()
        self.sent.append(alert)
        self.first_done.set()
        return SendResult.delivered()


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, int]]:
    async with sessions() as session:
        rows = await session.execute(
            select(Notification.status, Notification.attempts).order_by(Notification.id)
        )
        return [(status, attempts) for status, attempts in rows.all()]


async def test_a_send_is_recorded_as_it_completes_not_when_the_batch_does(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = await build_world(sessions)
    gate = Gate()
    engine = EscalationEngine(world.sessions, world.engine.policies, {"telegram": gate})
    await world.request(world.student, "emergency", T0)  # the teacher and the district team
    tick = asyncio.create_task(engine.tick(T0))
    await asyncio.wait_for(gate.first_done.wait(), 10)
    for _ in range(100):  # the first result commits while the second send still hangs
        if ("sent", 1) in await statuses(world.sessions):
            break
        await asyncio.sleep(0.05)
    rows = await statuses(world.sessions)
    assert ("sent", 1) in rows
    assert ("sending", 1) in rows
    tick.cancel()  # the process dies here: the first alert's "sent" mark is already durable
    with pytest.raises(asyncio.CancelledError):
        await tick
    restarted = EscalationEngine(world.sessions, world.engine.policies, {"telegram": world.tg})
    await restarted.tick(T0 + LEASE + SEC)
    assert len(world.tg.sent) == 1  # only the unfinished one is sent again
    assert [status for status, _ in await statuses(world.sessions)].count("sent") == 2


async def test_a_claim_that_never_sent_is_not_an_attempt(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = await build_world(sessions)
    await world.request(world.student, "urgent", T0)
    # A process with no channel takes the request in and queues the alert, sending nothing.
    await EscalationEngine(world.sessions, world.engine.policies, {}).tick(T0)
    assert await statuses(world.sessions) == [("pending", 0)]
    # A worker claims the row and is killed before it sends, again and again.
    now = T0
    for _ in range(MAX_ATTEMPTS + 2):
        async with world.sessions() as session, session.begin():
            assert len(await claim(session, now, 10, LEASE)) == 1
        now += LEASE + SEC
    assert await statuses(world.sessions) == [("sending", 0)]
    await world.engine.tick(now)
    assert await statuses(world.sessions) == [("sent", 1)]
    assert [a.recipient_name for a in world.tg.sent] == ["甲老师"]


async def test_a_send_that_hangs_is_given_up_at_the_send_timeout_and_retried(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = await build_world(sessions)

    class Hang:
        channel = "telegram"

        async def send(self, alert: Alert) -> SendResult:
            await asyncio.sleep(30)
            return SendResult.delivered()

    engine = EscalationEngine(
        world.sessions, world.engine.policies, {"telegram": Hang()}, send_timeout=0.2 * SEC
    )
    await world.request(world.student, "urgent", T0)
    report = await engine.tick(T0)
    assert (report.sent, report.failed) == (0, 1)
    async with world.sessions() as session:
        row = (await session.scalars(select(Notification))).one()
    assert (row.status, row.attempts, row.last_error) == (
        "failed",
        1,
        "no answer within the send timeout",
    )


@pytest.mark.parametrize(
    ("escalation", "problem"),
    [
        (
            {"notification_lease": "3s"},
            "config.toml: escalation.notification_lease: 3s is shorter than the longest send "
            "(10s: the longest of email.timeout and webhook_timeout) plus 5s to record it; "
            "use at least 15s",
        ),
        (
            {"notification_lease": "20s", "email": {"timeout": "30s"}},
            "config.toml: escalation.notification_lease: 20s is shorter than the longest send "
            "(30s: the longest of email.timeout and webhook_timeout) plus 5s to record it; "
            "use at least 35s",
        ),
    ],
)
def test_a_lease_shorter_than_a_send_is_refused_naming_the_key(
    escalation: dict[str, object], problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({"escalation": escalation}, source="config.toml", environ={})
    assert caught.value.problems == [problem]


def test_a_lease_that_outlasts_the_sends_is_accepted() -> None:
    settings = settings_from_mapping(
        {
            "escalation": {
                "notification_lease": "8s",
                "webhook_timeout": "2s",
                "email": {"timeout": "3s"},
            }
        },
        source="config.toml",
        environ={},
    )
    assert settings.escalation.notification_lease == 8 * SEC
