"""The e2e tests' world: the emulator's install, ``heartguard run`` as a process, and people
who talk to the bot through the emulator's client API.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).with_name("hook")))
from emulator_shapes import telegram_shaped

ROOT = Path(__file__).resolve().parents[2]
E2E_DIR = ROOT / ".e2e"
EMULATOR = "telegram-test-api"
EMULATOR_VERSION = "4.2.1"
HOOK = Path(__file__).with_name("hook")
TOKEN = "123456:e2e-token"
BIN = Path(sys.executable).parent


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"e2e: {reason} (CI requires the Telegram emulator)")
    pytest.skip(f"e2e: {reason}")


def install_emulator() -> Path:
    """``.e2e/node_modules`` with the emulator, installed with npm on first use (pinned)."""
    modules = E2E_DIR / "node_modules"
    if (modules / EMULATOR / "package.json").exists():
        return modules
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        _unavailable("node and npm are needed to install the telegram-test-api emulator")
    E2E_DIR.mkdir(exist_ok=True)
    manifest = {"private": True, "dependencies": {EMULATOR: EMULATOR_VERSION}}
    (E2E_DIR / "package.json").write_text(json.dumps(manifest), encoding="utf-8")
    try:
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=E2E_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired:
        _unavailable("npm install of the emulator timed out (no network?)")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        _unavailable(f"npm install of the emulator failed: {last}")
    return modules


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")


@dataclass
class BotRun:
    """``heartguard run`` as a subprocess, restartable, with its log and its API calls."""

    config: Path
    env: dict[str, str]
    log: Path
    calls: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    # Options before the command, e.g. ("--debug",).
    options: tuple[str, ...] = ()

    def start(self) -> None:
        self.starts += 1
        marker = f"\n== start {self.starts}\n"
        with self.log.open("a") as sink:
            sink.write(marker)
            sink.flush()
            self.proc = subprocess.Popen(
                [str(BIN / "heartguard"), *self.options, "--config", str(self.config), "run"],
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = self.log.read_text(encoding="utf-8").rsplit(marker, 1)[-1]
            if "running (polling)" in text or "running (webhook)" in text:
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"heartguard run exited early:\n{text}")
            time.sleep(0.1)
        raise AssertionError("heartguard run did not come up within 60s")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = self.proc.wait(30)
        self.proc = None
        return code

    def configure(self, toml: str) -> None:
        """Append tables to the bot's config (before start)."""
        with self.config.open("a", encoding="utf-8") as sink:
            sink.write("\n" + toml.strip() + "\n")

    @property
    def database(self) -> str:
        """The bot's database URL, from its config."""
        url = re.search(r'url = "(.+)"', self.config.read_text(encoding="utf-8"))
        assert url is not None
        return url.group(1)

    def api_calls(self, method: str) -> list[dict[str, Any]]:
        if not self.calls.exists():
            return []
        lines = self.calls.read_text(encoding="utf-8").splitlines()
        return [c["params"] for c in map(json.loads, lines) if c["method"] == method]

    def heartguard(self, *args: str) -> str:
        done = subprocess.run(
            [str(BIN / "heartguard"), "--config", str(self.config), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout


@dataclass
class Person:
    """A Telegram user in a private chat, driven through the emulator's client API."""

    client: httpx.AsyncClient
    user_id: int
    seen: list[dict[str, Any]] = field(default_factory=list)
    first_name: str = "E2E"

    def _common(self) -> dict[str, Any]:
        name = self.first_name
        return {
            "botToken": TOKEN,
            "from": {"id": self.user_id, "is_bot": False, "first_name": name},
            "chat": {"id": self.user_id, "type": "private", "first_name": name},
            "date": int(time.time()),
        }

    async def say(self, text: str) -> None:
        response = await self.client.post("/sendMessage", json={**self._common(), "text": text})
        response.raise_for_status()

    async def command(self, text: str) -> None:
        entity = {"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}
        body = {**self._common(), "text": text, "entities": [entity]}
        response = await self.client.post("/sendCommand", json=body)
        response.raise_for_status()

    async def press(self, shown: dict[str, Any], data: str) -> None:
        common = self._common()
        message = {
            "message_id": shown["messageId"],
            "chat": common["chat"],
            "date": common["date"],
            "text": shown["message"].get("text", ""),
        }
        body = {"botToken": TOKEN, "from": common["from"], "message": message, "data": data}
        response = await self.client.post("/sendCallback", json=body)
        response.raise_for_status()

    async def expect(
        self, check: Callable[[dict[str, Any]], bool], limit: float = 20.0
    ) -> dict[str, Any]:
        """Wait for a bot message to this chat that passes ``check``; returns it."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            response = await self.client.post(
                "/getUpdates", json={"token": TOKEN, "chatId": self.user_id}
            )
            self.seen.extend(response.json().get("result", []))
            for item in self.seen:
                if not item.get("_used") and check(item):
                    item["_used"] = True
                    return item
            await asyncio.sleep(0.1)
        texts = [m["message"].get("text", "")[:40] for m in self.seen]
        raise AssertionError(f"chat {self.user_id}: expected message never came; saw {texts}")

    async def expect_text(self, fragment: str, limit: float = 20.0) -> dict[str, Any]:
        return await self.expect(lambda m: fragment in m["message"].get("text", ""), limit)

    async def expect_button(self, suffix: str, limit: float = 20.0) -> tuple[dict[str, Any], str]:
        """A message with a button whose callback data ends with ``suffix``, and that data."""
        item = await self.expect(lambda m: bool(button(m, suffix)), limit)
        return item, button(item, suffix)


def button(item: dict[str, Any], suffix: str) -> str:
    markup = item["message"].get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    for row in markup.get("inline_keyboard", []):
        for key in row:
            if str(key.get("callback_data", "")).endswith(suffix):
                return str(key["callback_data"])
    return ""


class WebhookRelay:
    """TEST ONLY: stands where Telegram's servers would, between the emulator and the bot.

    The emulator calls a bot's webhook without the ``X-Telegram-Bot-Api-Secret-Token`` header
    Telegram sends, and with dates in milliseconds. The relay takes its calls, reshapes them
    as Telegram would send them, adds the secret, and forwards them to the bot's webhook,
    answering the emulator with the bot's status.
    """

    def __init__(self, target: str, secret: str) -> None:
        self.target = target
        self.secret = secret
        self.port = free_port()
        self.statuses: list[int] = []
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                answer = httpx.post(
                    relay.target,
                    json=telegram_shaped(body),
                    headers={"X-Telegram-Bot-Api-Secret-Token": relay.secret},
                    timeout=10,
                )
                relay.statuses.append(answer.status_code)
                self.send_response(answer.status_code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> WebhookRelay:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
