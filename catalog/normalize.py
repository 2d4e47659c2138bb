"""Turn spoken or typed product words into a canonical token string.

Speech arrives lower-cased, unpunctuated, with filler words and plurals that differ
from the catalogue's; both the query and every indexed name go through the same
function so that they meet in the middle.
"""

from __future__ import annotations

import re

FILLER_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "some",
        "of",
        "my",
        "more",
        "please",
        "usual",
        "regular",
        "another",
        "any",
        "few",
        "bit",
    ]
)

NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11",
    "twelve": "12", "thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16",
    "seventeen": "17", "eighteen": "18", "nineteen": "19", "twenty": "20",
}  # fmt: skip

_SYMBOLS = (("&", " and "), ("%", " percent "), ("+", " plus "))
_NON_WORD = re.compile(r"[^0-9a-z' ]+")
_INVARIANT_ENDINGS = ("ss", "us", "is", "ous")


def singular(token: str) -> str:
    """A cheap English singular: good enough to make 'towels' meet 'towel'."""
    if len(token) <= 3 or token.isdigit() or token.endswith(_INVARIANT_ENDINGS):
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith("ie") and len(token) > 4:  # cookie/cookies -> cooky, both sides alike
        return token[:-2] + "y"
    if token.endswith(("oes", "ches", "shes", "xes", "sses")):
        return token[:-2]
    if token.endswith("s"):
        return token[:-1]
    return token


def tokens(text: str) -> list[str]:
    """Canonical tokens of ``text``: lower case, numbers as digits, singular, no fillers."""
    lowered = text.lower()
    for symbol, word in _SYMBOLS:
        lowered = lowered.replace(symbol, word)
    lowered = _NON_WORD.sub(" ", lowered).replace("'", "")
    out: list[str] = []
    for raw in lowered.split():
        if raw in FILLER_WORDS:
            continue
        out.append(singular(NUMBER_WORDS.get(raw, raw)))
    return out


_COMPOUND = re.compile(r"[a-z0-9']+(?:[-/+.][a-z0-9']+)+")


def compounds(text: str) -> dict[str, tuple[str, ...]]:
    """Joined spellings of hyphenated or slashed words: 'k-cups' -> {'kcup': ('k', 'cup')}.

    Speech and quick typing drop the hyphen ("glutenfree", "kcups"); the index uses this
    to read such a word as its parts.
    """
    found: dict[str, tuple[str, ...]] = {}
    for match in _COMPOUND.finditer(text.lower()):
        parts = tuple(tokens(match.group(0)))
        joined = singular(
            "".join(_NON_WORD.sub("", p) for p in re.split(r"[-/+.]", match.group(0)))
        )
        if len(parts) > 1 and joined not in FILLER_WORDS:
            found[joined.replace("'", "")] = parts
    return found


def normalize(text: str) -> str:
    """``tokens`` joined by single spaces; the empty string when nothing meaningful is left."""
    return " ".join(tokens(text))
