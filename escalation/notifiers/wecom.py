"""WeCom (企业微信) group robots, which reach counselors where Telegram is blocked.

The robot answers HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}`` on success and a non-zero
errcode otherwise. ``post_robot`` holds that logic for DingTalk's robot too, which speaks the
same dialect. A robot's key is a bearer credential: it never goes into an error text.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from escalation.notifiers.base import Alert, SendResult
from escalation.notifiers.render import fit, render, render_markdown
from escalation.notifiers.webhook import http_outcome, post

WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
# WeCom's documented limits: markdown content 4096 bytes, text content 2048 bytes (UTF-8).
MARKDOWN_LIMIT = 4096
TEXT_LIMIT = 2048
# -1: system busy; 45009: over the rate limit (20 messages a minute per robot). Both pass.
WECOM_RETRY = frozenset({-1, 45009})


async def post_robot(
    client: httpx.AsyncClient,
    url: str,
    body: dict[str, Any],
    *,
    within: float,
    retry_codes: Collection[int],
) -> SendResult:
    """Post a robot message and read the robot's errcode answer."""
    response = await post(client, url, within=within, json=body)
    if isinstance(response, SendResult):
        return response
    if not 200 <= response.status_code < 300:
        return http_outcome(response.status_code)
    try:
        answer = response.json()
    except ValueError:
        return SendResult.failed("robot answered with something other than JSON")
    errcode = answer.get("errcode") if isinstance(answer, dict) else None
    if errcode == 0:
        return SendResult.delivered()
    if not isinstance(errcode, int):
        return SendResult.failed("robot answered without an errcode")
    error = f"errcode {errcode}: {str(answer.get('errmsg', ''))[:200]}"
    return SendResult.retry(error) if errcode in retry_codes else SendResult.failed(error)


def robot_token(address: str, name: str) -> str:
    """The robot's key from a bare key or from the full URL an administrator copied."""
    address = address.strip()
    if "://" in address:
        return parse_qs(urlsplit(address).query).get(name, [""])[0]
    return address


class WeComNotifier:
    """Posts to a WeCom group robot; ``alert.address`` is its key (or its full webhook URL).

    errcode 0 delivered; errcode -1 or 45009 (rate limit) retry; any other errcode fails
    (permanent). HTTP and transport errors map as for webhooks.
    """

    channel = "wecom"

    def __init__(
        self,
        *,
        base_url: str = WECOM_URL,
        msgtype: Literal["markdown", "text"] = "markdown",
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if msgtype not in ("markdown", "text"):
            raise ValueError(f"wecom msgtype must be 'markdown' or 'text', not {msgtype!r}")
        self._base_url = base_url
        self._msgtype = msgtype
        self._timeout = timeout
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(follow_redirects=False)

    async def send(self, alert: Alert) -> SendResult:
        """Post one alert to the robot."""
        # Only the key is taken from the address: the configured host stays the only target.
        key = robot_token(alert.address, "key")
        if not key:
            return SendResult.failed("no WeCom robot key in the address")
        url = f"{self._base_url}?{urlencode({'key': key})}"
        return await post_robot(
            self._client, url, self.message(alert), within=self._timeout, retry_codes=WECOM_RETRY
        )

    def message(self, alert: Alert) -> dict[str, Any]:
        """The robot's JSON body for one alert."""
        if self._msgtype == "markdown":
            return {"msgtype": "markdown", "markdown": {"content": fit(
                render_markdown, alert, MARKDOWN_LIMIT)}}  # fmt: skip
        return {"msgtype": "text", "text": {"content": fit(_plain, alert, TEXT_LIMIT)}}

    async def aclose(self) -> None:
        """Close the HTTP client if this notifier made it."""
        if self._owns_client:
            await self._client.aclose()

    def __repr__(self) -> str:
        return f"WeComNotifier(msgtype={self._msgtype!r}, timeout={self._timeout})"


def _plain(alert: Alert) -> str:
    return render(alert)[1]
