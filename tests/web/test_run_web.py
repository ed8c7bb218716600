"""``heartguard run`` with the web server: alone, beside Telegram, refusing to start in one line.

The web alone runs as a real process and stops on SIGTERM after the requests in flight are
answered. Without Telegram's token and without the web, ``run`` says so in one line; so it
does for a missing web secret (where none may be generated) and a missing WeChat token.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from heartguard_server import DATA_KEY, WEB_SECRET, free_port, heartguard_settings

from bot.cli.main import main
from bot.process import serve

BIN = Path(sys.executable).parent
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bot" / "telegram_channel"))
from fake_telegram import RecordingRequest  # noqa: E402

TOKEN = "123456:offline-test-token"


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


def test_with_neither_telegram_nor_the_web_run_says_so_in_one_line(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run"]) == 1
    err = one_line_error(capsys)
    assert "nothing to serve" in err
    assert "HEARTGUARD_TELEGRAM_TOKEN is not set" in err
    assert "web.enabled" in err


def test_the_web_needs_its_secret_where_none_may_be_generated(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = cli_env / "web.toml"
    config.write_text(
        "[web]\nenabled = true\n[privacy]\nallow_generated_key = false\n", encoding="utf-8"
    )
    assert main(["--config", str(config), "run"]) == 1
    assert "HEARTGUARD_WEB_SECRET is not set" in one_line_error(capsys)


def test_wechat_needs_its_token(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = cli_env / "wechat.toml"
    config.write_text(
        '[web]\nenabled = true\npublic_url = "https://xinwei.example.cn"\n'
        '[wechat]\nenabled = true\napp_id = "wx0123456789abcdef"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("HEARTGUARD_WEB_SECRET", WEB_SECRET)
    assert main(["--config", str(config), "run"]) == 1
    assert "HEARTGUARD_WECHAT_TOKEN" in one_line_error(capsys)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_port_in_use_is_one_line(db_url: str, tmp_path: Path) -> None:
    import socket

    asyncio.run(_migrate(db_url))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = tmp_path / "busy.toml"
        config.write_text(
            f'[web]\nenabled = true\nport = {port}\n[logging]\nlevel = "WARNING"\n',
            encoding="utf-8",
        )
        done = subprocess.run(
            [str(BIN / "heartguard"), "--config", str(config), "run"],
            cwd=tmp_path,
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("HEARTGUARD_")},
                "HEARTGUARD_DATABASE_URL": db_url,
                "HEARTGUARD_DATA_KEY": DATA_KEY,
                "HEARTGUARD_WEB_SECRET": WEB_SECRET,
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"heartguard: error: cannot listen on 127.0.0.1:{port} (web.listen, web.port): "
        "Address already in use"
    )


async def _migrate(url: str) -> None:
    from storage.db import create_engine
    from storage.migrate import upgrade

    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.mark.e2e
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_web_alone_runs_as_a_process_and_stops_on_sigterm_after_requests_in_flight(
    db_url: str, tmp_path: Path
) -> None:
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(f"[web]\nenabled = true\nport = {port}\n", encoding="utf-8")
    env = {
        **os.environ,
        "HEARTGUARD_DATABASE_URL": db_url,
        "HEARTGUARD_DATA_KEY": DATA_KEY,
        "HEARTGUARD_WEB_SECRET": WEB_SECRET,
    }
    env.pop("HEARTGUARD_TELEGRAM_TOKEN", None)
    log = tmp_path / "run.log"
    with log.open("w") as output:
        proc = subprocess.Popen(
            [str(BIN / "heartguard"), "--config", str(config), "run"],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        healthy = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                healthy = httpx.get(f"{url}/healthz", timeout=5)
            except httpx.HTTPError:
                healthy = None
            if healthy is not None and healthy.status_code == 200:
                break
            time.sleep(0.2)
        assert healthy is not None, log.read_text()
        assert healthy.json() == {"status": "ok"}

        with httpx.Client(base_url=url, timeout=60) as client:
            client.get("/chat")
            waiting: dict[str, httpx.Response] = {}

            def long_poll() -> None:
                waiting["poll"] = client.get("/chat/poll?after=0")

            poller = threading.Thread(target=long_poll)
            poller.start()
            time.sleep(0.5)  # the poll is in flight, waiting for a line
            proc.send_signal(signal.SIGTERM)
            poller.join(30)
        assert waiting["poll"].status_code == 200  # answered, not cut off
        assert waiting["poll"].json() == {"lines": []}
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = log.read_text()
    assert "Traceback" not in err
    assert "stopped" in err


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_telegram_and_the_web_run_in_one_process(db_url: str) -> None:
    api = RecordingRequest()
    settings = heartguard_settings(db_url, environ={"HEARTGUARD_TELEGRAM_TOKEN": TOKEN})
    stop = asyncio.Event()
    ready = asyncio.Event()
    names: list[str] = []

    def on_ready(process: object) -> None:
        names.extend(server.name for server in process.servers)  # type: ignore[attr-defined]
        ready.set()

    running = asyncio.create_task(serve(settings, stop=stop, request=api, on_ready=on_ready))
    await asyncio.wait_for(ready.wait(), 60)
    assert names == ["telegram", "web"]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.web.port}") as client:
        page = await client.get("/chat")
        assert page.status_code == 200
    stop.set()
    await asyncio.wait_for(running, 60)
    assert running.exception() is None
    assert [c.method for c in api.calls[:1]] == ["getMe"]
    assert free_port()  # the port was released
