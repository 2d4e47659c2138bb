"""Shopper accounts: sign-up and sign-in with argon2id hashes and throttled guessing,
password changes, and the server-side sessions of signed-in browsers."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime, timedelta
from functools import cache
from typing import NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from account_link.errors import (
    BadCredentials,
    EmailTaken,
    InvalidAddress,
    InvalidPassword,
    InvalidSignUp,
    TooManyAttempts,
)
from account_link.models import Customer, LoginAttempt, WebSession
from account_link.tokens import token_hash
from catalog.db import utcnow

MIN_PASSWORD = 10
MAX_PASSWORD = 200
MAX_FAILURES = 5
MAX_EMAIL = 320
FAILURE_WINDOW = timedelta(minutes=15)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


_INVISIBLE_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e"  # bidi embeddings and overrides
    "\u2066\u2067\u2068\u2069"  # bidi isolates
    "\u2028\u2029"  # line and paragraph separators: line breaks to some readers
)


def has_control_characters(text: str) -> bool:
    """Whether ``text`` holds C0 or C1 controls, DEL, or characters that reorder or break
    the text around them. Such text was printed raw by tools (terminal escapes) and
    reached e-mail headers (CR/LF); no name, address or e-mail address needs them.
    Joiners (U+200C/U+200D) stay allowed: some scripts spell names with them."""
    return any(unicodedata.category(ch) == "Cc" or ch in _INVISIBLE_CONTROLS for ch in text)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def customer_by_email(session: Session, email: str) -> Customer | None:
    return session.scalar(select(Customer).where(Customer.email == normalise_email(email)))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> None:
    """Raise argon2's ``VerificationError`` (or ``InvalidHashError``) unless they match."""
    _hasher.verify(stored_hash, password)


