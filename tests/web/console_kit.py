"""Seeding for the console's tests: two schools, their counselors with passwords, cases.

School BB01 (from ``seed_school``) has 陈老师 and two students; school BB02 has 王老师 and one
student with an open case. 区老师 is on the district team. Every counselor's console password
is :data:`PASSWORD`; 王老师 also has TOTP.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from heartguard_server import DATA_KEY, seed_school
from sqlalchemy import select

from bot.services import admin, api_tokens, console_login, roster_import
from storage.crypto import DataCipher
from storage.db import create_engine, session_factory
from storage.models import Case, CheckinResult, Hospital, Student

PASSWORD = "correct horse battery"
OTHER_ROSTER = (
    "school,class,grade,student_number,name,guardian_consent\nBB02,初三(2)班,9,T001,外校丙,yes\n"
).encode()


async def seed_console(db_url: str) -> dict[str, Any]:
    """The schools, counselors, passwords, a hospital, and BB02's open case."""
    seeded = await seed_school(db_url)
    now = datetime.now(UTC)
    engine = create_engine(db_url)
    cipher = DataCipher([DATA_KEY])
    try:
        async with session_factory(engine).begin() as session:
            await admin.add_school(
                session, code="BB02", name="另一中学", timezone="Asia/Shanghai", now=now, actor="t"
            )
            await roster_import.import_roster(session, OTHER_ROSTER, now=now, actor="t")
            wang = await admin.add_counselor(
                session,
                name="王老师",
                role="school_counselor",
                school_refs=["BB02"],
                contacts=[("console", "wang")],
                now=now,
                actor="t",
            )
            district = await admin.add_counselor(
                session,
                name="区老师",
                role="district_crisis",
                school_refs=[],
                contacts=[("console", "qu")],
                now=now,
                actor="t",
            )
            session.add(
                Hospital(
                    name="区精神卫生中心",
                    channel="console",
                    address="h",
                    active=True,
                    created_at=now,
                )
            )
            await session.flush()
            for ident in (seeded["counselor"], district.id):
                await console_login.set_password(
                    session, cipher, ident, PASSWORD, totp=False, now=now, actor="t"
                )
            totp = await console_login.set_password(
                session, cipher, wang.id, PASSWORD, totp=True, now=now, actor="t"
            )
            other = await session.scalar(select(Student).where(Student.student_number == "T001"))
            assert other is not None
            case = Case(
                student_id=other.id,
                school_id=other.school_id,
                priority="urgent",
                status="open",
                reason="risk_high",
                categories=["suicidal_ideation"],
                chain={},
                created_at=now,
                updated_at=now,
            )
            session.add(case)
            await session.flush()
            hospital = await session.scalar(select(Hospital.id))
    finally:
        await engine.dispose()
    return {
        **seeded,
        "wang": wang.id,
        "wang_totp": totp,
        "district": district.id,
        "other_case": case.id,
        "hospital": hospital,
    }


async def open_case_for(db_url: str, number: str, priority: str = "emergency") -> int:
    """An open case for a BB01 roster student (as the green channel's intake makes one)."""
    now = datetime.now(UTC)
    engine = create_engine(db_url)
    try:
        async with session_factory(engine).begin() as session:
            student = await session.scalar(select(Student).where(Student.student_number == number))
            assert student is not None
            case = Case(
                student_id=student.id,
                school_id=student.school_id,
                priority=priority,
                status="open",
                reason="risk_imminent",
                categories=["suicide_plan"],
                chain={},
                wishes={"preferred_time": "asap", "preferred_channel": "chat"},
                created_at=now,
                updated_at=now,
            )
            session.add(case)
            # A PHQ-9 the day before: the case page shows it with its band.
            session.add(
                CheckinResult(
                    student_id=student.id,
                    instrument="phq9",
                    answers=[],
                    score=17,
                    band="moderately_severe",
                    created_at=now - timedelta(days=1),
                )
            )
            await session.flush()
            return case.id
    finally:
        await engine.dispose()


async def issue_token(db_url: str, counselor_id: int) -> tuple[int, str]:
    """A bearer token for a counselor: (its id, the token)."""
    engine = create_engine(db_url)
    try:
        async with session_factory(engine).begin() as session:
            issued = await api_tokens.issue(
                session, counselor_id, ttl=timedelta(days=1), now=datetime.now(UTC), actor="t"
            )
    finally:
        await engine.dispose()
    return issued.id, issued.token


async def revoke_token(db_url: str, token_id: int) -> None:
    """Revoke a token."""
    engine = create_engine(db_url)
    try:
        async with session_factory(engine).begin() as session:
            await api_tokens.revoke(session, token_id, now=datetime.now(UTC), actor="t")
    finally:
        await engine.dispose()


def signin_token(client: httpx.Client) -> str:
    """The sign-in form's CSRF token (sets the pre-sign-in cookie on the client)."""
    page = client.get("/console/signin")
    return page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def csrf_of(html: str) -> str:
    """A signed-in page's CSRF token."""
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def sign_in(
    client: httpx.Client, who: str, password: str = PASSWORD, **extra: str
) -> httpx.Response:
    """Post the sign-in form as a browser would."""
    token = signin_token(client)
    return client.post(
        "/console/signin", data={"csrf": token, "who": who, "password": password, **extra}
    )
