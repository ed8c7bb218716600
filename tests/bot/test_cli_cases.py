"""`heartguard cases` speaks to counselors: who, where, when (local), the scores, in order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli.main import main
from bot.services import admin, roster_import
from storage.db import create_engine, session_factory
from storage.models import Case, CaseEvent, CheckinResult, Student

Capture = pytest.CaptureFixture[str]
OPENED = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Chongqing
ROSTER = (
    "school,class,grade,student_number,name,guardian_consent\nBB01,初二(3)班,8,S1,甲同学,yes\n"
).encode()


async def seed(url: str) -> int:
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            await admin.add_school(
                session, code="BB01", name="北碚一中", timezone="Asia/Shanghai", now=OPENED,
                actor="t",
            )  # fmt: skip
            await roster_import.import_roster(session, ROSTER, now=OPENED, actor="t")
            student = await session.scalar(select(Student).limit(1))
            assert student is not None
            case = Case(
                student_id=student.id, school_id=student.school_id, priority="urgent",
                status="open", reason="risk_high", categories=["suicidal_ideation"], chain={},
                created_at=OPENED, updated_at=OPENED,
            )  # fmt: skip
            session.add(case)
            await session.flush()
            # Recorded out of order: a tick that began before a counselor's action wrote later.
            for minutes, action in ((5, "acknowledged_late"), (0, "opened"), (2, "alerted")):
                session.add(
                    CaseEvent(
                        case_id=case.id, at=OPENED + timedelta(minutes=minutes),
                        actor="system", action=action, details={},
                    )
                )  # fmt: skip
            for instrument, score, band in (("phq9", 12, "moderate"), ("gad7", 16, "severe")):
                session.add(
                    CheckinResult(
                        student_id=student.id, instrument=instrument, answers=[], score=score,
                        band=band, created_at=OPENED - timedelta(days=1),
                    )
                )  # fmt: skip
            return case.id
    finally:
        await engine.dispose()


def run(capsys: Capture, *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(str(exc.code))
    out, err = capsys.readouterr()
    return (
        code,
        out,
        "\n".join(x for x in err.splitlines() if x.startswith(("heartguard", "usage"))),
    )


def test_show_names_the_student_in_local_time_with_scores_in_order(
    cli_env: Path, db_url: str, capsys: Capture
) -> None:
    case_id = asyncio.run(seed(db_url))
    code, out, err = run(capsys, "cases", "show", f"2026-{case_id:05d}")
    assert code == 0, err
    assert "student: 甲同学 (S1)" in out
    assert "school: BB01 北碚一中" in out
    assert "class: 初二(3)班" in out
    assert "opened: 2026-11-02 10:00:00 +08:00 (Asia/Shanghai)" in out
    assert "PHQ-9 12 (moderate)" in out
    assert "GAD-7 16 (severe)" in out
    timeline = out.split("timeline (Asia/Shanghai):\n", 1)[1].splitlines()
    actions = [line.split()[4] for line in timeline]
    assert actions[:3] == ["opened", "alerted", "acknowledged_late"]
    assert actions[-1] == "viewed"
    code, _, err = run(capsys, "cases", "show", f"2025-{case_id:05d}")
    assert (code, err) == (1, f"heartguard: error: no case 2025-{case_id:05d} "
                              "(see `heartguard cases list`)")  # fmt: skip


def test_bad_references_actors_and_outcomes_get_one_line(
    cli_env: Path, db_url: str, capsys: Capture
) -> None:
    case_id = asyncio.run(seed(db_url))
    number = f"2026-{case_id:05d}"
    code, _, err = run(capsys, "cases", "ack", number, "--as-counselor", "999")
    assert (code, err) == (1, "heartguard: error: no counselor #999 "
                              "(see `heartguard counselors list`)")  # fmt: skip
    code, _, err = run(capsys, "cases", "resolve", number)
    assert code == 1
    assert "needs --resolution: one of safe, referred_out, false_alarm, no_contact, other" in err
    code, _, err = run(capsys, "cases", "show", "²")
    assert code == 2
    assert "expected a case id or number" in err
    code, out, err = run(capsys, "cases", "resolve", number, "--resolution", "safe")
    assert code == 0, err
    assert f"case {number} (#{case_id}) is resolved" in out
