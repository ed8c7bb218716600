"""One rule for time: wherever a person reads a moment, local time with its zone."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli.main import main
from core.clock import local_text

Capture = pytest.CaptureFixture[str]


def test_local_text_shows_offset_and_zone() -> None:
    at = datetime(2026, 9, 30, 16, 30, tzinfo=UTC)
    assert local_text(at, "Asia/Shanghai") == "2026-10-01 00:30 +08:00 (Asia/Shanghai)"
    assert local_text(at.replace(tzinfo=None), "Asia/Shanghai", seconds=True) == (
        "2026-10-01 00:30:00 +08:00 (Asia/Shanghai)"
    )
    assert local_text(at, "Europe/London") == "2026-09-30 17:30 +01:00 (Europe/London)"


def test_config_show_writes_durations_as_the_file_does(capsys: Capture) -> None:
    assert main(["config", "show"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["escalation"]["tick_interval"] == "5s"
    assert data["escalation"]["policies"]["routine"]["steps"][0]["ack_timeout"] == "1d"
    assert data["reminders"]["default_time"] == "16:30"
    assert '"PT' not in out


def test_codes_and_counselor_codes_are_in_local_time(cli_env: Path, capsys: Capture) -> None:
    for args in (
        ["db", "upgrade"],
        ["schools", "add", "BB01", "北碚示例中学"],
        ["counselors", "add", "陈老师", "--role", "district_crisis", "--link-later"],
    ):
        assert main(args) == 0
    roster = cli_env / "roster.csv"
    roster.write_text("school,class,grade,student_number,name,guardian_consent\n"
                      "BB01,初二(3)班,8,S1,甲,yes\n", "utf-8")  # fmt: skip
    assert main(["students", "import", str(roster)]) == 0
    capsys.readouterr()
    assert main(["codes", "issue", "--school", "BB01"]) == 0
    (row,) = csv.DictReader(io.StringIO(capsys.readouterr().out.lstrip("\ufeff")))
    assert row["expires"].endswith("+08:00 (Asia/Shanghai)")
    assert main(["counselors", "code", "1"]) == 0
    out = capsys.readouterr().out
    assert "UTC" not in out
    assert "+08:00 (Asia/Shanghai); single use." in out


def test_a_heading_may_name_the_zone_once() -> None:
    at = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    assert (
        local_text(at, "Asia/Shanghai", seconds=True, named=False) == "2026-11-02 10:00:00 +08:00"
    )


def test_config_show_does_not_hide_a_tokens_lifetime(capsys: Capture) -> None:
    assert main(["config", "show"]) == 0
    assert json.loads(capsys.readouterr().out)["access"]["token_ttl"] == "30d"
