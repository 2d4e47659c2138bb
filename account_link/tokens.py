"""Bearer tokens as the rest of voicecart sees them: hashed at rest, checked per request."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, joinedload

from account_link.models import Customer, OAuthToken
from catalog.db import utcnow


def token_hash(token: str) -> str:
    """SHA-256 of a token: what the database keeps instead of the token itself."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_family_id() -> str:
    """A fresh grant id: the tokens of one grant share it, so they can be revoked together."""
    return secrets.token_hex(16)


class TokenState(StrEnum):
    VALID = "valid"
    MISSING = "missing"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class TokenCheck:
    state: TokenState
    customer: Customer | None = None


def expires_at(token: OAuthToken) -> datetime:
    return token.issued_at + timedelta(seconds=token.expires_in)


@cache
def _token_with_customer() -> Select[OAuthToken]:
    """The token and its customer in one query (every turn asks for both). Built once:
    a statement reused with new parameters skips building and keying it again, which
    costs more than the query itself on SQLite."""
    return (
        select(OAuthToken)
        .where(OAuthToken.access_token_hash == bindparam("token_hash"))
        .options(joinedload(OAuthToken.customer))
    )


def check_access_token(
    session: Session, token: str | None, now: datetime | None = None
) -> TokenCheck:
    """Who an access token belongs to, or why it does not count."""
    if not token:
        return TokenCheck(TokenState.MISSING)
    row = session.scalar(_token_with_customer(), {"token_hash": token_hash(token)})
    if row is None:
        return TokenCheck(TokenState.UNKNOWN)
    if row.access_revoked:
        return TokenCheck(TokenState.REVOKED)
    if expires_at(row) <= (now or utcnow()):
        return TokenCheck(TokenState.EXPIRED)
    return TokenCheck(TokenState.VALID, row.customer)


DEVELOPER_CLIENT = "voicecart-developer"
"""The client id of tokens minted for the simulator and dialogue tests, not by OAuth."""


def issue_access_token(
    session: Session,
    customer: Customer,
    *,
    ttl_seconds: int = 3600,
    issued_at: datetime | None = None,
    revoked: bool = False,
) -> str:
    """Mint an access token for ``customer`` without the OAuth dance (developer tools act
    as a linked shopper this way); ``issued_at`` in the past makes an expired one."""
    token = secrets.token_urlsafe(32)
    issued = issued_at or utcnow()
    session.add(
        OAuthToken(
            client_id=DEVELOPER_CLIENT,
            customer_id=customer.id,
            access_token_hash=token_hash(token),
            issued_at=issued,
            expires_in=ttl_seconds,
            access_revoked=revoked,
            family_id=new_family_id(),
            family_started_at=issued,
        )
    )
    session.flush()
    return token


def revoke_access_token(session: Session, token: str) -> bool:
    """Revoke an access token (the simulator's, when it exits); ``False`` if unknown."""
    row = session.scalar(
        select(OAuthToken).where(OAuthToken.access_token_hash == token_hash(token))
    )
    if row is None:
        return False
    row.access_revoked = True
    session.flush()
    return True
