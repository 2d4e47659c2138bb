"""How many, and in what pack: read quantity phrases off the front of spoken product words.

"two bananas" -> 2 x bananas; "a couple of limes" -> 2; "three bags of apples" -> 3;
"6 pack of cola" -> 1 x cola in a 6 pack; "a dozen eggs" -> eggs by the dozen;
"two twelve packs of water" -> 2 x water in a 12 pack; "a pound of ground beef" -> beef,
by the pound. The pack and unit are hints for choosing the product's size, never a
multiplier the shopper did not say. Carrier words around the product ("to my shopping
cart please", "for me", "as well") are dropped: this is the one cleaning every channel's
product words go through before matching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from catalog.normalize import NUMBER_WORDS

_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}
_VAGUE = {"a couple of": 2, "couple of": 2, "a couple": 2, "couple": 2, "a pair of": 2, "a few": 3,
          "a few of": 3, "a": 1, "an": 1, "one": 1, "some": None, "more": None}  # fmt: skip
_CONTAINERS = ("bags", "bag", "boxes", "box", "bottles", "bottle", "cans", "can", "jars", "jar",
               "packets", "packet", "cartons", "carton", "bunches", "bunch", "loaves", "loaf",
               "packages", "package", "tubs", "tub", "cases", "case", "rolls", "roll",
               "containers", "container", "heads", "head", "bars", "bar", "sticks", "stick",
               "pieces", "piece", "pots", "pot", "tins", "tin", "sacks", "sack",
               "blocks", "block", "dozen", "packs", "pack", "tubes", "tube", "jugs", "jug",
               "pouches", "pouch", "trays", "tray", "cups", "cup", "loafs")  # fmt: skip
_PACK_WORDS = ("pack", "pk", "count", "ct", "roll", "piece", "sheet")
"""After a number above one, these in the singular say the pack's size, not how many:
"an eight pack of sports drink", "the 24 count k cups", "six pack", "the twelve roll one"."""
_SIZES = ("big", "large", "small", "little", "huge", "giant", "family size", "family", "value")
_UNITS = {"pound": "lb", "pounds": "lb", "lb": "lb", "lbs": "lb", "ounce": "oz",
          "ounces": "oz", "oz": "oz", "gallon": "gal", "gallons": "gal", "gal": "gal",
          "half gallon": "half gallon", "half a gallon": "half gallon", "liter": "l",
          "liters": "l", "litre": "l", "litres": "l", "quart": "qt", "quarts": "qt",
          "pint": "pt", "pints": "pt", "kilo": "kg", "kilos": "kg", "kilogram": "kg",
          "kilograms": "kg"}  # fmt: skip
_UNIT = re.compile(
    r"^(" + "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True)) + r")\b(?: of)?\s*"
)
_COUNT = r"[0-9]+|a couple|couple|a few|" + "|".join(NUMBER_WORDS)
_LEAD = r"just|only|like|maybe|about|say|get|grab|make it|i need|we need"
_TRAILING_COUNT = re.compile(
    rf"(?:\s+|^)(?:(?:{_LEAD})\s+)?({_COUNT})\s+(?:(?:([0-9]+|{'|'.join(NUMBER_WORDS)})"
    rf"[ -]?)?({'|'.join(_CONTAINERS)})|of them|of those|please|more)$"
    rf"|\s+(?:{_LEAD})\s+({_COUNT})$"
)
"""A count said after the product: "spaghetti, 3 boxes", "coffee, just one bag",
"root beer, 2 twelve packs", "floss, like 3"."""
_PURPOSE = re.compile(r"\s+(?:(?:for|to go with|to make) [\w']+(?: [\w']+){0,3}|this time"
                      r"|this week|tonight|today|tomorrow)$")  # fmt: skip
"""Why or when it is wanted, after the product: "for taco night", "this time"."""
_PACKAGING = re.compile(r"\s+(?:" + "|".join(c for c in _CONTAINERS if c.endswith("s"))
                        + r")$")  # fmt: skip
"""A container said after the product ("baby food pouches")."""
_REFINED = re.compile(r"^(.+?)\s+(?:the|my usual|my|a)\s+([\w' ]+?)\s+(?:one|ones|kind|type"
                      r"|variety|flavou?r|version)$")  # fmt: skip
_REFINED_BARE = re.compile(r"^(.+?)\s+([\w']+)\s+(?:kind|type|variety|flavou?r|version)$")
""""razors disposable kind": one word of kind, no article."""
_KIND = re.compile(r"^(?:(?:the|my usual|my|a)\s+)?[\w' ]+?\s+(?:one|ones|kind|type|variety"
                   r"|flavou?r|version)$")  # fmt: skip
"""A product, then which of them: "milk the oat one", "popcorn the microwave kind"."""
_VAGUE_ADJECTIVES = frozenset({"big", "large", "small", "little", "nice", "regular", "usual",
                               "normal", "same", "good", "cheap", "other"})  # fmt: skip
_LEADING = re.compile(r"^(?:(?:the|my|our|your|um|uh|like|x)\s+)+")
_TRAILING = re.compile(
    r"(?:\s+(?:(?:to|in|into|onto|on|from|out of|off|for)\s+(?:my|the|our|your)\s+"
    r"(?:shopping\s+|grocery\s+)?(?:cart|basket|list|order|trolley|bag)"
    r"|please|for me|for us|as well|too|also|thanks|thank you|now|right now|again"
    r"|if you can|if you could|then|okay|ok|(?:as|like) (?:last time|always|usual|before)"
    r"|the usual|a|an|the|um|uh))+$"
)
"""Carrier words after the product: where it goes and how politely it was asked."""
_PACK = re.compile(r"^([0-9]+)[ -]?(?:pack|pk|count|ct)\b(?: of)?\s*")
_DOZEN = re.compile(r"^(?:a |one )?(half a |half )?dozen\b(?: of)?\s*")


MAX_DIGITS = 9
"""Digits said as a count or pack size at most: a longer run of digits is a code, not how
many (and far beyond every quantity limit); it stays with the product words."""


@dataclass(frozen=True, slots=True)
class QuantityPhrase:
    quantity: int | None
    """Units the shopper asked for (0 to ``10**MAX_DIGITS - 1``; the cart's limit is
    checked later); ``None`` when they said no number."""
    pack: int | None
    """Pack size they named ("6 pack", "a dozen"), a hint for which size to pick; in the
    same range."""
    rest: str
    """The product words that remain."""
    unit: str | None = None
    """A unit of measure they named ("a pound of" -> ``lb``), a hint for the size."""


def _number(words: list[str]) -> tuple[int | None, int]:
    """A leading number (digits or words, up to 'fifty nine'); returns (value, words used)."""
    if not words:
        return None, 0
    first = words[0]
    if first.isdigit():  # ASCII only: '²' passes isdigit() but not int(); other scripts' digits
        return (int(first), 1) if first.isascii() and len(first) <= MAX_DIGITS else (None, 0)
    if first in _TENS:
        if len(words) > 1 and words[1] in NUMBER_WORDS and int(NUMBER_WORDS[words[1]]) < 10:
            return _TENS[first] + int(NUMBER_WORDS[words[1]]), 2
        return _TENS[first], 1
    if first in NUMBER_WORDS:
        return int(NUMBER_WORDS[first]), 1
    return None, 0


def strip_carriers(text: str) -> str:
    """The product words without where-to and politeness around them."""
    words = " ".join(text.lower().replace(",", " ").split())
    stripped = _TRAILING.sub("", _LEADING.sub("", words)).strip()
    return stripped or words


def without_purpose(words: str) -> str | None:
    """The product words without a trailing purpose or time ("pork chops for dinner
    tomorrow" -> "pork chops") or container ("baby food pouches"), or ``None`` when there
    is none: tried when the whole phrase names nothing."""
    shorter = _PACKAGING.sub("", _PURPOSE.sub("", words)).strip()
    return shorter if shorter and shorter != words else None


def _sized(words: str) -> bool:
    """A unit then a container or size word ("lb bag of rice"): the number before was a
    size."""
    measured = _UNIT.match(words)
    return measured is not None and (words[measured.end() :].split() or [""])[0] in (
        *_CONTAINERS, *_SIZES)  # fmt: skip


_TIMES = re.compile(r"^(?:([0-9]{1,2}) ?x|x ?([0-9]{1,2})) (.+)$|^(.+?) x ?([0-9]{1,2})$")
"""Chat shorthand for a count: "strawberries x2", "2x the eggs"."""


def split_quantity(text: str) -> QuantityPhrase:
    """Separate "how many / what pack or unit" and carrier words from the product words
    (lower-cased input or not)."""
    said = " ".join(text.lower().replace(",", " ").replace("-", " - ").replace(" - ", "-").split())
    if times := _TIMES.match(said):
        front = split_quantity(times.group(3) or times.group(4))
        return replace(front, quantity=int(times.group(1) or times.group(2) or times.group(5)))
    rest = strip_carriers(said)
    quantity: int | None = None
    after = _TRAILING_COUNT.search(said)
    shorter = _PURPOSE.sub("", said).strip() if after is None else None
    if shorter and (after := _TRAILING_COUNT.search(shorter)):  # "cola, 2 packs for a party"
        said = shorter
    if after is not None and after.start() > 0:
        count = after.group(1) or after.group(4)
        value = _VAGUE.get(count) or _VAGUE.get(count + " of") or _number([count])[0]
        rest = strip_carriers(said[: after.start()])
        if value is not None and rest:
            front = split_quantity(rest)
            if after.group(3) in _PACK_WORDS and not after.group(2) and value > 1:
                # "root beer, a twelve pack"; "tonic water, six pack"
                return QuantityPhrase(front.quantity, value, front.rest, front.unit)
            pack = _number([after.group(2)])[0] if after.group(2) else front.pack
            return QuantityPhrase(front.quantity or value, pack, front.rest, front.unit)
    for phrase, value in sorted(_VAGUE.items(), key=lambda kv: -len(kv[0])):
        if rest.startswith(phrase + " "):
            quantity, rest = value, rest[len(phrase) + 1 :]
            break
    if quantity is None:
        value, used = _number(rest.split())
        words = rest.split()
        sized_pack = value is not None and value > 1 and words[used:used + 1] in (
            [w] for w in _PACK_WORDS)  # fmt: skip
        if (value is not None and not _PACK.match(rest) and not sized_pack
                and " percent" not in f" {rest} "[:14]):  # fmt: skip
            rest = " ".join(words[used:])
            if not _sized(rest):  # "the 5 lb bag of rice" is a size; "2 pounds of beef", an amount
                quantity = value
    if quantity is not None:
        rest = rest.removeprefix("more ")  # "two more bags of rice"
        value, used = _number(rest.split())
        if value is not None and _sized(" ".join(rest.split()[used:])):
            rest = " ".join(rest.split()[used:])  # "a fifteen pound bag of dog food": a size
    pack = None
    if dozen := _DOZEN.match(rest):
        pack, rest = (6 if dozen.group(1) else 12), rest[dozen.end() :]
    elif (packed := _PACK.match(rest)) and len(packed.group(1)) <= MAX_DIGITS:
        pack, rest = int(packed.group(1)), rest[packed.end() :]
    else:
        words = rest.split()
        value, used = _number(words)
        if value is not None and len(words) > used and words[used] in (*_PACK_WORDS, "packs"):
            pack, rest = value, " ".join(words[used + 1 :]).removeprefix("of ").strip()
    unit = None
    if measured := _UNIT.match(rest):
        unit, rest = _UNITS[measured.group(1)], rest[measured.end() :]
    for size in _SIZES:  # "a big bag of rice"
        if rest.startswith(size + " ") and rest[len(size) + 1 :].split(" ", 1)[0] in _CONTAINERS:
            rest = rest[len(size) + 1 :]
    words = rest.split()
    if len(words) > 1 and words[0] in _CONTAINERS and words[1] == "of":
        rest = " ".join(words[2:])
    return QuantityPhrase(quantity, pack, refined(strip_carriers(rest)), unit)


_LEADING_COUNT = re.compile(rf"(?:(?:{_LEAD})\s+)?({_COUNT})\s+(?:{'|'.join(_CONTAINERS)}"
                            r"|of those|of them|of these)\b")  # fmt: skip
"""Used with ``match(words, at)``: a count said from word ``at`` on."""
_LATER_WORD = re.compile(r"(?<= )\S")


def pack_size(words: str) -> int | None:
    """The pack size words begin with ("eight pack", "24 count"), else ``None``."""
    said = words.lower().split()
    value, used = _number(said)
    if value is not None and value > 1 and said[used : used + 1] in ([w] for w in _PACK_WORDS):
        return value
    return None


def leading_count(words: str) -> int | None:
    """The count that words said after a product begin with ("three bags, actually")."""
    return _count_at(" ".join(words.lower().replace(",", " ").split()), 0)


def _count_at(said: str, at: int) -> int | None:
    """:func:`leading_count` of ``said`` (normalised words) from character ``at`` on."""
    found = _LEADING_COUNT.match(said, at)
    if found is None:
        return None
    count = found.group(1)
    value = _VAGUE.get(count) or _VAGUE.get(count + " of") or _number([count])[0]
    heard = found.group(0).split()
    if value is not None and value > 1 and heard[-1] in _PACK_WORDS:
        return None  # "six pack": a size
    return value


def inner_count(words: str) -> int | None:
    """A count said right after the product, before more words about it ("dog treats
    two bags the big dog's been good")."""
    said = " ".join(words.lower().replace(",", " ").split())
    for word in _LATER_WORD.finditer(said):  # one pass: long words stay cheap
        if (count := _count_at(said, word.start())) is not None:
            return count
    return None


def only_quantity(words: str) -> bool:
    """Nothing but how many and in what ("two packs", "a couple of bags"), or which kind
    ("the chicken flavor", "disposable kind"): words that need the product said before."""
    if _KIND.match(" ".join(words.lower().split())):
        return True
    rest = split_quantity(words).rest.split()
    return all(w in _CONTAINERS or w in _UNITS or w == "of" for w in rest)


def refined(words: str) -> str:
    """ "milk the oat one" -> "oat milk": the kind named after the product goes before it
    (vague words like "big" or "usual" are dropped)."""
    found = _REFINED.match(words) or _REFINED_BARE.match(words)
    if found is None:
        return words
    kind = [w for w in found.group(2).split() if w not in _VAGUE_ADJECTIVES]
    return " ".join([*kind, strip_carriers(found.group(1)).strip(" -")])
