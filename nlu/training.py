"""Training data for the trained parser, generated from the one interaction model.

Every template of every intent (and the built-in intents' phrasings) is expanded,
its slots filled with values (catalogue phrases, numbers, ordinals, codes), product
phrases sometimes wrapped in quantity and unit words, and the sentence roughened the
way shoppers and recognisers roughen it: fillers, hesitations, a repeated or dropped
word, recogniser-style confusions. Noise sentences (model words and dictionary words
in no order) teach the classifier what belongs to no intent. Seeded: the same model
and values give the same data. No sentence here is typed by hand.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nlu.builtins import BUILTIN_TEMPLATES
from nlu.grammar import expand
from nlu.model import InteractionModel
from nlu.parser import FALLBACK

SPOKEN_NUMBERS = frozenset({"zero", "oh", "one", "two", "three", "four", "five", "six", "seven",
                            "eight", "nine", "ten", "eleven", "twelve", "fifteen", "twenty",
                            "thirty", "forty", "fifty", "hundred", "first", "second",
                            "third", "fourth", "fifth", "last", "double"})  # fmt: skip
"""Words of the built-in number, digit and ordinal slots: part of every frame."""
NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve", "fifteen", "twenty", "twenty four", "a couple of", "2",
                "3", "4", "6", "10")  # fmt: skip
ORDINAL_WORDS = ("first", "second", "third", "fourth", "last", "1st", "2nd", "3rd")
DIGIT_WORDS = ("oh", "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
               "nine")  # fmt: skip
CONTAINERS = ("bag", "box", "bottle", "can", "carton", "pack", "jar", "bunch", "loaf", "head",
              "tub", "roll", "case", "package", "jug")  # fmt: skip
_PLURAL = {"box": "boxes", "bunch": "bunches", "loaf": "loaves", "case": "cases"}
PRODUCT_WRAPPERS = (
    *([""] * 12),
    "some ",
    "a ",
    "the ",
    "more ",
    "my usual ",
    "a dozen ",
    "half a dozen ",
    "a pound of ",
    "two pounds of ",
    "a gallon of ",
    "half a gallon of ",
    "a six pack of ",
    "a twelve pack of ",
    "a couple of ",
    "a couple ",
    "a few ",
    "a couple packs of ",
    *(f"a {c} of " for c in CONTAINERS),
    *(f"{n} {_PLURAL.get(c, c + 's')} of " for c in CONTAINERS for n in ("two", "three")),
)
"""Words shoppers put before a product name (counts, containers, units); the cleaning
step reads them as quantity and size hints."""
PRODUCT_TAILS = (*([""] * 100), " two bottles", " three packs", " a couple packs", " two please",
                 " just one", " four bags", " two of them", " 2 boxes", " the usual",
                 " the big one", " the organic one")  # fmt: skip
"""...and after it ("fabric softener, two bottles"): part of the product's words, which
the cleaning step reads the same way."""
PURPOSES = (
    "for dinner",
    "for the kids",
    "for the party",
    "for the weekend",
    "for breakfast",
    "for the dog",
    "for tonight",
    "for lunch",
    "this week",
    "for the trip",
)
"""Why or when, said after a request ("add limes for taco night"): no slot's words."""
PURPOSE_SHARE = 0.06
HESITATIONS = ("um", "uh", "er", "hmm", "so", "okay", "ok", "alexa", "hey", "well", "actually",
               "oh", "like")  # fmt: skip
CONFUSIONS = {"add": ("and", "at", "ad"), "cart": ("card", "car", "part"),
              "four": ("for",), "two": ("to", "too"), "to": ("two",), "i'd": ("i",),
              "reorder": ("recorder", "re order"), "my": ("i",), "the": ("a", "uh"),
              "order": ("border", "orders"), "check": ("czech", "checks"),
              "remove": ("removed",), "basket": ("bask it",), "milk": ("mill",)}  # fmt: skip
"""Recogniser-style slips (homophones and near-homophones) applied to template words."""
PER_INTENT = 700
"""Training sentences per intent (before noise); enough for every template to show."""
NOISE_SHARE = 0.06
NOISE_MODEL_WORDS = 0.0
"""Share of a noise sentence's words taken from the model's own phrasings."""
UNKNOWN_VALUE_SHARE = 0.3
"""Share of product slots filled with random dictionary words: the classifier must learn
the frame ("add ... to my cart"), not the catalogue."""


@dataclass(frozen=True, slots=True)
class Example:
    """One training sentence: its words, a BIO tag per word, and its intent."""

    words: tuple[str, ...]
    tags: tuple[str, ...]
    intent: str

    @property
    def text(self) -> str:
        return " ".join(self.words)


_PIECE = re.compile(r"\{(\w+)\}|[^{}\s]+")


def _fill(
    sentence: str,
    slot_types: Mapping[str, str],
    values: Mapping[str, Sequence[str]],
    dictionary: Sequence[str],
    rng: random.Random,
) -> tuple[list[str], list[str]]:
    words: list[str] = []
    tags: list[str] = []
    for found in _PIECE.finditer(sentence):
        slot = found.group(1)
        if slot is None:
            words.append(found.group(0))
            tags.append("O")
            continue
        kind = slot_types.get(slot, "")
        if kind == "AMAZON.NUMBER":
            value = rng.choice(NUMBER_WORDS)
        elif kind == "AMAZON.Ordinal":
            value = rng.choice(ORDINAL_WORDS)
        elif kind == "AMAZON.FOUR_DIGIT_NUMBER":
            value = " ".join(rng.choice(DIGIT_WORDS) for _ in range(4))
        else:
            pool = values.get(kind) or ("bananas",)
            if dictionary and rng.random() < UNKNOWN_VALUE_SHARE:  # words never seen
                name = " ".join(rng.choice(dictionary) for _ in range(rng.randint(1, 3)))
            else:
                name = rng.choice(pool)
            value = rng.choice(PRODUCT_WRAPPERS) + name + rng.choice(PRODUCT_TAILS)
        for i, word in enumerate(value.split()):
            words.append(word)
            tags.append(("B-" if i == 0 else "I-") + slot)
    return words, tags


