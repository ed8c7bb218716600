"""The admin CLI end to end, in process, against both databases."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.cli.main import main

Capture = pytest.CaptureFixture[str]


def ok(args: list[str], capsys: Capture) -> str:
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_full_admin_round(cli_env: Path, capsys: Capture) -> None:
    assert "already at" in ok(["db", "upgrade"], capsys)
    ok(["schools", "add", "BB01", "北碚示例中学"], capsys)
    ok(["classes", "add", "BB01", "初二(3)班", "--grade", "8"], capsys)
    ok(
        [
            "counselors",
            "add",
            "陈老师",
            "--role",
            "school_counselor",
            "--school",
            "BB01",
            "--telegram",
            "1001",
            "--email",
            "chen@example.org",
        ],
        capsys,
    )
    roster = cli_env / "roster.csv"
    roster.write_bytes(
        "学校,班级,年级,学号,姓名,监护人同意\nBB01,初二(3)班,8,S1,甲同学,是\nBB01,初二(3)班,8,S2,乙同学,否\n".encode(
            "gbk"
        )
    )
    assert "imported 2 new student(s)" in ok(["students", "import", str(roster)], capsys)
    out = ok(["codes", "issue", "--school", "BB01", "--class", "初二(3)班"], capsys)
    rows = list(csv.DictReader(io.StringIO(out.lstrip("\ufeff"))))
    assert [r["student_number"] for r in rows] == ["S1", "S2"]
    exported = cli_env / "codes.csv"
    ok(["codes", "export", "--school", "BB01", "--out", str(exported)], capsys)
    assert rows[0]["code"] in exported.read_text(encoding="utf-8-sig")
    listing = ok(["schools", "list"], capsys)
    assert "BB01\t北碚示例中学\tAsia/Shanghai\t1 classes\t2 students" in listing
    assert "陈老师\tschool_counselor\tBB01\ttelegram,email" in ok(["counselors", "list"], capsys)


def test_counselors_change_contacts_and_leave_the_green_channel(
    cli_env: Path, capsys: Capture
) -> None:
    ok(["schools", "add", "BB01", "北碚示例中学"], capsys)
    out = ok(
        ["counselors", "add", "陈老师", "--role", "district_crisis", "--email", "a@x.cn"], capsys
    )
    ident = out.split("#", 1)[1].split()[0]
    changed = ok(["counselors", "contacts", ident, "--telegram", "-1001234567", "--first"], capsys)
    assert changed.splitlines()[1:] == ["  telegram\t-1001234567", "  email\ta@x.cn"]
    changed = ok(
        ["counselors", "contacts", ident, "--remove", "email:a@x.cn", "--email", "b@x.cn"], capsys
    )
    assert changed.splitlines()[1:] == ["  telegram\t-1001234567", "  email\tb@x.cn"]
    assert main(["counselors", "contacts", ident, "--remove", "email:typo@x.cn"]) == 1
    assert "has no email contact 'typo@x.cn'" in capsys.readouterr().err
    assert main(["counselors", "contacts", ident]) == 1
    assert "nothing to change" in capsys.readouterr().err
    assert "is inactive" in ok(["counselors", "deactivate", ident], capsys)
    assert "telegram,email\tinactive" in ok(["counselors", "list"], capsys)
    assert "is active" in ok(["counselors", "activate", ident], capsys)
    assert "inactive" not in ok(["counselors", "list"], capsys)
    assert main(["counselors", "deactivate", "999"]) == 1
    assert "no counselor #999" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["classes", "add", "NOPE", "一班", "--grade", "3"], "unknown school 'NOPE'"),
        (["codes", "issue", "--school", "NOPE"], "unknown school 'NOPE'"),
        (["students", "import", "/nonexistent.csv"], "cannot read /nonexistent.csv"),
        (["schools", "add", "bad code!", "x"], "school code: expected"),
        (
            ["counselors", "add", "x", "--role", "school_counselor", "--phone", "13800138000"],
            "needs at least one --school",
        ),
    ],
)
def test_bad_input_gets_one_line_and_non_zero_exit(
    cli_env: Path, capsys: Capture, args: list[str], message: str
) -> None:
    assert main(args) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_usage_errors_exit_2(cli_env: Path, capsys: Capture) -> None:
    with pytest.raises(SystemExit) as info:
        main(["classes", "add", "BB01", "x", "--grade", "13"])
    assert info.value.code == 2
    assert "expected a number from 1 to 12" in capsys.readouterr().err


def test_bad_roster_imports_nothing(cli_env: Path, capsys: Capture) -> None:
    ok(["schools", "add", "BB01", "示例"], capsys)
    roster = cli_env / "r.csv"
    roster.write_text(
        "school,class,grade,student_number,name,guardian_consent\n"
        "BB01,一班,3,S1,甲,yes\nBB01,一班,3,S1,乙,yes\nZZ,一班,3,S3,丙,yes\n",
        encoding="utf-8",
    )
    assert main(["students", "import", str(roster)]) == 1
    err = capsys.readouterr().err
    assert "line 3: duplicate student number 'S1' (first on line 2)" in err
    assert "line 4: unknown school 'ZZ'" in err
    assert "nothing imported" in err
    assert "0 students" in ok(["schools", "list"], capsys)


def test_unreachable_database_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(
        "HEARTGUARD_DATABASE_URL", "postgresql+asyncpg://nobody:hunter2@127.0.0.1:1/none"
    )
    monkeypatch.setenv("HEARTGUARD_DATA_KEY", Fernet.generate_key().decode())
    assert main(["schools", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("heartguard: error: cannot reach the database at postgresql+asyncpg://")
    assert "hunter2" not in err
    assert len(err.strip().splitlines()) == 1


def test_unmigrated_database_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HEARTGUARD_DATABASE_URL", f"sqlite:///{tmp_path}/fresh.db")
    monkeypatch.setenv("HEARTGUARD_DATA_KEY", Fernet.generate_key().decode())
    assert main(["schools", "list"]) == 1
    assert "run `heartguard db upgrade`" in capsys.readouterr().err
    assert "migrated" in ok(["db", "upgrade"], capsys)
    assert "already at" in ok(["db", "upgrade"], capsys)


def test_rotate_key_command(
    cli_env: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(["schools", "add", "BB01", "示例"], capsys)
    roster = cli_env / "r.csv"
    roster.write_text(
        "school,class,grade,student_number,name,guardian_consent\nBB01,一班,3,S1,甲,yes\n",
        encoding="utf-8",
    )
    ok(["students", "import", str(roster)], capsys)
    ok(["codes", "issue", "--school", "BB01", "--out", str(cli_env / "c.csv")], capsys)
    import os

    old = os.environ["HEARTGUARD_DATA_KEY"]
    monkeypatch.setenv("HEARTGUARD_DATA_KEY", f"{Fernet.generate_key().decode()},{old}")
    assert "re-encrypted 1 value(s)" in ok(["db", "rotate-key"], capsys)
    assert "re-encrypted 0 value(s)" in ok(["db", "rotate-key"], capsys)
