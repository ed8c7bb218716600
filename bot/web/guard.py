"""What every request goes through, whatever route group serves it.

- An access log line per request with the method, the path, the status and the time taken:
  never the query string (a WeChat callback carries the student's openid there, a link its
  token) and never a body. uvicorn's own access log is off.
- Security headers: no sniffing, no framing, no referrer, a strict Content-Security-Policy
  (every asset is ours), and ``Cache-Control: no-store`` on pages, so the back button on a
  shared computer shows nobody's conversation.
- A body limit for every route (a route may set a lower one itself).
- Faults: logged as their type and the request's id only (an exception's text may quote what
  somebody sent), answered with a fixed page that still shows the crisis lines.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("heartguard.web")
access = logging.getLogger("heartguard.web.access")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", CSP.encode("ascii")),
)
# Where assets are served (the chat page's, the console's): revalidated, not "no-store".
STATIC_PATHS = ("/static/", "/console/static/")
# Anything bigger is not something any of our pages or callers sends.
MAX_BODY = 1024 * 1024


class BodyTooLarge(Exception):
    """The body went over the limit while it was being read."""


# (status, content type, body) of the answer to a fault or an oversized body.
Fallback = Callable[[int, bool], tuple[str, bytes]]


def plain_fallback(status: int, wants_json: bool) -> tuple[str, bytes]:
    """A minimal answer when no route group supplies a kinder one."""
    if wants_json:
        return "application/json", b'{"ok": false, "error": "server error"}'
    return "text/plain; charset=utf-8", f"{status}".encode()


class Guard:
    """ASGI middleware around the whole app."""

    def __init__(
        self, app: ASGIApp, *, fallback: Fallback = plain_fallback, max_body: int = MAX_BODY
    ) -> None:
        self.app = app
        self.fallback = fallback
        self.max_body = max_body
        self._ids = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        number = next(self._ids)
        scope.setdefault("state", {})["request_number"] = number
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        state: dict[str, Any] = {"status": 0, "started": False}
        headers = dict(scope.get("headers") or ())
        wants_json = b"application/json" in headers.get(b"accept", b"")

        async def guarded_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
                out = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    if name.decode() not in out:
                        out.append(name.decode(), value.decode())
                if "cache-control" not in out:
                    static = path.startswith(STATIC_PATHS)
                    out.append("Cache-Control", "no-cache" if static else "no-store")
            await send(message)

        try:
            declared = int(headers.get(b"content-length", b"0") or 0)
        except ValueError:
            declared = 0
        try:
            if declared > self.max_body:
                raise BodyTooLarge
            await self.app(scope, self._limited(receive), guarded_send)
        except BodyTooLarge:
            if not state["started"]:
                await self._answer(guarded_send, 413, wants_json)
        except Exception as exc:
            log.error("request %s %s %s failed: %s", number, method, path, type(exc).__name__)
            if not state["started"]:
                await self._answer(guarded_send, 500, wants_json)
        finally:
            access.info(
                "%s %s %s %s %.0fms",
                number,
                method,
                path,
                state["status"] or "-",
                (time.perf_counter() - started) * 1000,
            )

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge
            return message

        return limited

    async def _answer(self, send: Send, status: int, wants_json: bool) -> None:
        content_type, body = self.fallback(status, wants_json)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type.encode("ascii")),
                    (b"content-length", str(len(body)).encode("ascii")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
