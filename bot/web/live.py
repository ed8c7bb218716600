"""Waking open pages when a line is stored: in this process at once, from others by polling.

A page's event stream (or long poll) waits on :class:`LiveHub` keys: its chat identity and
its student. Whoever stores a line in this process (a channel's port, later a counselor's
console) notifies the keys, and the page reads the new lines from the database at once. A
line stored by another process is noticed by :class:`LineWatcher`, one small query a second
per process whatever the number of open pages; each page also re-reads on its own keepalive,
so a missed wake-up costs seconds, never a line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterator

log = logging.getLogger(__name__)


def identity_key(channel: str, external_id: str) -> str:
    """The hub key of a chat identity (a page before its student is known)."""
    return f"i:{channel}:{external_id}"


def student_key(student_id: int) -> str:
    """The hub key of a student (every page showing their conversation)."""
    return f"s:{student_id}"


class LiveHub:
    """In-process wake-ups for pages waiting on new lines."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = {}
        # The newest line of each student this process stored and announced itself: the
        # watcher need not wake their pages again for it.
        self._announced: dict[int, int] = {}
        self.closing = False

    @contextlib.contextmanager
    def listen(self, *keys: str) -> Iterator[asyncio.Event]:
        """An event set when any of ``keys`` is notified (or the hub closes)."""
        event = asyncio.Event()
        if self.closing:
            event.set()
        for key in keys:
            self._waiting.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            for key in keys:
                waiting = self._waiting.get(key)
                if waiting is not None:
                    waiting.discard(event)
                    if not waiting:
                        del self._waiting[key]

    def notify(self, *keys: str) -> None:
        """Wake every page waiting on any of ``keys``."""
        for key in keys:
            for event in self._waiting.get(key, ()):
                event.set()

    def announce(self, student_id: int, line_id: int, *keys: str) -> None:
        """Lines up to ``line_id`` were stored for a student here: wake their pages now."""
        if len(self._announced) >= _REMEMBER * 5:
            self._announced.clear()  # only a saving: at worst a page reads once more
        if line_id > self._announced.get(student_id, 0):
            self._announced[student_id] = line_id
        self.notify(student_key(student_id), *keys)

    def announced(self, student_id: int, line_id: int) -> bool:
        """Whether this process already woke the student's pages for this line."""
        return line_id <= self._announced.get(student_id, 0)

    def waiting(self, key: str) -> bool:
        """Whether any page waits on ``key`` now (an inbox asks: is anyone looking?)."""
        return bool(self._waiting.get(key))

    @property
    def listeners(self) -> int:
        """How many waits are open (for tests and logs)."""
        return len({id(event) for events in self._waiting.values() for event in events})

    def close(self) -> None:
        """Wake every page for good: the server is stopping, streams end."""
        self.closing = True
        for events in self._waiting.values():
            for event in events:
                event.set()


# Lines whose ids were noticed are remembered this long (ids), so a line committed late
# (PostgreSQL hands out ids before commit) is noticed when it appears below the cursor.
_REMEMBER = 2000
_LOOK_BACK = 200


class LineWatcher:
    """Polls for lines other processes stored and wakes this process's pages."""

    def __init__(
        self,
        hub: LiveHub,
        changed: Callable[[int], Awaitable[list[tuple[int, int]]]],
        newest: Callable[[], Awaitable[int]],
        *,
        interval: float = 1.0,
    ) -> None:
        self.hub = hub
        self.changed = changed
        self.newest = newest
        self.interval = interval
        self._seen: deque[int] = deque(maxlen=_REMEMBER)
        self._seen_set: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self.cursor = 0

    async def start(self) -> None:
        """Start watching from the newest line stored now."""
        self.cursor = await self.newest()
        await self.poll(wake=False)  # what is stored already woke its pages long ago
        self._task = asyncio.create_task(self._run(), name="line-watcher")

    async def stop(self) -> None:
        """Stop watching."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def poll(self, *, wake: bool = True) -> int:
        """One look; returns how many new lines woke pages."""
        rows = await self.changed(max(0, self.cursor - _LOOK_BACK))
        fresh = [(line, student) for line, student in rows if line not in self._seen_set]
        for line, _ in fresh:
            if len(self._seen) == self._seen.maxlen:
                self._seen_set.discard(self._seen[0])
            self._seen.append(line)
            self._seen_set.add(line)
        if rows:
            self.cursor = max(self.cursor, rows[-1][0])
        if wake:
            self.hub.notify(
                *{
                    student_key(student)
                    for line, student in fresh
                    if not self.hub.announced(student, line)
                }
            )
        return len(fresh)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.poll()
            except Exception as exc:  # the database is away: try again next time
                log.warning("line watcher: %s", type(exc).__name__)
