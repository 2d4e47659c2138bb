"""The database plumbing: the engine, the session factory, migrations and the demo data.

One engine per process (SQLite tuned for concurrent workers, PostgreSQL failing fast),
the one session factory that keeps the catalogue revision current, and Alembic run from
code, so the CLI, the app, the tests and the benchmarks open the database alike.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from voicecart.settings import ROOT, Settings

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = ROOT / "migrations"

log = logging.getLogger("voicecart")


def _ensure_sqlite_directory(settings: Settings) -> None:
    """Create the folder of a SQLite file (``instance/`` on a fresh clone)."""
    if settings.is_sqlite:
        path = settings.database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def make_engine(settings: Settings) -> Engine:
    """One engine per process. SQLite gets foreign keys, WAL and a busy timeout."""
    wait_ms = settings.db_lock_timeout * 1000
    if settings.is_sqlite:
        _ensure_sqlite_directory(settings)
        engine = create_engine(
            settings.database_url,
            connect_args={"timeout": settings.db_lock_timeout, "check_same_thread": False},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={wait_ms}")
            cursor.close()

        return engine
    return create_engine(
        settings.database_url,
        pool_pre_ping=True,
        # A server that is down fails fast; a lock held too long is a 503, not a hang.
        connect_args={"connect_timeout": 5, "options": f"-c lock_timeout={wait_ms}"},
    )


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    """The one session factory; its sessions keep the catalogue revision up to date."""
    from catalog.revision import track_catalogue_changes

    sessions = sessionmaker(engine, expire_on_commit=False)
    track_catalogue_changes(sessions)
    return sessions


def alembic_config(settings: Settings) -> Config:
    """Alembic pointed at ``migrations/`` and this database, without an alembic.ini."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    return config


def upgrade_database(settings: Settings) -> None:
    """Apply pending Alembic migrations (idempotent); one log line says what changed."""
    from alembic import command

    _ensure_sqlite_directory(settings)
    before = _schema_revision(settings)
    command.upgrade(alembic_config(settings), "head")
    after = _schema_revision(settings)
    if before != after:
        log.info("database schema: %s -> %s (%s)", before or "empty", after,
                 redacted_url(settings.database_url))  # fmt: skip


def _schema_revision(settings: Settings) -> str | None:
    """The Alembic revision the database is at (``None``: no schema yet)."""
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def seed_demo(sessions: sessionmaker[Session]) -> str:
    """Load the demo catalogue and the demo shopper; safe to run any number of times."""
    from account_link.demo import seed_demo_shopper
    from catalog.demo import seed_demo_catalog

    with sessions.begin() as session:
        catalog = seed_demo_catalog(session)
        shopper = seed_demo_shopper(session)
    return (
        f"demo catalogue: {catalog.created} added, {catalog.updated} updated, "
        f"{catalog.unchanged} unchanged; demo shopper: {shopper}"
    )


def redacted_url(url: str) -> str:
    """A database URL safe to print (password hidden)."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
