"""Live lines for the chat page: Server-Sent Events, and long polling where events fail.

Both wait on the live hub (woken at once when a line for this chat is stored in this process,
within a second from another process) and read the lines after the page's last one from the
database, so nothing shown depends on what this process happens to remember. A stream also
re-reads on every keepalive and ends when its session does, or when the server stops.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from bot.channels.web import CHANNEL
from bot.channels.web.chat import chat_line
from bot.channels.web.lines import ChatLine
from bot.services.transcript import Transcript
from bot.web.live import LiveHub, identity_key, student_key
from bot.web.sessions import Browser, CookieSessions

log = logging.getLogger(__name__)
# The contract asks for a comment every 15-25 s; proxies close idle streams at 30-60 s.
KEEPALIVE = 20.0
# A long poll answers empty after this long; the page gives up on one at 40 s.
POLL_WAIT = 25.0


def _cursor(value: str | None) -> int:
    try:
        return max(int(value or 0), 0)
    except ValueError:
        return 0


class LineStream:
    """``/chat/events`` and ``/chat/poll``."""

    def __init__(
        self,
        *,
        transcript: Transcript,
        cookies: CookieSessions,
        live: LiveHub,
        zone: ZoneInfo,
        keepalive: float = KEEPALIVE,
        poll_wait: float = POLL_WAIT,
    ) -> None:
        self.transcript = transcript
        self.cookies = cookies
        self.live = live
        self.zone = zone
        self.keepalive = keepalive
        self.poll_wait = poll_wait

    def routes(self) -> list[Route]:
        """The stream's routes."""
        return [
            Route("/chat/events", self.events, methods=["GET"]),
            Route("/chat/poll", self.poll, methods=["GET"]),
        ]

    async def _next(
        self, subject: str, after: int, wait: float, known: int | None
    ) -> tuple[list[ChatLine] | None, int | None]:
        """Lines after ``after``, waiting up to ``wait`` for the first (None when stopping),
        and the student the chat belongs to now (``known``: as last seen)."""
        keys = [identity_key(CHANNEL, subject)]
        if known is not None:
            keys.append(student_key(known))
        # Listen before reading: a line stored between the read and the wait still wakes us.
        with self.live.listen(*keys) as woken:
            student, lines = await self.transcript.chat_after(CHANNEL, subject, after)
            current = student.student_id if student is not None else None
            if lines or current != known:
                # New lines, or a new student to listen for (first message, a roster link).
                return [chat_line(line, self.zone) for line in lines], current
            if self.live.closing:
                return None, current
            try:
                async with asyncio.timeout(wait):
                    await woken.wait()
            except TimeoutError:
                pass
        return (None if self.live.closing else []), current

    async def events(self, request: Request) -> Response:
        """Server-Sent Events: one event per stored line, a comment every ``keepalive``."""
        found = await self.cookies.current(request, touch=False)
        if not isinstance(found, Browser):
            return Response("session ended", status_code=401, media_type="text/plain")
        after = max(
            _cursor(request.query_params.get("after")),
            _cursor(request.headers.get("last-event-id")),
        )
        return StreamingResponse(
            self._events(request, found, after),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def _events(self, request: Request, browser: Browser, after: int) -> AsyncIterator[str]:
        # Tell the browser how soon to come back after the server ends a stream.
        yield "retry: 2000\n\n"
        waited = 0.0
        known: int | None = None
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                lines, known = await self._next(
                    browser.subject, after, self.keepalive - waited, known
                )
            except Exception as exc:  # the database went away: end, the browser comes back
                log.warning("event stream ended: %s", type(exc).__name__)
                return
            if lines is None:
                return
            for line in lines:
                data = json.dumps(line.as_json(), ensure_ascii=False)
                yield f"id: {line.id}\ndata: {data}\n\n"
                after = line.id
            if lines:
                waited = 0.0
                continue
            waited += loop.time() - started
            if waited < self.keepalive - 0.5:
                continue  # woken without a line for us (a sibling's line, say): wait on
            waited = 0.0
            yield ": keepalive\n\n"
            # A session that ended (shared computer left idle, signed out) ends the stream.
            if not isinstance(await self.cookies.current(request, touch=False), Browser):
                return

    async def poll(self, request: Request) -> Response:
        """Long polling: the lines after ``after`` as soon as there is one, or none after a wait."""
        found = await self.cookies.current(request, touch=False)
        if not isinstance(found, Browser):
            return JSONResponse({"lines": [], "ended": True}, status_code=401)
        after = _cursor(request.query_params.get("after"))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.poll_wait
        known: int | None = None
        while True:
            lines, known = await self._next(
                found.subject, after, max(0.0, deadline - loop.time()), known
            )
            if lines is None or lines or loop.time() >= deadline:
                break
        return JSONResponse({"lines": [line.as_json() for line in lines or []]})
