"""Keeping a school's roster: re-importing, moving and removing students from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.main import main

Capture = pytest.CaptureFixture[str]
HEADER = "school,class,grade,student_number,name,guardian_consent\n"


def ok(capsys: Capture, *args: str) -> str:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def fails(capsys: Capture, *args: str) -> str:
    """The command's one-line error (exit 1, no traceback)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    assert "Traceback" not in err
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
