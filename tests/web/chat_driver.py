"""Driving the real chat page in Chromium the way a student does: type, press, read."""

from __future__ import annotations

from collections.abc import Callable

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

# How long a line may take to show on a busy two-core machine; a wait, never an assertion.
WAIT_SECONDS = 30


class ChatDriver:
    """One student's browser on the chat page."""

    def __init__(self, driver: Chrome, url: str, *, javascript: bool = True) -> None:
        self.driver = driver
        self.url = url
        self.javascript = javascript

    def open(self) -> None:
        self.driver.get(self.url + "/chat")
        if self.javascript:
            self.driver.execute_script("window.hgSamePage = true;")

    def same_page(self) -> bool:
        """True while no reload happened since :meth:`open` (JavaScript only)."""
        return self.driver.execute_script("return window.hgSamePage === true;") is True

    def bubbles(self, sender: str) -> list[str]:
        # Without JavaScript the last press may still be replacing the page: read it again.
        for _ in range(WAIT_SECONDS * 10):
            try:
                nodes = self.driver.find_elements(By.CSS_SELECTOR, f".from-{sender} .bubble")
                return [node.text for node in nodes]
            except StaleElementReferenceException:
                continue
        raise AssertionError("the chat page kept changing while it was read")

    def wait(self, condition: Callable[[Chrome], object]) -> None:
        # A form post replaces the page while the condition reads it: read again.
        WebDriverWait(
            self.driver,
            WAIT_SECONDS,
            ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
        ).until(condition)

    def wait_for_bot(self, fragment: str) -> None:
        self.wait(lambda _: any(fragment in text for text in self.bubbles("bot")))

    def answers(self) -> list[str]:
        nodes = self.driver.find_elements(By.CSS_SELECTOR, ".answers button")
        return [node.get_attribute("value") or "" for node in nodes]

    def wait_for_answers(self, value: str) -> None:
        self.wait(lambda _: value in self.answers())

    def type(self, text: str) -> None:
        def typed(_: Chrome) -> bool:
            box = self.driver.find_element(By.ID, "text")
            if self.javascript:
                box.send_keys(text, Keys.ENTER)
            else:
                box.send_keys(text)
                self.driver.find_element(By.CSS_SELECTOR, "#composer button.send").click()
            return True

        self.wait(typed)

    def _click(self, selector: str) -> None:
        # Without JavaScript a press replaces the page: find and click again until it holds.
        def click(_: Chrome) -> bool:
            found = self.driver.find_elements(By.CSS_SELECTOR, selector)
            if not found:
                return False
            found[-1].click()
            return True

        self.wait(click)

    def press(self, value: str) -> None:
        """Press the answer button with this value on the newest question."""
        self._click(f".answers button[value='{value}']")

    def shortcut(self, name: str) -> None:
        self._click(f".commands button[value='{name}']")

    def status(self) -> str:
        return self.driver.find_element(By.ID, "status").text
