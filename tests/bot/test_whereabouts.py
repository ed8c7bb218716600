"""Run from another folder without a config, a command refuses instead of making a database."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.main import main


@pytest.fixture
def stray(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("HEARTGUARD_DATABASE_URL", "HEARTGUARD_CONFIG", "HEARTGUARD_DATA_KEY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_no_config_here_refuses_and_creates_nothing(
    stray: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schools", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("heartguard: error: no config file:")
    assert f"no config.toml in {stray}" in err
    assert "pass --config PATH" in err
    assert list(stray.iterdir()) == []


def test_commands_without_a_database_still_work(
    stray: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "show"]) == 0
    assert main(["flows", "check"]) == 0
    capsys.readouterr()
    assert list(stray.iterdir()) == []


def test_an_existing_default_database_is_named(
    stray: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (stray / "var").mkdir()
    (stray / "var" / "heartguard.db").touch()
    main(["db", "current"])
    err = capsys.readouterr().err
    assert "note: no config file found; using the built-in defaults and the database" in err
    assert "var/heartguard.db" in err
