"""Telling "the database cannot answer right now" apart from a bug, in one place.

A locked SQLite file, a PostgreSQL server that went away, a corrupt or unmigrated
database: each is a state of the deployment, not of the request. Channels turn it into
a 503 with ``Retry-After`` (or one line on the command line) instead of a traceback;
everything else stays an error worth a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine


class Trouble(StrEnum):
    LOCKED = "locked"
    """Another process holds the write lock (SQLite) or a lock wait timed out."""
    UNREACHABLE = "unreachable"
    """No connection: the server is down, restarting, or refused us."""
    CORRUPT = "corrupt"
    """The file is not a database, or its pages are damaged."""
    NOT_MIGRATED = "not_migrated"
    """The tables are missing: ``voicecart db upgrade`` has not run."""
    READ_ONLY = "read_only"


@dataclass(frozen=True)
class Unavailable:
    """Why the database cannot serve, said for people, and whether retrying may help."""

    trouble: Trouble
    message: str

    @property
    def retry_after_seconds(self) -> int | None:
        """How long a client should wait before retrying, or ``None`` if it won't help."""
        return {Trouble.LOCKED: 2, Trouble.UNREACHABLE: 5}.get(self.trouble)


_MESSAGES = {
    Trouble.LOCKED: "the database is busy (locked by another process); try again shortly",
    Trouble.UNREACHABLE: "the database cannot be reached; try again shortly",
    Trouble.CORRUPT: "the database file is damaged or is not a database",
    Trouble.NOT_MIGRATED: "the database has no voicecart tables: run `voicecart db upgrade`",
    Trouble.READ_ONLY: "the database is read-only for this process",
}
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03", "57014"}
"""Serialization failure, deadlock, lock not available, statement timeout."""


def _kind(exc: BaseException) -> Trouble | None:
    if isinstance(exc, sa_exc.TimeoutError):  # every pooled connection is in use
        return Trouble.LOCKED
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return Trouble.UNREACHABLE
        original: BaseException | None = exc.orig
    else:
        original = exc
    if original is None:
        return None
    text = str(original).lower()
    sqlite = type(original).__module__.startswith("sqlite3")
    if sqlite:
        if "locked" in text or "busy" in text:
            return Trouble.LOCKED
        if "not a database" in text or "malformed" in text:
            return Trouble.CORRUPT
        if "no such table" in text:
            return Trouble.NOT_MIGRATED
        if "readonly" in text or "read-only" in text:
            return Trouble.READ_ONLY
        if "unable to open" in text or "disk i/o" in text:
            return Trouble.UNREACHABLE
        return None
    if not type(original).__module__.startswith("psycopg"):
        return None
    sqlstate = str(getattr(original, "sqlstate", "") or "")
    if sqlstate in _RETRYABLE_SQLSTATES:
        return Trouble.LOCKED
    if sqlstate == "42P01":  # undefined table
        return Trouble.NOT_MIGRATED
    if sqlstate == "25006":
        return Trouble.READ_ONLY
    if sqlstate.startswith(("08", "57P")):
        return Trouble.UNREACHABLE
    if not sqlstate and type(original).__name__ == "OperationalError":
        return Trouble.UNREACHABLE  # connection-level failures carry no SQLSTATE
    return None


def unavailable(exc: BaseException) -> Unavailable | None:
    """What is wrong with the database, if ``exc`` (or its cause) says it is unavailable."""
    seen: BaseException | None = exc
    while seen is not None:
        kind = _kind(seen)
        if kind is not None:
            return Unavailable(kind, _MESSAGES[kind])
        seen = seen.__cause__ or seen.__context__
    return None


def probe(engine: Engine, *, write_wait_ms: int = 250) -> Unavailable | None:
    """Whether the database can take a write now (``None``) or why not.

    On SQLite a read succeeds while another process holds the write lock, so the probe
    asks for the write lock (``BEGIN IMMEDIATE``, waiting briefly) and gives it back.
    """
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                _probe_sqlite(connection, write_wait_ms)
            else:
                connection.exec_driver_sql("SELECT 1")
    except Exception as exc:  # anything that stops a probe is an unavailable database
        return unavailable(exc) or Unavailable(Trouble.UNREACHABLE, _MESSAGES[Trouble.UNREACHABLE])
    return None


def _probe_sqlite(connection: Connection, write_wait_ms: int) -> None:
    previous = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    connection.exec_driver_sql(f"PRAGMA busy_timeout={int(write_wait_ms)}")
    try:
        connection.exec_driver_sql("SELECT count(*) FROM alembic_version")
        connection.commit()  # leave the driver's implicit transaction before our own
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        connection.exec_driver_sql("ROLLBACK")
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={int(previous or 0)}")
