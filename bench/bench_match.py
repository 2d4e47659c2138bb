"""Product matching on the real Instacart catalogue: naive full scan vs voicecart, one run.

Baseline: ``rapidfuzz.process.extract(words, names, scorer=WRatio, limit=2)`` over
every product name (both through ``default_process``, the names once), confident when
the top score is at least 90 and 5 above the runner-up, asking about the two best when
it is at least 75, else no match. voicecart: ``catalog.matching.match_item`` over
``catalog.index.ProductIndex`` (built with Instacart purchase counts as popularity),
exactly what the skill runs on a product slot's words: the cleaning every channel
applies (``catalog.quantity.split_quantity``; a leading number that is part of a
product's very name is kept), then ``match_words``. The baseline gets the same cleaned
words (``split_quantity(text).rest``, or the text when that is empty). A voicecart
match the skill would not ask about (ambiguous, but one product fits) counts as
confident.

Two seeded query generators, ``--queries`` each:

- ``noise``: one kind of noise per query (first word dropped, a word dropped, a typo,
  plural swapped, numbers as words, a recogniser confusion).
- ``spoken``: how people say products to a smart speaker, several at once: carrier
  words ("add ... to my cart", "i need ...", "... please"), quantity phrases ("three
  bags of", "a pound of"), names shortened (a leading brand or qualifier, or a trailing
  descriptor, dropped), "Hummus, Roasted Garlic" said as "roasted garlic hummus",
  singular/plural changes, "&" as "and", units and numbers said as words, and
  recogniser artefacts (a compound heard as two words, two words heard as one, a
  sound-alike word). About 10% come from products with a word-order twin ("Sparkling
  Water Berry" / "Berry Sparkling Water"), said in either order, 5% from products with
  a sound-alike word and 3% from products with two words a recogniser may join; the
  rest are drawn uniformly. The query text is the item slot: the words after the intent
  frame ("add", "i need", "can i get") that the interaction model's templates take;
  trailing carriers stay for ``split_quantity``. A last line compares voicecart on the
  whole utterance (frame included) through ``split_quantity`` alone.

Outcomes per query: *confident-right* (a confident pick of the source or of a twin, a
product with the same ``catalog.normalize.tokens`` in any order: no one can tell those
apart by voice), *asked* (ambiguous: the skill asks "Did you mean ...?"; "offered" is
the share of those whose options include the source), *wrong* (a confident pick of
anything else), *not found*; "top-1" counts the best candidate whatever the decision.
A query is *answerable* when the source (or its twin) is the only catalogue product
with the fewest words that contains all of the query's intended words (what the
speaker meant, before recogniser artefacts); otherwise (e.g. "green grapes" made from
"Organic Green Grapes" while "Green Grapes" is also sold) no matcher can know. Shares
are reported on both sets, with p50/p95 latency of the matcher call, and broken down by
noise kind and by spoken transformation, with a few of voicecart's answers per outcome.
The baseline's full scans take most of the run (about 0.1 s a query).

``--large N`` also builds voicecart's index over a synthetic catalogue of N products
(the real names x synthetic brands and sizes) and reports its build time, memory,
latency and top-1 on noise queries (0 skips it).

    .venv/bin/python bench/bench_match.py [--queries N] [--generator {noise,spoken,both}]
        [--large N] [--seed S] [--examples K] [--no-plot]

Also draws the outcome shares per noise kind (docs/benchmarks/match-accuracy.png) and per
spoken transformation (match-spoken.png), and p50/p95 latency per method
(match-latency.png, with the synthetic catalogue's when ``--large`` runs).

Reads ../shared/data/instacart/products.csv and user_prior_histories.csv (purchase
counts; non-commercial data: read in place, never copied). Skips with a message when
products.csv is absent.
"""

from __future__ import annotations

import argparse
import csv
import gc
import multiprocessing
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jellyfish  # noqa: E402
from plots import hbar_chart, outcome_chart  # noqa: E402
from rapidfuzz import fuzz, process, utils  # noqa: E402
from wordfreq import zipf_frequency  # noqa: E402

from catalog.index import IndexEntry, ProductIndex  # noqa: E402
from catalog.matching import Decision, match_item, match_text  # noqa: E402
from catalog.normalize import tokens  # noqa: E402
from catalog.quantity import split_quantity  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "instacart"
NUMBER_WORDS = {
    "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six", "7": "seven",
    "8": "eight", "10": "ten", "12": "twelve", "16": "sixteen", "20": "twenty",
}  # fmt: skip
# Word-level confusions a recogniser makes on grocery words (homophones, near-homophones).
CONFUSIONS = {
    "whole": "hole", "flour": "flower", "cereal": "serial", "pear": "pair", "pears": "pairs",
    "beet": "beat", "beets": "beats", "thyme": "time", "chili": "chilly", "leek": "leak",
    "peas": "peace", "mussels": "muscles", "berry": "barry", "dough": "doe", "mint": "meant",
    "chard": "charred", "smith": "yes", "wheat": "wheet", "cloves": "clothes", "roll": "role",
    "rolls": "roles", "sole": "soul", "plum": "plumb", "mustard": "mustered", "greek": "great",
    "turkey": "turkish", "dates": "dates", "lox": "locks", "mousse": "moose",
}  # fmt: skip
KINDS = ("drop_first", "drop_word", "typo", "plural", "number", "confusion")

