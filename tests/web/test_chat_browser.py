"""The real chat page in headless Chromium, against a server that keeps its contract.

With JavaScript: Enter sends, the answer and later lines arrive without a reload (by events, or
by long polling when events are missing or refused). Without JavaScript: plain form posts and
re-rendered pages do the same job. On a 320-pixel phone nothing scrolls sideways.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fake_chat import LATER, QUESTION, THANKS, FakeChat, chat_app
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from bot.channels.web.ui_texts import ui_texts

pytestmark = pytest.mark.e2e

# How long a line may take to show on a busy two-core machine; a wait, never an assertion.
WAIT_SECONDS = 20
ZH = ui_texts("zh")


@pytest.fixture
def chat() -> FakeChat:
    return FakeChat()


@pytest.fixture
def chat_url(asgi_server: Callable[..., str], chat: FakeChat) -> str:
    return asgi_server(chat_app(chat)) + "/chat"


def bubbles(driver: Chrome, sender: str) -> list[str]:
    return [node.text for node in driver.find_elements(By.CSS_SELECTOR, f".from-{sender} .bubble")]


def wait_until(driver: Chrome, condition: Callable[[Chrome], object]) -> None:
    # A form post replaces the page while the condition reads it: read again.
    WebDriverWait(
        driver,
        WAIT_SECONDS,
        ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
    ).until(condition)


def wait_for_line(driver: Chrome, sender: str, text: str) -> None:
    wait_until(driver, lambda d: text in bubbles(d, sender))


def answer_buttons(driver: Chrome) -> list[str]:
    return [node.text for node in driver.find_elements(By.CSS_SELECTOR, ".answers button")]


def mark_page(driver: Chrome) -> None:
    driver.execute_script("window.hgSamePage = true;")


def same_page(driver: Chrome) -> bool:
    return driver.execute_script("return window.hgSamePage === true;") is True


def test_enter_sends_and_the_answer_appears_without_a_reload(
    chromium: Chrome, chat_url: str, chat: FakeChat
) -> None:
    chromium.get(chat_url)
    assert ZH["empty"] in chromium.find_element(By.ID, "log").text
    mark_page(chromium)
    box = chromium.find_element(By.ID, "text")

    box.send_keys("你好", Keys.ENTER)
    wait_for_line(chromium, "bot", "你说：你好")
    wait_until(chromium, lambda d: not d.find_elements(By.CSS_SELECTOR, ".pending"))
    assert bubbles(chromium, "student") == ["你好"]
    assert box.get_attribute("value") == ""

    box.send_keys("第一行", Keys.SHIFT, Keys.ENTER, Keys.NULL, "第二行", Keys.ENTER)
    wait_for_line(chromium, "bot", "你说：第一行\n第二行")

    assert same_page(chromium)
    assert [sent.fields.get("text") for sent in chat.received] == ["你好", "第一行\n第二行"]
    assert all(sent.wants_json and sent.fields["csrf"] == chat.csrf for sent in chat.received)
    assert chat.opened["events"] >= 1
    assert chat.opened["poll"] == 0


def test_an_answer_button_and_a_later_line_arrive_by_events(
    chromium: Chrome, chat_url: str, chat: FakeChat
) -> None:
    chromium.get(chat_url)
    mark_page(chromium)
    box = chromium.find_element(By.ID, "text")
    box.send_keys("我想问你一件事", Keys.ENTER)
    wait_until(chromium, lambda d: answer_buttons(d) == ["还不错", "不太好"])

    box.send_keys("再问一次", Keys.ENTER)
    wait_until(chromium, lambda d: bubbles(d, "bot").count(QUESTION) == 2)
    # Only the newest question keeps its buttons.
    assert len(chromium.find_elements(By.CSS_SELECTOR, ".answers")) == 1
    newest = chromium.find_elements(By.CSS_SELECTOR, ".from-bot")[-1]
    newest.find_element(By.CSS_SELECTOR, "button[value=bad]").click()

    wait_for_line(chromium, "bot", THANKS)
    wait_for_line(chromium, "bot", LATER)
    assert answer_buttons(chromium) == []
    assert bubbles(chromium, "student")[-1] == "不太好"
    pressed = chat.received[-1].fields
    assert pressed["button"] == "bad"
    assert pressed["prompt"] == [line.prompt for line in chat.lines if line.prompt][-1]
    assert same_page(chromium)
    assert chat.opened["poll"] == 0


def test_a_shortcut_sends_its_command(chromium: Chrome, chat_url: str, chat: FakeChat) -> None:
    chromium.get(chat_url)
    chromium.find_element(By.CSS_SELECTOR, "button[name=command][value=talk]").click()
    wait_for_line(chromium, "bot", "（talk）")
    assert bubbles(chromium, "student") == [ZH["command_talk"]]
    assert chat.received[-1].fields["command"] == "talk"


def test_a_refused_send_says_why_and_gives_the_text_back(
    chromium: Chrome, chat_url: str, chat: FakeChat
) -> None:
    chat.refuse_next_send = "现在发不出去，请稍后再试。"
    chromium.get(chat_url)
    box = chromium.find_element(By.ID, "text")
    box.send_keys("你好", Keys.ENTER)
    wait_until(
        chromium, lambda d: d.find_element(By.ID, "status").text == "现在发不出去，请稍后再试。"
    )
    assert box.get_attribute("value") == "你好"
    assert bubbles(chromium, "student") == []

    box.send_keys(Keys.ENTER)
    wait_for_line(chromium, "bot", "你说：你好")
    assert chromium.find_element(By.ID, "status").text == ""


def test_without_javascript_forms_post_and_the_page_re_renders(
    chromium_nojs: Chrome, chat_url: str, chat: FakeChat
) -> None:
    driver = chromium_nojs
    driver.get(chat_url)
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("class") == "no-js"

    driver.find_element(By.CSS_SELECTOR, ".send").click()
    wait_until(driver, lambda d: d.find_element(By.ID, "status").text == "请先写点什么。")

    driver.find_element(By.ID, "text").send_keys("我想问你一件事")
    driver.find_element(By.CSS_SELECTOR, ".send").click()
    wait_for_line(driver, "bot", QUESTION)
    assert driver.current_url.endswith("/chat#end")

    driver.find_element(By.CSS_SELECTOR, ".answers button[value=good]").click()
    wait_for_line(driver, "bot", THANKS)
    assert bubbles(driver, "student") == ["我想问你一件事", "还不错"]

    # The later line shows on the next render.
    def refreshed_with_later_line(d: Chrome) -> bool:
        d.refresh()
        return LATER in bubbles(d, "bot")

    wait_until(driver, refreshed_with_later_line)

    driver.find_element(By.CSS_SELECTOR, "button[name=shared][value='1']").click()
    wait_until(driver, lambda d: ZH["shared_active"] in d.page_source)
    assert chat.shared

    sends = [sent for sent in chat.received if sent.fields.get("text") or "button" in sent.fields]
    assert [sent.fields.get("text", sent.fields.get("button")) for sent in sends] == [
        "我想问你一件事",
        "good",
    ]
    assert sends[1].fields["prompt"] == next(line.prompt for line in chat.lines if line.prompt)
    assert not any(sent.wants_json for sent in chat.received)
    assert sum(chat.opened.values()) == 0


def test_without_event_source_the_page_long_polls(
    chromium: Chrome, chat_url: str, chat: FakeChat
) -> None:
    chromium.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": "delete window.EventSource; window.EventSource = undefined;"},
    )
    chromium.get(chat_url)
    mark_page(chromium)
    chromium.find_element(By.ID, "text").send_keys("我想问你一件事", Keys.ENTER)
    wait_until(chromium, lambda d: answer_buttons(d) == ["还不错", "不太好"])
    chromium.find_element(By.CSS_SELECTOR, ".answers button[value=good]").click()
    wait_for_line(chromium, "bot", LATER)
    assert bubbles(chromium, "student") == ["我想问你一件事", "还不错"]
    assert same_page(chromium)
    assert chat.opened["events"] == 0
    assert chat.opened["poll"] >= 1


def test_a_refused_event_stream_falls_back_to_long_polling(
    chromium: Chrome, chat_url: str, chat: FakeChat
) -> None:
    chat.events_status = 503
    chromium.get(chat_url)
    chromium.find_element(By.ID, "text").send_keys("你好", Keys.ENTER)
    wait_for_line(chromium, "bot", "你说：你好")
    assert chat.opened["events"] >= 1
    assert chat.opened["poll"] >= 1


def test_a_320_pixel_phone_never_scrolls_sideways(
    make_chromium: Callable[..., Chrome], chat_url: str, chat: FakeChat
) -> None:
    chat.banner = "本周的心情小调查还没做，有空的时候点下面的「心情小调查」。"
    driver = make_chromium(mobile=True, width=320, height=640)
    driver.get(chat_url)
    box = driver.find_element(By.ID, "text")
    box.send_keys("https://example.invalid/" + "a" * 200, Keys.ENTER)
    wait_for_line(driver, "bot", "你说：https://example.invalid/" + "a" * 200)
    box.send_keys("我想问", Keys.ENTER)
    wait_until(driver, lambda d: answer_buttons(d) == ["还不错", "不太好"])

    width = driver.execute_script("return document.documentElement.clientWidth;")
    assert width == 320
    assert driver.execute_script("return document.documentElement.scrollWidth;") <= width
    rights = driver.execute_script(
        "var r = []; var all = document.querySelectorAll('button, textarea, .bubble, .help a');"
        "for (var i = 0; i < all.length; i++) { r.push(all[i].getBoundingClientRect().right); }"
        "return r;"
    )
    assert rights
    assert max(rights) <= width
    assert (
        driver.execute_script("return parseFloat(getComputedStyle(document.body).fontSize);") >= 18
    )
    # Scrolled down to the newest line, the help link is still in view.
    assert driver.execute_script("return window.pageYOffset;") > 0
    assert driver.execute_script(
        "var r = document.querySelector('.help-link').getBoundingClientRect();"
        "return r.top >= 0 && r.bottom <= window.innerHeight;"
    )
    assert driver.find_element(By.ID, "banner").is_displayed()
