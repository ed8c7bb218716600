"""The demo's codes: one for a pupil with every feature, one for the limited menu; roster order."""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.bootstrap import open_app, upgrade_database
from bot.cli.chat import DEMO_DATABASE, demo_settings, seed_demo
from bot.cli.main import main, utcnow
from bot.config.settings import load_settings
from bot.services import enrollment
from bot.services.roster_order import roster_key
from storage.models import Student

Capture = pytest.CaptureFixture[str]


def test_roster_order_is_grade_then_class_then_number() -> None:
    rows = [
        (8, "初二(10)班", "S2"),
        (5, "五年级(2)班", "S9"),
        (11, "高二(1)班", "S1"),
        (8, "初二(2)班", "S10"),
        (8, "初二(2)班", "S3"),
        (None, None, "S0"),
    ]
    assert sorted(rows, key=lambda r: roster_key(*r)) == [
        (5, "五年级(2)班", "S9"),
        (8, "初二(2)班", "S3"),
        (8, "初二(2)班", "S10"),
        (8, "初二(10)班", "S2"),
        (11, "高二(1)班", "S1"),
        (None, None, "S0"),
    ]


def test_the_demo_codes_belong_to_the_pupils_they_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    async def seeded() -> tuple[dict[str, Student], dict[str, str], list[str]]:
        settings = demo_settings(load_settings(None, {}))
        async with open_app(settings, need_schema=False) as app:
            await upgrade_database(app, utcnow())
            codes = await seed_demo(app)
            async with app.sessions() as session:
                live = await enrollment.unused_codes(
                    session, app.cipher, school_ref="DEMO", now=utcnow()
                )
                students = {
                    s.student_number or "": s for s in (await session.scalars(select(Student)))
                }
        by_code = {item.code: item.student_number for item in live}
        return (
            students,
            {"full": by_code[codes.full], "limited": by_code[codes.limited]},
            [item.student_number for item in live],
        )

    students, owners, order = asyncio.run(seeded())
    full, limited = students[owners["full"]], students[owners["limited"]]
    assert full.guardian_consent
    assert full.grade == 8
    assert not limited.guardian_consent
    assert limited.grade == 5
    assert order == ["D003", "D001", "D002"]  # 五年级 before 初二
    assert (tmp_path / DEMO_DATABASE).exists()


def test_the_demo_prints_both_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    assert main(["--config", str(config), "demo"]) == 0
    out = capsys.readouterr().out
    assert "全部功能）/ enrollment code: " in out
    assert "to see the limited menu: " in out
