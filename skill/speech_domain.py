"""The sentences local speech recognition is biased toward, from the one interaction model.

Samples with their slots filled by catalogue phrases, numbers and ordinals, plus the
built-in intents' phrasings and every product phrase on its own: the same source as the
Alexa model and the text parser. Weighted (see :mod:`nlu.lm`), heaviest first.

Each sample is filled with a few values, rotating through the lists, rather than with
every value: the trigram model needs each frame ("add ... to my cart") and each product
phrase, not their product (which at 180 samples and 300 products would be a million
sentences and a 20-second model build).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from nlu.builtins import BUILTIN_SAMPLES, BUILTIN_TEMPLATES
from nlu.grammar import plainest
from nlu.lm import Bias
from nlu.model import InteractionModel
from nlu.training import PRODUCT_WRAPPERS

NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
           "eleven", "twelve", "a dozen", "a couple of")  # fmt: skip
ORDINALS = ("first", "second", "third", "last")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
CODES = tuple(" ".join(DIGITS[(start + step * k) % 10] for k in range(4))
              for start in range(10) for step in (1, 3))  # fmt: skip
"""Four-digit codes with every digit in every position and varied neighbours."""
INTENT_WEIGHT = 1.0
"""Every intent gets the same share (answers less, see ``ANSWER_WEIGHT``), split among its
samples (shorter ones weigh more), then evenly among their fillers."""
ANSWER_WEIGHT = 0.3
"""Weight of the model's answer intents: said less often than requests."""
FILLS = {"{item}": 8, "{quantity}": 3, "{ordinal}": 4, "{code}": 6}
"""Values each sample beyond the plainest is filled with (rotating through the list)."""
CORE_SHARE = 0.85
"""Share of an intent's weight on the plainest phrasing of each of its templates."""
HESITATIONS = ("um", "uh", "alexa")
"""Said before a request; the short words ("ok", "so") would be heard everywhere."""
HESITATION_SHARE = 0.2
"""Weight of a sentence with a hesitation in front, relative to the sentence."""
WRAP_EVERY = 4
"""Every fourth product phrase is said with a count or container ("two cartons of")."""
PRODUCTS_ALONE = 0.2
"""Weight (in intents' shares) of every product phrase said on its own: its words and
their order reach the model however few samples it was rotated into."""


def product_phrases(names: Iterable[str]) -> list[str]:
    """Lower-case spoken forms of product names and synonyms (letters and apostrophes)."""
    out = set()
    for name in names:
        phrase = " ".join(re.sub(r"[^a-z' ]+", " ", name.lower().replace("&", " and ")).split())
        if phrase:
            out.add(phrase)
    return sorted(out)


class _Rotation:
    """Hands out a slot's values in turn, so every value is used about equally."""

    def __init__(self, values: Sequence[str]) -> None:
        self.values = values
        self.next = 0

    def take(self, count: int) -> list[str]:
        count = min(count, len(self.values))
        out = [self.values[(self.next + i) % len(self.values)] for i in range(count)]
        self.next = (self.next + count) % len(self.values)
        return out


def domain_bias(model: InteractionModel, products: Iterable[str]) -> Bias:
    """What shoppers say: every sample (and slot answer) with its slots filled, weighted
    so each intent counts the same; within an intent the plainest phrasings of each
    template carry most of the weight and are filled with every value, the rest of
    the samples with a few values each."""
    items = product_phrases(products)
    wrappers = _Rotation([w for w in PRODUCT_WRAPPERS if w])
    wrapped = [f"{wrappers.take(1)[0]}{item}" if i % WRAP_EVERY == 0 else item
               for i, item in enumerate(items)]  # fmt: skip
    values = {"{quantity}": NUMBERS, "{ordinal}": ORDINALS, "{code}": CODES, "{item}": items}
    rotations = {slot: _Rotation(v) for slot, v in values.items()}
    rotations["{item}"] = _Rotation(wrapped)
    weights: dict[str, float] = {}

    def add(samples: list[str], weight: float, fill: dict[str, int] | None) -> None:
        # Shorter phrasings are the commoner ones: "help" outweighs "what are my options".
        shares = [1 / len(sample.split()) for sample in samples]
        for sample, share in zip(samples, shares, strict=True):
            variants = [(sample, weight * share / sum(shares))]
            for slot, rotation in rotations.items():
                if slot not in sample or not rotation.values:
                    continue
                chosen = (list(values[slot]) if fill is None
                          else rotation.take(min(fill[slot], len(rotation.values))))  # fmt: skip
                variants = [(text.replace(slot, value, 1), w / len(chosen))
                            for text, w in variants for value in chosen]  # fmt: skip
            for text, w in variants:
                if "{" not in text:
                    weights[text] = weights.get(text, 0.0) + w

    for intent in model.intents:
        samples = list(intent.samples or BUILTIN_SAMPLES.get(intent.name, ()))
        samples += [s for slot in intent.slots for s in slot.elicitation_samples]
        samples = list(dict.fromkeys(samples))
        if not samples:
            continue
        weight = INTENT_WEIGHT * (ANSWER_WEIGHT if intent.name in model.answer_intents else 1.0)
        templates = intent.templates or BUILTIN_TEMPLATES.get(intent.name, ())
        core = [s for s in plainest(templates) if s in samples] or samples
        rest = [s for s in samples if s not in set(core)]
        add(core, weight * (CORE_SHARE if rest else 1.0), None)
        if rest:
            add(rest, weight * (1 - CORE_SHARE), FILLS)
    for item in items:
        weights[item] = weights.get(item, 0.0) + PRODUCTS_ALONE * INTENT_WEIGHT / len(items)
    # A hesitation before a request: "um add milk", "alexa reorder coffee".
    leading = sorted(weights.items(), key=lambda tw: -tw[1])[: len(HESITATIONS) * 20]
    for i, (text, weight) in enumerate(leading):
        said = f"{HESITATIONS[i % len(HESITATIONS)]} {text}"
        weights[said] = weights.get(said, 0.0) + weight * HESITATION_SHARE
    ordered = sorted(weights.items(), key=lambda tw: -tw[1])
    return Bias(tuple(t for t, _ in ordered), tuple(w for _, w in ordered))
