"""End-to-end fixtures: the telegram-test-api emulator and ``heartguard run`` as real processes.

The emulator is installed from npm into ``.e2e/`` (ignored by git) on first use. Without
npm or a network the e2e tests skip with the reason, except under CI (``CI=true``), where
they fail: CI must never call a run green that did not drive the real bot.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from e2e_world import (
    HOOK,
    TOKEN,
    BotRun,
    free_port,
    install_emulator,
    wait_for_port,
)


@pytest.fixture(scope="session")
def emulator_modules() -> Path:
    """``.e2e/node_modules`` with the emulator installed (npm, pinned version)."""
    return install_emulator()


@pytest.fixture
def emulator(emulator_modules: Path, tmp_path: Path) -> Iterator[str]:
    """A running emulator; yields its root URL."""
    port = free_port()
    log = (tmp_path / "emulator.log").open("w")
    proc = subprocess.Popen(
        ["node", str(Path(__file__).with_name("emulator.js")), str(port)],
        env={**os.environ, "NODE_PATH": str(emulator_modules)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def bot_run(emulator: str, tmp_path: Path) -> Iterator[BotRun]:
    """Config and environment for a bot on a temp SQLite database (not started yet)."""
    config = tmp_path / "config.toml"
    config.write_text(
        "[database]\n"
        f'url = "sqlite:///{tmp_path / "hg.db"}"\n'
        "[telegram]\n"
        f'base_url = "{emulator}/bot"\n'
        "[escalation]\n"
        'tick_interval = "1s"\n'
        "[privacy]\n"
        "allow_generated_key = false\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "HEARTGUARD_TELEGRAM_TOKEN": TOKEN,
        "HEARTGUARD_DATA_KEY": Fernet.generate_key().decode(),
        "PYTHONPATH": str(HOOK),
        "HG_E2E_CALLS": str(tmp_path / "calls.jsonl"),
    }
    env.pop("HEARTGUARD_DATABASE_URL", None)
    env.pop("HEARTGUARD_CONFIG", None)
    run = BotRun(config, env, tmp_path / "bot.log", tmp_path / "calls.jsonl")
    try:
        yield run
    finally:
        if run.proc is not None and run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait(10)


@pytest.fixture
async def telegram_client(emulator: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emulator, timeout=10) as client:
        yield client
