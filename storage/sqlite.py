"""SQLite for the async engine, run on the event loop's own thread.

Where statements run. SQLAlchemy's aiosqlite adapter hands every statement to a helper
thread four times (cursor, execute, fetch, close); on this project's machines each hand-off
cost about 70 µs, which was most of what a chat message cost. SQLite in WAL mode answers our
statements in microseconds from its page cache, so this dialect calls the standard
``sqlite3`` module directly inside SQLAlchemy's greenlet, and a message's whole transaction
runs without a thread switch. We decided again (issue 16) and kept it: a thread per
statement would cost every message more than it saves, and what made the loop stall was
never the thread but statements that read a whole table. So every statement a process runs
on a timer is bounded instead: it selects only what is due, through an index, in pages of
bounded size (``tests/storage/test_query_plans.py`` keeps them on their indexes, and
``bench/district.py`` measures the longest stall of the loop at a district's scale). The
price stays: a statement that is slow by nature (a full-table report) holds the loop while it
runs, so such work belongs in a CLI command, not in the bot.

Who takes the write lock. SQLite has one writer. A transaction that may write takes the lock
at its start (``BEGIN IMMEDIATE``): a deferred transaction that reads and then writes must
*upgrade* its lock, and in WAL mode that upgrade fails at once with "database is locked"
(``SQLITE_BUSY_SNAPSHOT``, no busy handler) whenever another process committed since it
started reading, so read-modify-write transactions such as a message's step could fail at
random. Transactions that only read take no write lock at all: they come from a read-only
session factory (:func:`storage.db.read_sessions`), whose connections carry the
:data:`READ_ONLY` execution option; their ``BEGIN`` is deferred and ``PRAGMA query_only``
is on, so a write slipped into one fails loudly ("attempt to write a readonly database")
instead of upgrading. The code says which it is by the factory it opens, which is explicit
where a deferred BEGIN that upgrades would be implicit and racy.

Checkpoints. A commit that grows the write-ahead log past SQLite's threshold copies it into
the database file and syncs it (a checkpoint) inside that commit, on the loop's thread: on a
busy disk that held the loop for tens of milliseconds. So the engine's own connections never
checkpoint (``wal_autocheckpoint=0``), and a :class:`Checkpointer` thread with its own
connection runs a passive checkpoint every second, which waits for nobody and blocks nobody.

Waiting for the lock. Taking the write lock while another process (a worker, a CLI import)
holds it must never block the event loop, so ``BEGIN IMMEDIATE`` is tried without waiting
and retried after ``asyncio.sleep`` with a growing pause, up to ``LOCK_WAIT`` seconds;
SQLite's own busy timeout is kept short for the rare statement that still meets a lock (WAL
readers do not). Deployments that need more than one machine's worth of writers use
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.util.concurrency import await_, in_greenlet

DRIVER = "heartguard"
# Execution option of connections whose transactions only read (see the module docstring).
READ_ONLY = "heartguard_read_only"
# How long a transaction waits for another process's write lock before giving up (seconds).
LOCK_WAIT = 30.0
# SQLite's own wait for the rare lock met outside BEGIN; this one does block the loop.
BUSY_TIMEOUT_MS = 1000
# How often the checkpointer copies the write-ahead log into the database (seconds).
CHECKPOINT_EVERY = 1.0
_FIRST_PAUSE = 0.0005
_LONGEST_PAUSE = 0.05


class Cursor(sqlite3.Cursor):
    """A ``sqlite3`` cursor with the one coroutine SQLAlchemy's async results call."""

    async def _async_soft_close(self) -> None:
        """Nothing to do: ``sqlite3`` keeps pending rows readable without a thread."""


class Connection(sqlite3.Connection):
    """A ``sqlite3`` connection whose cursors are :class:`Cursor`."""

    # Whether PRAGMA query_only is on now: set only when it changes (a statement saved).
    query_only = False

    def cursor(self, factory: Any = Cursor) -> Any:
        """A new cursor (of ours unless told otherwise)."""
        return super().cursor(factory)


