"""The transaction of one dialogue turn, owned by the channel adapter.

Every channel (the Alexa endpoint, later local audio and typed text) wraps one skill
invocation in :func:`turn_scope`: one database transaction that commits when the
turn succeeds and rolls back when a handler failed, even though the skill's
exception handler turned that failure into polite speech.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from account_link.models import Channel


@dataclass
class TurnScope:
    session: Session
    channel: Channel
    failed: bool = False
    product_id: int | None = None
    """The product this turn acted on or offered (local channels report it)."""

    def fail(self) -> None:
        """Mark the turn so that nothing it wrote is committed."""
        self.failed = True


_CURRENT: ContextVar[TurnScope | None] = ContextVar("voicecart_turn_scope", default=None)


@contextmanager
def turn_scope(sessions: sessionmaker[Session], channel: Channel) -> Iterator[TurnScope]:
    """Open the turn's transaction; commit on success, roll back on failure."""
    with sessions.begin() as session:
        scope = TurnScope(session, channel)
        token = _CURRENT.set(scope)
        try:
            yield scope
        finally:
            _CURRENT.reset(token)
        if scope.failed:
            session.rollback()


def current_scope() -> TurnScope:
    """The scope of the turn being handled; a skill invoked outside one is a wiring bug."""
    scope = _CURRENT.get()
    if scope is None:
        raise RuntimeError("skill invoked outside turn_scope(): no database transaction")
    return scope
