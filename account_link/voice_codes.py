"""The optional four-digit voice code that guards purchases by voice.

Stored as an argon2id hash like a password. Wrong codes are counted on the customer's
row (locked while counting, so concurrent guesses on several workers all count); the
third locks voice purchasing for a while. A wrong code is an answer, not an error:
:func:`check_code` returns it, so the caller commits the count with the turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from account_link.accounts import hash_password, verify_password
from account_link.errors import InvalidVoiceCode, VoiceCodeNotSet, VoicePurchasingLocked
from account_link.models import Customer, OutboxMessage
from catalog.db import lock_row, utcnow

CODE_LENGTH = 4
FAILURE_WINDOW = timedelta(days=1)
"""Wrong codes further apart than this do not add up to a lock."""


@dataclass(frozen=True, slots=True)
class VoiceCodePolicy:
    """When a code is asked for, and what wrong codes cost (configured by the deployment)."""

    required_above_cents: int = 0
    """Orders above this total need a code even if the shopper set none; 0: only shoppers
    who set a code are asked."""
    max_attempts: int = 3
    lock_minutes: int = 15


DEFAULT_POLICY = VoiceCodePolicy()


class CodeOutcome(StrEnum):
    ACCEPTED = "accepted"
    MALFORMED = "malformed"
    """Not four digits: asked again, not counted."""
    WRONG = "wrong"
    LOCKED = "locked"
    """This wrong code was the last allowed one: voice purchasing is now locked."""


@dataclass(frozen=True, slots=True)
class CodeCheck:
    outcome: CodeOutcome
    attempts_left: int = 0
    locked_until: datetime | None = None


def is_well_formed(code: str | None) -> bool:
    return code is not None and len(code) == CODE_LENGTH and code.isascii() and code.isdigit()


def _replace_code(session: Session, customer: Customer, code_hash: str | None) -> None:
    """A new code (or none) starts afresh: no wrong codes counted, no lock."""
    customer.voice_code_hash = code_hash
    customer.voice_code_failures = 0
    customer.voice_code_failed_at = None
    customer.voice_code_locked_until = None
    session.flush()


def set_voice_code(session: Session, customer: Customer, code: str) -> None:
    """Set or change the code; it also lifts a lock (the owner proved who they are)."""
    if not is_well_formed(code):
        raise InvalidVoiceCode(f"a voice code is exactly {CODE_LENGTH} digits")
    _replace_code(session, customer, hash_password(code))


def clear_voice_code(session: Session, customer: Customer) -> None:
    _replace_code(session, customer, None)


def locked_until(customer: Customer, now: datetime | None = None) -> datetime | None:
    """When voice purchasing unlocks, if it is locked now."""
    until = customer.voice_code_locked_until
    return until if until is not None and until > (now or utcnow()) else None


def code_required(
    customer: Customer,
    total_cents: int,
    policy: VoiceCodePolicy = DEFAULT_POLICY,
    *,
    now: datetime | None = None,
) -> bool:
    """Whether buying ``total_cents`` by voice needs the code; raises when it cannot be
    bought by voice at all (locked, or a code is required and none is set)."""
    until = locked_until(customer, now)
    if until is not None:
        raise VoicePurchasingLocked(until)
    above = bool(policy.required_above_cents) and total_cents > policy.required_above_cents
    if customer.voice_code_hash is not None:
        return True
    if above:
        raise VoiceCodeNotSet(policy.required_above_cents)
    return False


def _lock_notice(customer: Customer, policy: VoiceCodePolicy) -> OutboxMessage:
    """Tell the owner by e-mail (the outbox) that someone got the code wrong too often."""
    body = (f"Hello {customer.name},\n\nSomeone said a wrong voice code {policy.max_attempts} "
            f"times, so purchasing by voice is locked for {policy.lock_minutes} minutes.\n"
            "If it wasn't you, change your voice code on your Voice Cart account page; "
            "that also lifts the lock.")  # fmt: skip
    subject = "Voice Cart: purchasing by voice is locked"
    return OutboxMessage(customer_id=customer.id, kind="voice_code_locked",
                         recipient=customer.email, subject=subject, body=body)  # fmt: skip


def check_code(
    session: Session,
    customer_id: int,
    spoken: str | None,
    policy: VoiceCodePolicy = DEFAULT_POLICY,
    *,
    now: datetime | None = None,
) -> CodeCheck:
    """Compare a spoken code with the stored hash, counting wrong ones under a row lock."""
    now = now or utcnow()
    if not is_well_formed(spoken):
        return CodeCheck(CodeOutcome.MALFORMED)
    assert spoken is not None
    customer = lock_row(session, Customer, Customer.id == customer_id)
    assert customer is not None
    until = locked_until(customer, now)
    if until is not None:
        raise VoicePurchasingLocked(until)
    if customer.voice_code_hash is None:
        raise VoiceCodeNotSet(policy.required_above_cents)
    try:
        verify_password(customer.voice_code_hash, spoken)
    except (VerificationError, InvalidHashError):
        last = customer.voice_code_failed_at
        recent = last is not None and now - last <= FAILURE_WINDOW
        customer.voice_code_failures = (customer.voice_code_failures if recent else 0) + 1
        customer.voice_code_failed_at = now
        if customer.voice_code_failures >= policy.max_attempts:
            customer.voice_code_failures = 0
            customer.voice_code_locked_until = now + timedelta(minutes=policy.lock_minutes)
            session.add(_lock_notice(customer, policy))
            session.flush()
            return CodeCheck(CodeOutcome.LOCKED, locked_until=customer.voice_code_locked_until)
        session.flush()
        return CodeCheck(CodeOutcome.WRONG, policy.max_attempts - customer.voice_code_failures)
    customer.voice_code_failures = 0
    session.flush()
    return CodeCheck(CodeOutcome.ACCEPTED)
