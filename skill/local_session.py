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
    """The caller's session, or a new one with a note saying why it is new."""
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
    db.add(created)
    db.flush()
    return created, note
