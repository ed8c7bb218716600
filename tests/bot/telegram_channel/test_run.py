"""``heartguard run``: one-line start-up errors, webhook secret checks, graceful stops."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from fake_telegram import DATE, RecordingRequest
from tg_world import STUDENT, TOKEN

from bot.cli.main import main
from bot.config.settings import Settings, settings_from_mapping
from bot.errors import ConfigError
from bot.process import serve

SECRET = "wh-secret_0123456789"
TEST_KEY = Fernet.generate_key().decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


def test_run_without_a_token_says_which_variable_to_set(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run"]) == 1
    assert "HEARTGUARD_TELEGRAM_TOKEN is not set" in one_line_error(capsys)


def test_run_with_an_unreachable_database_fails_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HEARTGUARD_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("HEARTGUARD_DATA_KEY", TEST_KEY)
    monkeypatch.setenv(
        "HEARTGUARD_DATABASE_URL", f"postgresql+asyncpg://hg@127.0.0.1:{free_port()}/x"
    )
    monkeypatch.delenv("HEARTGUARD_CONFIG", raising=False)
    assert main(["run"]) == 1
    assert "cannot reach the database" in one_line_error(capsys)


def test_run_with_an_invalid_config_names_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[telegram]\nmode = "carrier-pigeon"\n', encoding="utf-8")
    monkeypatch.setenv("HEARTGUARD_TELEGRAM_TOKEN", TOKEN)
    assert main(["--config", str(config), "run"]) == 1
    assert one_line_error(capsys).startswith(f"heartguard: config: {config}: telegram.mode:")


def test_webhook_mode_without_a_secret_refuses_to_start(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = cli_env / "hook.toml"
    config.write_text(
        '[telegram]\nmode = "webhook"\nwebhook_public_url = "https://bot.example.cn"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("HEARTGUARD_TELEGRAM_TOKEN", TOKEN)
    assert main(["--config", str(config), "run"]) == 1
    assert "HEARTGUARD_TELEGRAM_WEBHOOK_SECRET" in one_line_error(capsys)


def settings_for(db_url: str, **telegram: Any) -> Settings:
    return settings_from_mapping(
        {"database": {"url": db_url}, "telegram": telegram},
        source="test",
        environ={
            "HEARTGUARD_TELEGRAM_TOKEN": TOKEN,
            "HEARTGUARD_TELEGRAM_WEBHOOK_SECRET": SECRET,
            "HEARTGUARD_DATA_KEY": TEST_KEY,
        },
    )


async def wait_until(check: Any, limit: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not check():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def start_update(update_id: int) -> bytes:
    entity = {"type": "bot_command", "offset": 0, "length": 6}
    message = {
        "message_id": 1,
        "date": DATE,
        "chat": {"id": STUDENT, "type": "private"},
        "from": {"id": STUDENT, "is_bot": False, "first_name": "同学"},
        "text": "/start",
        "entities": [entity],
    }
    return json.dumps({"update_id": update_id, "message": message}).encode()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_webhook_checks_the_secret_and_a_stop_lets_updates_in_flight_finish(
    db_url: str,
) -> None:
    port = free_port()
    api = RecordingRequest()
    settings = settings_for(
        db_url,
        mode="webhook",
        webhook_port=port,
        webhook_path="/tg",
        webhook_public_url="https://bot.example.cn",
    )
    stop = asyncio.Event()
    running = asyncio.create_task(serve(settings, stop=stop, request=api))
    await wait_until(lambda: api.of("setWebhook") or running.done())
    [hook] = api.of("setWebhook")
    assert hook.params["url"] == "https://bot.example.cn/tg"
    assert hook.params["secret_token"] == SECRET
    url = f"http://127.0.0.1:{port}/tg"
    json_type = {"Content-Type": "application/json"}
    async with httpx.AsyncClient() as client:
        missing = await client.post(url, content=start_update(1), headers=json_type)
        wrong = await client.post(
            url,
            content=start_update(2),
            headers={**json_type, "X-Telegram-Bot-Api-Secret-Token": "guess"},
        )
        right = await client.post(
            url,
            content=start_update(3),
            headers={**json_type, "X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
    assert (missing.status_code, wrong.status_code, right.status_code) == (403, 403, 200)
    stop.set()  # at once: the accepted update is still being processed
    await asyncio.wait_for(running, 30)
    replies = api.sent_to(STUDENT)
    assert replies  # the update in flight finished before the process stopped
    assert "Which language" in replies[-1].text
    assert len(api.of("setMyCommands")) == 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_polling_starts_and_stops_cleanly(db_url: str) -> None:
    api = RecordingRequest()
    stop = asyncio.Event()
    running = asyncio.create_task(serve(settings_for(db_url), stop=stop, request=api))
    await wait_until(lambda: api.of("deleteWebhook") or running.done())
    stop.set()
    await asyncio.wait_for(running, 30)
    assert running.exception() is None
    assert [c.method for c in api.calls[:1]] == ["getMe"]


def test_a_malformed_webhook_secret_or_base_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(
            {"telegram": {"base_url": "127.0.0.1:8081/bot"}},
            source="config.toml",
            environ={"HEARTGUARD_TELEGRAM_WEBHOOK_SECRET": "has spaces & symbols"},
        )
    problems = info.value.problems
    assert any(p.startswith("config.toml: telegram.base_url: expected an http") for p in problems)
    assert any("HEARTGUARD_TELEGRAM_WEBHOOK_SECRET must be" in p for p in problems)
    assert not any("has spaces" in p for p in problems)  # the secret itself is never echoed
