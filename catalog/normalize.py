"""Turn spoken or typed product words into a canonical token string.

Speech arrives lower-cased, unpunctuated, with filler words and plurals that differ
from the catalogue's; both the query and every indexed name go through the same
function so that they meet in the middle.
"""

from __future__ import annotations

import re
from functools import lru_cache

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

_TENS = {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000}
UNIT_WORDS = {
    "ounce": "oz", "ounces": "oz", "pound": "lb", "pounds": "lb", "lbs": "lb",
    "milligram": "mg", "milligrams": "mg", "gram": "g", "grams": "g", "kilogram": "kg",
    "kilograms": "kg", "liter": "l", "liters": "l", "litre": "l", "litres": "l",
    "milliliter": "ml", "milliliters": "ml", "millilitre": "ml", "millilitres": "ml",
    "gallon": "gal", "gallons": "gal", "quart": "qt", "quarts": "qt", "pint": "pt",
    "pints": "pt", "fluid": "fl", "count": "ct",
}  # fmt: skip
"""Units as catalogues abbreviate them: "8 ounces" meets "8 oz"."""
_SYMBOLS = (("&", " and "), ("%", " percent "), ("+", " plus "))
_NON_WORD = re.compile(r"[^0-9a-z' ]+")
_INVARIANT_ENDINGS = ("ss", "us", "is", "ous")


@lru_cache(maxsize=200_000)
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
    return list(_tokens(text))


@lru_cache(maxsize=100_000)  # catalogues repeat brands, sizes and names; queries repeat too
def _tokens(text: str) -> tuple[str, ...]:
    lowered = text.lower()
    for symbol, word in _SYMBOLS:
        lowered = lowered.replace(symbol, word)
    lowered = _NON_WORD.sub(" ", lowered).replace("'", "")
    out: list[str] = []
    number: int | None = None  # a number said in words, being added up
    for raw in lowered.split():
        value = _number_word(raw)
        if value is not None and (number is None or _continues(number, raw)):
            number = _add(number, raw, value)
            continue
        if number is not None:
            out.append(str(number))
            number = None
        if value is not None:
            number = value
            continue
        if raw in FILLER_WORDS:
            continue
        out.append(singular(UNIT_WORDS.get(raw, raw)))
    if number is not None:
        out.append(str(number))
    return tuple(out)


def _number_word(word: str) -> int | None:
    if word in NUMBER_WORDS:
        return int(NUMBER_WORDS[word])
    return _TENS.get(word, _SCALES.get(word))


def _continues(number: int, word: str) -> bool:
    """Whether ``word`` goes on a number said so far: "twenty" "two", "one" "hundred"."""
    if word in _SCALES:
        return (0 < number < 1000 and number % _SCALES[word] != 0) or 0 < number < 10
    last = number % 100
    return (last % 10 == 0 and last >= 20 and int(NUMBER_WORDS.get(word, "10")) < 10) or (
        number % 100 == 0 and number >= 100 and (word in _TENS or word in NUMBER_WORDS)
    )


def _add(number: int | None, word: str, value: int) -> int:
    if number is None:
        return value
    if word in _SCALES:
        return number * value
    return number + value


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