def _roughen(words: list[str], tags: list[str], rng: random.Random) -> tuple[list[str], list[str]]:
    """Fillers, hesitations, a repeated or dropped template word, recogniser slips."""
    words, tags = list(words), list(tags)
    if rng.random() < 0.25:
        words.insert(0, rng.choice(HESITATIONS))
        tags.insert(0, "O")
    if rng.random() < 0.1 and len(words) > 2:
        at = rng.randrange(1, len(words))
        words.insert(at, rng.choice(("um", "uh", "er")))
        tags.insert(at, "O")
    plain = [i for i, t in enumerate(tags) if t == "O"]
    if plain and rng.random() < 0.08:  # "add add the milk"
        at = rng.choice(plain)
        words.insert(at, words[at])
        tags.insert(at, "O")
    plain = [i for i, t in enumerate(tags) if t == "O"]
    if len(plain) > 1 and rng.random() < 0.08:  # a word the recogniser lost
        at = rng.choice(plain)
        del words[at], tags[at]
    for i, word in enumerate(words):
        if tags[i] == "O" and word in CONFUSIONS and rng.random() < 0.06:
            slip = rng.choice(CONFUSIONS[word]).split()
            words[i : i + 1] = slip
            tags[i : i + 1] = ["O"] * len(slip)
    return words, tags


def _noise(model_words: Sequence[str], dictionary: Sequence[str], rng: random.Random) -> Example:
    """Words in no order: mostly any English, some of the model's own."""
    count = rng.randint(1, 7)
    words = tuple(
        rng.choice(model_words if rng.random() < NOISE_MODEL_WORDS or not dictionary
                   else dictionary)
        for _ in range(count)
    )  # fmt: skip
    return Example(words, ("O",) * count, FALLBACK)


def training_examples(
    model: InteractionModel,
    values: Mapping[str, Sequence[str]],
    *,
    dictionary: Sequence[str] = (),
    seed: int = 0,
    per_intent: int = PER_INTENT,
) -> list[Example]:
    """Labelled sentences for every intent of ``model``; ``values`` maps a custom slot
    type to phrases for it; ``dictionary`` is general English for the noise class."""
    rng = random.Random(seed)
    examples: list[Example] = []
    vocabulary: set[str] = set()
    for intent in model.intents:
        templates = intent.templates or intent.samples or BUILTIN_TEMPLATES.get(intent.name, ())
        # Bare answers train the intent they mean when nothing was asked: a product for
        # the model's bare-answer intent, a code for the intent asking it. A bare count
        # means nothing unasked ("2" after "reorder allergy pills," is no new request).
        templates = (*templates, *(a for slot in intent.slots for a in slot.elicitation_samples
                                   if intent.name == model.bare_answer_intent
                                   or (slot.type.startswith("AMAZON.")
                                       and slot.type != "AMAZON.NUMBER")))  # fmt: skip
        expansions = [expand(t) for t in dict.fromkeys(templates)]
        expansions = [e for e in expansions if e]
        if not expansions:
            continue
        slot_types = {slot.name: slot.type for slot in intent.slots}
        for sentences in expansions:
            for sentence in sentences:
                vocabulary.update(w for w in sentence.split() if "{" not in w)
        # Every template gets its share, however few sentences it expands to.
        chosen = [rng.choice(expansions[i % len(expansions)]) for i in range(per_intent)]
        for sentence in chosen:
            words, tags = _fill(sentence, slot_types, values, dictionary, rng)
            if any(t != "O" for t in tags) and rng.random() < PURPOSE_SHARE:
                purpose = rng.choice(PURPOSES).split()
                words, tags = [*words, *purpose], [*tags, *("O",) * len(purpose)]
            if rng.random() < 0.5:
                words, tags = _roughen(words, tags, rng)
            examples.append(Example(tuple(words), tuple(tags), intent.name))
    model_words = sorted(vocabulary)
    for _ in range(int(len(examples) * NOISE_SHARE)):
        examples.append(_noise(model_words, dictionary, rng))
    return examples


def dictionary_words(path: Path, *, limit: int = 20_000, seed: int = 0) -> list[str]:
    """Plain words from a pronouncing dictionary (one ``word phones`` entry a line):
    the general English the noise and unknown-product sentences are made of."""
    words = set()
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            word = line.split(" ", 1)[0]
            if word.isalpha() and word.isascii() and 3 <= len(word) <= 10:
                words.add(word.lower())
    ranked = sorted(words)
    return sorted(random.Random(seed).sample(ranked, min(limit, len(ranked))))


def general_english(limit: int = 20_000) -> list[str]:
    """:func:`dictionary_words` of the pronouncing dictionary PocketSphinx ships."""
    import pocketsphinx

    return dictionary_words(
        Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict", limit=limit
    )
