"""The reports and the file in a real headless Chromium, and the PDF it prints."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pypdf
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from bot.config.settings import load_settings
from bot.services.reports.file_html import render_file_html
from bot.services.reports.pdf import print_pdf
from bot.services.reports.report_html import render_html
from bot.services.reports.student_file import StudentFiles
from bot.services.reports.weekly_reports import WeeklyReports
from escalation.actions import Actor
from storage.crypto import DataCipher
from storage.models import CheckinResult
from tests.browser import CHROMIUM, AsgiServer
from tests.reports.conftest import END

pytestmark = pytest.mark.e2e
SETTINGS = load_settings(None, {})
pytest_plugins = ("tests.reports.conftest",)


def serve(asgi_server: AsgiServer, pages: dict[str, str]) -> str:
    async def page(request: Request) -> HTMLResponse:
        name = request.path_params["name"]
        return HTMLResponse(pages[name]) if name in pages else HTMLResponse("", 404)

    return asgi_server(Starlette(routes=[Route("/{name}", page)]))


def charts_with_data(driver: webdriver.Chrome) -> list[int]:
    """How many data marks each chart on the page holds."""
    charts = driver.find_elements(By.CSS_SELECTOR, "svg.chart")
    return [len(c.find_elements(By.CSS_SELECTOR, "[data-value]")) for c in charts]


async def test_reports_and_file_render_with_their_charts(
    district: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    cipher: DataCipher,
    asgi_server: AsgiServer,
    chromium_nojs: webdriver.Chrome,
) -> None:
    reports = WeeklyReports(sessions, SETTINGS)
    school = await reports.build(school="R00", week="2026-W49", actor=Actor.admin(), now=END)
    whole = await reports.build(school=None, week="2026-W49", actor=Actor.admin(), now=END)
    async with sessions() as session:
        busiest = await session.scalar(
            select(CheckinResult.student_id)
            .where(CheckinResult.instrument == "phq9")
            .group_by(CheckinResult.student_id)
            .order_by(func.count().desc(), CheckinResult.student_id)
            .limit(1)
        )
    assert busiest is not None
    files = StudentFiles(sessions, cipher, SETTINGS)
    file = await files.by_id(busiest, actor=Actor.admin(), now=END)
    root = serve(
        asgi_server,
        {
            "school": render_html(school),
            "district": render_html(whole, "en"),
            "file": render_file_html(file),
        },
    )
    chromium_nojs.get(f"{root}/district")
    assert chromium_nojs.title.startswith("Weekly district mental-health report")
    marks = charts_with_data(chromium_nojs)
    assert len(marks) == 4
    assert all(n > 0 for n in marks), marks
    sections = chromium_nojs.find_elements(By.CSS_SELECTOR, "section.page")
    assert [s.get_attribute("id") for s in sections] == [
        "checkins",
        "screening",
        "green",
        "schools",
    ]
    chromium_nojs.get(f"{root}/school")
    assert "学校心理健康周报" in chromium_nojs.title
    assert len(chromium_nojs.find_elements(By.CSS_SELECTOR, "svg.chart")) == 4
    assert chromium_nojs.find_elements(By.CSS_SELECTOR, "rect[data-suppressed]"), "a school hides"
    chromium_nojs.get(f"{root}/file")
    trends = chromium_nojs.find_elements(By.CSS_SELECTOR, "svg.trend")
    assert len(trends) == 2
    assert trends[0].find_elements(By.CSS_SELECTOR, "rect.band")
    assert sum(len(t.find_elements(By.CSS_SELECTOR, "circle[data-value]")) for t in trends) > 0


def _need_chromium() -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} missing")
        pytest.skip(f"{CHROMIUM} missing")


async def test_the_pdf_has_one_page_per_section_and_its_chinese_text(
    district: AsyncEngine, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    _need_chromium()
    reports = WeeklyReports(sessions, SETTINGS)
    school = await reports.build(school="R00", week="2026-W49", actor=Actor.admin(), now=END)
    whole = await reports.build(school=None, week="2026-W49", actor=Actor.admin(), now=END)
    for report, pages, lang, words in (
        (
            school,
            3,
            "zh",
            ("学校心理健康周报", "一、每周心理检查", "二、筛查结果", "三、绿色通道与随访"),
        ),
        (whole, 4, "en", ("Weekly district mental-health report", "By school", "R00")),
    ):
        pdf = pypdf.PdfReader(
            io.BytesIO(await print_pdf(render_html(report, lang), chromium=str(CHROMIUM)))
        )  # type: ignore[arg-type]
        assert len(pdf.pages) == pages
        assert pdf.pages[0].mediabox.width == pytest.approx(595, abs=2)  # A4, in points
        text = "".join(page.extract_text() for page in pdf.pages)
        for word in words:
            assert word in text
