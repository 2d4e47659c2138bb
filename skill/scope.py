"""The transaction of one dialogue turn, owned by the channel adapter.

Every channel (the Alexa endpoint, local audio and typed text) wraps one skill
invocation in :func:`turn_scope`: one database transaction that commits when the turn
succeeds and rolls back when a handler failed, even though the skill's exception
handler turned that failure into polite speech.

A turn that changes nothing (a launch, help, reading the cart, an order's status, a
price: :func:`skill.once.reads_only` decides) is marked :attr:`TurnScope.read_only`
by its channel: it ends with a rollback, so it commits nothing and makes no disk
write or fsync. Whether the turn *did* write is not taken on trust: every statement
its connection sends is watched, and one that is not a plain read
(:attr:`TurnScope.wrote`) makes the turn commit like any other, so a handler that
writes after all loses nothing (and ``/alexa`` claims it, :mod:`skill.once`).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from account_link.models import Channel, Customer

if TYPE_CHECKING:
    from catalog.matching import MatchResult
    from catalog.quantity import QuantityPhrase

_READ = re.compile(r"\s*(?:SELECT|PRAGMA|SHOW|EXPLAIN)\b", re.IGNORECASE)
_LOCKING_READ = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE)\b", re.IGNORECASE)


def is_write(statement: str) -> bool:
    """Whether a SQL statement may change or lock something: anything but a plain read.

    Deliberately broad (``SAVEPOINT``, ``WITH ...``, ``SELECT ... FOR UPDATE`` all
    count): a turn wrongly taken for a writer only commits as every turn used to.
    """
    return _READ.match(statement) is None or _LOCKING_READ.search(statement) is not None


@dataclass
class TurnScope:
    session: Session
    channel: Channel
    failed: bool = False
    product_id: int | None = None
    """The product this turn acted on or offered (local channels report it)."""
    read_only: bool = False
    """Set by the channel (:meth:`mark_read_only`) when the request changes nothing:
    unless it wrote after all (:attr:`wrote`), the turn ends with a rollback."""
    writes: int = 0
    """Statements a read-only turn's transaction sent that are not plain reads."""
    connection: Connection | None = field(default=None, repr=False)
    """The connection the turn's transaction runs on, once it has begun."""
    customer: Customer | None = field(default=None, repr=False)
    customer_known: bool = False
    """Whether the channel already resolved the speaker in this transaction (a local
    channel checks the access token once; the skill then does not check it again)."""
    priors: dict[int, dict[int, float]] = field(default_factory=dict, repr=False)
    """Purchase-history priors by customer id: read once per turn."""
    item_matches: dict[tuple[str, int | None], tuple[QuantityPhrase, MatchResult]] = field(
        default_factory=dict, repr=False
    )
    """Product words matched this turn, by (words, whose history ranked them): the
    local channel's understanding and the skill match the same words once."""

    @property
    def wrote(self) -> bool:
        return self.writes > 0

    def mark_read_only(self) -> None:
        """The request changes nothing: count what its connection sends that is not a
        plain read."""
        self.read_only = True

    def settled_writes(self) -> bool:
        """Send what the ORM still holds (changes not flushed yet are writes too);
        whether the turn has written anything."""
        self.session.flush()
        return self.wrote

    def know_customer(self, customer: Customer | None) -> None:
        """The speaker, as the channel resolved them in this turn's transaction."""
        self.customer, self.customer_known = customer, True

    def fail(self) -> None:
        """Mark the turn so that nothing it wrote is committed."""
        self.failed = True


_CURRENT: ContextVar[TurnScope | None] = ContextVar("voicecart_turn_scope", default=None)
_WATCHED: weakref.WeakSet[Any] = weakref.WeakSet()


def _bound(session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    scope = _CURRENT.get()
    if scope is not None and scope.session is session:
        scope.connection = connection


def _sent(
    conn: Connection, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    scope = _CURRENT.get()
    if scope is not None and scope.read_only and scope.connection is conn and is_write(statement):
        scope.writes += 1


def _watch(sessions: sessionmaker[Session]) -> None:
    """Learn each turn's connection as its transaction begins, and count the writes a
    read-only turn sends on it (once per factory). The statement listener is the
    engine's: a per-connection one costs more to add each turn than this check costs
    each statement."""
    if sessions in _WATCHED:
        return
    event.listen(sessions, "after_begin", _bound)
    engine = sessions.kw.get("bind")
    if engine is not None and not event.contains(engine, "before_cursor_execute", _sent):
        event.listen(engine, "before_cursor_execute", _sent)
    _WATCHED.add(sessions)


@contextmanager
def turn_scope(sessions: sessionmaker[Session], channel: Channel) -> Iterator[TurnScope]:
    """Open the turn's transaction; commit on success, roll back on failure, and end a
    read-only turn that wrote nothing with a rollback (nothing to commit or fsync)."""
    _watch(sessions)
    with sessions.begin() as session:
        scope = TurnScope(session, channel)
        token = _CURRENT.set(scope)
        try:
            yield scope
            if scope.read_only and not scope.failed:
                scope.settled_writes()
        finally:
            _CURRENT.reset(token)
        if scope.failed or (scope.read_only and not scope.wrote):
            session.rollback()


def scope_of(session: Session) -> TurnScope | None:
    """The turn being handled, if ``session`` is its session (else ``None``)."""
    scope = _CURRENT.get()
    return scope if scope is not None and scope.session is session else None


def current_scope() -> TurnScope:
    """The scope of the turn being handled; a skill invoked outside one is a wiring bug."""
    scope = _CURRENT.get()
    if scope is None:
        raise RuntimeError("skill invoked outside turn_scope(): no database transaction")
    return scope
