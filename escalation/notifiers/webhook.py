"""Signed webhooks for hospital systems, following Standard Webhooks (standardwebhooks.com).

Each request carries ``webhook-id`` (the notification's idempotency key, so a receiver drops
retried duplicates), ``webhook-timestamp`` (unix seconds at sending) and ``webhook-signature``
(``v1,`` + base64 HMAC-SHA256 of ``"{id}.{timestamp}.{body}"``). The body holds ids and the
minimum necessary data. :func:`verify` is the receiving side, for partners and our tests.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import json
import ssl
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from core.errors import HeartGuardError
from escalation.notifiers.base import Alert, SendResult

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret


class WebhookVerificationError(HeartGuardError, ValueError):
    """A webhook failed verification: missing headers, bad signature or stale timestamp."""


def parse_secret(secret: str | bytes) -> bytes:
    """The signing key from ``whsec_<base64>`` (or bare base64); raw bytes are used as they are."""
    if isinstance(secret, bytes):
        key = secret
    else:
        encoded = secret.removeprefix(SECRET_PREFIX)
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except ValueError:  # binascii.Error included
            raise ValueError("webhook secret must be 'whsec_' followed by base64") from None
    if not key:
        raise ValueError("webhook secret must not be empty")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify(
    secret: str | bytes,
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    tolerance: int = 300,
    now: float | datetime,
) -> Any:
    """Check a received webhook and return its parsed JSON body.

    Raises:
        WebhookVerificationError: missing headers, a timestamp more than ``tolerance`` seconds
            from ``now`` (either way: replays and clock tricks), or no matching v1 signature.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id", "")
    stamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not (msg_id and stamp and signatures):
        raise WebhookVerificationError("missing webhook headers")
    if not (stamp.isascii() and stamp.isdigit()):
        raise WebhookVerificationError("bad webhook-timestamp")
    current = now.timestamp() if isinstance(now, datetime) else now
    if abs(current - int(stamp)) > tolerance:
        raise WebhookVerificationError("webhook-timestamp outside the tolerance")
    raw = body.encode() if isinstance(body, str) else body
    expected = sign(parse_secret(secret), msg_id, int(stamp), raw).encode()
    # Several space-separated signatures are allowed (key rotation); any valid v1 one will do.
    if not any(hmac.compare_digest(expected, given.encode()) for given in signatures.split()):
        raise WebhookVerificationError("no matching signature")
    return json.loads(raw)


def payload(alert: Alert) -> dict[str, Any]:
    """The JSON body: ids and the minimum necessary data, the quote only if the engine set it."""
    data: dict[str, Any] = {
        "notification_id": alert.notification_id,
        "case_id": alert.case_id,
        "case_number": alert.case_number,
        "priority": alert.priority,
        "status": alert.status,
        "school": alert.school,
        "class": alert.class_name,
        "student_display": alert.student_display,
        "reason": alert.reason,
        "explanation": alert.explanation,
    }
    if alert.link is not None:
        data["link"] = alert.link
    if alert.evidence_quote is not None and alert.kind in ("alert", "referral"):
        data["evidence_quote"] = alert.evidence_quote  # a status update repeats no evidence
    # case.alert, case.update, case.referral, case.test
    return {"type": f"case.{alert.kind}", "timestamp": alert.created_at.isoformat(), "data": data}


def http_outcome(status: int) -> SendResult:
    """What an HTTP status means for delivery (2xx ok; 410 gone; 408, 429, 5xx transient)."""
    if 200 <= status < 300:
        return SendResult.delivered()
    if status == 410:
        return SendResult.failed("HTTP 410 Gone", disable_endpoint=True)
    if status in (408, 429) or status >= 500:
        return SendResult.retry(f"HTTP {status}")
    # 3xx too: redirects are not followed, so a moved endpoint needs its address updated.
    return SendResult.failed(f"HTTP {status}")


async def post(
    client: httpx.AsyncClient, url: str, *, within: float, **request: Any
) -> httpx.Response | SendResult:
    """POST once within ``within`` seconds; a transport problem comes back as a SendResult.

    Error texts carry exception type names only: httpx messages may hold the URL, and robot
    URLs hold their access keys.
    """
    problem = _url_problem(url)
    if problem:
        return SendResult.failed(problem)
    try:
        # Per-operation timeouts alone let a slow-drip server stretch a send without bound.
        async with asyncio.timeout(within):
            return await client.post(url, timeout=within, **request)
    except (TimeoutError, httpx.TimeoutException):
        return SendResult.retry("timeout")
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        return SendResult.failed(f"bad URL ({type(exc).__name__})")
    except httpx.TransportError as exc:
        if _untrusted_certificate(exc):  # a retry cannot fix it: move on to the next channel
            return SendResult.failed("TLS certificate not trusted")
        return SendResult.retry(type(exc).__name__)
    except Exception as exc:  # the engine must never see an exception from a notifier
        return SendResult.failed(f"unexpected {type(exc).__name__}")


def _url_problem(url: str) -> str | None:
    """Minors' health data only leaves over HTTPS; plain HTTP is allowed to loopback only."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "bad URL"
    if parsed.scheme == "https" and parsed.host:
        return None
    if parsed.scheme == "http" and _is_loopback(parsed.host):
        return None
    return "refusing to send: the URL must use https (plain http only to localhost)"


def _untrusted_certificate(exc: BaseException | None) -> bool:
    for _ in range(8):  # httpx wraps httpcore, which wraps the ssl error
        if exc is None or isinstance(exc, ssl.SSLCertVerificationError):
            return exc is not None
        exc = exc.__cause__ or exc.__context__
    return False


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebhookNotifier:
    """Posts signed JSON to the URL in ``alert.address``.

    2xx delivered; 410 failed and disable the endpoint; 408, 429, 5xx, timeouts and connection
    errors retry; any other status fails (permanent).
    """

    channel = "webhook"

    def __init__(
        self,
        secret: str | bytes,
        *,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = parse_secret(secret)
        self._timeout = timeout
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(follow_redirects=False)
        self._clock = clock

    async def send(self, alert: Alert) -> SendResult:
        """Sign and post one alert; the timestamp is taken now, so a retry is signed afresh."""
        body = json.dumps(payload(alert), ensure_ascii=False, separators=(",", ":")).encode()
        stamp = int(self._clock())
        headers = {
            "content-type": "application/json; charset=utf-8",
            "user-agent": "HeartGuard-webhook/1",
            "webhook-id": alert.idempotency_key,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(self._key, alert.idempotency_key, stamp, body),
        }
        response = await post(
            self._client, alert.address, within=self._timeout, content=body, headers=headers
        )
        return response if isinstance(response, SendResult) else http_outcome(response.status_code)

    async def aclose(self) -> None:
        """Close the HTTP client if this notifier made it."""
        if self._owns_client:
            await self._client.aclose()

    def __repr__(self) -> str:
        return f"WebhookNotifier(secret='***', timeout={self._timeout})"
