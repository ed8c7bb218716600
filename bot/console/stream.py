"""Live console pages: long polls woken by the live hub, and what wakes them.

A queue page asks ``/console/queue/poll?v=<version>`` and gets the new rows as soon as the
queue it shows changed; a case page asks ``/console/cases/{id}/poll?after=<line>`` and gets
the conversation's new lines. Both wait on the hub: the student's key (a line stored in this
process), the counselor's key (their inbox), and the console key, which
:class:`ConsoleWatcher` sets when any process stored a case event or a message (one small
query per process every quarter second, whatever the number of open pages).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.channels.inbox import InboxItem
from bot.console.pages import ConsolePages
from bot.services.case_file import CaseFiles
from bot.web.live import LiveHub, student_key
from escalation.actions import CaseActionError
from storage.models import CaseEvent, Message

log = logging.getLogger(__name__)
CONSOLE_KEY = "console"
# A long poll answers unchanged after this long; the page asks again at once.
POLL_WAIT = 25.0
# How often a process looks for events and messages other processes stored.
WATCH_EVERY = 0.25


def counselor_key(counselor_id: int) -> str:
    """The hub key of one counselor's open console pages."""
    return f"c:{counselor_id}"


class ConsoleWatcher:
    """Wakes console pages when anything a console shows may have changed."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        hub: LiveHub,
        *,
        interval: float = WATCH_EVERY,
    ) -> None:
        self.sessions = sessions
        self.hub = hub
        self.interval = interval
        self._last: tuple[int, int] | None = None
        self._task: asyncio.Task[None] | None = None

    async def look(self) -> bool:
        """One look; True (and pages woken) when something new was stored."""
        async with self.sessions() as session:
            events = await session.scalar(select(func.max(CaseEvent.id)))
            messages = await session.scalar(select(func.max(Message.id)))
        now = (events or 0, messages or 0)
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
        self, pages: ConsolePages, files: CaseFiles, hub: LiveHub, *, wait: float = POLL_WAIT
    ) -> None:
        self.pages = pages
        self.site = pages.site
        self.files = files
        self.hub = hub
        self.wait = wait

    def routes(self) -> list[Route]:
        """The polls' routes."""
        return [
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
        html = self.site.templates.get_template("queue_rows.html").render(
            rows=rows, local=self.site._local
        )
        return JSONResponse({"version": version, "html": html})

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
                    {**line.as_json(), "time": self.site._local(line.at, "%H:%M")} for line in lines
                ],
                "status": case.status,
            }
        )