def check_new_password(password: str) -> None:
    """The rules every new password follows (at sign-up and on a change)."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidPassword(f"Use a password of at least {MIN_PASSWORD} characters.")
    if "\x00" in password:  # cannot be typed; other hashers stop at it
        raise InvalidPassword("A password cannot contain a NUL character.")


MAX_ADDRESS = 300


def clean_address(address: str) -> str:
    """The delivery address with spaces tidied; refuses empty, long or unprintable text,
    and control characters (a line break included) before tidying could hide them."""
    cleaned = " ".join(address.split())
    if (
        not cleaned
        or len(cleaned) > MAX_ADDRESS
        or not cleaned.isprintable()
        or has_control_characters(address)
    ):
        raise InvalidAddress(f"An address is 1 to {MAX_ADDRESS} printable characters.")
    return cleaned


def set_address(session: Session, customer: Customer, address: str) -> None:
    customer.address = clean_address(address)
    session.flush()


def sign_up(session: Session, email: str, name: str, password: str, address: str) -> Customer:
    """Create a shopper account; refuses bad e-mails, short passwords, taken e-mails and
    a missing delivery address (every order by voice names it before the yes)."""
    email = normalise_email(email)
    if has_control_characters(email):
        raise InvalidSignUp("email", "An e-mail address cannot contain control characters.")
    if not _EMAIL.match(email) or len(email) > MAX_EMAIL:
        raise InvalidSignUp("email", "Enter a valid e-mail address.")
    if has_control_characters(name):
        raise InvalidSignUp("name", "A name cannot contain control characters.")
    if not name.strip() or len(name) > 200:
        raise InvalidSignUp("name", "Enter your name.")
    try:
        check_new_password(password)
    except InvalidPassword as exc:
        raise InvalidSignUp("password", exc.message) from None
    if has_control_characters(address):
        raise InvalidSignUp("address", "An address cannot contain control characters.")
    try:
        delivery = clean_address(address)
    except InvalidAddress:
        raise InvalidSignUp("address", "Enter the address orders should go to.") from None
    customer = Customer(email=email, name=name.strip(), password_hash=hash_password(password),
                        address=delivery)  # fmt: skip
    try:
        with session.begin_nested():
            session.add(customer)
    except IntegrityError:
        raise EmailTaken(email) from None
    return customer


def _recent_failures(session: Session, email: str, now: datetime) -> list[datetime]:
    return list(
        session.scalars(
            select(LoginAttempt.attempted_at)
            .where(LoginAttempt.email == email, LoginAttempt.attempted_at > now - FAILURE_WINDOW)
            .order_by(LoginAttempt.attempted_at)
        )
    )


def sign_in(
    session: Session,
    email: str,
    password: str,
    *,
    remote_addr: str = "",
    now: datetime | None = None,
) -> Customer:
    """The customer for these credentials. After five failures in fifteen minutes the
    address is locked until the oldest of them ages out, right password or not."""
    now = now or utcnow()
    email = normalise_email(email)
    if "\x00" in email or len(email) > MAX_EMAIL:
        # No account has such an address, and PostgreSQL could not even store the failure
        # (text cannot hold NUL; the column holds 320 characters).
        _verify_dummy(password)
    _check_throttle(session, email, now)
    customer = session.scalar(select(Customer).where(Customer.email == email))
    try:
        if customer is None or customer.password_hash is None:
            _verify_dummy(password)
        else:
            _hasher.verify(customer.password_hash, password)
    except (VerificationError, InvalidHashError, BadCredentials):
        _count_failure(session, email, remote_addr, now)
        raise BadCredentials() from None
    assert customer is not None
    assert customer.password_hash is not None
    if _hasher.check_needs_rehash(customer.password_hash):
        customer.password_hash = hash_password(password)
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
    return customer


def _check_throttle(session: Session, email: str, now: datetime) -> None:
    failures = _recent_failures(session, email, now)
    if len(failures) >= MAX_FAILURES:
        raise TooManyAttempts(int((failures[0] + FAILURE_WINDOW - now).total_seconds()) + 1)


def _count_failure(session: Session, email: str, remote_addr: str, now: datetime) -> None:
    session.add(LoginAttempt(email=email, remote_addr=remote_addr[:64], attempted_at=now))
    session.flush()


def _verify_dummy(password: str) -> NoReturn:
    """Fail after the same work as a real check (unknown addresses take as long)."""
    try:
        _hasher.verify(_dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        raise BadCredentials() from None
    raise BadCredentials()


def change_password(
    session: Session,
    customer: Customer,
    current: str,
    new: str,
    *,
    remote_addr: str = "",
    now: datetime | None = None,
) -> None:
    """Set a new password, given the current one, and end every web session of the
    customer (the caller starts a fresh one for the browser that asked).

    A wrong current password counts toward the same lock as failed sign-ins: a stolen
    session must not become a way to guess the password. Alexa's link (its OAuth
    tokens) is left alone: it was granted on a consent screen, holds no password, and
    is ended by unlinking in the Alexa app (token revocation), not by a new password."""
    now = now or utcnow()
    _check_throttle(session, customer.email, now)
    try:
        if customer.password_hash is None:
            _verify_dummy(current)
        else:
            _hasher.verify(customer.password_hash, current)
    except (VerificationError, InvalidHashError, BadCredentials):
        _count_failure(session, customer.email, remote_addr, now)
        raise BadCredentials() from None
    check_new_password(new)
    customer.password_hash = hash_password(new)
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == customer.email))
    end_web_sessions(session, customer.id)


# --------------------------------------------------------------------------- web sessions

WEB_SESSION_IDLE = timedelta(days=14)
"""A browser not seen for this long is signed out."""
WEB_SESSION_MAX_AGE = timedelta(days=30)
"""Every browser signs in again this long after it signed in, however busy."""
_SEEN_EVERY = timedelta(minutes=5)
"""``last_seen_at`` is written at most this often (not on every page view)."""


def start_web_session(session: Session, customer: Customer, now: datetime | None = None) -> str:
    """A new session for a browser that just signed in: the random id for its cookie.

    The customer's expired sessions are swept on the way (each sign-in pays for its own)."""
    now = now or utcnow()
    session.execute(
        delete(WebSession).where(
            WebSession.customer_id == customer.id,
            or_(
                WebSession.last_seen_at < now - WEB_SESSION_IDLE,
                WebSession.created_at < now - WEB_SESSION_MAX_AGE,
            ),
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=token_hash(token), customer_id=customer.id,
                           created_at=now, last_seen_at=now))  # fmt: skip
    session.flush()
    return token


def web_session_customer(
    session: Session, token: object, now: datetime | None = None
) -> Customer | None:
    """Who the browser presenting this session id is signed in as, if the session is
    still live (not signed out, idle or too old)."""
    if not isinstance(token, str) or not token:
        return None
    now = now or utcnow()
    row = session.scalar(
        select(WebSession)
        .where(WebSession.token_hash == token_hash(token))
        .options(joinedload(WebSession.customer))
    )
    if row is None:
        return None
    if now - row.last_seen_at > WEB_SESSION_IDLE or now - row.created_at > WEB_SESSION_MAX_AGE:
        session.delete(row)
        session.flush()
        return None
    if now - row.last_seen_at > _SEEN_EVERY:
        row.last_seen_at = now
    return row.customer


def end_web_session(session: Session, token: object) -> None:
    """Sign one browser out (the others stay signed in)."""
    if isinstance(token, str) and token:
        session.execute(delete(WebSession).where(WebSession.token_hash == token_hash(token)))


def end_web_sessions(session: Session, customer_id: int) -> None:
    """Sign every browser of the customer out."""
    session.execute(delete(WebSession).where(WebSession.customer_id == customer_id))


@cache
def _dummy_hash() -> str:
    return _hasher.hash("voicecart-timing-equaliser")
