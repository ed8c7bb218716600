"""WeChat's send APIs: customer-service and subscription messages, with a cached access token.

Every send ends in a :class:`SendResult` and never raises for anything WeChat or the network
does: delivered, blocked (the student cannot be reached this way now), retry later, or failed
(a configuration problem that retrying will not fix). An access token WeChat calls expired is
refreshed once and the send retried once.

The token comes from ``/cgi-bin/stable_token``, which, unlike ``/cgi-bin/token``, does not
invalidate the token another process of ours holds. Logs carry the endpoint and ``errcode``
only: never an openid, never a message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from types import TracebackType
from typing import Any

import httpx

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.weixin.qq.com"
TOKEN_PATH = "/cgi-bin/stable_token"  # noqa: S105 - a URL path, not a secret
CUSTOMER_SERVICE_PATH = "/cgi-bin/message/custom/send"
# A service account's subscription notice (订阅通知). /cgi-bin/message/subscribe/send is the
# mini-program API and refuses a service account's templates.
SUBSCRIPTION_PATH = "/cgi-bin/message/subscribe/bizsend"
# Renew a token this long before WeChat says it expires, so a send never races the expiry.
TOKEN_MARGIN_SECONDS = 300.0


class Outcome(Enum):
    """What became of a send."""

    DELIVERED = "delivered"
    BLOCKED = "blocked"
    RETRY_LATER = "retry_later"
    FAILED = "failed"


@dataclass(frozen=True)
class SendResult:
    """The outcome of one send, WeChat's ``errcode`` and a short fixed reason."""

    outcome: Outcome
    errcode: int = 0
    reason: str = ""

    @property
    def delivered(self) -> bool:
        """Whether WeChat accepted the message."""
        return self.outcome is Outcome.DELIVERED


DELIVERED = SendResult(Outcome.DELIVERED, 0, "ok")

# errcodes that mean this student cannot be reached this way now.
BLOCKED_CODES: Mapping[int, str] = {
    40003: "unknown openid",
    43004: "the student unsubscribed",
    43019: "the student blocked the account",
    43101: "the student did not accept (or used up) the subscription",
    45015: "outside the 48-hour window",
    45047: "customer-service message limit reached",
}
# errcodes that a later try may not meet.
RETRY_CODES: Mapping[int, str] = {
    -1: "WeChat is busy",
    45009: "daily API quota reached",
    45011: "API rate limit reached",
}
# errcodes that mean the access token is stale: refresh it once and try again.
TOKEN_CODES = frozenset({40001, 40014, 42001})


def classify(errcode: int) -> SendResult:
    """The result WeChat's ``errcode`` stands for (any code not listed is a failure)."""
    if errcode == 0:
        return DELIVERED
    if errcode in BLOCKED_CODES:
        return SendResult(Outcome.BLOCKED, errcode, BLOCKED_CODES[errcode])
    if errcode in RETRY_CODES:
        return SendResult(Outcome.RETRY_LATER, errcode, RETRY_CODES[errcode])
    if errcode in TOKEN_CODES:
        return SendResult(Outcome.RETRY_LATER, errcode, "access token refused")
    return SendResult(Outcome.FAILED, errcode, "refused by WeChat")


class _CallFailed(Exception):
    """A call ended without WeChat's answer to it; carries the result to report."""

    def __init__(self, result: SendResult) -> None:
        super().__init__(result.reason)
        self.result = result