# --- the spoken generator's vocabulary --------------------------------------------------
# (frame the intent templates take, words that stay in the item slot before the product,
# words after it, whether a quantity phrase fits): "can i get | some | X", "X | please".
CARRIERS: tuple[tuple[str, str, str, bool], ...] = (
    ("add", "", "to my cart", True),
    ("add", "", "to my shopping list", True),
    ("add", "", "", True),
    ("i need", "", "", True),
    ("can i get", "some", "", False),
    ("", "", "please", True),
    ("put", "", "on my list", True),
    ("we're out of", "", "", False),
    ("i'd like", "", "please", True),
    ("we need", "more", "", False),
    ("could you add", "", "to the cart please", True),
    ("get me", "", "too", True),
)
# Quantity phrases said before the product, with the count they imply (0: a container or
# unit, after which the product's number is left as it is).
QUANTITIES: tuple[tuple[str, int], ...] = (
    ("two", 2), ("three", 3), ("four", 4), ("2", 2), ("a couple of", 2), ("a few", 3),
    ("one", 1), ("a", 1), ("a dozen", 12), ("three bags of", 0), ("two bags of", 0),
    ("a bag of", 0), ("a box of", 0), ("two boxes of", 0), ("a pound of", 0),
    ("two pounds of", 0), ("a bottle of", 0), ("a can of", 0), ("a jar of", 0),
    ("a six pack of", 0), ("a gallon of", 0), ("a pack of", 0), ("a carton of", 0),
)  # fmt: skip
LEAD_QUALIFIERS = frozenset({
    "organic", "original", "natural", "classic", "premium", "pure", "simply", "fresh",
    "traditional", "homestyle", "gourmet", "select", "signature", "authentic", "artisan",
    "the", "deluxe", "genuine", "real",
})  # fmt: skip
"""Leading words people leave out ("organic bananas" -> "bananas")."""
LEAD_PAIRS = frozenset({("all", "natural"), ("100%", "organic"), ("100%", "natural")})
NOT_BRANDS = frozenset({"children's", "men's", "women's", "kid's", "baby's", "infant's"})
TRAIL_QUALIFIERS = frozenset({
    "original", "classic", "organic", "unscented", "plain", "mild", "medium", "hot",
    "regular", "mini", "large", "small", "petite", "premium", "value", "single", "natural",
})  # fmt: skip
"""Trailing descriptors people leave out ("salsa medium" -> "salsa")."""
TRAIL_PAIRS = frozenset({
    ("variety", "pack"), ("value", "pack"), ("family", "size"), ("fragrance", "free"),
    ("value", "size"), ("party", "size"),
})  # fmt: skip
PLURAL_UNITS = frozenset({"oz", "lb", "lbs", "mg", "ml", "qt", "gal", "mcg"})
"""Units said in the plural after a number ("16 ounces"); "40 count", "6 pack" stay."""
UNITS = {"oz": "ounce", "lb": "pound", "lbs": "pound", "ct": "count", "pk": "pack",
         "mg": "milligram", "ml": "milliliter", "fl": "fluid", "qt": "quart", "gal": "gallon",
         "pc": "piece", "pcs": "piece", "mcg": "microgram"}  # fmt: skip
# Grocery words a recogniser writes as a sound-alike (true homophones, or as good as).
HOMOPHONES = {
    "whole": "hole", "flour": "flower", "flower": "flour", "thyme": "time", "catsup": "ketchup",
    "pear": "pair", "pears": "pairs", "leek": "leak", "leeks": "leaks", "beet": "beat",
    "beets": "beats", "chili": "chilly", "chile": "chilly", "chilies": "chillies",
    "mussels": "muscles", "mousse": "moose", "plum": "plumb", "roll": "role", "rolls": "roles",
    "sole": "soul", "dough": "doe", "cereal": "serial", "currant": "current",
    "currants": "currents", "lox": "locks", "tea": "tee", "teas": "tees", "rye": "wry",
    "maize": "maze", "steak": "stake", "steaks": "stakes", "wine": "whine", "sundae": "sunday",
    "bouillon": "bullion", "morel": "moral", "naan": "non", "meat": "meet", "meats": "meets",
    "links": "lynx", "chews": "choose", "coarse": "course", "bleu": "blue", "creme": "cream",
    "whey": "way", "kernel": "colonel", "kernels": "colonels", "root": "route", "rose": "rows",
    "peel": "peal", "pale": "pail", "ale": "ail", "berry": "bury", "carrot": "carat",
    "carrots": "carats", "bread": "bred", "sweet": "suite", "pie": "pi", "hair": "hare",
    "seed": "cede", "sea": "see", "sun": "son", "lean": "lien", "steel": "steal",
    "great": "grate", "wax": "whacks", "dye": "die", "dyes": "dies", "peas": "peace",
    "thai": "tie", "jam": "jamb", "cloves": "clothes", "greek": "great", "caramel": "carmel",
}  # fmt: skip
SPLIT_STOP = frozenset({
    "per", "her", "con", "pro", "pre", "tri", "bio", "non", "ant", "out", "off", "all", "our",
    "his", "the", "and", "for", "but", "far", "med", "age", "ages", "aging", "aged", "ion",
    "sol", "ups",
})  # fmt: skip
"""Halves no recogniser writes for a compound ("pro duct", "far med")."""
IRREGULAR = {"loaf": "loaves", "leaf": "leaves", "knife": "knives", "half": "halves",
             "shelf": "shelves", "mouse": "mice", "tooth": "teeth", "goose": "geese",
             "child": "children", "fish": "fish", "sheep": "sheep"}  # fmt: skip
SINGULAR_OF = {plural: single for single, plural in IRREGULAR.items()}
SMALL = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen")  # fmt: skip
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
P_CARRIER, P_QUANTITY, P_SHORTEN, P_COMMA = 0.65, 0.4, 0.5, 0.5
P_NUMBER_WORDS, P_PLURAL, P_COUNT_PLURAL = 0.6, 0.2, 0.8
P_HOMOPHONE, P_SPLIT, P_MERGE = 0.4, 0.5, 0.8
TWIN_SHARE, HOMOPHONE_SHARE, MERGE_SHARE = 0.1, 0.05, 0.03
"""Shares of spoken queries drawn from products with a word-order twin, with a sound-alike
word, and with two words a recogniser may join (so that each has queries enough); the
rest are drawn uniformly."""
SPOKEN_TAGS = ("plain", "carrier", "quantity", "drop_lead", "drop_tail", "comma_reordered",
               "and", "units", "number_words", "plural", "split", "merge", "homophone",
               "twin_order", "own_order")  # fmt: skip
OUTCOMES = ("right", "asked", "wrong", "none")
LABELS = {"right": "confident-right", "asked": "asked", "wrong": "wrong", "none": "not found"}
KIND_NAMES = {"drop_first": "first word dropped", "drop_word": "a word dropped", "typo": "a typo",
              "plural": "plural swapped", "number": "numbers as words",
              "confusion": "recogniser confusion"}  # fmt: skip