def connect_args() -> dict[str, Any]:
    """What ``create_engine`` passes to ``sqlite3.connect``."""
    return {
        "factory": Connection,
        "timeout": BUSY_TIMEOUT_MS / 1000,
        # The pool hands a connection to one task at a time, on whichever thread runs the loop.
        "check_same_thread": False,
    }


async def _done() -> None:
    """An awaitable that finishes at once: awaiting it never yields to the event loop."""


def _handoff() -> None:
    # AsyncConnection.execute insists that the driver awaited something. Handing SQLAlchemy's
    # greenlet an awaitable that is already done satisfies that for two greenlet switches
    # (about a microsecond) without letting other tasks in mid-statement.
    if in_greenlet():
        await_(_done())


class InlineSQLiteDialect(SQLiteDialect_pysqlite):
    """pysqlite, declared async so that ``create_async_engine`` accepts it."""

    driver = DRIVER
    is_async = True
    supports_statement_cache = True

    def do_execute(self, cursor: Any, statement: Any, parameters: Any, context: Any = None) -> None:
        _handoff()
        cursor.execute(statement, parameters)

    def do_execute_no_params(self, cursor: Any, statement: Any, context: Any = None) -> None:
        _handoff()
        cursor.execute(statement)

    def do_executemany(
        self, cursor: Any, statement: Any, parameters: Any, context: Any = None
    ) -> None:
        _handoff()
        cursor.executemany(statement, parameters)

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        # A file database gets a pool that waits with asyncio; memory keeps one connection.
        if cls._is_url_file_db(url):
            return pool.AsyncAdaptedQueuePool
        return pool.StaticPool


registry.register(f"sqlite.{DRIVER}", __name__, "InlineSQLiteDialect")
log = logging.getLogger(__name__)


class Checkpointer:
    """Checkpoints one database file's write-ahead log on its own thread (see above)."""

    def __init__(self, path: Path, every: float = CHECKPOINT_EVERY) -> None:
        self.path = path
        self.every = every
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start checkpointing, unless already running (an engine reused after dispose too)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run,
                args=(self._stop,),
                name=f"sqlite-checkpoint:{self.path.name}",
                daemon=True,
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop after the checkpoint in progress, without waiting for it (nor blocking a loop)."""
        with self._lock:
            self._thread = None
            self._stop.set()

    def _run(self, stop: threading.Event) -> None:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            while not stop.wait(self.every):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # the next second tries again
                    log.debug("checkpoint of %s skipped: %s", self.path.name, exc)
        finally:
            connection.close()


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def _pause(seconds: float) -> None:
    # Inside SQLAlchemy's greenlet the loop runs other work meanwhile; a plain thread (a
    # synchronous caller) can only sleep.
    if in_greenlet():
        await_(asyncio.sleep(seconds))
    else:
        time.sleep(seconds)


def _query_only(raw: Any, on: bool) -> None:
    if getattr(raw, "query_only", None) is not on:
        raw.execute(f"PRAGMA query_only={int(on)}")
        if isinstance(raw, Connection):
            raw.query_only = on


def begin_read(raw: Any) -> None:
    """A deferred ``BEGIN`` that may only read: it never takes or waits for the write lock."""
    _query_only(raw, True)
    raw.execute("BEGIN")


def begin_immediate(raw: Any, *, wait: float | None = None) -> None:
    """``BEGIN IMMEDIATE`` on a ``sqlite3`` connection, waiting for the lock without blocking.

    Raises ``sqlite3.OperationalError`` ("database is locked") after ``wait`` seconds
    (default ``LOCK_WAIT``).
    """
    deadline = time.monotonic() + (LOCK_WAIT if wait is None else wait)
    pause = _FIRST_PAUSE
    _query_only(raw, False)
    raw.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
            _pause(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)
    finally:
        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
