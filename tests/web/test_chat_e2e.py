"""A student on the real chat page, end to end: headless Chromium against HeartGuard itself.

HeartGuard runs as ``heartguard run`` runs it (database, pipeline, green channel, web server)
on SQLite and on PostgreSQL. The student enrols with a code in the chat, answers a check-in
with the buttons, and writes that they are on a rooftop: the crisis lines appear without a
reload and an emergency case is requested. The same works with JavaScript off (plain form
posts), and by long polling where the browser has no EventSource.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from chat_driver import ChatDriver
from heartguard_server import RunningHeartGuard, case_requests, stored_lines
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CRISIS = "我已经站在楼顶上了，今晚就跳下去"


def enrol(chat: ChatDriver, code: str) -> None:
    """Onboarding in the chat, as on Telegram: language, consent, the code, reminders."""
    chat.type("你好")
    chat.press("zh")
    chat.press("agree")
    chat.wait_for_bot("登记码")
    chat.type(code)
    chat.wait_for_bot("已经和你的学校连上了")
    chat.press("reminder_weekly")
    chat.wait_for_bot("都设置好啦")


def check_in(chat: ChatDriver) -> None:
    """The weekly check-in, answered with buttons only."""
    chat.shortcut("checkin")
    chat.press("mood_3")
    chat.press("skip")
    # PHQ-2 and GAD-2, then the ASQ every check-in asks from grade 7, for a grade-8 student.
    for answer in ("not_at_all",) * 4 + ("no",) * 4:
        before = len(chat.bubbles("bot"))
        chat.press(answer)
        chat.wait(lambda _, count=before: len(chat.bubbles("bot")) > count)
    chat.wait_for_bot("谢谢你完成这次小调查")


def crisis_lines_in_chat(chat: ChatDriver) -> bool:
    return any("12356" in text and "120" in text for text in chat.bubbles("bot"))


def test_enrol_check_in_and_a_crisis_with_javascript(
    heartguard: RunningHeartGuard, school: dict[str, Any], chromium: Chrome, db_url: str
) -> None:
    chat = ChatDriver(chromium, heartguard.url)
    chat.open()
    enrol(chat, school["codes"]["S001"])
    check_in(chat)
    assert not crisis_lines_in_chat(chat)

    chat.type(CRISIS)
    chat.wait(lambda _: crisis_lines_in_chat(chat))

    assert chat.same_page()  # every line arrived by events, none by a reload
    assert CRISIS in chat.bubbles("student")
    # The buttons pressed show as the student's own lines, as they read them.
    assert "😐 一般般" in chat.bubbles("student")
    requests = asyncio.run(case_requests(db_url))
    assert [(priority, reason) for _, priority, reason in requests] == [
        ("emergency", "risk_imminent")
    ]
    # Everything said was stored encrypted, replies included, so a reload shows it all.
    lines = asyncio.run(stored_lines(db_url))
    assert ("in", "web", CRISIS) in lines
    assert any(d == "out" and "12356" in text for d, _, text in lines)
    shown = len(chat.bubbles("bot"))
    chromium.refresh()
    assert len(chat.bubbles("bot")) == shown
    assert crisis_lines_in_chat(chat)


def test_the_same_with_javascript_off(
    heartguard: RunningHeartGuard, school: dict[str, Any], chromium_nojs: Chrome, db_url: str
) -> None:
    chat = ChatDriver(chromium_nojs, heartguard.url, javascript=False)
    chat.open()
    assert chromium_nojs.find_element(By.TAG_NAME, "html").get_attribute("class") == "no-js"
    enrol(chat, school["codes"]["S002"])
    check_in(chat)
    chat.type(CRISIS)
    chat.wait(lambda _: crisis_lines_in_chat(chat))
    assert chromium_nojs.current_url.endswith("/chat#end")
    requests = asyncio.run(case_requests(db_url))
    assert [priority for _, priority, _ in requests] == ["emergency"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_long_polling_where_the_browser_has_no_event_source(
    heartguard: RunningHeartGuard, chromium: Chrome, caplog: pytest.LogCaptureFixture
) -> None:
    chromium.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": "delete window.EventSource;"}
    )
    caplog.set_level(logging.INFO, logger="heartguard.web.access")
    chat = ChatDriver(chromium, heartguard.url)
    chat.open()
    chat.type(CRISIS)
    chat.wait(lambda _: crisis_lines_in_chat(chat))
    assert chat.same_page()
    paths = [record.getMessage().split()[2] for record in caplog.records]
    assert "/chat/poll" in paths
    assert "/chat/events" not in paths
    # Before any enrolment, a student in crisis gets the lines and a case is asked for.
    assert asyncio.run(case_requests(heartguard.settings.database.url))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_on_a_shared_computer_signing_out_leaves_nothing_for_the_next_person(
    heartguard: RunningHeartGuard, chromium: Chrome
) -> None:
    chat = ChatDriver(chromium, heartguard.url)
    chat.open()
    chat.type("我今天心情很差")
    chat.wait_for_bot("心卫")
    chromium.find_element(By.CSS_SELECTOR, ".shared-mode button[name=shared]").click()
    chat.wait(
        lambda d: "shared" in (d.find_element(By.TAG_NAME, "body").get_attribute("class") or "")
    )
    cookie = chromium.get_cookie("hg_chat")
    assert cookie is not None
    assert "expiry" not in cookie  # a session cookie: gone when the browser closes
    assert cookie["httpOnly"] is True
    chromium.find_element(By.CSS_SELECTOR, "button[formaction='/chat/signout']").click()
    chat.wait(lambda d: "/chat?ended=1" in d.current_url)
    assert "我今天心情很差" not in chromium.page_source
    chromium.back()  # the back button shows no conversation either (pages are never cached)
    assert "我今天心情很差" not in chromium.page_source
