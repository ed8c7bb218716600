"""Keeping a school's roster: re-importing, moving and removing students from the command line."""

from __future__ import annotations

import asyncio
import csv
import io
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.bootstrap import AppContext, build_runtime
from bot.channels.console import Console
from bot.cli.main import main
from bot.config.settings import load_settings
from storage.crypto import DataCipher
from storage.db import create_engine, session_factory
from storage.models import (
    AuditEvent,
    Case,
    CaseRequest,
    ChannelIdentity,
    EnrollmentCode,
    Message,
    Student,
)

Capture = pytest.CaptureFixture[str]
HEADER = "school,class,grade,student_number,name,guardian_consent\n"


def ok(capsys: Capture, *args: str) -> str:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def fails(capsys: Capture, *args: str) -> str:
    """Stderr of a command that failed with exit 1 (not an exception) and one error line."""
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    said = [line for line in err.splitlines() if line.startswith("heartguard:")]
    assert len(said) == 1, err
    return err


def roster(folder: Path, body: str, name: str = "roster.csv") -> str:
    path = folder / name
    path.write_text(HEADER + body, encoding="utf-8")
    return str(path)


def test_reimport_dry_run_shows_changes_and_saves_nothing(cli_env: Path, capsys: Capture) -> None:
    ok(capsys, "schools", "add", "BB01", "北碚一中")
    first = roster(cli_env, "BB01,初一(1)班,7,S1,小甲,no\nBB01,初一(1)班,7,S2,小乙,no\n")
    assert "imported 2 new student(s), updated 0" in ok(capsys, "students", "import", first)
    again = roster(
        cli_env, "BB01,初一(2)班,7,S1,小甲,yes\nBB01,初一(1)班,7,S2,小乙,no\n", "again.csv"
    )
    shown = ok(capsys, "students", "import", again, "--dry-run")
    assert f"{again}: line 2: S1 (BB01, pending): class 初一(1)班 → 初一(2)班; " in shown
    assert "guardian consent no → yes" in shown
    assert "would import 0 new student(s), would update 1, 1 unchanged, 1 new class(es)" in shown
    listing = ok(capsys, "students", "list", "--school", "BB01")
    assert "S1\t小甲\t初一(1)班\tgrade 7\tpending" in listing
    done = ok(capsys, "students", "import", again)
    assert "imported 0 new student(s), updated 1, 1 unchanged" in done
    assert "S1\t小甲\t初一(2)班" in ok(capsys, "students", "list", "--school", "BB01")
    bad = roster(cli_env, "BB01,初一(2)班,7,S1,小甲,maybe\n", "bad.csv")
    err = fails(capsys, "students", "import", bad, "--dry-run")
    assert "line 2: guardian_consent 'maybe': expected yes or no" in err
    assert "nothing imported" in err


async def enroll_and_say(url: str, code: str, text: str) -> None:
    """A chat enrolls with the code and writes ``text``, through the real pipeline."""
    engine = create_engine(url)
    try:
        app = AppContext(
            load_settings(None, {}),
            engine,
            session_factory(engine),
            DataCipher([os.environ["HEARTGUARD_DATA_KEY"]]),
        )
        chat = Console(build_runtime(app, plugs={"telegram": None}).students)
        for kind, value in (("command", "start"), ("button", "zh"), ("button", "agree")):
            await chat.send("kid", kind, value)  # type: ignore[arg-type]
        await chat.send("kid", "text", code)
        await chat.send("kid", "text", text)
    finally:
        await engine.dispose()


