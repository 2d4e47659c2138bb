"""Shopper accounts: sign-up and sign-in with argon2id hashes and throttled guessing."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from account_link.errors import (
    BadCredentials,
    EmailTaken,
    InvalidAddress,
    InvalidSignUp,
    TooManyAttempts,
)
from account_link.models import Customer, LoginAttempt
from catalog.db import utcnow

MIN_PASSWORD = 10
MAX_PASSWORD = 200
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def normalise_email(email: str) -> str:
    return email.strip().lower()


def customer_by_email(session: Session, email: str) -> Customer | None:
    return session.scalar(select(Customer).where(Customer.email == normalise_email(email)))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> None:
    """Raise argon2's ``VerificationError`` (or ``InvalidHashError``) unless they match."""
    _hasher.verify(stored_hash, password)


MAX_ADDRESS = 300


def clean_address(address: str) -> str:
    """The delivery address with whitespace tidied; refuses empty, long or unprintable text."""
    cleaned = " ".join(address.split())
    if not cleaned or len(cleaned) > MAX_ADDRESS or not cleaned.isprintable():
        raise InvalidAddress(f"An address is 1 to {MAX_ADDRESS} printable characters.")
    return cleaned


def set_address(session: Session, customer: Customer, address: str) -> None:
    customer.address = clean_address(address)
    session.flush()


def sign_up(session: Session, email: str, name: str, password: str, address: str) -> Customer:
    """Create a shopper account; refuses bad e-mails, short passwords, taken e-mails and
    a missing delivery address (every order by voice names it before the yes)."""
    email = normalise_email(email)
    if not _EMAIL.match(email) or len(email) > 320:
        raise InvalidSignUp("email", "Enter a valid e-mail address.")
    if not name.strip() or len(name) > 200:
        raise InvalidSignUp("name", "Enter your name.")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidSignUp("password", f"Use a password of at least {MIN_PASSWORD} characters.")
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
    failures = _recent_failures(session, email, now)
    if len(failures) >= MAX_FAILURES:
        raise TooManyAttempts(int((failures[0] + FAILURE_WINDOW - now).total_seconds()) + 1)
    customer = session.scalar(select(Customer).where(Customer.email == email))
    try:
        if customer is None or customer.password_hash is None:
            _hasher.verify(_dummy_hash(), password)  # same work for unknown addresses
            raise VerificationError("unknown account")
        _hasher.verify(customer.password_hash, password)
    except (VerificationError, InvalidHashError):
        session.add(LoginAttempt(email=email, remote_addr=remote_addr[:64], attempted_at=now))
        session.flush()
        raise BadCredentials() from None
    if _hasher.check_needs_rehash(customer.password_hash):
        customer.password_hash = hash_password(password)
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
    return customer


@cache
def _dummy_hash() -> str:
    return _hasher.hash("voicecart-timing-equaliser")
