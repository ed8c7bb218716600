"""Bad input at the command line: one plain line, the right exit code, nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.main import main
from bot.errors import UsageError
from bot.services.contacts import check_contact

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def cli(cli_env: Path, capsys: Capture) -> Path:
    """The CLI's environment, its database migrated and its key recorded."""
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    return cli_env


def fails(args: list[str], capsys: Capture, code: int = 1) -> str:
    try:
        got = main(args)
    except SystemExit as exc:  # argparse's usage errors
        got = int(exc.code or 0)
    assert got == code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert "Error" not in err  # no exception class names (LookupError, ValueError…)
    return lines[0]


@pytest.mark.parametrize(
    ("channel", "good", "bad"),
    [
        ("email", "chen@school.cn", "not-an-email"),
        ("telegram", "-1001234567", "abc"),
        ("telegram", "123456789", "12.5"),
        ("phone", "+86 23 6825 1234", "call me"),
        ("webhook", "https://hospital.example/hg", "hospital.example"),
        ("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abcdef12", "x"),
        ("dingtalk", "0123456789abcdef", "https://oapi.dingtalk.com/robot/send"),
    ],
)
def test_each_channel_has_its_format(channel: str, good: str, bad: str) -> None:
    assert check_contact(channel, f" {good} ") == good
    with pytest.raises(UsageError, match=f"--{channel} '{bad}': expected"):
        check_contact(channel, bad)


def test_counselor_contacts_are_checked_and_one_is_needed(cli: Path, capsys: Capture) -> None:
    add = ["counselors", "add", "陈老师", "--role", "district_crisis"]
    line = fails([*add, "--email", "not-an-email"], capsys)
    assert line == (
        "heartguard: error: --email 'not-an-email': expected an e-mail address such as "
        "chen@school.cn"
    )
    assert "numeric chat id" in fails([*add, "--telegram", "abc"], capsys)
    assert "at least one contact" in fails(add, capsys)
    assert main(["counselors", "list"]) == 0
    assert "陈老师" not in capsys.readouterr().out  # nothing was added
    assert main([*add, "--telegram", "-1001234567"]) == 0
    capsys.readouterr()
    assert "--email 'x@'" in fails(["counselors", "contacts", "1", "--email", "x@"], capsys)
    line = fails(["hospitals", "add", "区医院", "--channel", "webhook", "--address", "foo"], capsys)
    assert "--address 'foo': expected an http:// or https:// URL" in line


def test_dates_and_encodings_are_named_in_one_line(cli: Path, capsys: Capture) -> None:
    line = fails(["duty", "off", "3", "2026-13-01"], capsys, code=2)
    assert "'2026-13-01' is not a date: expected YYYY-MM-DD" in line
    assert "fromisoformat" not in line
    roster = cli / "roster.csv"
    roster.write_text("school,class,grade,student_number,name,guardian_consent\n", "utf-8")
    line = fails(["students", "import", str(roster), "--encoding", "klingon"], capsys, code=2)
    assert "'klingon' is not a known text encoding" in line
    assert "LookupError" not in line


def test_a_header_only_roster_is_an_error(cli: Path, capsys: Capture) -> None:
    roster = cli / "roster.csv"
    roster.write_text("学校,班级,年级,学号,姓名,监护人同意\n\n", "utf-8")
    line = fails(["students", "import", str(roster)], capsys)
    assert line == "heartguard: error: the file has a header but no students: nothing to import"


def test_a_file_not_in_the_encoding_given(cli: Path, capsys: Capture) -> None:
    roster = cli / "roster.csv"
    roster.write_bytes("学校,班级,年级,学号,姓名,监护人同意\n".encode("gbk"))
    line = fails(["students", "import", str(roster), "--encoding", "utf-8"], capsys)
    assert "the file is not utf-8 text" in line
