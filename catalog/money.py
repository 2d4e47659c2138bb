"""Money is integer cents everywhere; this is the one place it becomes text."""

from __future__ import annotations


def dollars(cents: int) -> str:
    """'$11.99' (as Alexa reads it well, and as pages and e-mails show it)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}${cents // 100}.{cents % 100:02d}"
