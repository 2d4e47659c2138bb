"""How many, and in what pack: read quantity phrases off the front of spoken product words.

"two bananas" -> 2 x bananas; "a couple of limes" -> 2; "three bags of apples" -> 3;
"6 pack of cola" -> 1 x cola in a 6 pack; "a dozen eggs" -> eggs by the dozen;
"two twelve packs of water" -> 2 x water in a 12 pack. The pack is a hint for choosing
the product's size, never a multiplier the shopper did not say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog.normalize import NUMBER_WORDS

_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}
_VAGUE = {"a couple of": 2, "couple of": 2, "a pair of": 2, "a few": 3, "a few of": 3,
          "a": 1, "an": 1, "one": 1, "some": None, "more": None}  # fmt: skip
_CONTAINERS = ("bags", "bag", "boxes", "box", "bottles", "bottle", "cans", "can", "jars", "jar",
               "packets", "packet", "cartons", "carton", "bunches", "bunch", "loaves", "loaf",
               "packages", "package", "tubs", "tub", "cases", "case", "rolls", "roll")  # fmt: skip
_PACK = re.compile(r"^(\d+)[ -]?(?:pack|packs|pk|count|ct)s?\b(?: of)?\s*")
_DOZEN = re.compile(r"^(?:a |one )?(half a |half )?dozen\b(?: of)?\s*")


@dataclass(frozen=True, slots=True)
class QuantityPhrase:
    quantity: int | None
    """Units the shopper asked for; ``None`` when they said no number."""
    pack: int | None
    """Pack size they named ("6 pack", "a dozen"), a hint for which size to pick."""
    rest: str
    """The product words that remain."""

    @property
    def size_hint(self) -> str:
        return "" if self.pack is None else f"{self.pack} pack"


def _number(words: list[str]) -> tuple[int | None, int]:
    """A leading number (digits or words, up to 'fifty nine'); returns (value, words used)."""
    if not words:
        return None, 0
    first = words[0]
    if first.isdigit():
        return int(first), 1
    if first in _TENS:
        if len(words) > 1 and words[1] in NUMBER_WORDS and int(NUMBER_WORDS[words[1]]) < 10:
            return _TENS[first] + int(NUMBER_WORDS[words[1]]), 2
        return _TENS[first], 1
    if first in NUMBER_WORDS:
        return int(NUMBER_WORDS[first]), 1
    return None, 0


def split_quantity(text: str) -> QuantityPhrase:
    """Separate "how many / what pack" from the product words (lower-cased input or not)."""
    rest = " ".join(text.lower().replace("-", " - ").replace(" - ", "-").split())
    quantity: int | None = None
    for phrase, value in sorted(_VAGUE.items(), key=lambda kv: -len(kv[0])):
        if rest.startswith(phrase + " "):
            quantity, rest = value, rest[len(phrase) + 1 :]
            break
    if quantity is None:
        value, used = _number(rest.split())
        if value is not None and not _PACK.match(rest):
            words = rest.split()
            quantity, rest = value, " ".join(words[used:])
    pack = None
    if dozen := _DOZEN.match(rest):
        pack, rest = (6 if dozen.group(1) else 12), rest[dozen.end() :]
    elif packed := _PACK.match(rest):
        pack, rest = int(packed.group(1)), rest[packed.end() :]
    else:
        words = rest.split()
        value, used = _number(words)
        if value is not None and len(words) > used and words[used] in ("pack", "packs"):
            pack, rest = value, " ".join(words[used + 1 :]).removeprefix("of ").strip()
    words = rest.split()
    if len(words) > 1 and words[0] in _CONTAINERS and words[1] == "of":
        rest = " ".join(words[2:])
    return QuantityPhrase(quantity, pack, rest.strip())
