"""A guardian's consent recorded after import counts from the next message, old codes too."""

from __future__ import annotations

import asyncio
import csv
import io
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.bootstrap import AppContext, build_runtime
from bot.channels.console import Console
from bot.cli.main import main
from bot.config.settings import load_settings
from storage.crypto import DataCipher
from storage.db import create_engine, session_factory
from storage.models import AuditEvent, Student

Capture = pytest.CaptureFixture[str]


def ok(capsys: Capture, *args: str) -> str:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


async def enroll_and_read(url: str, code: str) -> tuple[bool, list[str]]:
    """Enroll a chat with a code issued before the consent; the student's record after."""
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
        async with app.sessions() as session:
            student = await session.scalar(select(Student).where(Student.student_number == "S2"))
            assert student is not None
            actions = (await session.scalars(select(AuditEvent.action))).all()
            return student.guardian_consent, list(actions)
    finally:
        await engine.dispose()


def test_consent_after_import_wins_over_the_code_issued_before(
    cli_env: Path, db_url: str, capsys: Capture
) -> None:
    ok(capsys, "schools", "add", "BB01", "北碚一中")
    roster = cli_env / "roster.csv"
    roster.write_text(
        "school,class,grade,student_number,name,guardian_consent\nBB01,五(2)班,5,S2,小乙,no\n",
        encoding="utf-8",
    )
    ok(capsys, "students", "import", str(roster))
    issued = ok(capsys, "codes", "issue", "--school", "BB01")
    [row] = list(csv.DictReader(io.StringIO(issued.lstrip("\ufeff"))))
    said = ok(capsys, "students", "consent", "S2", "--school", "BB01", "--guardian")
    assert "S2 小乙 has guardian consent" in said
    consent, actions = asyncio.run(enroll_and_read(db_url, row["code"]))
    assert consent is True  # the code carried "no"; the student's record says yes
    assert "guardian_consent_recorded" in actions
    assert main(["students", "consent", "S9", "--school", "BB01", "--guardian"]) == 1
    assert "no student 'S9' in BB01" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["students", "consent", "S2", "--school", "BB01"])
    assert usage.value.code == 2
