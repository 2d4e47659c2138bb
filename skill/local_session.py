"""Dialogue sessions of the local channels (typed text, local audio), kept in the database.

Alexa round-trips session attributes itself; local callers only keep a session id, so
the attributes and "which slot was just asked for" live here, and any worker can serve
the next turn.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalog.db import Base, utcnow

IDLE_LIMIT = timedelta(minutes=30)


class LocalSession(Base):
    __tablename__ = "local_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), default=None
    )
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    expecting: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    """The intent (and its slots so far) whose missing slot the last reply asked for."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


def open_session(
    db: Session, session_id: str | None, customer_id: int | None
) -> tuple[LocalSession, str | None]:
    """The caller's session, or a new one with a note saying why it is new.

    Only reads: a new session is not added here but by :func:`keep_session` at the end
    of the turn (in the same transaction), so a turn takes no write lock up front and a
    turn that ends a new session never writes it at all.
    """
    note = None
    if session_id:
        found = db.get(LocalSession, session_id)
        if found is None:
            note = "unknown sessionId: a new session was started"
        elif found.customer_id != customer_id:
            note = "that sessionId belongs to someone else: a new session was started"
        elif found.updated_at < utcnow() - IDLE_LIMIT:
            note = "that session expired after 30 idle minutes: a new session was started"
        else:
            return found, None
    created = LocalSession(id=secrets.token_urlsafe(18), customer_id=customer_id, attributes={})
    return created, note


def keep_session(
    db: Session,
    session_id: str,
    customer_id: int | None,
    attributes: dict[str, Any],
    expecting: dict[str, Any] | None,
) -> None:
    """Write what the session remembers after a turn (creating it on its first turn)."""
    row = db.get(LocalSession, session_id)
    if row is None:
        row = LocalSession(id=session_id, customer_id=customer_id, created_at=utcnow())
        db.add(row)
    row.attributes = attributes
    row.expecting = expecting
    row.updated_at = utcnow()
    db.flush()


def end_session(db: Session, session_id: str) -> None:
    """The conversation is over: its id now starts a new one (nothing to do if it was
    never written)."""
    row = db.get(LocalSession, session_id)
    if row is not None:
        db.delete(row)
        db.flush()
