"""`heartguard config show` prints every setting and no secret, wherever the secret came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.config.masking import mask_url

Capture = pytest.CaptureFixture[str]
PASSWORD = "S3cr3t-Pa55word"
HEARTBEAT = "b1c2d3e4f5a6b7c8d9e0f1a2"


def show(capsys: Capture, *extra: str) -> tuple[int, str, str]:
    code = main([*extra, "config", "show"])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_database_password_from_the_environment_is_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HEARTGUARD_CONFIG", raising=False)
    monkeypatch.setenv(
        "HEARTGUARD_DATABASE_URL",
        f"postgresql+asyncpg://heartguard:{PASSWORD}@db.internal:5432/hg?sslmode=require",
    )
    monkeypatch.setenv("HEARTGUARD_TELEGRAM_TOKEN", "123456:AAAbbbCCCdddEEEfff000")
    monkeypatch.setenv("HEARTGUARD_SMTP_PASSWORD", "smtp-pw-1234567")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[escalation]\nheartbeat_url = "https://hc.example/ping/{HEARTBEAT}?token=abc&x=1"\n',
        encoding="utf-8",
    )
    code, out, _ = show(capsys, "--config", str(config))
    assert code == 0
    for secret in (PASSWORD, HEARTBEAT, "abc&", "AAAbbbCCC", "smtp-pw"):
        assert secret not in out
    data = json.loads(out)
    assert data["database"]["url"] == (
        "postgresql+asyncpg://heartguard:***@db.internal:5432/hg?sslmode=require"
    )
    assert data["escalation"]["heartbeat_url"] == "https://hc.example/ping/***?token=***&x=1"
    assert data["secrets"]["HEARTGUARD_DATABASE_URL"] == "set (overrides database.url)"
    assert data["secrets"]["HEARTGUARD_SMTP_PASSWORD"] == "set"
    assert data["privacy"]["key_file"] == str(tmp_path / "var/data.key")  # a path, not a secret


def test_a_password_in_the_config_file_is_refused(tmp_path: Path, capsys: Capture) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "postgresql+asyncpg://hg:{PASSWORD}@db/hg"\n', encoding="utf-8"
    )
    code, out, err = show(capsys, "--config", str(config))
    assert code == 1
    assert PASSWORD not in out + err
    assert "database.url: has a password" in err
    assert "HEARTGUARD_DATABASE_URL" in err


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("sqlite:///var/heartguard.db", "sqlite:///var/heartguard.db"),
        ("postgresql+asyncpg://hg@db/hg", "postgresql+asyncpg://hg@db/hg"),
        ("postgresql+asyncpg://hg:p%40ss@db/hg", "postgresql+asyncpg://hg:***@db/hg"),
        ("postgresql+asyncpg://db/hg?password=x1", "postgresql+asyncpg://db/hg?password=***"),
        ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/bot"),
    ],
)
def test_urls_keep_what_is_not_secret(url: str, masked: str) -> None:
    assert mask_url(url) == masked
