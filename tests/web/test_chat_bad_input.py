"""Bad input to the chat page's server, over HTTP against HeartGuard itself: never a 500.

A cookie signed with another server's secret, an expired session and a missing CSRF token get
a fresh session or a polite refusal in the student's words; a body of 100,000 characters or an
empty one gets a clear answer; nothing refused is stored; no student text and no query string
reaches a log line.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from heartguard_server import RunningHeartGuard, heartguard_settings, stored_lines

from bot.channels.web.ui_texts import ui_texts
from bot.web.signing import Signer

pytestmark = pytest.mark.e2e
ZH = ui_texts("zh")
JSON = {"Accept": "application/json", "X-Requested-With": "XMLHttpRequest"}
SECRET_TEXT = "只有我知道的秘密：我很难过"


# A shared computer's session ends after this much idle time here (20 minutes by default).
IDLE = 3.0


@pytest.fixture
def server(db_url: str) -> Iterator[RunningHeartGuard]:
    running = RunningHeartGuard(
        heartguard_settings(db_url, web={"shared_idle_timeout": f"{IDLE:.0f}s"})
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture
def client(server: RunningHeartGuard) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def open_page(client: httpx.Client) -> str:
    page = client.get("/chat")
    assert page.status_code == 200
    return csrf_of(page.text)


def lines(server: RunningHeartGuard) -> list[tuple[str, str, str]]:
    return asyncio.run(stored_lines(server.settings.database.url))


def test_a_cookie_from_another_servers_secret_gets_a_fresh_session(
    server: RunningHeartGuard, client: httpx.Client
) -> None:
    forged = Signer(b"another-server-secret-0123456789abcdef").sign("session-cookie", "tok")
    client.cookies.set("hg_chat", forged, domain="127.0.0.1")
    page = client.get("/chat")
    assert page.status_code == 200
    assert ZH["session_new"] in page.text
    assert client.cookies.get("hg_chat") != forged  # a new, real session replaced it

    client.cookies.set("hg_chat", forged, domain="127.0.0.1")
    refused = client.post("/chat/send", data={"csrf": "x", "text": SECRET_TEXT}, headers=JSON)
    assert refused.status_code == 403
    assert refused.json() == {"ok": False, "error": ZH["refused_session"]}
    assert lines(server) == []


def test_an_expired_session_is_a_clean_new_start_and_its_sends_are_refused_politely(
    server: RunningHeartGuard, client: httpx.Client
) -> None:
    csrf = open_page(client)
    client.post("/chat/shared", data={"csrf": csrf, "shared": "1"})
    hello = client.post("/chat/send", data={"csrf": csrf, "text": "早上好呀"}, headers=JSON)
    assert hello.json() == {"ok": True}
    time.sleep(IDLE + 0.5)  # the shared computer is left idle: the session expires

    assert client.get("/chat/poll?after=0").status_code == 401
    assert client.get("/chat/events?after=0").status_code == 401
    refused = client.post("/chat/send", data={"csrf": csrf, "text": SECRET_TEXT})
    assert refused.status_code == 403
    assert ZH["refused_session"] in refused.text
    assert f"{SECRET_TEXT}</textarea>" in refused.text  # their words go back in the box
    assert "tel:12356" in refused.text  # and the crisis lines stay on the page
    fresh = client.get("/chat")
    assert "早上好呀" not in fresh.text  # the old conversation is not shown to whoever comes next
    assert [text for _, _, text in lines(server) if text == SECRET_TEXT] == []


def test_a_send_without_the_csrf_token_is_refused_and_nothing_is_stored(
    server: RunningHeartGuard, client: httpx.Client
) -> None:
    open_page(client)
    refused = client.post("/chat/send", data={"text": SECRET_TEXT}, headers=JSON)
    assert refused.status_code == 403
    assert refused.json()["error"] == ZH["refused_session"]
    wrong = client.post("/chat/send", data={"csrf": "guess", "text": SECRET_TEXT}, headers=JSON)
    assert wrong.status_code == 403
    assert lines(server) == []


@pytest.mark.parametrize("size", [2001, 100_000])
def test_a_message_too_long_gets_a_clear_answer(
    server: RunningHeartGuard, client: httpx.Client, size: int
) -> None:
    csrf = open_page(client)
    text = "难" * size
    answer = client.post("/chat/send", data={"csrf": csrf, "text": text}, headers=JSON)
    assert answer.status_code == 413
    assert answer.json() == {"ok": False, "error": ZH["refused_too_long"]}
    page = client.post("/chat/send", data={"csrf": csrf, "text": text})
    assert page.status_code == 413
    assert ZH["refused_too_long"] in page.text
    assert lines(server) == []


def test_an_empty_body_or_an_empty_message_gets_a_clear_answer(
    server: RunningHeartGuard, client: httpx.Client
) -> None:
    csrf = open_page(client)
    empty = client.post(
        "/chat/send",
        content=b"",
        headers={**JSON, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert empty.status_code == 400
    assert empty.json() == {"ok": False, "error": ZH["refused_empty"]}
    blank = client.post("/chat/send", data={"csrf": csrf, "text": "  \n "}, headers=JSON)
    assert blank.status_code == 400
    assert blank.json()["error"] == ZH["refused_empty"]
    garbage = client.post(
        "/chat/send",
        content=b"\xff\xfe\x00",
        headers={**JSON, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert garbage.status_code == 400
    assert lines(server) == []


def test_a_press_on_an_old_question_is_refused_kindly(
    server: RunningHeartGuard, client: httpx.Client
) -> None:
    csrf = open_page(client)
    client.post("/chat/send", data={"csrf": csrf, "text": "你好"}, headers=JSON)
    pressed = {"csrf": csrf, "button": "zh", "prompt": "not-the-question"}
    stale = client.post("/chat/send", data=pressed, headers=JSON)
    assert stale.status_code == 409
    assert stale.json()["error"] == ZH["refused_stale"]
    assert [d for d, _, _ in lines(server)].count("in") == 1


def test_pages_carry_strict_headers_and_the_cookie_is_http_only(client: httpx.Client) -> None:
    page = client.get("/chat")
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "max-age=" in cookie  # a student's own device stays signed in

    shared = client.post("/chat/shared", data={"csrf": csrf_of(page.text), "shared": "1"})
    assert shared.status_code == 303
    cookie = shared.headers["set-cookie"].lower()
    assert "max-age" not in cookie  # shared computer: gone when the browser closes
    assert "expires" not in cookie
    again = client.get("/chat")
    assert ZH["shared_active"] in again.text
    assert 'autocomplete="off"' in again.text


def test_signing_out_ends_the_session_for_good(
    server: RunningHeartGuard, client: httpx.Client
) -> None:
    csrf = open_page(client)
    client.post("/chat/send", data={"csrf": csrf, "text": SECRET_TEXT}, headers=JSON)
    old = client.cookies.get("hg_chat")
    client.post("/chat/shared", data={"csrf": csrf, "shared": "1"})
    out = client.post("/chat/signout", data={"csrf": csrf})
    assert out.status_code == 303
    with httpx.Client(base_url=server.url) as other:
        other.cookies.set("hg_chat", old or "", domain="127.0.0.1")
        after = other.get("/chat")
    assert SECRET_TEXT not in after.text
    assert ZH["session_new"] in after.text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_no_student_text_and_no_query_string_reach_the_logs(
    server: RunningHeartGuard, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Every server logger at DEBUG, whatever an earlier test left set on them.
    for name in ("heartguard", "heartguard.web", "heartguard.web.access", "bot", "escalation"):
        caplog.set_level(logging.DEBUG, logger=name)
    csrf = open_page(client)
    client.post("/chat/send", data={"csrf": csrf, "text": SECRET_TEXT}, headers=JSON)
    client.get("/chat/poll", params={"after": "0", "_": SECRET_TEXT})
    client.post("/chat/send", data={"csrf": csrf, "text": "我不想活了"}, headers=JSON)

    def server_records() -> str:
        # The server's records only: the test's own HTTP client logs its URLs.
        return "\n".join(
            record.getMessage()
            for record in caplog.records
            if not record.name.startswith(("httpx", "httpcore"))
        )

    # The access line is written by the server's thread, which may lag a loaded machine.
    deadline = time.monotonic() + 10
    while "/chat/poll 200" not in server_records() and time.monotonic() < deadline:
        time.sleep(0.05)
    logged = server_records()
    assert "/chat/poll 200" in logged
    assert SECRET_TEXT not in logged
    assert "不想活" not in logged
    assert "after=" not in logged, [r.name for r in caplog.records if "after=" in r.getMessage()]
    assert csrf not in logged


def test_health_says_ok_once_the_green_channel_ticked(client: httpx.Client) -> None:
    deadline = datetime.now(UTC) + timedelta(seconds=20)
    answer: Any = None
    while datetime.now(UTC) < deadline:
        answer = client.get("/healthz")
        if answer.status_code == 200:
            break
    assert answer is not None
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_an_oversized_body_anywhere_is_refused_before_it_is_read(client: httpx.Client) -> None:
    big = client.post("/healthz", content=b"x" * (2 * 1024 * 1024))
    assert big.status_code == 413
    unknown = client.get("/nothing-here")
    assert unknown.status_code == 404
