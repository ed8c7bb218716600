"""WeChat's calls against HeartGuard itself: signed (and encrypted) XML built here, sent over HTTP.

HeartGuard runs as ``heartguard run`` runs it, with the WeChat account on and its send API
pointed at a local fake of WeChat's API. Verification, plaintext and safe-mode messages,
passive replies from the pipeline, retried MsgIds handled once, and every forged, stale,
oversized or hostile call refused with its status before anything is stored.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
import pytest
from defusedxml.ElementTree import fromstring
from heartguard_server import RunningHeartGuard, case_requests, identities, stored_lines
from wechat_calls import (
    ACCOUNT,
    AES_KEY,
    APP_ID,
    TOKEN,
    post,
    reply_content,
    signed,
    text_xml,
)

from bot.channels.wechat.crypto import MessageCrypto, msg_signature

pytestmark = pytest.mark.e2e


def lines(server: RunningHeartGuard) -> list[tuple[str, str, str]]:
    return asyncio.run(stored_lines(server.settings.database.url))


def test_verification_echoes_only_to_a_fresh_correct_signature(client: httpx.Client) -> None:
    good = client.get("/wechat", params={**signed(), "echostr": "hello-wechat"})
    assert (good.status_code, good.text) == (200, "hello-wechat")
    forged = client.get(
        "/wechat", params={**signed(), "signature": "0" * 40, "echostr": "hello-wechat"}
    )
    assert forged.status_code == 403
    stale = client.get("/wechat", params={**signed(str(int(time.time()) - 3600)), "echostr": "x"})
    assert stale.status_code == 403
    assert "x" not in stale.text


def test_a_text_message_gets_a_passive_reply_from_the_pipeline_and_both_are_stored(
    server: RunningHeartGuard, client: httpx.Client
) -> None:
    content = reply_content(post(client, text_xml("你好")))
    assert "我是心卫" in content
    assert "1. 简体中文" in content  # buttons become numbers in WeChat
    assert "2. English" in content
    stored = lines(server)
    assert stored[0] == ("in", "wechat", "你好")
    assert [d for d, c, _ in stored if c == "wechat"].count("out") >= 2
    # Typing the option's number answers the question.
    assert "同意" in reply_content(post(client, text_xml("1")))


def test_safe_mode_messages_are_opened_and_answered_sealed(client: httpx.Client) -> None:
    crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
    stamp, nonce = str(int(time.time())), "safe-nonce"
    encrypted = crypto.encrypt(text_xml("你好"))
    body = (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
    answer = client.post(
        "/wechat",
        params={
            **signed(stamp, nonce),
            "encrypt_type": "aes",
            "msg_signature": msg_signature(TOKEN, stamp, nonce, encrypted),
        },
        content=body,
    )
    assert answer.status_code == 200
    envelope = fromstring(answer.content)
    sealed = envelope.findtext("Encrypt") or ""
    assert envelope.findtext("MsgSignature") == msg_signature(
        TOKEN, envelope.findtext("TimeStamp") or "", envelope.findtext("Nonce") or "", sealed
    )
    inner = fromstring(crypto.decrypt(sealed).encode())
    assert "我是心卫" in (inner.findtext("Content") or "")

    tampered = client.post(
        "/wechat",
        params={**signed(stamp, nonce), "encrypt_type": "aes", "msg_signature": "f" * 40},
        content=body,
    )
    assert tampered.status_code == 403


def test_a_retried_msg_id_is_handled_once_and_answered_the_same(
    server: RunningHeartGuard, client: httpx.Client
) -> None:
    body = text_xml("你好", msg_id=424242)
    first = reply_content(post(client, body))
    again = post(client, body, nonce="other-nonce")
    assert reply_content(again) == first
    assert [(d, t) for d, c, t in lines(server) if d == "in"] == [("in", "你好")]


@pytest.mark.parametrize(
    ("name", "make", "status"),
    [
        ("forged", lambda: (text_xml("我想死"), {"signature": "0" * 40}), 403),
        ("stale", lambda: (text_xml("我想死"), signed(str(int(time.time()) - 600))), 403),
        (
            "bomb",
            lambda: (
                '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
                '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Content>&b;</Content></xml>',
                {},
            ),
            400,
        ),
        ("oversized", lambda: ("<xml>" + "难" * 100_000 + "</xml>", {}), 413),
        ("empty", lambda: ("", {}), 400),
        ("not xml", lambda: ("我想死", {}), 400),
    ],
)
def test_hostile_calls_are_refused_and_nothing_is_stored(
    server: RunningHeartGuard, client: httpx.Client, name: str, make: Any, status: int
) -> None:
    body, query = make()
    answer = client.post("/wechat", params={**signed(), **query}, content=body.encode())
    assert answer.status_code == status, name
    assert lines(server) == []
    assert asyncio.run(case_requests(server.settings.database.url)) == []


def test_a_crisis_on_wechat_gets_the_crisis_lines_at_once_and_a_case(
    server: RunningHeartGuard, client: httpx.Client
) -> None:
    content = reply_content(post(client, text_xml("我已经吃了一整瓶安眠药")))
    assert "12356" in content
    assert "120" in content
    requests = asyncio.run(case_requests(server.settings.database.url))
    assert [priority for _, priority, _ in requests] == ["emergency"]


def test_a_file_reply_links_to_the_chat_page_of_the_same_student(
    server: RunningHeartGuard, client: httpx.Client
) -> None:
    post(client, text_xml("你好"))
    content = reply_content(post(client, text_xml("/mydata")))
    found = re.search(r"(http://127\.0\.0\.1:\d+/chat/enter\?t=\S+)", content)
    assert found is not None, content
    with httpx.Client(timeout=30) as browser:
        step = browser.get(found.group(1))
        assert step.status_code == 200
        assert 'href="tel:12356"' in step.text  # the crisis lines, even on this one step
        assert "heartguard-mydata.json" not in step.text  # opening the link binds nothing
        fields = dict(re.findall(r'name="(csrf|t)" value="([^"]+)"', step.text))
        page = browser.post(f"{server.url}/chat/enter", data=fields, follow_redirects=True)
        assert page.status_code == 200
        assert page.url.path == "/chat"
        assert "t=" not in str(page.url)  # the token leaves the address bar
        assert "heartguard-mydata.json" in page.text  # the WeChat conversation, on the page
        assert "你好" in page.text
        # The page continues the same student's conversation.
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        sent = browser.post(
            f"{server.url}/chat/send",
            data={"csrf": csrf.group(1), "text": "还是我"},
            headers={"Accept": "application/json"},
        )
        assert sent.json() == {"ok": True}
    with httpx.Client(timeout=30) as other_site_victim:
        # Another site posting the link's token for a visitor cannot know their CSRF token.
        other_site_victim.get(f"{server.url}/chat")
        forged = other_site_victim.post(
            f"{server.url}/chat/enter", data={"t": fields["t"], "csrf": "guess"}
        )
        assert forged.headers["location"] == "/chat"
        assert "heartguard-mydata.json" not in other_site_victim.get(f"{server.url}/chat").text
    chats = asyncio.run(identities(server.settings.database.url))
    students = {student for channel, _, student in chats}
    assert {channel for channel, _, _ in chats} == {"wechat", "web"}
    assert len(students) == 1
    expired = httpx.get(f"{server.url}/chat/enter?t=forged.token", follow_redirects=False)
    assert expired.status_code == 303
    assert expired.headers["location"] == "/chat?expired=1"
