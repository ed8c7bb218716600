"""`codes issue --out` writes the file before it commits: a bad --out changes nothing."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli.main import main
from storage.db import create_engine, session_factory
from storage.models import EnrollmentCode

Capture = pytest.CaptureFixture[str]


def ok(args: list[str], capsys: Capture) -> str:
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


async def code_rows(url: str) -> list[tuple[int, bool, bool]]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            rows = await session.execute(
                select(
                    EnrollmentCode.id,
                    EnrollmentCode.revoked_at.is_not(None),
                    EnrollmentCode.used_at.is_not(None),
                ).order_by(EnrollmentCode.id)
            )
            return [(i, bool(r), bool(u)) for i, r, u in rows.all()]
    finally:
        await engine.dispose()


@pytest.fixture
def school(cli_env: Path, capsys: Capture) -> Path:
    ok(["schools", "add", "BB01", "北碚示例中学"], capsys)
    roster = cli_env / "roster.csv"
    roster.write_text(
        "school,class,grade,student_number,name,guardian_consent\n"
        "BB01,初二(3)班,8,S1,甲同学,yes\nBB01,初二(3)班,8,S2,乙同学,no\n",
        encoding="utf-8",
    )
    ok(["students", "import", str(roster)], capsys)
    return cli_env


@pytest.mark.parametrize("where", ["missing/codes.csv", "roster.csv/codes.csv", "."])
def test_an_unwritable_out_leaves_the_database_as_it_was(
    school: Path, db_url: str, capsys: Capture, where: str
) -> None:
    first = ok(["codes", "issue", "--school", "BB01"], capsys)
    handed_out = [r["code"] for r in csv.DictReader(io.StringIO(first.lstrip("\ufeff")))]
    before = asyncio.run(code_rows(db_url))
    assert main(["codes", "issue", "--school", "BB01", "--out", str(school / where)]) == 1
    _out, err = capsys.readouterr()
    [line] = [line for line in err.splitlines() if line.startswith("heartguard:")]
    assert line.startswith("heartguard: error: cannot write ")
    assert asyncio.run(code_rows(db_url)) == before  # nothing issued, nothing revoked
    exported = ok(["codes", "export", "--school", "BB01"], capsys)
    assert all(code in exported for code in handed_out)  # the codes teachers hold still work
    assert not list(school.glob("**/.codes.csv.*.tmp"))


def test_a_written_file_is_whole_and_matches_the_database(
    school: Path, db_url: str, capsys: Capture
) -> None:
    target = school / "codes.csv"
    target.write_text("old contents\n", encoding="utf-8")
    ok(["codes", "issue", "--school", "BB01", "--out", str(target)], capsys)
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert [r["student_number"] for r in rows] == ["S1", "S2"]
    live = ok(["codes", "export", "--school", "BB01"], capsys)
    assert all(r["code"] in live for r in rows)
    assert [p.name for p in school.iterdir() if p.name.startswith(".")] == []