class WeChatApi:
    """An async client for one official account's send APIs."""

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        http: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app_id = app_id
        self._secret = app_secret
        self._base_url = base_url.rstrip("/")
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=timeout)
        self._clock = clock
        self._token: str | None = None
        self._token_expires = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"WeChatApi(app_id={self._app_id!r}, secret='***', base_url={self._base_url!r})"

    async def __aenter__(self) -> WeChatApi:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client, if this object made it."""
        if self._owns_http:
            await self._http.aclose()

    async def send_text(self, openid: str, text: str) -> SendResult:
        """Send a customer-service text message (the caller checks the window first)."""
        payload = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        return await self._send(CUSTOMER_SERVICE_PATH, payload)

    async def send_subscription(
        self,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        *,
        page: str | None = None,
    ) -> SendResult:
        """Send a subscription notice; ``data`` maps the template's keys to their values."""
        payload: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
        }
        if page:
            payload["page"] = page
        return await self._send(SUBSCRIPTION_PATH, payload)

    async def _send(self, path: str, payload: Mapping[str, Any]) -> SendResult:
        result = classify(-1)
        for _ in range(2):
            try:
                token = await self._access_token()
            except _CallFailed as failed:
                result = failed.result
                break
            try:
                result = classify(await self._post(path, payload, token))
            except _CallFailed as failed:
                result = failed.result
            if result.errcode not in TOKEN_CODES:
                break
            self._forget(token)
        log.info("wechat %s: %s (errcode %s)", path, result.outcome.value, result.errcode)
        return result

    def _forget(self, token: str) -> None:
        # Only the token WeChat refused: another send may already have fetched a fresh one.
        if self._token == token:
            self._token = None

    async def _access_token(self) -> str:
        async with self._lock:
            if self._token is not None and self._clock() < self._token_expires:
                return self._token
            answer = await self._call(
                TOKEN_PATH,
                {
                    "grant_type": "client_credential",
                    "appid": self._app_id,
                    "secret": self._secret,
                    "force_refresh": False,
                },
                params={},
            )
            token = answer.get("access_token")
            if not isinstance(token, str) or not token:
                result = _token_refused(_errcode(answer))
                log.warning("wechat token: %s (errcode %s)", result.outcome.value, result.errcode)
                raise _CallFailed(result)
            lifetime = answer.get("expires_in")
            seconds = float(lifetime) if isinstance(lifetime, int | float) else 7200.0
            margin = min(TOKEN_MARGIN_SECONDS, seconds / 2)
            self._token = token
            self._token_expires = self._clock() + seconds - margin
            return token

    async def _post(self, path: str, payload: Mapping[str, Any], token: str) -> int:
        return _errcode(await self._call(path, payload, params={"access_token": token}))

    async def _call(
        self, path: str, payload: Mapping[str, Any], *, params: Mapping[str, str]
    ) -> dict[str, Any]:
        # UTF-8 text, not \u escapes, which some of WeChat's APIs show to the user verbatim.
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            response = await self._http.post(
                self._base_url + path,
                params=params,
                content=body,
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
        except httpx.HTTPError as exc:
            log.warning("wechat %s: network error %s", path, type(exc).__name__)
            raise _CallFailed(SendResult(Outcome.RETRY_LATER, -1, "network error")) from exc
        if response.status_code != httpx.codes.OK:
            log.warning("wechat %s: HTTP %s", path, response.status_code)
            raise _CallFailed(SendResult(Outcome.RETRY_LATER, -1, "HTTP error"))
        try:
            answer = response.json()
        except ValueError as exc:
            raise _CallFailed(SendResult(Outcome.RETRY_LATER, -1, "not JSON")) from exc
        if not isinstance(answer, dict):
            raise _CallFailed(SendResult(Outcome.RETRY_LATER, -1, "not a JSON object"))
        return answer


def _token_refused(errcode: int) -> SendResult:
    if errcode == 0:
        return SendResult(Outcome.RETRY_LATER, -1, "no token in the answer")
    if errcode in TOKEN_CODES:
        # At the token endpoint these mean the AppSecret itself is wrong.
        return SendResult(Outcome.FAILED, errcode, "the AppID or AppSecret was refused")
    return classify(errcode)


def _errcode(answer: Mapping[str, Any]) -> int:
    code = answer.get("errcode", 0)
    return code if isinstance(code, int) and not isinstance(code, bool) else -1