TAG_NAMES = {"plain": "words as catalogued", "carrier": "carrier words",
             "quantity": "quantity phrase", "drop_lead": "leading word left out",
             "drop_tail": "trailing words left out", "comma_reordered": "comma name reordered",
             "and": "\"&\" said as \"and\"", "units": "units in words",
             "number_words": "numbers in words", "plural": "singular / plural",
             "split": "compound heard as two", "merge": "two words heard as one",
             "homophone": "sound-alike word", "twin_order": "twin's word order",
             "own_order": "twin, own order"}  # fmt: skip
"""Chart labels of the noise kinds and spoken transformations."""


@dataclass(frozen=True)
class Query:
    text: str
    """What reaches ``split_quantity``: the item slot."""
    intended: str
    """The product words meant, before recogniser artefacts (no carrier or quantity)."""
    source: int
    kind: str
    said: str = ""
    """The whole utterance, intent frame included (the spoken generator)."""
    tags: tuple[str, ...] = ()


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def load_products() -> tuple[list[str], list[int], dict[int, int]]:
    names, ids = [], []
    with open(DATA / "products.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):  # the file escapes inner quotes as \" (a quirk)
            ids.append(int(row["product_id"]))
            names.append(row["product_name"].replace('\\"', '"'))
    popularity: dict[int, int] = defaultdict(int)
    with open(DATA / "user_prior_histories.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            popularity[int(row["product_id"])] += 1
    return names, ids, popularity


def spoken_words(name: str) -> list[str]:
    cleaned = name.lower().replace("%", " percent ").replace("&", " and ")
    words = ["".join(c for c in w if c.isalnum() or c == "'") for w in cleaned.split()]
    return [w for w in words if w]


def make_query(rng: random.Random, name: str, source: int) -> Query | None:
    words = spoken_words(name)
    kind = rng.choice(KINDS)
    if kind == "drop_first" and len(words) >= 3:
        words = words[1:]
    elif kind == "drop_word" and len(words) >= 3:
        del words[rng.randrange(len(words))]
    intended = " ".join(words)
    if kind == "typo":
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) < 4:
            return None
        j = rng.randrange(1, len(w) - 1)
        op = rng.choice("sdit")
        if op == "s":
            w = w[:j] + rng.choice("abcdefghijklmnopqrstuvwxyz") + w[j + 1 :]
        elif op == "d":
            w = w[:j] + w[j + 1 :]
        elif op == "i":
            w = w[:j] + rng.choice("aeiounrst") + w[j:]
        else:
            w = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
        words[i] = w
    elif kind == "plural":
        i = rng.randrange(len(words))
        w = words[i]
        if w.isdigit() or len(w) < 3:
            return None
        words[i] = w[:-1] if w.endswith("s") else w + "s"
    elif kind == "number":
        if not any(w in NUMBER_WORDS for w in words):
            return None
        words = [NUMBER_WORDS.get(w, w) for w in words]
    elif kind == "confusion":
        if not any(w in CONFUSIONS for w in words):
            return None
        words = [CONFUSIONS.get(w, w) for w in words]
    return Query(" ".join(words), intended, source, kind)


def generate(names: Sequence[str], count: int, seed: int) -> list[Query]:
    rng = random.Random(seed)
    queries: list[Query] = []
    while len(queries) < count:
        source = rng.randrange(len(names))
        query = make_query(rng, names[source], source)
        if query is not None:
            queries.append(query)
    return queries


# --- the spoken generator ---------------------------------------------------------------
_PARENTHESES = re.compile(r"\([^)]*\)")
_GLUED_UNIT = re.compile(r"(\d)(" + "|".join(UNITS) + r")\b")
_WORD = re.compile(r"\d+(?:st|nd|rd|th)\b|\d+(?:\.\d+)?%?|[a-z]+(?:'[a-z]+)*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?%?")
ORDINALS = {"1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth", "5th": "fifth",
            "6th": "sixth", "7th": "seventh", "8th": "eighth", "9th": "ninth", "10th": "tenth",
            "12th": "twelfth"}  # fmt: skip


def read_aloud(name: str) -> list[str]:
    """The words of a product name as they are said: lower case, no punctuation or
    parentheses, "&" as "and", hyphens as spaces, "16oz" as "16 oz"."""
    text = _PARENTHESES.sub(" ", name.lower())
    text = text.replace("&", " and ").replace("+", " plus ").replace("w/", "with ")
    text = _GLUED_UNIT.sub(r"\1 \2", re.sub(r"(\d)\s+%", r"\1%", text))
    return _WORD.findall(text)


def number_words(number: str) -> list[str]:
    """ "12" -> twelve; "2.5" -> two point five; "2%" -> two percent; "1000" -> one thousand."""
    if number.endswith("%"):
        return [*number_words(number[:-1]), "percent"]
    if "." in number:
        whole, _, fraction = number.partition(".")
        return [*number_words(whole), "point", *(SMALL[int(d)] for d in fraction)]
    value = int(number)
    if value >= 10_000:
        return [SMALL[int(d)] for d in number]
    out: list[str] = []
    if value >= 1000:
        out += [*number_words(str(value // 1000)), "thousand"]
        value %= 1000
    if value >= 100:
        out += [SMALL[value // 100], "hundred"]
        value %= 100
    if value >= 20:
        out.append(TENS[value // 10])
        value %= 10
        if value:
            out.append(SMALL[value])
    elif value or not out:
        out.append(SMALL[value])
    return out


def _sounds(word: str) -> str:
    """Consonant skeleton of a word's metaphone code: how it sounds, give or take vowels."""
    return re.sub("[AEIOU]", "", jellyfish.metaphone(word))


class SpokenGenerator:
    """Queries as people say products to a smart speaker (see the module docstring)."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = names
        self.read = [read_aloud(n) for n in names]
        vocab: Counter[str] = Counter()
        for words in self.read:
            vocab.update(set(words))
        # Words that end a name (head nouns): a number change needs both forms among them.
        self.heads = frozenset(words[-1] for words in self.read if words)
        first: Counter[str] = Counter(words[0] for words in self.read if len(words) >= 3)
        later: Counter[str] = Counter(w for words in self.read for w in words[1:])
        # A word that starts at least five names and hardly appears anywhere else reads
        # like a brand ("steamfresh", "eggo").
        self.brands = frozenset(
            w for w, c in first.items() if c >= 5 and later[w] <= c // 10 and w.isalpha()
        )
        self.splits: dict[str, tuple[str, str]] = {}
        for word in sorted(vocab):
            if split := self._split(word, vocab):
                self.splits[word] = split
        self.merges: dict[tuple[str, str], str] = {}
        for words in self.read:
            for a, b in pairwise(words):
                if (a, b) not in self.merges and self._mergeable(a, b, vocab):
                    self.merges[a, b] = a + b
        order: dict[tuple[str, ...], set[tuple[str, ...]]] = defaultdict(set)
        rows: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for row, name in enumerate(names):
            said = tuple(tokens(name))
            order[tuple(sorted(said))].add(said)
            rows[tuple(sorted(said))].append(row)
        self.twin_rows = [r for key, group in rows.items() if len(order[key]) > 1 for r in group]
        self.twin_groups = sum(len(o) > 1 for o in order.values())
        self.rows_of = rows
        self.merge_rows = [
            row
            for row, words in enumerate(self.read)
            if any(pair in self.merges for pair in pairwise(words))
        ]
        self.homophone_rows = [
            row for row, words in enumerate(self.read) if any(w in HOMOPHONES for w in words)
        ]

    def _plural(self, word: str) -> str | None:
        """The plural of a singular noun, when catalogue names end in both."""
        if word not in self.heads or not word.isalpha() or len(word) < 3:
            return None
        if word in IRREGULAR:
            return IRREGULAR[word] if IRREGULAR[word] in self.heads else None
        for plural in (word + "s", word + "es", word[:-1] + "ies"):
            if plural in self.heads:
                return plural
        return None

    def _singular(self, word: str) -> str | None:
        """The singular of a plural word, when the catalogue has it."""
        if word in SINGULAR_OF:
            return SINGULAR_OF[word] if self._plural(SINGULAR_OF[word]) == word else None
        if not word.endswith("s") or word.endswith(("ss", "us", "is", "'s")):
            return None
        for single in (word[:-1], word[:-2], word[:-3] + "y"):
            if self._plural(single) == word:
                return single
        return None

    @staticmethod
    def _split(word: str, vocab: Counter[str]) -> tuple[str, str] | None:
        """A compound a recogniser may write as two words: both halves real catalogue
        words of 3+ letters, common English, sounding like the whole."""
        if len(word) < 6 or not word.isalpha():
            return None
        best: tuple[float, str, str] | None = None
        for at in range(3, len(word) - 2):
            a, b = word[:at], word[at:]
            if vocab[a] < 2 or vocab[b] < 2 or a in SPLIT_STOP or b in SPLIT_STOP:
                continue
            common = min(zipf_frequency(a, "en"), zipf_frequency(b, "en"))
            if common < 3.0 or common < zipf_frequency(word, "en") - 0.5:
                continue
            if _sounds(a) + _sounds(b) != _sounds(word):
                continue
            if best is None or common > best[0]:
                best = (common, a, b)
        return None if best is None else (best[1], best[2])

    @staticmethod
    def _mergeable(a: str, b: str, vocab: Counter[str]) -> bool:
        """Two words a recogniser may write as one: the joined word is a real word."""
        if not (a.isalpha() and b.isalpha()) or len(a) < 3 or len(b) < 3:
            return False
        joined = zipf_frequency(a + b, "en")
        return (
            joined >= 2.5
            and (vocab[a + b] > 0 or joined >= 3.0)
            and min(zipf_frequency(a, "en"), zipf_frequency(b, "en")) >= 3.0
        )

    def generate(self, count: int, seed: int) -> list[Query]:
        rng = random.Random(seed)
        return [self.make(rng) for _ in range(count)]

    def make(self, rng: random.Random) -> Query:
        tags: list[str] = []
        pool = rng.random()
        if pool < TWIN_SHARE:
            source = rng.choice(self.twin_rows)
            own = tuple(tokens(self.names[source]))
            twins = [
                r for r in self.rows_of[tuple(sorted(own))] if tuple(tokens(self.names[r])) != own
            ]
            said_as = rng.choice([source, rng.choice(twins)])
            tags.append("own_order" if said_as == source else "twin_order")
            words = self._say(rng, self.names[said_as], tags, shorten=False)
        else:
            if pool < TWIN_SHARE + HOMOPHONE_SHARE:
                source = rng.choice(self.homophone_rows)
            elif pool < TWIN_SHARE + HOMOPHONE_SHARE + MERGE_SHARE:
                source = rng.choice(self.merge_rows)
            else:
                source = rng.randrange(len(self.names))
            words = self._say(rng, self.names[source], tags, shorten=True)

        frame, lead_in, tail, counted = ("", "", "", True)
        if rng.random() < P_CARRIER:
            frame, lead_in, tail, counted = rng.choice(CARRIERS)
            tags.append("carrier")
        quantity, implied = "", 0
        if counted and rng.random() < P_QUANTITY:
            quantity, implied = rng.choice(QUANTITIES)
            if quantity == "a" and words and words[0][0] in "aeiou":
                quantity = "an"
            tags.append("quantity")

        # The head noun (the last word) in the other number, when the catalogue has both.
        head = words[-1] if words else ""
        plural, single = self._plural(head), self._singular(head)
        if implied >= 2 and plural and rng.random() < P_COUNT_PLURAL:  # "two avocados"
            words[-1] = plural
            tags.append("plural")
        elif (other := single or plural) and implied < 2 and rng.random() < P_PLURAL:
            words[-1] = other
            tags.append("plural")
        intended = " ".join(words)

        heard = self._mishear(rng, words, tags)
        slot = " ".join(p for p in (lead_in, quantity, " ".join(heard), tail) if p)
        said = " ".join(p for p in (frame, slot) if p)
        if not set(tags) - {"carrier", "quantity"}:
            tags.append("plain")  # the product words as the catalogue has them
        shown = [t for t in SPOKEN_TAGS if t in tags]
        return Query(slot, intended, source, "+".join(shown), said, tuple(shown))

    def _say(self, rng: random.Random, name: str, tags: list[str], *, shorten: bool) -> list[str]:
        """The product words as said: maybe shortened, numbers and units as words."""
        if shorten and "," in name:
            front, _, back = name.rpartition(",")
            before, after = len(read_aloud(front)), len(read_aloud(back))
            if before and after and rng.random() < P_COMMA:
                if before >= 2 and (after > 4 or rng.random() < 0.5):
                    name = front
                    tags.append("drop_tail")
                elif after <= 4:  # "Hummus, Roasted Garlic" -> "roasted garlic hummus"
                    name = f"{back} {front}"
                    tags.append("comma_reordered")
        words = read_aloud(name)
        if "&" in name and "and" in words:
            tags.append("and")
        shortened = "drop_tail" in tags or "comma_reordered" in tags
        if shorten and len(words) >= 3 and not shortened and rng.random() < P_SHORTEN:
            options = []
            lead = 2 if tuple(words[:2]) in LEAD_PAIRS else 1
            first = words[0]
            brand = first in self.brands or (first.endswith("'s") and first not in NOT_BRANDS)
            if lead == 2 or first in LEAD_QUALIFIERS or brand:
                options.append(("drop_lead", words[lead:]))
            trail = 2 if tuple(words[-2:]) in TRAIL_PAIRS else 1
            if len(words) >= 4 and words[-1] in UNITS and _NUMBER.fullmatch(words[-2]):
                trail = 2  # "... 16 oz"
            if trail == 2 or words[-1] in TRAIL_QUALIFIERS:
                options.append(("drop_tail", words[:-trail]))
            if options:
                tag, words = rng.choice(options)
                tags.append(tag)
        said: list[str] = []
        count = ""  # the number a unit follows ("16 oz", "12 fl oz")
        for i, word in enumerate(words):
            previous = words[i - 1] if i else ""
            count = previous if _NUMBER.fullmatch(previous) else count if previous == "fl" else ""
            if word in UNITS and (count or (word == "fl" and words[i + 1 : i + 2] == ["oz"])):
                unit = UNITS[word]
                plural = count not in ("", "1", "1.0") and word in PLURAL_UNITS
                said.append(unit + "s" if plural else unit)
                if "units" not in tags:
                    tags.append("units")
            else:
                said.append(word)
        spelled = [w for w in said if _NUMBER.fullmatch(w) or w in ORDINALS]
        if spelled and rng.random() < P_NUMBER_WORDS:
            said = [
                s
                for w in said
                for s in (
                    [ORDINALS[w]] if w in ORDINALS
                    else number_words(w) if _NUMBER.fullmatch(w) else [w]
                )
            ]  # fmt: skip
            tags.append("number_words")
        return said

    def _mishear(self, rng: random.Random, words: list[str], tags: list[str]) -> list[str]:
        """Recogniser artefacts: a sound-alike word, two words joined, a compound split."""
        heard = list(words)
        alike = [i for i, w in enumerate(heard) if w in HOMOPHONES]
        if alike and rng.random() < P_HOMOPHONE:
            i = rng.choice(alike)
            heard[i] = HOMOPHONES[heard[i]]
            tags.append("homophone")
        pairs = [i for i in range(len(heard) - 1) if (heard[i], heard[i + 1]) in self.merges]
        joined = -1
        if pairs and rng.random() < P_MERGE:
            joined = rng.choice(pairs)
            heard[joined : joined + 2] = [self.merges[heard[joined], heard[joined + 1]]]
            tags.append("merge")
        compound = [i for i, w in enumerate(heard) if w in self.splits and i != joined]
        if compound and rng.random() < P_SPLIT:
            i = rng.choice(compound)
            heard[i : i + 1] = self.splits[heard[i]]
            tags.append("split")
        return heard


# --- scoring ----------------------------------------------------------------------------
class Twins:
    """Products no one can tell apart by voice from each product: the same words
    (``tokens``, as a multiset) or the same letters in the same order ("Yellow Pop
    Corn", "Yellow Popcorn"), and twins of those."""

    def __init__(self, names: Sequence[str]) -> None:
        by_key: dict[object, list[int]] = defaultdict(list)
        for row, name in enumerate(names):
            said = tokens(name)
            by_key[tuple(sorted(said))].append(row)
            by_key["".join(said)].append(row)
        linked: dict[int, set[int]] = defaultdict(set)
        for rows in by_key.values():
            for row in rows:
                linked[row].update(rows)
        self.of: list[frozenset[int]] = []
        for row in range(len(names)):
            group, todo = {row}, [row]
            while todo:  # twins of twins
                for other in linked[todo.pop()] - group:
                    group.add(other)
                    todo.append(other)
            self.of.append(frozenset(group))


class Answerability:
    """Is the source (or its twin) the unique shortest product containing the intended
    words?"""

    def __init__(self, names: Sequence[str], twins: Twins) -> None:
        self.twins = twins
        self.sets = [frozenset(tokens(n)) for n in names]
        self.postings: dict[str, set[int]] = defaultdict(set)
        for row, words in enumerate(self.sets):
            for w in words:
                self.postings[w].add(row)

    def __call__(self, query: Query) -> bool:
        wanted = set(tokens(query.intended))
        if not wanted:
            return False
        rows = set.intersection(*(self.postings.get(w, set()) for w in wanted))
        size = len(self.sets[query.source])
        same = self.twins.of[query.source]
        return not any(r not in same and len(self.sets[r]) <= size for r in rows)


Pick = tuple[Decision, tuple[int, ...]]
"""A matcher's decision and the rows it names: the pick, or the options it asks about."""


@dataclass
class Run:
    method: str
    times: list[float] = field(default_factory=list)
    picks: list[Pick] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)


def outcome(pick: Pick, right: frozenset[int]) -> str:
    decision, rows = pick
    if decision is Decision.NO_MATCH:
        return "none"
    if decision is Decision.AMBIGUOUS:
        return "asked"
    return "right" if rows and rows[0] in right else "wrong"


def run(method: str, matcher: Callable[[str], Pick], queries: Sequence[Query], twins: Twins) -> Run:
    result = Run(method)
    for q in queries:
        start = time.perf_counter()
        pick = matcher(q.text)
        result.times.append((time.perf_counter() - start) * 1000)
        result.picks.append(pick)
        result.outcomes.append(outcome(pick, twins.of[q.source]))
    return result


def timed(
    fn: Callable[[Query], int | None], queries: Sequence[Query]
) -> tuple[list[float], list[bool]]:
    times, correct = [], []
    for q in queries:
        start = time.perf_counter()
        answer = fn(q)
        times.append((time.perf_counter() - start) * 1000)
        correct.append(answer == q.source)
    return times, correct


def pct(values: Sequence[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def share(flags: Sequence[bool]) -> float:
    return 100.0 * sum(flags) / max(1, len(flags))


def shares(outcomes: Sequence[str], mask: Sequence[bool]) -> list[float]:
    picked = [o for o, m in zip(outcomes, mask, strict=True) if m]
    return [share([o == kind for o in picked]) for kind in OUTCOMES]


def report(
    title: str,
    queries: Sequence[Query],
    ok_mask: Sequence[bool],
    runs: Sequence[Run],
    twins: Twins,
) -> None:
    """Outcome shares over answerable and all queries, and latency, per matcher."""
    print()
    print(f"{title}: {len(queries):,} queries, {sum(ok_mask):,} answerable")
    heads = "".join(f"{h:>11}" for h in ("conf-right", "asked", "wrong", "not found"))
    print(f"{'':28}{'answerable queries':^44}{'all queries':^44}")
    print(f"{'method':28}{heads}{heads} {'offered':>8} {'top-1':>6} "
          f"{'p50 ms':>7} {'p95 ms':>7} {'p50 speed-up':>12}")  # fmt: skip
    everything = [True] * len(queries)
    right = [twins.of[q.source] for q in queries]
    base_p50 = pct(runs[0].times, 50)
    for r in runs:
        offered = [
            any(row in right[i] for row in rows)
            for i, ((_, rows), o, m) in enumerate(zip(r.picks, r.outcomes, ok_mask, strict=True))
            if m and o == "asked"
        ]
        top1 = [bool(rows) and rows[0] in right[i] for i, (_, rows) in enumerate(r.picks)]
        cells = "".join(f"{v:10.1f}%" for v in shares(r.outcomes, ok_mask))
        cells_all = "".join(f"{v:10.1f}%" for v in shares(r.outcomes, everything))
        top1_ok = share([t for t, m in zip(top1, ok_mask, strict=True) if m])
        p50, p95 = pct(r.times, 50), pct(r.times, 95)
        print(f"{r.method:28}{cells}{cells_all} {share(offered):7.1f}% {top1_ok:5.1f}% "
              f"{p50:7.2f} {p95:7.2f} {base_p50 / p50:11.1f}x")  # fmt: skip
    print(
        "  offered: answerable asked queries whose options include the source; top-1: "
        "answerable queries whose best candidate is the source, whatever the decision"
    )


def kind_masks(
    kinds: Sequence[str], queries: Sequence[Query], ok_mask: Sequence[bool]
) -> list[tuple[str, list[bool]]]:
    """The answerable queries of each noise kind or spoken transformation that has any."""
    masks = []
    for kind in kinds:
        mask = [m and kind in (q.tags or (q.kind,)) for q, m in zip(queries, ok_mask, strict=True)]
        if any(mask):
            masks.append((kind, mask))
    return masks


def breakdown(
    title: str,
    kinds: Sequence[str],
    queries: Sequence[Query],
    ok_mask: Sequence[bool],
    runs: Sequence[Run],
) -> None:
    print()
    print(f"{title} (answerable queries; confident-right / asked / wrong / not found %)")
    print(f"  {'':16} {'n':>5}  " + "  ".join(f"{r.method.split()[0]:>23}" for r in runs))
    for kind, mask in kind_masks(kinds, queries, ok_mask):
        cells = "  ".join(" ".join(f"{v:5.1f}" for v in shares(r.outcomes, mask)) for r in runs)
        print(f"  {kind:16} {sum(mask):5}  {cells}")


def outcome_panels(
    kinds: Sequence[str],
    names: dict[str, str],
    queries: Sequence[Query],
    ok_mask: Sequence[bool],
    runs: Sequence[Run],
) -> dict[str, dict[str, dict[str, float]]]:
    """The breakdown's shares for a chart: ``[method][row][outcome]``, all answerable
    queries first, then each kind (with its count)."""
    rows = [(f"all ({sum(ok_mask)})", list(ok_mask))]
    for kind, mask in kind_masks(kinds, queries, ok_mask):
        rows.append((f"{names[kind]} ({sum(mask)})", mask))
    return {
        r.method: {
            label: dict(zip(LABELS.values(), shares(r.outcomes, mask), strict=True))
            for label, mask in rows
        }
        for r in runs
    }


def examples(
    queries: Sequence[Query],
    ok_mask: Sequence[bool],
    r: Run,
    names: Sequence[str],
    count: int,
) -> None:
    if count <= 0:
        return
    print(f"  {r.method.split()[0]} examples (answerable; said -> product words):")
    for kind in ("wrong", "asked", "none", "right"):
        shown = 0
        for q, m, o, (_, rows) in zip(queries, ok_mask, r.outcomes, r.picks, strict=True):
            if not m or o != kind or shown >= count:
                continue
            shown += 1
            words = split_quantity(q.text).rest or q.text
            said = q.said or q.text
            chose = " | ".join(names[row] for row in rows) or "-"
            print(f"    {LABELS[kind]:15} {said!r} -> {words!r}: {chose!r}"
                  f"{'' if kind == 'right' else f'; meant {names[q.source]!r}'}")  # fmt: skip


def spoken_extras(
    queries: Sequence[Query],
    ok_mask: Sequence[bool],
    runs: Sequence[Run],
    voicecart: Callable[[str], Pick],
    twins: Twins,
) -> None:
    """Transformation shares and breakdown; the intent frame left in, for comparison."""
    print()
    mix = ", ".join(f"{t} {share([t in q.tags for q in queries]):.0f}%" for t in SPOKEN_TAGS)
    print(f"spoken transformations (share of all queries; several per query): {mix}")
    breakdown("by spoken transformation", SPOKEN_TAGS, queries, ok_mask, runs)
    framed = [i for i, q in enumerate(queries) if q.said != q.text]
    whole = run("voicecart", voicecart, [replace(queries[i], text=queries[i].said)
                                         for i in framed], twins)  # fmt: skip
    on_slot = share([runs[-1].outcomes[i] == "right" for i in framed])
    on_whole = share([o == "right" for o in whole.outcomes])
    print()
    print(f"queries said with an intent frame (\"add\", \"i need\", ...; n={len(framed)}): "
          f"voicecart confident-right {on_slot:.1f}% on the item slot, {on_whole:.1f}% "
          "if the whole utterance went through split_quantity alone")  # fmt: skip


def synthetic(names: Sequence[str], popularity: Sequence[int], size: int) -> list[IndexEntry]:
    """A large catalogue from the real names: synthetic brands and sizes on each name."""
    brands = ["Acme", "Hearthside", "Meadowvale", "Blue Harbor", "Sunny Acres", "Brightwash",
              "Golden Fields", "Riverbend", "Oak Hollow", "Summit", "Prairie Gold", "Coastal",
              "Maple Ridge", "Silver Lake", "Green Valley", "Red Barn", "Northwind", "Cedar Creek",
              "Harvest Moon", "Willow Park"]  # fmt: skip
    sizes = ["8 oz", "12 oz", "16 oz", "1 lb", "2 lb", "6 pack", "12 pack", "1 gal", "half gallon",
             "32 oz", "family size", "value pack", "24 count", "500 ml", "1 l"]  # fmt: skip
    entries = []
    for i in range(size):
        base = i % len(names)
        variant = i // len(names)
        entries.append(
            IndexEntry(
                product_id=i,
                sku=f"S{i}",
                name=names[base],
                brand=brands[variant % len(brands)],
                size=sizes[(variant // len(brands) + base) % len(sizes)],
                popularity=popularity[base],
            )
        )
    return entries


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--queries", type=int, default=1000, help="queries per generator (default 1000)"
    )
    parser.add_argument(
        "--generator", choices=("noise", "spoken", "both"), default="both",
        help="which query generator(s) to run (default: both)",
    )  # fmt: skip
    parser.add_argument(
        "--large",
        type=int,
        default=1_000_000,
        help="synthetic catalogue size (default 1,000,000; 0 skips it)",
    )
    parser.add_argument(
        "--workers", type=int, default=4,
        help="worker processes that memory-map the large catalogue's index file (default 4)",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=int, default=2017, help="seed for every generator (default 2017)"
    )
    parser.add_argument(
        "--examples", type=int, default=3,
        help="voicecart examples shown per outcome and generator (default 3; 0: none)",
    )  # fmt: skip
    parser.add_argument(
        "--no-plot", action="store_true",
        help="do not write the charts (docs/benchmarks/match-*.png)",
    )  # fmt: skip
    args = parser.parse_args()
    if not (DATA / "products.csv").exists():
        print(f"skipped: {DATA / 'products.csv'} not found (the Instacart data lives in ../shared)")
        return

    names, ids, counts = load_products()
    popularity = [counts.get(pid, 0) for pid in ids]
    gc.collect()
    before = rss_mb()
    start = time.perf_counter()
    index = ProductIndex(
        IndexEntry(row, str(pid), name, popularity=pop)
        for row, (pid, name, pop) in enumerate(zip(ids, names, popularity, strict=True))
    )
    vc_build = time.perf_counter() - start
    vc_mem = rss_mb() - before
    print(f"{len(names):,} products; voicecart index built in {vc_build:.2f} s, "
          f"{vc_mem:,.0f} MB (the baseline scans the name list, nothing to build)")  # fmt: skip

    twins = Twins(names)
    answerable = Answerability(names, twins)
    sets: list[tuple[str, list[Query]]] = []
    spoken: SpokenGenerator | None = None
    if args.generator in ("noise", "both"):
        sets.append(("noise", generate(names, args.queries, args.seed)))
    if args.generator in ("spoken", "both"):
        spoken = SpokenGenerator(names)
        sets.append(("spoken", spoken.generate(args.queries, args.seed)))
    print(f"{args.queries:,} queries per generator "
          f"({', '.join(k for k, _ in sets)}), seed {args.seed}")  # fmt: skip
    if spoken is not None:
        print(f"spoken generator: {spoken.twin_groups:,} word-order twin groups "
              f"({len(spoken.twin_rows):,} products), {len(spoken.splits):,} compounds it "
              f"may split, {len(spoken.merges):,} word pairs it may join")  # fmt: skip

    choices = [utils.default_process(n) for n in names]  # once, not per query

    def baseline(said: str) -> Pick:
        words = split_quantity(said).rest or said  # the same cleaning the skill applies
        # Scores under 75 never change the decision; the cutoff only saves time.
        found = process.extract(
            utils.default_process(words), choices, scorer=fuzz.WRatio, limit=2, score_cutoff=75
        )
        if not found:
            return Decision.NO_MATCH, ()
        top = found[0][1]
        runner_up = found[1][1] if len(found) > 1 else 0.0
        if top >= 90 and top - runner_up >= 5:
            return Decision.CONFIDENT, (int(found[0][2]),)
        return Decision.AMBIGUOUS, tuple(int(f[2]) for f in found)

    def voicecart(said: str) -> Pick:
        result = match_item(index, said)[1]  # cleaning and matching, as the skill runs them
        if result.asks:  # what the skill asks about; one fitting product it just takes
            return result.decision, tuple(c.product_id for c in result.contenders)
        best = result.best
        decision = Decision.CONFIDENT if result.decision is Decision.AMBIGUOUS else result.decision
        return decision, (() if best is None else (best.product_id,))

    base_p50 = 0.0
    latency: dict[str, dict[str, float]] = {}  # chart rows: method and queries -> p50, p95
    for generator, queries in sets:
        ok_mask = [answerable(q) for q in queries]
        runs = [run("baseline (WRatio full scan)", baseline, queries, twins),
                run("voicecart (index + rerank)", voicecart, queries, twins)]  # fmt: skip
        base_p50 = base_p50 or pct(runs[0].times, 50)
        if generator == "noise":
            report("noise generator (one noise kind per query)", queries, ok_mask, runs, twins)
            breakdown("by noise kind", KINDS, queries, ok_mask, runs)
        else:
            title = "spoken generator (how people talk to a smart speaker)"
            report(title, queries, ok_mask, runs, twins)
            spoken_extras(queries, ok_mask, runs, voicecart, twins)
        print()
        examples(queries, ok_mask, runs[1], names, args.examples)
        if not args.no_plot:
            plot_outcomes(generator, len(names), queries, ok_mask, runs)
            for r, method in zip(runs, ("WRatio scan", "voicecart"), strict=True):
                latency[f"{method}, {generator}"] = {
                    "p50": pct(r.times, 50),
                    "p95": pct(r.times, 95),
                }

    if args.large:
        del index
        gc.collect()
        before = rss_mb()
        start = time.perf_counter()
        big = ProductIndex(synthetic(names, popularity, args.large))
        big_build = time.perf_counter() - start
        big_mem = rss_mb() - before
        rng = random.Random(args.seed)
        big_queries: list[Query] = []
        while len(big_queries) < min(args.queries, 1000):
            row = rng.randrange(len(big))
            made = make_query(rng, big.entries[row].display_name, row)
            if made is not None:
                big_queries.append(made)
        big_times, big_ok = timed(
            lambda q: getattr(match_text(big, q.text).best, "product_id", None), big_queries
        )
        print()
        print(f"synthetic catalogue of {len(big):,} products (real names x synthetic brands/sizes)")
        print(f"  build {big_build:.1f} s, index memory {big_mem:,.0f} MB, "
              f"p50 {pct(big_times, 50):.2f} ms, p95 {pct(big_times, 95):.2f} ms, "
              f"p50 vs baseline on 49,688: {base_p50 / pct(big_times, 50):.1f}x faster, "
              f"top-1 (exact product incl. brand/size) {share(big_ok):.1f}%")  # fmt: skip
        if args.workers:
            shared_workers(big, [q.text for q in big_queries], args.workers, big_mem)
        big_p50, big_p95 = pct(big_times, 50), pct(big_times, 95)
        latency[f"voicecart, {len(big):,} products"] = {"p50": big_p50, "p95": big_p95}
    if not args.no_plot and latency:
        path = hbar_chart(
            "match-latency",
            f"Matching latency per query\n({len(names):,} Instacart products unless noted)",
            "ms per query (log scale)",
            latency,
            log_x=True,
            value_format="{:.3g}",
        )
        print(f"\nplot: {path.relative_to(ROOT)}")


def plot_outcomes(
    generator: str,
    products: int,
    queries: Sequence[Query],
    ok_mask: Sequence[bool],
    runs: Sequence[Run],
) -> None:
    """The chart of one generator's outcomes per noise kind or spoken transformation."""
    kinds: Sequence[str]
    if generator == "noise":
        name, what, kinds, labels = "match-accuracy", "noise kind", KINDS, KIND_NAMES
    else:
        name, what, kinds, labels = "match-spoken", "spoken transformation", SPOKEN_TAGS, TAG_NAMES
    path = outcome_chart(
        name,
        f"Matching {products:,} products: outcome per {what}",
        "share of answerable queries (%)\n(queries per row in parentheses)",
        outcome_panels(kinds, labels, queries, ok_mask, runs),
    )
    print(f"plot: {path.relative_to(ROOT)}")


def _worker(folder: str, texts: list[str], out: Any) -> None:
    """One worker process: map the index file, answer the queries, report its memory."""
    start = time.perf_counter()
    index = ProductIndex.load(Path(folder))
    loaded = time.perf_counter() - start
    times = []
    for text in texts:
        begun = time.perf_counter()
        match_text(index, text)
        times.append((time.perf_counter() - begun) * 1000)
    rollup = Path("/proc/self/smaps_rollup").read_text()
    pss = next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
    out.put((loaded, times, rss_mb(), pss / 1024))


def shared_workers(index: ProductIndex, texts: list[str], workers: int, in_memory: float) -> None:
    """The index file every worker maps (what servers do) against each worker holding its
    own in-memory copy (the baseline, measured above: ``in_memory`` MB per worker)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        index.save(Path(tmp) / "index")
        saved = time.perf_counter() - start
        size = sum(f.stat().st_size for f in (Path(tmp) / "index").iterdir()) / 2**20
        context = multiprocessing.get_context("spawn")  # fresh interpreters, as servers
        out = context.Queue()
        procs = [context.Process(target=_worker, args=(str(Path(tmp) / "index"), texts, out))
                 for _ in range(workers)]  # fmt: skip
        for proc in procs:
            proc.start()
        reports = [out.get(timeout=600) for _ in procs]
        for proc in procs:
            proc.join()
    loads = [r[0] for r in reports]
    times = [t for r in reports for t in r[1]]
    rss, pss = sum(r[2] for r in reports), sum(r[3] for r in reports)
    print(f"  {workers} workers memory-mapping one index file ({size:,.0f} MB, written in "
          f"{saved:.1f} s): load {max(loads):.2f} s at most, p50 {pct(times, 50):.2f} ms, "
          f"p95 {pct(times, 95):.2f} ms; workers' total RSS {rss:,.0f} MB (PSS {pss:,.0f} MB) "
          f"vs {workers} in-memory copies {workers * in_memory:,.0f} MB (baseline, index "
          f"alone): {rss / (workers * in_memory):.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
