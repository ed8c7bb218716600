"""Console sign-in and API tokens, on both databases: what is refused, and what is slowed down."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli.main import main
from bot.config.settings import AccessSettings
from bot.services import admin, api_tokens, console_login
from bot.services.access import Access
from storage.crypto import DataCipher
from storage.models import ApiToken, CounselorLogin, LoginThrottle

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
Capture = pytest.CaptureFixture[str]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def counselor(sessions: async_sessionmaker[AsyncSession], name: str = "陈老师") -> int:
    async with sessions.begin() as session:
        row = await admin.add_counselor(
            session,
            name=name,
            role="district_crisis",
            school_refs=[],
            contacts=[],
            now=T0,
            actor="t",
        )
    return row.id


async def test_a_token_acts_as_its_counselor_until_revoked_or_expired(
    sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> None:
    ident = await counselor(sessions)
    clock = Clock()
    access = Access(sessions, cipher, AccessSettings(), clock=clock)
    async with sessions.begin() as session:
        issued = await api_tokens.issue(session, ident, ttl=timedelta(days=30), now=T0, actor="t")
        stored = await session.scalar(select(ApiToken))
    assert stored is not None
    assert issued.token not in stored.token_hash  # only the hash is kept
    who = await access.authenticate(issued.token)
    assert who is not None
    assert (who.counselor_id, who.scope) == (ident, "district")
    assert await access.authenticate(issued.token + "x") is None
    assert await access.authenticate("hgt_unknown") is None
    clock.now = T0 + timedelta(days=31)
    assert await access.authenticate(issued.token) is None  # expired
    clock.now = T0
    async with sessions.begin() as session:
        assert await api_tokens.revoke(session, issued.id, now=T0, actor="t")
        assert not await api_tokens.revoke(session, issued.id, now=T0, actor="t")
    assert await access.authenticate(issued.token) is None  # revoked


async def test_a_deactivated_counselors_token_stops_at_once(
    sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> None:
    ident = await counselor(sessions)
    async with sessions.begin() as session:
        issued = await api_tokens.issue(session, ident, ttl=timedelta(days=1), now=T0, actor="t")
        await admin.set_counselor_active(session, ident, active=False, now=T0, actor="t")
    assert (
        await Access(sessions, cipher, AccessSettings(), clock=Clock()).authenticate(issued.token)
        is None
    )


async def test_brute_force_on_a_password_is_locked_out_then_lets_go(
    sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> None:
    ident = await counselor(sessions)
    async with sessions.begin() as session:
        await console_login.set_password(
            session, cipher, ident, PASSWORD, totp=False, now=T0, actor="t"
        )
        row = await session.get(CounselorLogin, ident)
    assert row is not None
    assert row.password_hash.startswith("$argon2id$")
    clock = Clock()
    access = Access(sessions, cipher, AccessSettings(login_max_failures=5), clock=clock)
    assert await access.verify_login(ident, PASSWORD, None, source="198.51.100.1") == ident
    assert await access.verify_login("陈老师", PASSWORD, None, source="198.51.100.1") == ident
    for attempt in range(5):
        assert (
            await access.verify_login(
                ident, f"guess {attempt}", None, source=f"203.0.113.{attempt}"
            )
            is None
        )
    # Locked: even the right password fails, from anywhere, until the lockout ends.
    assert await access.verify_login(ident, PASSWORD, None, source="198.51.100.1") is None
    clock.now = T0 + timedelta(minutes=16)
    assert await access.verify_login(ident, PASSWORD, None, source="198.51.100.1") == ident


async def test_one_address_guessing_many_counselors_is_locked_out(
    sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> None:
    ids = [await counselor(sessions, f"老师{n}") for n in range(6)]
    async with sessions.begin() as session:
        for ident in ids:
            await console_login.set_password(
                session, cipher, ident, PASSWORD, totp=False, now=T0, actor="t"
            )
    access = Access(sessions, cipher, AccessSettings(login_max_failures=5), clock=Clock())
    for ident in ids[:5]:
        assert (
            await access.verify_login(ident, "wrong password", None, source="203.0.113.9") is None
        )
    assert await access.verify_login(ids[5], PASSWORD, None, source="203.0.113.9") is None
    assert await access.verify_login(ids[5], PASSWORD, None, source="198.51.100.2") == ids[5]
    async with sessions() as session:
        keys = set((await session.scalars(select(LoginThrottle.key))).all())
    assert "source:203.0.113.9" in keys


async def test_totp_is_required_when_set(
    sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> None:
    ident = await counselor(sessions)
    async with sessions.begin() as session:
        secret = await console_login.set_password(
            session, cipher, ident, PASSWORD, totp=True, now=T0, actor="t"
        )
    assert secret is not None
    access = Access(sessions, cipher, AccessSettings(), clock=Clock())
    assert await access.verify_login(ident, PASSWORD, None, source="x") is None
    assert await access.verify_login(ident, PASSWORD, "000000", source="x") is None
    code = pyotp.TOTP(secret).at(T0)
    assert await access.verify_login(ident, PASSWORD, code, source="x") == ident


def test_the_cli_prints_a_token_once_and_revokes_it(
    cli_env: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["counselors", "add", "周老师", "--role", "district_crisis", "--link-later"]) == 0
    capsys.readouterr()
    assert main(["tokens", "issue", "--counselor", "1", "--ttl", "7d", "--label", "区平台"]) == 0
    out = capsys.readouterr().out
    [token] = re.findall(r"hgt_\S+", out)
    assert main(["tokens", "list"]) == 0
    listed = capsys.readouterr().out
    assert token not in listed
    assert "valid until" in listed
    assert "区平台" in listed
    assert main(["tokens", "revoke", "1"]) == 0
    assert main(["tokens", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["counselors", "password", "1"]) == 1
    assert "at least 10" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["counselors", "password", "1", "--totp"]) == 0
    assert "TOTP secret" in capsys.readouterr().out
