"""The one declarative base every project package maps its tables onto.

It lives in ``catalog`` because ``catalog`` is the innermost package: ``account_link``
may import it, and a single ``MetaData`` lets foreign keys cross packages and lets
Alembic see the whole schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from sqlalchemy import ColumnElement, DateTime, MetaData, inspect, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite stores no offset, so naive values are refused on the way in and UTC is
    attached on the way out; PostgreSQL keeps ``timestamptz`` semantics.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; voicecart stores UTC-aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, UTC-aware (the only clock the project reads)."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (so migrations are reproducible)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


_Row = TypeVar("_Row", bound=Base)


def lock_row(session: Session, model: type[_Row], *where: ColumnElement[bool]) -> _Row | None:
    """The row, locked until this transaction ends and read afresh, so concurrent
    read-modify-writes queue up instead of losing updates.

    PostgreSQL takes a row lock (``FOR UPDATE``). SQLite locks whole databases: a no-op
    ``UPDATE`` takes the write lock first (waiting out the busy timeout), so everything
    read after it stays current until commit.
    """
    if session.get_bind().dialect.name == "sqlite":
        key = inspect(model).primary_key[0]
        session.execute(update(model).where(*where).values({key: key}))
    locked = select(model).where(*where).with_for_update()
    return session.scalar(locked.execution_options(populate_existing=True))
