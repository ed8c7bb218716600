"""Live console pages: an event stream and long polls woken by the live hub, and what wakes them.

A queue page listens on ``/console/queue/events`` (Server-Sent Events: the new rows each time
the queue it shows changes), or where events are blocked asks ``/console/queue/poll?v=<version>``;
a case page asks ``/console/cases/{id}/poll?after=<line>`` and gets the conversation's new
lines. Both wait on the hub: the student's key (a line stored in this
process), the counselor's key (their inbox), and the console key, which
:class:`ConsoleWatcher` sets when any process stored a case event or a message (one small
query per process every quarter second, whatever the number of open pages: the newest case,
case event and message ids).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from bot.channels.inbox import InboxItem
from bot.console.pages import ConsolePages
from bot.services.case_file import CaseFiles
from bot.services.counselor_desk import Who
from bot.services.takeover import TakeoverService
from bot.web.live import LiveHub, student_key
from escalation.actions import CaseActionError

log = logging.getLogger(__name__)
CONSOLE_KEY = "console"
# A long poll answers unchanged after this long; the page asks again at once.
POLL_WAIT = 25.0
# An event stream sends a comment this often (proxies close idle streams at 30-60 s).
KEEPALIVE = 20.0
# How often a process looks for events and messages other processes stored.
WATCH_EVERY = 0.25


def counselor_key(counselor_id: int) -> str:
    """The hub key of one counselor's open console pages."""
    return f"c:{counselor_id}"


class ConsoleWatcher:
    """Wakes console pages when anything a console shows may have changed."""

    def __init__(
        self,
        high_water: Callable[[], Awaitable[tuple[int, int, int]]],
        hub: LiveHub,
        *,
        interval: float = WATCH_EVERY,
    ) -> None:
        self.high_water = high_water
        self.hub = hub
        self.interval = interval
        self._last: tuple[int, int, int] | None = None
        self._task: asyncio.Task[None] | None = None

    async def look(self) -> bool:
        """One look; True (and pages woken) when something new was stored."""
        now = await self.high_water()
        changed = self._last is not None and now != self._last
        self._last = now
        if changed:
            self.hub.notify(CONSOLE_KEY)
        return changed

    async def start(self) -> None:
        """Start watching."""
        await self.look()
        self._task = asyncio.create_task(self._run(), name="console-watcher")

    async def stop(self) -> None:
        """Stop watching."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.look()
            except Exception as exc:  # the database is away: look again next time
                log.warning("console watcher: %s", type(exc).__name__)


class ConsoleInbox:
    """The console as a counselor inbox: wakes the counselor's open pages."""

    name = "console"

    def __init__(self, hub: LiveHub) -> None:
        self.hub = hub

    async def deliver(self, item: InboxItem) -> bool:
        """Wake the counselor's pages; True when one is open (they will see it there)."""
        key = counselor_key(item.counselor_id)
        shown = self.hub.waiting(key)
        self.hub.notify(key)
        return shown


class ConsoleStream:
    """``/console/queue/poll`` and ``/console/cases/{id}/poll``."""

    def __init__(
        self,
        pages: ConsolePages,
        files: CaseFiles,
        hub: LiveHub,
        *,
        takeover: TakeoverService,
        wait: float = POLL_WAIT,
        keepalive: float = KEEPALIVE,
    ) -> None:
        self.takeover = takeover
        self.keepalive = keepalive
        self.pages = pages
        self.site = pages.site
        self.files = files
        self.hub = hub
        self.wait = wait

    def routes(self) -> list[Route]:
        """The polls' routes."""
        return [
            Route("/console/queue/events", self.queue_events, methods=["GET"]),
            Route("/console/queue/poll", self.queue, methods=["GET"]),
            Route("/console/cases/{case:int}/poll", self.case, methods=["GET"]),
        ]

    async def _sleep(self, event: asyncio.Event, deadline: float) -> bool:
        """Wait for a wake-up until the deadline; False when the time is up or we stop."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(max(0.0, deadline - loop.time())):
                await event.wait()
        except TimeoutError:
            return False
        event.clear()
        return not self.hub.closing

    def _rows_html(self, rows: list[dict[str, Any]]) -> str:
        return self.site.templates.get_template("queue_rows.html").render(rows=rows)

    async def queue_events(self, request: Request) -> Response:
        """Server-Sent Events: the queue's rows whenever they differ from what the page shows."""
        desk = await self.site.signed_in(request, touch=False)
        if desk is None:
            return Response("signed out", status_code=401, media_type="text/plain")
        return StreamingResponse(
            self._queue_events(request, desk.who, request.query_params.get("v", "")),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def _queue_events(self, request: Request, who: Who, known: str) -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        loop = asyncio.get_running_loop()
        with self.hub.listen(CONSOLE_KEY, counselor_key(who.counselor_id)) as woken:
            while not self.hub.closing:
                try:
                    rows, version = await self.pages.queue_rows(who)
                except Exception as exc:  # the database went away: end, the page comes back
                    log.warning("queue stream ended: %s", type(exc).__name__)
                    return
                if version != known:
                    known = version
                    data = json.dumps({"version": version, "html": self._rows_html(rows)})
                    yield f"data: {data}\n\n"
                if await self._sleep(woken, loop.time() + self.keepalive):
                    continue
                if self.hub.closing:
                    return
                yield ": keepalive\n\n"
                # A session that ended (signed out, idle on a shared computer) ends the stream.
                if await self.site.signed_in(request, touch=False) is None:
                    return

    async def queue(self, request: Request) -> Response:
        """The queue's rows once they differ from version ``v`` (or the same after a wait)."""
        desk = await self.site.signed_in(request, touch=False)
        if desk is None:
            return JSONResponse({"ended": True}, status_code=401)
        known = request.query_params.get("v", "")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        with self.hub.listen(CONSOLE_KEY, counselor_key(desk.who.counselor_id)) as woken:
            while True:
                rows, version = await self.pages.queue_rows(desk.who)
                if version != known or not await self._sleep(woken, deadline):
                    break
        return JSONResponse({"version": version, "html": self._rows_html(rows)})

    async def case(self, request: Request) -> Response:
        """The conversation's lines after ``after``, as soon as there is one."""
        desk = await self.site.signed_in(request, touch=False)
        if desk is None:
            return JSONResponse({"ended": True}, status_code=401)
        raw = request.query_params.get("after", "0")
        after = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else 0
        case_id = request.path_params["case"]
        try:
            case = await self.files.case(case_id, desk.who)
        except CaseActionError:
            return JSONResponse({"error": "not found"}, status_code=404)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        keys = (CONSOLE_KEY, counselor_key(desk.who.counselor_id), student_key(case.student_id))
        with self.hub.listen(*keys) as woken:
            while True:
                try:
                    case, lines = await self.files.lines_after(case_id, desk.who, after)
                except CaseActionError:
                    return JSONResponse({"error": "not found"}, status_code=404)
                if lines or not await self._sleep(woken, deadline):
                    break
        return JSONResponse(
            {
                "lines": [
                    {**line.as_json(), "time": self.site.local(line.at, "%H:%M")} for line in lines
                ],
                "status": case.status,
                # Who holds the chat now: the page reloads when it changed (the quiet timer
                # gave it back, a colleague passed it on) so its buttons tell the truth.
                "owner": await self._owner(case_id),
            }
        )

    async def _owner(self, case_id: int) -> str:
        state, counselor_id = await self.takeover.state_of(case_id)
        return f"{state.value}:{counselor_id or ''}"
