"""The student's file: who may see it, who may read the plan and export it; every look audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.cli.main import main
from bot.config.settings import load_settings
from bot.services.reports.student_file import StudentFiles, reminder_rows
from escalation.actions import Actor, NotAllowedError
from storage.crypto import DataCipher
from storage.models import AuditEvent, SafetyPlan
from tests.reports.conftest import END, PLAN, audit_rows

SETTINGS = load_settings(None, {})
OWN, OTHER, DISTRICT = Actor.counselor(1), Actor.counselor(2), Actor.counselor(4)


@pytest.fixture
async def files(
    district: AsyncEngine, sessions: async_sessionmaker[AsyncSession], cipher: DataCipher
) -> StudentFiles:
    async with sessions.begin() as session:
        session.add(
            SafetyPlan(
                student_id=1,
                plan_enc=cipher.encrypt(json.dumps(PLAN, ensure_ascii=False)),
                updated_at=END,
            )
        )
    return StudentFiles(sessions, cipher, SETTINGS)


async def audits(sessions: async_sessionmaker[AsyncSession]) -> list[AuditEvent]:
    async with sessions() as session:
        return list((await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all())


async def test_the_students_counselor_sees_history_cases_and_the_plan(
    files: StudentFiles, sessions: async_sessionmaker[AsyncSession]
) -> None:
    file = await files.by_number(school="R00", number="S00001", actor=OWN, now=END)
    assert file.name == "学生1"
    assert file.checkins, "six weeks of check-ins"
    assert file.plan == PLAN
    assert file.reminders_sent >= 1
    [event] = await audits(sessions)
    assert (event.actor, event.action, event.subject_type, event.subject_id) == (
        "counselor:1",
        "student_file_viewed",
        "student",
        "1",
    )
    assert "睡不着" not in json.dumps(event.details, ensure_ascii=False)


async def test_another_schools_counselor_is_refused_and_the_refusal_recorded(
    files: StudentFiles, sessions: async_sessionmaker[AsyncSession]
) -> None:
    with pytest.raises(NotAllowedError):
        await files.by_number(school="R00", number="S00001", actor=OTHER, now=END)
    [event] = await audits(sessions)
    assert (event.actor, event.action, event.subject_id) == ("counselor:2", "refused", "1")
    assert event.details["attempted"] == "student_file_view"


async def test_an_administrator_sees_that_a_plan_exists_but_not_its_words(
    files: StudentFiles,
) -> None:
    file = await files.by_id(1, actor=Actor.admin(), now=END)
    assert file.plan is None
    assert file.plan_exists


async def test_exports_need_the_district_role(
    files: StudentFiles, sessions: async_sessionmaker[AsyncSession]
) -> None:
    with pytest.raises(NotAllowedError, match="district role"):
        await files.by_id(1, actor=OWN, now=END, export="json")
    file = await files.by_id(1, actor=DISTRICT, now=END, export="json")
    assert file.plan == PLAN
    refused, exported = await audits(sessions)
    assert refused.action == "refused"
    assert (exported.actor, exported.action, exported.details) == (
        "counselor:4",
        "student_file_exported",
        {"format": "json"},
    )


def test_cli_json_and_html_exports_are_audited(
    district_url: str, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = ["students", "file", "S00001", "--school", "R00"]
    assert main([*file, "--json", "--as-counselor", "4"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["student_id"] == 1
    assert data["plan"] == PLAN
    out = cli_env / "file.html"
    assert main([*file, "--format", "html", "--out", str(out), "--lang", "en"]) == 0
    page = out.read_text(encoding="utf-8")
    assert "<svg" in page
    assert "Student mental-health file" in page
    assert main([*file, "--json", "--as-counselor", "1"]) == 1
    assert "district role" in capsys.readouterr().err
    assert [(actor, action) for actor, action, _, _ in audit_rows(district_url)] == [
        ("counselor:4", "student_file_exported"),
        ("cli:admin", "student_file_exported"),
        ("counselor:1", "refused"),
    ]


def test_cli_text_view_prints_local_times(
    district_url: str, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["students", "file", "S00001", "--school", "R00", "--as-counselor", "1"]) == 0
    out = capsys.readouterr().out
    assert "check-ins (Asia/Shanghai)" in out
    assert "times in Asia/Shanghai" in out
    checkin_lines = out.split("check-ins (Asia/Shanghai):\n", 1)[1].split("cases:", 1)[0]
    assert checkin_lines.strip()
    assert all(" +08:00 " in line for line in checkin_lines.splitlines())
    assert "warning_signs: 睡不着的时候" in out
    [(actor, action, subject, details)] = audit_rows(district_url)
    assert (actor, action, subject, details) == ("counselor:1", "student_file_viewed", "1", {})


def test_a_reminder_is_missed_only_when_its_week_has_passed_unanswered() -> None:
    week = END - END.replace(day=1)
    first, second, third = END - 3 * week / 3, END - 2 * week / 3, END - week / 3
    rows = reminder_rows([(first, "sent"), (second, "sent"), (third, "sent")], [second], END)
    assert [r.answered for r in rows] == [False, True, None]


async def test_no_such_student(files: StudentFiles) -> None:
    from bot.errors import NotFoundError

    with pytest.raises(NotFoundError, match="S99999"):
        await files.by_number(school="R00", number="S99999", actor=OWN, now=END)
