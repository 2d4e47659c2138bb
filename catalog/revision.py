"""Keep ``catalog_revision`` in step with product edits made through any ORM session."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Select, event, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from catalog.db import utcnow
from catalog.models import CatalogRevision, Product

REVISION_ROW = 1
_STOCK_ONLY = frozenset({"stock"})
"""Stock moves on every order; they do not change what the index knows about words."""


def _catalogue_edited(session: Session) -> bool:
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, Product):
            return True
    for obj in session.dirty:
        if isinstance(obj, Product):
            state = inspect(obj)
            changed = {a.key for a in state.attrs if a.history.has_changes()}
            if changed - _STOCK_ONLY:
                return True
    return False


def bump_revision(session: Session) -> None:
    """Announce a catalogue change to every worker (inside the caller's transaction)."""
    session.connection().execute(
        update(CatalogRevision)
        .where(CatalogRevision.id == REVISION_ROW)
        .values(revision=CatalogRevision.revision + 1, changed_at=utcnow())
    )


@cache
def _revision_query() -> Select[int]:
    """Built once: every match asks, and a reused statement skips building and keying."""
    return select(CatalogRevision.revision).where(CatalogRevision.id == REVISION_ROW)


def current_revision(session: Session) -> int:
    return int(session.scalar(_revision_query()) or 0)


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    if _catalogue_edited(session):
        bump_revision(session)


def track_catalogue_changes(sessions: sessionmaker[Session]) -> None:
    """Make every session from ``sessions`` bump the revision when it edits products."""
    if not event.contains(sessions, "before_flush", _before_flush):
        event.listen(sessions, "before_flush", _before_flush)
