"""Database faults named in words an administrator can act on.

"internal error (OperationalError)" helps nobody at 3 a.m. A read-only database, a full disk,
a lock held by another process or a server that went away each get one plain line, on SQLite
and PostgreSQL alike. The engine also uses :func:`describe` to tell a fault of the database
(every case would fail the same way: stop the pass) from a fault of one case (record it and
go on with the others).
"""

from __future__ import annotations

import socket
import sqlite3

from sqlalchemy.exc import DBAPIError, InterfaceError

# SQLite primary result codes (the low byte of the extended code).
_SQLITE = {
    sqlite3.SQLITE_READONLY: "the database is read-only",
    sqlite3.SQLITE_FULL: "the disk holding the database is full",
    sqlite3.SQLITE_IOERR: "the database file cannot be read or written (disk I/O error)",
    sqlite3.SQLITE_BUSY: "the database is locked by another process",
    sqlite3.SQLITE_LOCKED: "the database is locked by another process",
    sqlite3.SQLITE_CANTOPEN: "the database file cannot be opened",
    sqlite3.SQLITE_CORRUPT: "the database file is damaged",
    sqlite3.SQLITE_NOTADB: "the database file is not a SQLite database",
}
# PostgreSQL SQLSTATEs, exact first, then by class (the first two characters).
_PG_STATES = {
    "25006": "the database is read-only",
    "53100": "the disk holding the database is full",
    "53200": "the database server is out of memory",
    "53300": "the database server has too many connections",
    "57P01": "the database server is shutting down",
    "57P02": "the database server is shutting down",
    "57P03": "the database server is not accepting connections yet",
}
_PG_CLASSES = {
    "08": "the connection to the database was lost",
    "53": "the database server is out of resources",
    "57": "the database server stopped the work (operator intervention)",
    "58": "the database server has a system error (disk or file)",
}


def describe(exc: BaseException) -> str | None:
    """A one-line cause when ``exc`` is a fault of the database itself, else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _one(current)
        if found is not None:
            return found
        current = current.__cause__ or current.__context__
    return None


def _one(exc: BaseException) -> str | None:
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        if orig is not None and orig is not exc:
            found = _one(orig)
            if found is not None:
                return found
        if exc.connection_invalidated or isinstance(exc, InterfaceError):
            return "the connection to the database was lost"
        return None
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None:
            return _SQLITE.get(code & 0xFF)
        text = str(exc).lower()
        if "readonly" in text or "read-only" in text:
            return _SQLITE[sqlite3.SQLITE_READONLY]
        if "disk is full" in text:
            return _SQLITE[sqlite3.SQLITE_FULL]
        return None
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if isinstance(state, str) and len(state) == 5:
        return _PG_STATES.get(state) or _PG_CLASSES.get(state[:2])
    if type(exc).__name__ in ("ConnectionDoesNotExistError", "InterfaceError"):
        return "the connection to the database was lost"
    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror)):
        return "cannot reach the database"
    return None