async def left_of(url: str, student_id: int) -> dict[str, int]:
    """What the database still holds of one student, per table."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            counts = {}
            for model in (Student, Message, ChannelIdentity, EnrollmentCode, CaseRequest):
                column = model.id if model is Student else model.student_id  # type: ignore[attr-defined]
                counts[model.__tablename__] = int(
                    await session.scalar(
                        select(func.count()).select_from(model).where(column == student_id)
                    )
                    or 0
                )
            return counts
    finally:
        await engine.dispose()


async def ids_and_audit(url: str) -> tuple[dict[str | None, int], list[str]]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            ids = dict((await session.execute(select(Student.student_number, Student.id))).all())
            actions = (await session.scalars(select(AuditEvent.action))).all()
            return ids, list(actions)
    finally:
        await engine.dispose()


async def open_case_for(url: str, student_id: int) -> None:
    """What the green channel's intake does with the student's request: an open case."""
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            at = datetime(2026, 9, 1, tzinfo=UTC)
            await session.execute(
                update(CaseRequest)
                .where(CaseRequest.student_id == student_id)
                .values(handled_at=at)
            )
            session.add(
                Case(
                    student_id=student_id,
                    priority="urgent",
                    status="acknowledged",
                    reason="risk_high",
                    categories=[],
                    chain={},
                    created_at=at,
                    updated_at=at,
                )
            )
    finally:
        await engine.dispose()


def test_move_within_the_school_only(cli_env: Path, capsys: Capture) -> None:
    ok(capsys, "schools", "add", "BB01", "北碚一中")
    ok(capsys, "schools", "add", "BB02", "北碚二中")
    ok(capsys, "classes", "add", "BB02", "初二(9)班", "--grade", "8")
    ok(capsys, "students", "import", roster(cli_env, "BB01,初一(1)班,7,S1,小甲,no\n"))
    move = ("students", "move", "S1", "--school", "BB01", "--class")
    err = fails(capsys, *move, "初二(1)班")
    assert (
        "heartguard: error: unknown class '初二(1)班' in BB01 "
        "(see `heartguard classes list --school BB01`)\n"
    ) in err
    err = fails(capsys, *move, "初二(9)班")
    assert "class '初二(9)班' is not in BB01 but in BB02: a student moves only within" in err
    ok(capsys, "classes", "add", "BB01", "初二(1)班", "--grade", "8")
    said = ok(capsys, *move, "初二(1)班")
    assert said == "ok: S1 小甲 (BB01) moved from 初一(1)班 to 初二(1)班 (grade 8)\n"
    assert "S1\t小甲\t初二(1)班\tgrade 8\tpending" in ok(
        capsys, "students", "list", "--school", "BB01"
    )
    assert "already in 初二(1)班; nothing changed" in ok(capsys, *move, "初二(1)班")
    assert "no student 'S9' in BB01" in fails(
        capsys, "students", "move", "S9", "--school", "BB01", "--class", "初二(1)班"
    )
    assert "unknown school 'ZZ'" in fails(
        capsys, "students", "move", "S1", "--school", "ZZ", "--class", "初二(1)班"
    )
    with pytest.raises(SystemExit) as usage:
        main(["students", "move", "S1", "--school", "BB01"])
    assert usage.value.code == 2


def test_remove_deletes_the_pending_and_erases_the_enrolled(
    cli_env: Path, db_url: str, capsys: Capture
) -> None:
    ok(capsys, "schools", "add", "BB01", "北碚一中")
    ok(
        capsys,
        "students",
        "import",
        roster(cli_env, "BB01,五(2)班,5,S1,小甲,yes\nBB01,五(2)班,5,S2,小乙,yes\n"),
    )
    issued = ok(capsys, "codes", "issue", "--school", "BB01")
    codes = {r["student_number"]: r["code"] for r in csv.DictReader(io.StringIO(issued[1:]))}
    asyncio.run(enroll_and_say(db_url, codes["S2"], "我今晚就去跳楼，药已经准备好了"))
    ids, _ = asyncio.run(ids_and_audit(db_url))

    said = ok(capsys, "students", "remove", "S1", "--school", "BB01")
    assert said == "ok: removed S1 小甲 (BB01), who had not enrolled, with 1 unused code(s)\n"
    assert asyncio.run(left_of(db_url, ids["S1"])) == dict.fromkeys(
        ("students", "messages", "student_channels", "enrollment_codes", "case_requests"), 0
    )

    err = fails(capsys, "students", "remove", "S2", "--school", "BB01")
    assert "S2 in BB01 has a case about to open" in err
    asyncio.run(open_case_for(db_url, ids["S2"]))
    err = fails(capsys, "students", "remove", "S2", "--school", "BB01")
    assert "S2 in BB01 has an open case 2026-0000" in err
    assert "resolve it first" in err
    ok(capsys, "cases", "resolve", "1", "--resolution", "safe")

    said = ok(capsys, "students", "remove", "S2", "--school", "BB01")
    assert said.startswith(
        "ok: removed S2 小乙 (BB01): their messages, check-ins, safety plan and chat link are "
        "erased, with 0 unused code(s)\ntheir 3 safety record(s)"
    )
    left = asyncio.run(left_of(db_url, ids["S2"]))
    assert (left["messages"], left["student_channels"], left["enrollment_codes"]) == (0, 0, 0)
    assert (left["students"], left["case_requests"]) == (1, 1)  # kept for the retention period
    listing = ok(capsys, "students", "list", "--school", "BB01")
    assert "S2" not in listing
    assert "0 students" in ok(capsys, "schools", "list")
    # The number is free again: the school can import the student anew.
    again = roster(cli_env, "BB01,五(2)班,5,S2,小乙,yes\n", "again.csv")
    assert "imported 1 new student(s)" in ok(capsys, "students", "import", again)
    _, actions = asyncio.run(ids_and_audit(db_url))
    assert actions.count("student_removed") == 2
    for args in (("S9", "--school", "BB01"), ("S1", "--school", "BB01")):
        assert "no student 'S" in fails(capsys, "students", "remove", *args)
    assert "unknown school 'ZZ'" in fails(capsys, "students", "remove", "S2", "--school", "ZZ")


def test_an_argument_that_is_not_utf8_is_named(cli_env: Path, capsys: Capture) -> None:
    with pytest.raises(SystemExit) as usage:
        main(["students", "remove", "S\udcff", "--school", "BB01"])  # the byte 0xff, as argv has it
    assert usage.value.code == 2
    assert "argument 'S\\udcff' is not valid UTF-8 text" in capsys.readouterr().err
