"""Calls as WeChat makes them: signed query strings and message XML, built by the tests."""

from __future__ import annotations

import itertools
import time

import httpx
from defusedxml.ElementTree import fromstring

from bot.channels.wechat.crypto import signature

TOKEN = "wechat-test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx0123456789abcdef"
ACCOUNT = "gh_heartguard"
OPENID = "oStudent_0001"
_ids = itertools.count(6_000_000_000_000_000_001)


def signed(timestamp: str | None = None, nonce: str = "n0nce") -> dict[str, str]:
    stamp = timestamp or str(int(time.time()))
    return {
        "signature": signature(TOKEN, stamp, nonce),
        "timestamp": stamp,
        "nonce": nonce,
        "openid": OPENID,
    }


def text_xml(content: str, msg_id: int | None = None, openid: str = OPENID) -> str:
    number = msg_id if msg_id is not None else next(_ids)
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{number}</MsgId></xml>"
    )


def post(client: httpx.Client, body: str | bytes, nonce: str = "n0nce") -> httpx.Response:
    return client.post("/wechat", params=signed(nonce=nonce), content=body)


def reply_content(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    root = fromstring(response.content)
    assert root.findtext("ToUserName") == OPENID
    assert root.findtext("FromUserName") == ACCOUNT
    return root.findtext("Content") or ""
