"""The sentences local speech recognition is biased toward, from the one interaction model.

Samples with their slots filled by catalogue phrases, numbers and ordinals, plus the
built-in intents' phrasings: the same source as the Alexa model and the text parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from nlu.builtins import BUILTIN_SAMPLES
from nlu.model import InteractionModel

NUMBERS = ("one", "two", "three", "four", "five", "six", "ten", "twelve", "a couple of")
ORDINALS = ("first", "second", "third")
MAX_SENTENCES = 60_000


def product_phrases(names: Iterable[str]) -> list[str]:
    """Lower-case spoken forms of product names and synonyms (letters and apostrophes)."""
    out = set()
    for name in names:
        phrase = " ".join(re.sub(r"[^a-z' ]+", " ", name.lower().replace("&", " and ")).split())
        if phrase:
            out.add(phrase)
    return sorted(out)


def domain_sentences(model: InteractionModel, products: Iterable[str]) -> list[str]:
    """What shoppers say: every sample with its slots filled, capped for the recogniser."""
    phrases = product_phrases(products)
    sentences: list[str] = []
    for intent in model.intents:
        for sample in intent.samples or BUILTIN_SAMPLES.get(intent.name, ()):
            variants = [sample]
            for slot, fillers in (("{quantity}", NUMBERS[:3]), ("{ordinal}", ORDINALS),
                                  ("{item}", phrases)):  # fmt: skip
                variants = [v.replace(slot, f, 1) for v in variants for f in fillers] if any(
                    slot in v for v in variants) else variants  # fmt: skip
            sentences.extend(variants)
    return sorted(set(sentences))[:MAX_SENTENCES]
