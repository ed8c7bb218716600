"""`heartguard demo` seeds and talks only to var/demo.db, whatever the config says."""

from __future__ import annotations

import asyncio
import io
import sqlite3
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.cli.main import main
from storage.db import create_engine, session_factory
from storage.models import School, Student

Capture = pytest.CaptureFixture[str]


async def count(url: str, model: type[School] | type[Student]) -> int:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        await engine.dispose()


def test_demo_never_writes_the_configured_database(
    cli_env: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    # A production-like config file beside the environment's database URL: both are ignored.
    config = cli_env / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{cli_env / "production.db"}"\n'
        "[privacy]\nallow_generated_key = false\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO("我今天有点累\n"))
    code = main(["--config", str(config), "demo"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "database: var/demo.db" in out
    assert "心卫>" in out  # the chat ran
    assert asyncio.run(count(db_url, School)) == 0
    assert asyncio.run(count(db_url, Student)) == 0
    assert not (cli_env / "production.db").exists()
    demo = sqlite3.connect(cli_env / "var" / "demo.db")
    try:
        assert demo.execute("SELECT code FROM schools").fetchall() == [("DEMO",)]
    finally:
        demo.close()
    assert (cli_env / "var" / "demo.key").exists()
