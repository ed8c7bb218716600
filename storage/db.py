"""Async engines and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from storage import sqlite


def is_sqlite(url: str) -> bool:
    """True for the embedded SQLite backend."""
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None in memory)."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create an engine; on SQLite turn on WAL, foreign keys and explicit transactions.

    Every SQLite URL (``sqlite://`` or the older ``sqlite+aiosqlite://``) is driven by
    :mod:`storage.sqlite`, on the event loop's thread.
    """
    # hide_parameters: a statement's values (roster names, a counselor's note) never reach a
    # log line or an exception's text, so no traceback (log.exception, --debug) can carry them.
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    target: str | URL = url
    if is_sqlite(url):
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        target = make_url(url).set(drivername=f"sqlite+{sqlite.DRIVER}")
        kwargs["connect_args"] = sqlite.connect_args()
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(target, **kwargs)
    if is_sqlite(url):
        _configure_sqlite(engine, sqlite_file(url))
    return engine


def _configure_sqlite(engine: AsyncEngine, path: Path | None) -> None:
    checkpointer = sqlite.Checkpointer(path) if path is not None else None

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={sqlite.BUSY_TIMEOUT_MS}")
        if checkpointer is not None:
            # Commits on the loop never checkpoint; the checkpointer's thread does.
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            checkpointer.start()
        cursor.close()

    @event.listens_for(engine.sync_engine, "engine_disposed")
    def _on_dispose(_engine: Any) -> None:
        if checkpointer is not None:
            checkpointer.stop()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # SQLite has one writer. Taking the write lock at BEGIN (not at the first write)
        # means two writers queue instead of deadlocking on a lock upgrade, and it is the
        # claim the outbox relies on because SQLite ignores row locks. The wait for another
        # process's lock yields to the event loop instead of blocking it. Read-only
        # sessions take no lock (see storage.sqlite).
        raw = conn.connection.driver_connection
        if conn.get_execution_options().get(sqlite.READ_ONLY):
            sqlite.begin_read(raw)
        else:
            sqlite.begin_immediate(raw)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def read_sessions(
    source: AsyncEngine | async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession]:
    """Sessions for transactions that only read, on the same engine and pool.

    On SQLite they never take the write lock, so a long read never makes a writer (another
    process included) wait, and a write inside one fails at once; on PostgreSQL they are
    ordinary sessions.
    """
    engine = source if isinstance(source, AsyncEngine) else source.kw["bind"]
    if not isinstance(engine, AsyncEngine):
        raise TypeError("read_sessions needs a session factory bound to an AsyncEngine")
    if engine.dialect.name == "sqlite":
        engine = engine.execution_options(**{sqlite.READ_ONLY: True})
    return async_sessionmaker(engine, expire_on_commit=False)
