"""Duty roster commands refuse shifts nobody could take, and say who is on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.main import main

Capture = pytest.CaptureFixture[str]


def ok(capsys: Capture, *args: str) -> str:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def refused(capsys: Capture, *args: str, code: int = 1) -> str:
    try:
        got = main(list(args))
    except SystemExit as exc:  # argparse's usage errors
        got = int(str(exc.code))
    assert got == code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith(("heartguard", "usage"))]
    return lines[-1]


@pytest.fixture
def roster(cli_env: Path, capsys: Capture) -> None:
    ok(capsys, "schools", "add", "BB01", "北碚一中")
    ok(capsys, "schools", "add", "BB02", "北碚二中")
    ok(
        capsys,
        "counselors",
        "add",
        "陈老师",
        "--role",
        "school_counselor",
        "--school",
        "BB01",
        "--link-later",
    )
    ok(capsys, "counselors", "add", "区危机组", "--role", "district_crisis", "--link-later")


SHIFT = ("--from", "08:00", "--to", "17:00")


def test_shifts_nobody_could_take_are_refused(roster: None, capsys: Capture) -> None:
    assert "not a counselor of BB02 (北碚二中)" in refused(
        capsys, "duty", "add", "1", "--tier", "school", "--school", "BB02", *SHIFT
    )
    assert "district shifts are for the district crisis team" in refused(
        capsys, "duty", "add", "1", "--tier", "district", *SHIFT
    )
    assert "school shifts are for school counselors" in refused(
        capsys, "duty", "add", "2", "--tier", "school", "--school", "BB01", *SHIFT
    )
    assert "no counselor #9" in refused(capsys, "duty", "add", "9", "--tier", "district", *SHIFT)
    missing = refused(capsys, "duty", "add", "1", "--tier", "school", "--school", "BB01", code=2)
    assert "the following arguments are required: --from, --to" in missing
    assert "expected HH:MM" in refused(
        capsys, "duty", "add", "2", "--tier", "district", "--from", "8", "--to", "25:00"
    )
    ok(capsys, "counselors", "deactivate", "2")
    assert "is inactive" in refused(capsys, "duty", "add", "2", "--tier", "district", *SHIFT)
    assert "no shifts yet" in ok(capsys, "duty", "list")


def test_list_shows_names_and_remove_takes_a_shift_away(roster: None, capsys: Capture) -> None:
    ok(capsys, "duty", "add", "1", "--tier", "school", "--school", "BB01", "--days", "mon", *SHIFT)
    ok(capsys, "duty", "add", "2", "--tier", "district", "--days", "sat",
       "--from", "18:00", "--to", "08:00")  # fmt: skip
    listing = ok(capsys, "duty", "list")
    assert "shift #1\tcounselor #1 陈老师\tschool\tBB01 北碚一中\tmon\t08:00-17:00" in listing
    assert "shift #2\tcounselor #2 区危机组\tdistrict\t(district)\tsat\t18:00-08:00" in listing
    assert "removed shift #1 (counselor #1, mon 08:00-17:00)" in ok(capsys, "duty", "remove", "1")
    assert "shift #1\t" not in ok(capsys, "duty", "list")
    assert "no shift #1" in refused(capsys, "duty", "remove", "1")
    assert "expected an id" in refused(capsys, "duty", "remove", "²", code=2)
