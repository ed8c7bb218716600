"""The green channel on real SQLite and PostgreSQL, with an injected clock: every priority's
chain, acknowledgement, expiry, raises, nobody on duty, failing channels, restarts, scope.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from green_world import T0, World, build_world, events
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from escalation.actions import Actor, CaseActionError, NotAllowedError
from escalation.notifiers.base import SendResult
from storage.models import Case, CaseRequest, Notification

MIN = timedelta(minutes=1)


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    return await build_world(sessions)


async def only_case(world: World) -> Case:
    async with world.sessions() as session:
        cases = (await session.scalars(select(Case))).all()
    assert len(cases) == 1
    return cases[0]


async def test_emergency_alerts_every_tier_at_once_and_repeats_until_acknowledged(
    world: World,
) -> None:
    await world.request(world.student, "emergency", T0)
    report = await world.engine.tick(T0)
    assert (report.requests, report.sent) == (1, 3)
    assert [a.recipient_name for a in world.tg.sent] == ["甲老师", "区危机组"]
    assert [a.kind for a in world.hook.sent] == ["alert"]
    first = world.tg.sent[0]
    assert (first.priority, first.school, first.student_display) == (
        "emergency",
        "第一示例中学",
        "测试同学",
    )
    await world.engine.tick(T0 + 4 * MIN)
    assert len(world.tg.sent) == 2  # not yet: the step waits five minutes
    await world.engine.tick(T0 + 5 * MIN)
    assert len(world.tg.sent) == 4  # repeated
    case = await only_case(world)
    await world.service.act(case.id, "ack", Actor.counselor(world.teacher), T0 + 6 * MIN)
    await world.engine.tick(T0 + 20 * MIN)
    assert len(world.tg.sent) == 4  # acknowledgement stopped escalation
    timeline = await events(world.sessions, case.id)
    assert timeline[:2] == ["opened", "notified"]
    assert timeline.count("notified") == 2
    assert timeline[-1] == "ack"


async def test_urgent_walks_its_chain_school_then_district_then_hospital(world: World) -> None:
    await world.request(world.student, "urgent", T0)
    await world.engine.tick(T0)
    assert [a.recipient_name for a in world.tg.sent] == ["甲老师"]
    assert world.hook.sent == []
    await world.engine.tick(T0 + 10 * MIN)
    assert [a.recipient_name for a in world.tg.sent] == ["甲老师", "区危机组"]
    await world.engine.tick(T0 + 20 * MIN)
    assert len(world.hook.sent) == 1
    case = await only_case(world)
    await world.service.act(case.id, "contacted", Actor.counselor(world.district), T0 + 21 * MIN)
    await world.engine.tick(T0 + 60 * MIN)
    assert len(world.tg.sent) == 2


async def test_routine_waits_a_day_before_the_district(world: World) -> None:
    await world.request(world.student, "routine", T0)
    await world.engine.tick(T0)
    await world.engine.tick(T0 + timedelta(hours=23))
    assert [a.recipient_name for a in world.tg.sent] == ["甲老师"]
    await world.engine.tick(T0 + timedelta(days=1))
    assert [a.recipient_name for a in world.tg.sent] == ["甲老师", "区危机组"]


async def test_emergency_acknowledgement_expires_without_contact(world: World) -> None:
    await world.request(world.student, "emergency", T0)
    await world.engine.tick(T0)
    case = await only_case(world)
    await world.service.act(case.id, "ack", Actor.counselor(world.teacher), T0 + MIN)
    await world.engine.tick(T0 + 20 * MIN)
    assert len(world.tg.sent) == 2
    await world.engine.tick(T0 + 31 * MIN)
    assert len(world.tg.sent) == 4  # nobody marked the student contacted: alert again
    assert "ack_expired" in await events(world.sessions, case.id)
    assert (await only_case(world)).status == "open"


async def test_a_new_signal_raises_the_open_case_and_restarts_on_the_higher_chain(
    world: World,
) -> None:
    await world.request(world.student, "routine", T0)
    await world.engine.tick(T0)
    case = await only_case(world)
    await world.service.act(case.id, "ack", Actor.counselor(world.teacher), T0 + MIN)
    await world.request(world.student, "emergency", T0 + 2 * MIN, reason="risk_imminent")
    await world.engine.tick(T0 + 2 * MIN)
    raised = await only_case(world)  # still one case: attached, not a second one
    assert (raised.id, raised.priority, raised.status) == (case.id, "emergency", "open")
    assert len(world.hook.sent) == 1  # the emergency chain includes the hospital at once
    assert "raised" in await events(world.sessions, case.id)
    await world.request(world.student, "routine", T0 + 3 * MIN)
    await world.engine.tick(T0 + 3 * MIN)
    assert (await only_case(world)).priority == "emergency"  # never lowered


async def test_nobody_on_duty_goes_to_the_next_tier_and_is_recorded(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = await build_world(sessions, school_shift=False)
    await world.request(world.student, "urgent", T0)
    await world.engine.tick(T0)
    assert [a.recipient_name for a in world.tg.sent] == ["区危机组"]
    case = await only_case(world)
    assert "nobody_on_duty" in await events(world.sessions, case.id)


async def test_anonymous_students_reach_the_district(world: World) -> None:
    await world.request(world.anonymous, "urgent", T0)
    await world.engine.tick(T0)
    assert [a.recipient_name for a in world.tg.sent] == ["区危机组"]


async def test_a_failing_channel_retries_with_backoff_then_recovers(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = await build_world(sessions, scripts=[SendResult.retry("timeout")])
    await world.request(world.student, "urgent", T0)
    await world.engine.tick(T0)
    assert world.tg.sent == []
    await world.engine.tick(T0 + 10 * timedelta(seconds=1))
    await world.engine.tick(T0 + 2 * MIN)
    assert [a.recipient_name for a in world.tg.sent] == ["甲老师"]
    async with world.sessions() as session:
        row = await session.scalar(select(Notification).where(Notification.status == "sent"))
    assert row is not None
    assert row.attempts == 2
    assert world.tg.tried[0].idempotency_key == row.idempotency_key


async def test_a_channel_failing_for_good_moves_to_the_next_channel(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = await build_world(sessions, scripts=[SendResult.failed("chat not found")])
    await world.request(world.student, "urgent", T0)
    await world.engine.tick(T0)
    await world.engine.tick(T0 + timedelta(seconds=5))
    assert [a.recipient_name for a in world.mail.sent] == ["甲老师"]
    case = await only_case(world)
    assert "next_channel" in await events(world.sessions, case.id)


async def test_every_channel_dead_is_unreachable_and_the_auditor_says_so(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = await build_world(sessions, scripts=[SendResult.failed("blocked")])
    world.mail.script = [SendResult.failed("mailbox unavailable")]
    await world.request(world.student, "urgent", T0)
    await world.engine.tick(T0)
    await world.engine.tick(T0 + timedelta(seconds=5))
    case = await only_case(world)
    assert "unreachable" in await events(world.sessions, case.id)
    report = await world.auditor.audit(T0 + MIN)
    assert report.unreachable_cases == [case.id]
    assert not report.healthy


async def test_a_restart_mid_escalation_resumes_from_the_database(world: World) -> None:
    await world.request(world.student, "urgent", T0)
    await world.engine.tick(T0)
    restarted = world.new_engine()  # the old process is gone; nothing lives in memory
    await restarted.tick(T0 + 15 * MIN)  # it was down past the ten-minute step
    assert [a.recipient_name for a in world.tg.sent] == ["甲老师", "区危机组"]
    await restarted.tick(T0 + 25 * MIN)
    assert len(world.hook.sent) == 1


async def test_scope_stale_buttons_and_unknown_cases_are_refused(world: World) -> None:
    await world.request(world.student, "urgent", T0)
    await world.engine.tick(T0)
    case = await only_case(world)
    with pytest.raises(NotAllowedError):
        await world.service.act(case.id, "ack", Actor.counselor(world.other_teacher), T0)
    with pytest.raises(NotAllowedError):
        await world.service.view(case.id, Actor.counselor(world.other_teacher), T0)
    await world.service.act(
        case.id, "resolve", Actor.counselor(world.teacher), T0 + MIN, resolution="safe"
    )
    with pytest.raises(CaseActionError, match="resolved"):
        await world.service.act(case.id, "ack", Actor.counselor(world.teacher), T0 + 2 * MIN)
    with pytest.raises(CaseActionError, match="no case #9999"):
        await world.service.act(9999, "ack", Actor.admin(), T0)
    _, timeline = await world.service.view(case.id, Actor.counselor(world.district), T0 + 3 * MIN)
    actions = [e.action for e in timeline]
    assert actions.count("refused") == 3
    assert actions[-1] == "viewed"
    assert [e.at for e in timeline] == sorted(e.at for e in timeline)  # in true order


async def test_refer_sends_the_hospital_a_referral_packet(world: World) -> None:
    await world.request(world.student, "routine", T0)
    await world.engine.tick(T0)
    case = await only_case(world)
    await world.service.act(case.id, "refer", Actor.counselor(world.teacher), T0 + MIN)
    await world.engine.tick(T0 + MIN)
    assert [a.kind for a in world.hook.sent] == ["referral"]
    assert "referral_sent" in await events(world.sessions, case.id)


async def test_the_database_allows_one_open_case_per_student(world: World) -> None:
    await world.request(world.student, "urgent", T0)
    await world.engine.tick(T0)
    case = await only_case(world)
    with pytest.raises(IntegrityError):
        async with world.sessions.begin() as session:
            session.add(
                Case(
                    student_id=world.student,
                    priority="urgent",
                    status="open",
                    reason="x",
                    categories=[],
                    chain=case.chain,
                    created_at=T0,
                    updated_at=T0,
                )
            )
    async with world.sessions() as session:
        handled = await session.scalar(
            select(func.count()).select_from(CaseRequest).where(CaseRequest.handled_at.is_(None))
        )
    assert handled == 0


async def test_auditor_raises_overdue_cases_and_pings_only_when_healthy(world: World) -> None:
    healthy = await world.auditor.audit(T0)
    assert healthy.healthy
    await world.request(world.student, "urgent", T0)
    await world.engine.tick(T0)
    # The worker is down for an hour: the ten-minute step is long overdue.
    late = await world.auditor.audit(T0 + 60 * MIN)
    case = await only_case(world)
    assert late.overdue_cases == [case.id]
    assert late.raised == 1
    assert "audit_raised" in await events(world.sessions, case.id)


async def test_shifts_from_the_config_file_put_a_counselor_on_duty(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from bot.bootstrap import configured_shifts, policies
    from bot.config.settings import settings_from_mapping
    from escalation.engine import EscalationEngine

    world = await build_world(sessions, school_shift=False)
    settings = settings_from_mapping(
        {
            "escalation": {
                "shifts": [
                    {
                        "counselor": world.teacher,
                        "tier": "school",
                        "school": "S1",
                        "days": ["mon"],
                        "start": "08:00",
                        "end": "18:00",
                    },
                ]
            }
        },
        source="t",
        environ={},
    )
    engine = EscalationEngine(
        world.sessions,
        policies(settings),
        {"telegram": world.tg, "email": world.mail, "webhook": world.hook},
        shifts=configured_shifts(settings),
    )
    await world.request(world.student, "urgent", T0)  # Monday 10:00 in Shanghai
    await engine.tick(T0)
    assert [a.recipient_name for a in world.tg.sent] == ["甲老师"]


def test_a_school_shift_in_the_config_needs_its_school() -> None:
    from bot.config.settings import settings_from_mapping
    from bot.errors import ConfigError

    with pytest.raises(ConfigError, match=r"escalation\.shifts\[0\]: a school-tier shift needs"):
        settings_from_mapping(
            {"escalation": {"shifts": [{"counselor": 1, "tier": "school"}]}},
            source="config.toml",
            environ={},
        )


async def test_a_status_change_updates_the_telegram_alerts_in_place(world: World) -> None:
    await world.request(world.student, "emergency", T0)
    await world.engine.tick(T0)
    sent = {a.recipient_name: a for a in world.tg.sent}
    case = await only_case(world)
    await world.service.act(case.id, "ack", Actor.counselor(world.teacher), T0 + MIN)
    await world.engine.tick(T0 + MIN)
    assert sorted(u.recipient_name or "" for u in world.tg.updates) == ["区危机组", "甲老师"]
    edits = {u.address: u.extra["edit_message_id"] for u in world.tg.updates}
    assert edits == {sent["甲老师"].address: "701", sent["区危机组"].address: "702"}
    assert {u.status for u in world.tg.updates} == {"acknowledged"}
    assert world.hook.updates == []  # the hospital's system is not told of every change
