"""The optional four-digit voice code that guards purchases by voice.

Stored as an argon2id hash like a password. Wrong codes are counted on the customer's
row (locked while counting, so concurrent guesses on several workers all count); the
third locks voice purchasing for a while. A wrong code is an answer, not an error:
:func:`check_code` returns it, so the caller commits the count with the turn.

Lock-outs in a row get longer: each lasts twice the one before, up to a day
(15 minutes, 30, 1 hour, 2, 4, 8, 16, then 24 hours), which leaves a guesser 21 tries
in the first day and three a day after, instead of 288 a day. A lock-out
follows on from the one before when it begins within a day of that one's end. Only
the owner setting or removing the code on their account starts the series over, or a
day without a lock-out: a right code said by voice does not, as whoever is guessing
may share the house (and the speaker) with the owner.
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
LOCKOUT_MEMORY = timedelta(days=1)
"""A lock-out beginning this long after the previous one ended starts the series over."""


@dataclass(frozen=True, slots=True)
class VoiceCodePolicy:
    """When a code is asked for, and what wrong codes cost (configured by the deployment)."""

    required_above_cents: int = 0
    """Orders above this total need a code even if the shopper set none; 0: only shoppers
    who set a code are asked."""
    max_attempts: int = 3
    lock_minutes: int = 15
    """The first lock-out's length; each one following on doubles it..."""
    max_lock_minutes: int = 24 * 60
    """...up to this (never shorter than ``lock_minutes``)."""

    @property
    def longest_lock(self) -> timedelta:
        return timedelta(minutes=max(self.max_lock_minutes, self.lock_minutes))

    def lock_length(self, lockouts: int) -> timedelta:
        """How long the ``lockouts``-th lock-out in a row lasts (the first is 1)."""
        doublings = min(max(lockouts, 1) - 1, 30)  # 2**30 minutes outlasts any cap
        return min(timedelta(minutes=self.lock_minutes * 2**doublings), self.longest_lock)


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
    lock_minutes: int = 0
    """For ``LOCKED``: how long this lock-out lasts (what the shopper is told)."""


def is_well_formed(code: str | None) -> bool:
    return code is not None and len(code) == CODE_LENGTH and code.isascii() and code.isdigit()


def _replace_code(session: Session, customer: Customer, code_hash: str | None) -> None:
    """A new code (or none) starts afresh: no wrong codes counted, no lock."""
    customer.voice_code_hash = code_hash
    customer.voice_code_failures = 0
    customer.voice_code_failed_at = None
    customer.voice_code_locked_until = None
    customer.voice_code_lockouts = 0
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


def spoken_length(length: timedelta) -> str:
    """A lock's length as people say it: "15 minutes", "1 hour", "2 hours 30 minutes"."""
    minutes = int(length.total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if rest or not hours:
        parts.append(f"{rest} minute{'s' if rest != 1 else ''}")
    return " ".join(parts)


def _lock_notice(
    customer: Customer, policy: VoiceCodePolicy, length: timedelta, until: datetime
) -> OutboxMessage:
    """Tell the owner by e-mail (the outbox) that someone got the code wrong too often,
    and for how long this lock-out (the real one, after any doubling) lasts."""
    again = ("\nIt has happened again soon after the last lock, so this lock is longer: "
             "each one in a row lasts twice as long, up to "
             f"{spoken_length(policy.longest_lock)}.\n"
             if customer.voice_code_lockouts > 1 else "")  # fmt: skip
    body = (f"Hello {customer.name},\n\nSomeone said a wrong voice code {policy.max_attempts} "
            f"times, so purchasing by voice is locked for {spoken_length(length)} (until "
            f"{until.strftime('%Y-%m-%d %H:%M')} UTC).\n{again}"
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
            return _lock_out(session, customer, policy, now)
        session.flush()
        return CodeCheck(CodeOutcome.WRONG, policy.max_attempts - customer.voice_code_failures)
    customer.voice_code_failures = 0
    session.flush()
    return CodeCheck(CodeOutcome.ACCEPTED)


def _lock_out(
    session: Session, customer: Customer, policy: VoiceCodePolicy, now: datetime
) -> CodeCheck:
    """Lock voice purchasing: twice as long as the last lock-out if it follows on."""
    previous_end = customer.voice_code_locked_until
    follows_on = previous_end is not None and now - previous_end <= LOCKOUT_MEMORY
    customer.voice_code_lockouts = (customer.voice_code_lockouts if follows_on else 0) + 1
    length = policy.lock_length(customer.voice_code_lockouts)
    until = now + length
    customer.voice_code_failures = 0
    customer.voice_code_locked_until = until
    session.add(_lock_notice(customer, policy, length, until))
    session.flush()
    return CodeCheck(CodeOutcome.LOCKED, locked_until=until,
                     lock_minutes=int(length.total_seconds() // 60))  # fmt: skip
