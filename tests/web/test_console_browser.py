"""The console in headless Chromium, beside a student on the chat page, against HeartGuard.

A counselor signs in; a web-chat student in crisis appears in the open queue without a
reload; the counselor opens the case, takes the conversation over and writes; the student's
page shows the counselor's words, the student's answer appears on the console without a
reload; the counselor hands back. No student text reaches any log on the way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chat_driver import ChatDriver
from console_kit import PASSWORD, open_case_for, seed_console
from heartguard_server import RunningHeartGuard, heartguard_settings
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
from test_chat_e2e import CRISIS, crisis_lines_in_chat, enrol

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
WAIT_SECONDS = 30
WORDS = "我是陈老师，我在这里陪着你。你现在安全吗？"
ANSWER = "我还在楼顶，有点害怕"


@pytest.fixture
def seeded(db_url: str) -> dict[str, Any]:
    return asyncio.run(seed_console(db_url))


@pytest.fixture
def server(db_url: str, seeded: dict[str, Any]) -> Iterator[RunningHeartGuard]:
    running = RunningHeartGuard(heartguard_settings(db_url))
    running.start()
    yield running
    running.stop()


def wait(driver: Chrome, condition: Callable[[Chrome], object]) -> None:
    WebDriverWait(
        driver,
        WAIT_SECONDS,
        ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
    ).until(condition)


def sign_in(driver: Chrome, url: str, who: str) -> None:
    driver.get(url + "/console/signin")
    driver.find_element(By.ID, "who").send_keys(who)
    driver.find_element(By.ID, "password").send_keys(PASSWORD, Keys.ENTER)
    wait(driver, lambda d: d.current_url.endswith("/console"))


def console_lines(driver: Chrome, sender: str) -> list[str]:
    nodes = driver.find_elements(By.CSS_SELECTOR, f"#conversation .from-{sender} .text")
    return [node.text for node in nodes]


def same_page(driver: Chrome) -> bool:
    return driver.execute_script("return window.hgSamePage === true;") is True


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sign_in_shows_the_queue_and_refuses_a_wrong_password(
    server: RunningHeartGuard, chromium: Chrome
) -> None:
    chromium.get(server.url + "/console")
    assert chromium.current_url.endswith("/console/signin")
    chromium.find_element(By.ID, "who").send_keys("陈老师")
    chromium.find_element(By.ID, "password").send_keys("not the password", Keys.ENTER)
    wait(chromium, lambda d: d.find_elements(By.CSS_SELECTOR, ".error"))
    sign_in(chromium, server.url, "陈老师")
    assert "没有待处理的案例" in chromium.find_element(By.ID, "queue").text
    chromium.find_element(By.LINK_TEXT, "值班 Duty").click()
    wait(chromium, lambda d: d.find_elements(By.ID, "on-duty"))
    assert "陈老师" in chromium.find_element(By.ID, "on-duty").text


def test_crisis_live_in_the_queue_takeover_talk_and_hand_back(
    server: RunningHeartGuard,
    seeded: dict[str, Any],
    make_chromium: Callable[..., Chrome],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    console = make_chromium()
    student = make_chromium(width=375, height=700, mobile=True)
    sign_in(console, server.url, "陈老师")
    console.execute_script("window.hgSamePage = true;")

    chat = ChatDriver(student, server.url)
    chat.open()
    enrol(chat, seeded["codes"]["S001"])
    chat.type(CRISIS)
    chat.wait(lambda _: crisis_lines_in_chat(chat))

    # The case arrives in the open queue by itself, by the queue's event stream.
    wait(console, lambda d: d.find_elements(By.CSS_SELECTOR, "#queue-rows tr.p-emergency a"))
    assert same_page(console)
    paths = [r.getMessage().split()[2] for r in caplog.records if r.name == "heartguard.web.access"]
    # The stream is still open (its access line comes when it ends): no poll was needed.
    assert "/console/queue/poll" not in paths
    assert "测试甲" in console.find_element(By.ID, "queue").text
    console.find_element(By.CSS_SELECTOR, "#queue-rows tr.p-emergency a").click()
    wait(console, lambda d: d.find_elements(By.ID, "conversation"))
    assert CRISIS in console_lines(console, "student")
    assert "示例中学" in console.page_source

    console.find_element(By.ID, "take").click()
    wait(console, lambda d: d.find_elements(By.ID, "handback"))
    chat.wait(lambda _: any("陈老师来了" in text for text in chat.bubbles("bot")))

    console.execute_script("window.hgSamePage = true;")
    console.find_element(By.ID, "reply-text").send_keys(WORDS, Keys.ENTER)
    chat.wait(lambda _: any(WORDS in text for text in chat.bubbles("counselor")))
    assert len(chat.bubbles("counselor")) == 1  # once, though stored as record and as line
    wait(console, lambda _: any(WORDS in text for text in console_lines(console, "counselor")))
    assert len(console_lines(console, "counselor")) == 1  # the words once, as the student saw

    chat.type(ANSWER)
    wait(console, lambda _: ANSWER in console_lines(console, "student"))
    assert same_page(console)  # the conversation arrived without a reload

    console.find_element(By.ID, "handback-note").send_keys("学生已联系家长")
    console.find_element(By.ID, "handback").click()
    wait(console, lambda d: d.find_elements(By.ID, "take"))
    chat.wait(lambda _: any("陈老师先离开了" in text for text in chat.bubbles("bot")))
    assert "学生已联系家长" in console.page_source  # the note is on the timeline

    # HeartGuard's own loggers (the browser driver's log what it types, by design).
    ours = [r for r in caplog.records if not r.name.startswith(("selenium", "urllib3"))]
    assert ours
    for record in ours:
        message = record.getMessage()
        for text in (CRISIS, WORDS, ANSWER, "学生已联系家长"):
            assert text not in message, record.name


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_with_javascript_off_forms_still_do_everything(
    server: RunningHeartGuard, db_url: str, chromium_nojs: Chrome
) -> None:
    case_id = asyncio.run(open_case_for(db_url, "S002"))
    sign_in(chromium_nojs, server.url, "陈老师")
    chromium_nojs.find_element(By.CSS_SELECTOR, f"a[href='/console/cases/{case_id}']").click()
    wait(chromium_nojs, lambda d: d.find_elements(By.ID, "take"))
    assert "越快越好" in chromium_nojs.find_element(By.ID, "wishes").text
    chromium_nojs.find_element(By.ID, "ack").click()
    wait(
        chromium_nojs,
        lambda d: "已确认 Acknowledged" in d.find_element(By.CSS_SELECTOR, ".flash").text,
    )
    chromium_nojs.find_element(By.ID, "take").click()
    wait(chromium_nojs, lambda d: d.find_elements(By.ID, "handback"))
    chromium_nojs.find_element(By.ID, "reply-text").send_keys(WORDS)
    chromium_nojs.find_element(By.CSS_SELECTOR, "#reply button").click()
    wait(
        chromium_nojs, lambda _: any(WORDS in t for t in console_lines(chromium_nojs, "counselor"))
    )
    chromium_nojs.find_element(By.ID, "note-text").send_keys("下午约了面谈")
    chromium_nojs.find_element(By.ID, "note").click()
    wait(
        chromium_nojs, lambda d: "下午约了面谈" in d.find_element(By.CSS_SELECTOR, ".timeline").text
    )
    assert "陈老师" in chromium_nojs.find_element(By.CSS_SELECTOR, ".timeline").text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_queue_long_polls_where_the_browser_has_no_event_source(
    server: RunningHeartGuard, db_url: str, chromium: Chrome, caplog: pytest.LogCaptureFixture
) -> None:
    chromium.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": "delete window.EventSource;"}
    )
    caplog.set_level(logging.INFO, logger="heartguard.web.access")
    sign_in(chromium, server.url, "陈老师")
    chromium.execute_script("window.hgSamePage = true;")
    case_id = asyncio.run(open_case_for(db_url, "S002"))
    wait(
        chromium, lambda d: d.find_elements(By.CSS_SELECTOR, f"a[href='/console/cases/{case_id}']")
    )
    assert same_page(chromium)
    paths = [r.getMessage().split()[2] for r in caplog.records if r.name == "heartguard.web.access"]
    assert "/console/queue/poll" in paths
    assert "/console/queue/events" not in paths


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_case_page_follows_the_chat_changing_hands(
    server: RunningHeartGuard, db_url: str, seeded: dict[str, Any], chromium: Chrome
) -> None:
    case_id = asyncio.run(open_case_for(db_url, "S002"))
    sign_in(chromium, server.url, "陈老师")
    chromium.get(f"{server.url}/console/cases/{case_id}")
    assert chromium.find_elements(By.ID, "take")
    assert server.process is not None
    takeover = server.process.runtime.takeover
    server.call(takeover.take(case_id, seeded["district"]))
    server.call(takeover.reply(case_id, seeded["district"], "区老师在这里"))
    # The colleague's words arrive, and the page reloads to say who holds the chat now.
    wait(chromium, lambda d: "区老师 接手中" in d.find_element(By.ID, "owner").text)
    assert any("区老师在这里" in text for text in console_lines(chromium, "counselor"))
