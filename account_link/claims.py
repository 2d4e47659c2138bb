"""Claims: "this key is being acted on, once", shared by every worker through the database.

An Alexa request (its ``requestId`` together with who sent it; the answer is kept to
replay it) and an order's idempotency key are claimed with ``INSERT ... ON CONFLICT DO
NOTHING`` in the caller's transaction, with no savepoint: a concurrent claimant of the
same key waits for the first transaction (PostgreSQL waits on the key, SQLite on its
write lock) and then finds the key taken. A transaction that rolls back releases its
claims, so a retry of a failed turn runs.
"""

from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, String, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from catalog.db import Base, utcnow

KEEP_FOR = timedelta(days=1)
"""Claims older than this are pruned (Alexa retries within seconds; orders keep their key)."""
PRUNE_EVERY = 200
"""About one successful claim in this many also prunes old claims (cheap, spread out)."""


class Claim(Base):
    __tablename__ = "claims"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    """For a claimed Alexa request: the answer it got, replayed to a retry."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


def hashed_key(kind: str, *parts: str | None) -> str:
    """The claim key ``kind:<sha256>`` for ``parts``, which it does not store.

    For keys made of user ids and access tokens (never stored in the clear) or of
    caller-supplied strings of any length: the hash of their JSON list is unambiguous
    and always 64 characters, so every such key fits the column.
    """
    encoded = json.dumps(list(parts), ensure_ascii=True).encode("ascii")
    return f"{kind}:{hashlib.sha256(encoded).hexdigest()}"


def claim(session: Session, key: str) -> bool:
    """Take ``key`` for this transaction; ``False`` if a committed transaction has it."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    taken = session.scalar(
        insert(Claim)
        .values(key=key, created_at=utcnow())
        .on_conflict_do_nothing()
        .returning(Claim.key)
    )
    if taken is not None:
        if random.randrange(PRUNE_EVERY) == 0:
            session.execute(delete(Claim).where(Claim.created_at < utcnow() - KEEP_FOR))
        return True
    return False


def claimed_response(session: Session, key: str) -> dict[str, Any] | None:
    return session.scalar(select(Claim.response).where(Claim.key == key))


def keep_response(session: Session, key: str, response: dict[str, Any]) -> None:
    """Store the answer on the claim taken in this transaction (one UPDATE, no read)."""
    session.execute(
        update(Claim)
        .where(Claim.key == key)
        .values(response=response)
        .execution_options(synchronize_session=False)
    )
