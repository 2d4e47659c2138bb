"""The sentences local speech recognition is biased toward, from the one interaction model.

Samples with their slots filled by catalogue phrases, numbers and ordinals, plus the
built-in intents' phrasings: the same source as the Alexa model and the text parser.
Weighted (see :mod:`nlu.lm`), heaviest first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from nlu.builtins import BUILTIN_SAMPLES
from nlu.lm import Bias
from nlu.model import InteractionModel

NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
           "eleven", "twelve", "a dozen", "a couple of")  # fmt: skip
ORDINALS = ("first", "second", "third", "last")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
CODES = tuple(" ".join(DIGITS[(start + step * k) % 10] for k in range(4))
              for start in range(10) for step in (1, 3))  # fmt: skip
"""Four-digit codes with every digit in every position and varied neighbours."""
INTENT_WEIGHT = 1.0
"""Every intent gets the same share, split evenly among its samples, then their fillers."""


def product_phrases(names: Iterable[str]) -> list[str]:
    """Lower-case spoken forms of product names and synonyms (letters and apostrophes)."""
    out = set()
    for name in names:
        phrase = " ".join(re.sub(r"[^a-z' ]+", " ", name.lower().replace("&", " and ")).split())
        if phrase:
            out.add(phrase)
    return sorted(out)


def domain_bias(model: InteractionModel, products: Iterable[str]) -> Bias:
    """What shoppers say: every sample (and slot answer) with its slots filled, weighted
    so each intent counts the same and each sample its share of that."""
    fillers = {"{quantity}": NUMBERS, "{ordinal}": ORDINALS, "{code}": CODES,
               "{item}": product_phrases(products)}  # fmt: skip
    weights: dict[str, float] = {}
    for intent in model.intents:
        samples = list(intent.samples or BUILTIN_SAMPLES.get(intent.name, ()))
        samples += [s for slot in intent.slots for s in slot.elicitation_samples]
        samples = list(dict.fromkeys(samples))
        for sample in samples:
            variants = [(sample, INTENT_WEIGHT / len(samples))]
            for slot, values in fillers.items():
                variants = [
                    (text.replace(slot, value, 1), weight / len(values))
                    for text, weight in variants
                    for value in values
                ] if values and slot in sample else variants  # fmt: skip
            for text, weight in variants:
                if "{" not in text:
                    weights[text] = weights.get(text, 0.0) + weight
    ordered = sorted(weights.items(), key=lambda tw: -tw[1])
    return Bias(tuple(t for t, _ in ordered), tuple(w for _, w in ordered))
