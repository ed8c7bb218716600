"""Counselor link codes: issued by the CLI, single use, newest only, one chat per counselor."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tg_world import T0

from bot.cli.main import main
from bot.services import admin, counselor_links
from bot.services.one_time_codes import Redemption as LinkOutcome
from storage.models import CounselorContact, CounselorLinkCode


async def two_counselors(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessions.begin() as session:
        first = await admin.add_counselor(
            session,
            name="甲老师",
            role="district_crisis",
            school_refs=[],
            contacts=[("telegram", "111"), ("email", "a@example.cn")],
            now=T0,
            actor="t",
        )
        second = await admin.add_counselor(
            session,
            name="乙老师",
            role="district_crisis",
            school_refs=[],
            contacts=[],
            now=T0,
            actor="t",
        )
    return first.id, second.id


async def test_a_new_code_revokes_the_older_one_and_only_a_hash_is_stored(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, _ = await two_counselors(sessions)
    async with sessions.begin() as session:
        old = await counselor_links.issue(session, first, ttl=timedelta(hours=1), now=T0, actor="t")
        new = await counselor_links.issue(session, first, ttl=timedelta(hours=1), now=T0, actor="t")
    async with sessions.begin() as session:
        stale = await counselor_links.redeem(
            session, old.code, channel="telegram", address="222", now=T0
        )
        fresh = await counselor_links.redeem(
            session, new.code.lower().replace("-", " "), channel="telegram", address="222", now=T0
        )
        hashes = (await session.scalars(select(CounselorLinkCode.code_hash))).all()
    assert (stale.outcome, fresh.outcome) == (LinkOutcome.INVALID, LinkOutcome.OK)
    assert all(new.code not in h and old.code not in h for h in hashes)


async def test_a_chat_moves_to_the_counselor_whose_code_it_sent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, second = await two_counselors(sessions)
    async with sessions.begin() as session:
        issued = await counselor_links.issue(
            session, second, ttl=timedelta(hours=1), now=T0, actor="t"
        )
        result = await counselor_links.redeem(
            session, issued.code, channel="telegram", address="111", now=T0
        )
    assert (result.outcome, result.counselor_id) == (LinkOutcome.OK, second)
    async with sessions() as session:
        rows = (
            await session.execute(
                select(
                    CounselorContact.counselor_id,
                    CounselorContact.channel,
                    CounselorContact.address,
                    CounselorContact.rank,
                ).order_by(CounselorContact.counselor_id, CounselorContact.rank)
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (first, "email", "a@example.cn", 1),
        (second, "telegram", "111", 0),
    ]


def test_the_cli_prints_a_code_and_the_link_command(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["counselors", "add", "丙老师", "--role", "district_crisis", "--link-later"]) == 0
    capsys.readouterr()
    assert main(["counselors", "code", "1", "--ttl", "2h"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"/link [2-9A-Z]{5}-[2-9A-Z]{5}$", out.strip())
    assert main(["counselors", "code", "99"]) == 1
    assert "no counselor #99" in capsys.readouterr().err
