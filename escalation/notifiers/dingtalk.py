"""DingTalk (钉钉) group robots with request signing (加签).

Each request carries ``timestamp`` (milliseconds) and ``sign`` = URL-encoded base64 of
HMAC-SHA256 keyed with the robot's secret over ``f"{timestamp}\\n{secret}"``. DingTalk rejects
timestamps more than an hour off, so the signature is made per send, never cached.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal
from urllib.parse import urlencode

import httpx

from escalation.notifiers.base import Alert, SendResult
from escalation.notifiers.render import fit, render, render_markdown, subject
from escalation.notifiers.wecom import post_robot, robot_token

DINGTALK_URL = "https://oapi.dingtalk.com/robot/send"
# Kept well under DingTalk's message size limit (about 20,000 bytes).
CONTENT_LIMIT = 18000
# -1: system busy; 130101: sending too fast (20 messages a minute per robot). Both pass.
DINGTALK_RETRY = frozenset({-1, 130101})


def signature(secret: str, timestamp_ms: int) -> str:
    """The base64 signature, before URL encoding."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


class DingTalkNotifier:
    """Posts to a DingTalk group robot; ``alert.address`` is its access token (or full URL).

    ``secret`` is the robot's signing secret (``SEC…``), or a mapping from access token to
    secret when several robots are configured (each robot has its own).

    errcode 0 delivered; errcode -1 or 130101 (rate limit) retry; any other errcode fails
    (permanent), as does a robot with no secret configured. HTTP and transport errors map as
    for webhooks.
    """

    channel = "dingtalk"

    def __init__(
        self,
        secret: str | Mapping[str, str],
        *,
        base_url: str = DINGTALK_URL,
        msgtype: Literal["markdown", "text"] = "markdown",
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("a DingTalk robot needs its signing secret")
        if msgtype not in ("markdown", "text"):
            raise ValueError(f"dingtalk msgtype must be 'markdown' or 'text', not {msgtype!r}")
        self._secret = secret
        self._base_url = base_url
        self._msgtype = msgtype
        self._timeout = timeout
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(follow_redirects=False)
        self._clock = clock

    async def send(self, alert: Alert) -> SendResult:
        """Sign and post one alert to the robot."""
        token = robot_token(alert.address, "access_token")
        if not token:
            return SendResult.failed("no DingTalk access token in the address")
        secret = self._secret if isinstance(self._secret, str) else self._secret.get(token)
        if not secret:
            return SendResult.failed("no DingTalk signing secret configured for this robot")
        stamp = int(self._clock() * 1000)
        query = urlencode(
            {"access_token": token, "timestamp": stamp, "sign": signature(secret, stamp)}
        )
        return await post_robot(
            self._client,
            f"{self._base_url}?{query}",
            self.message(alert),
            within=self._timeout,
            retry_codes=DINGTALK_RETRY,
        )

    def message(self, alert: Alert) -> dict[str, Any]:
        """The robot's JSON body; the markdown title is what shows in the chat list."""
        if self._msgtype == "markdown":
            # DingTalk markdown needs a blank line to break lines.
            text = fit(_markdown, alert, CONTENT_LIMIT)
            return {"msgtype": "markdown", "markdown": {"title": subject(alert), "text": text}}
        return {"msgtype": "text", "text": {"content": fit(_plain, alert, CONTENT_LIMIT)}}

    async def aclose(self) -> None:
        """Close the HTTP client if this notifier made it."""
        if self._owns_client:
            await self._client.aclose()

    def __repr__(self) -> str:
        return f"DingTalkNotifier(secret='***', msgtype={self._msgtype!r})"


def _markdown(alert: Alert) -> str:
    return render_markdown(alert, line_break="\n\n")


def _plain(alert: Alert) -> str:
    return render(alert)[1]
