"""Enrollment codes: unguessable, expiring, single use, exportable for teachers."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import admin, enrollment, roster_import
from bot.services.one_time_codes import Redemption, looks_like_code
from storage.crypto import DataCipher

NOW = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
ROSTER = (
    "school,class,grade,student_number,name,guardian_consent\n"
    "BB01,初一(1)班,7,S001,王小明,yes\n"
    "BB01,初一(1)班,7,S002,李小红,no\n"
    "BB01,初一(2)班,7,S003,张小华,yes\n"
).encode()


async def seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        await admin.add_school(
            session,
            code="BB01",
            name="北碚示例中学",
            timezone="Asia/Shanghai",
            now=NOW,
            actor="test",
        )
        await roster_import.import_roster(session, ROSTER, now=NOW, actor="test")


async def issue(
    sessions: async_sessionmaker[AsyncSession], cipher: DataCipher, **kwargs: object
) -> list[enrollment.IssuedCode]:
    async with sessions.begin() as session:
        args: dict[str, object] = {"class_name": None, "student_number": None}
        args.update(kwargs)
        return await enrollment.issue_codes(
            session,
            cipher,
            school_ref="BB01",
            ttl=timedelta(days=7),
            now=NOW,
            actor="t",
            **args,  # type: ignore[arg-type]
        )


async def redeem(
    sessions: async_sessionmaker[AsyncSession], code: str, now: datetime = NOW
) -> enrollment.RedeemResult:
    async with sessions.begin() as session:
        return await enrollment.redeem(session, code, now=now)


async def test_issue_per_class_and_redeem_once(
    sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> None:
    await seed(sessions)
    issued = await issue(sessions, cipher, class_name="初一(1)班")
    assert [i.student_number for i in issued] == ["S001", "S002"]
    assert all(re.fullmatch(r"[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}", i.code) for i in issued)
    first = await redeem(sessions, issued[1].code.lower().replace("-", " "))
    assert first.outcome is Redemption.OK
    assert first.guardian_consent is False
    assert (await redeem(sessions, issued[1].code)).outcome is Redemption.USED


async def test_expired_and_unknown_codes(
    sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> None:
    await seed(sessions)
    [one] = await issue(sessions, cipher, student_number="S003")
    late = NOW + timedelta(days=8)
    assert (await redeem(sessions, one.code, late)).outcome is Redemption.EXPIRED
    assert (await redeem(sessions, "ABCDE-FGHJK")).outcome is Redemption.INVALID
    assert (await redeem(sessions, "")).outcome is Redemption.INVALID
    assert (await redeem(sessions, "x" * 5000)).outcome is Redemption.INVALID


async def test_reissue_revokes_the_old_code_and_export_lists_live_ones(
    sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> None:
    await seed(sessions)
    old = await issue(sessions, cipher)
    new = await issue(sessions, cipher)
    assert (await redeem(sessions, old[0].code)).outcome is Redemption.INVALID
    async with sessions() as session:
        live = await enrollment.unused_codes(session, cipher, school_ref="BB01", now=NOW)
    assert sorted(i.code for i in live) == sorted(i.code for i in new)
    csv_text = enrollment.to_csv(live, "Asia/Shanghai")
    assert csv_text.startswith("\ufeffschool,class,student_number,name,code,expires")
    assert new[0].code in csv_text
    assert "2026-09-08 16:00" in csv_text  # expiry shown in the school's local time


async def test_two_chats_racing_for_one_code_only_one_wins(
    sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> None:
    await seed(sessions)
    [one] = await issue(sessions, cipher, student_number="S001")
    results = await asyncio.gather(*(redeem(sessions, one.code) for _ in range(4)))
    outcomes = sorted(r.outcome for r in results)
    assert outcomes.count(Redemption.OK) == 1
    assert outcomes.count(Redemption.USED) == 3


def test_codes_are_never_read_as_risk() -> None:
    from lexicons.detector import default_detector

    detector = default_detector()
    # Codes that spell slang by chance (ZS for 自杀) must not start a screen mid-onboarding.
    for code in ("MHBKU-ZS32Z", "ZS767-ZTNB6", "WRPEY-SM2ZS"):
        assert looks_like_code(code)
        assert detector.assess(code).level.label == "none"
    assert not looks_like_code("我想自杀")
    assert not looks_like_code("zs")
