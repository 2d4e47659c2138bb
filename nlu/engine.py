"""The one entry point for understanding text: deterministic templates first, then the
trained parser (the snips-nlu arrangement).

The template parser knows every phrasing the model generates and is trusted whenever
one fits (exact, high precision). What no template explains goes to the trained
parser, whose calibrated probability decides between an intent and the fallback; a
weak template reading (a product the catalogue lacks) is kept when the trained parser
has nothing better.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from nlu.parser import (
    FALLBACK,
    UNASKED_ANSWER,
    IntentParser,
    Parse,
    ProductResolver,
    normalize_utterance,
)
from nlu.spelling import FrameSpeller
from nlu.trained import TrainedParser

TEMPLATE_TRUST = 0.4
"""A template reading at or above this confidence is taken as it is."""
SOUND = {"template": 0.6, "trained": 0.8}
"""Confidence at which a reading is sound (a template fits and its product fits the
catalogue well; the classifier is sure): taken from the highest-ranked alternative."""
UNKNOWN_ITEM_SURE = 0.7
"""A trained reading whose product words name nothing in the catalogue needs this much
confidence: "sing me a song about the sea" is no order for "a song about the sea", but
"add dragon fruit to my cart" is an order we cannot fill (and say so)."""
ASKED_SOUND = 0.75
"""The share of ``SOUND`` an answer to the pending question needs: "the whole milk" to
"Did you mean...?" is sound sooner than a new request among the alternatives."""
BARE_FIT = 80.0
"""Words that fit nothing else but name a catalogue product this well (0-100) are a bare
request for it ("oat milk please")."""
BARE_BEGINNING_FIT = 99.0
"""...and when only their beginning names one, it must name it word for word ("sour
cream, we finished it yesterday"; not "put" heard as "pita")."""


class NluEngine:
    """``parse`` and ``parse_best`` as the template parser has them, with a trained
    parser behind it (optional: without one, templates alone)."""

    def __init__(
        self,
        templates: IntentParser,
        trained: TrainedParser | None = None,
        bare_intent: str | None = None,
        speller: FrameSpeller | None = None,
    ) -> None:
        self.templates = templates
        self.trained = trained
        self.speller = speller
        """Puts typed frame words right first ("chekout"); ``None``: words as given."""
        self.bare_intent = bare_intent
        """What a bare product means when nothing was asked (the model's bare-answer
        intent); ``None``: a bare product is the fallback."""

    def parse(
        self,
        text: str,
        *,
        expecting: str | None = None,
        resolver: ProductResolver | None = None,
    ) -> Parse:
        said = text
        if self.speller is not None:
            clean = normalize_utterance(text, keep_fillers=True)
            fixed = self.speller.correct(clean)
            said = text if fixed == clean else fixed
        reading = self._parse(said, expecting, resolver)
        if expecting is None and reading.intent in self.templates.answer_intents:
            # An answer nobody asked for, after a product's name ("milk, the oat one"):
            # a request for that product.
            reading = self._bare_product(said, resolver) or reading
        return reading if said is text else replace(reading, text=text)

    def _parse(self, text: str, expecting: str | None, resolver: ProductResolver | None) -> Parse:
        exact = self.templates.parse(text, expecting=expecting, resolver=resolver)
        if exact.intent != FALLBACK and exact.confidence >= TEMPLATE_TRUST:
            return exact
        if self.trained is None or not text.strip():
            return exact
        learnt = self.trained.parse(text)
        if learnt.intent in self.templates.answer_intents:
            if not learnt.slots:  # an answer that says nothing ("i'll go with the...")
                learnt = replace(learnt, intent=FALLBACK, alternatives=())
            elif expecting != learnt.intent:
                confidence = round(learnt.confidence * UNASKED_ANSWER, 3)
                learnt = replace(learnt, confidence=confidence)
                if confidence < self.trained.threshold:
                    learnt = replace(learnt, intent=FALLBACK, slots={}, alternatives=())
        item = learnt.slots.get("item")
        unsure = learnt.confidence < UNKNOWN_ITEM_SURE
        if item and resolver is not None and unsure and resolver(item) <= 0:
            learnt = replace(learnt, intent=FALLBACK, slots={}, alternatives=())
        if learnt.intent != FALLBACK:
            return learnt
        if exact.intent != FALLBACK:
            return exact
        if expecting is not None:  # a question waits: a product name is no new request
            return learnt
        return self._bare_product(text, resolver) or learnt

    def _bare_product(self, text: str, resolver: ProductResolver | None) -> Parse | None:
        """A product's name (and a "please"), or a product's name and then words about it
        ("sour cream, we finished it yesterday"): a request for it."""
        words = normalize_utterance(text).split()
        if self.bare_intent is None or resolver is None or not words:
            return None
        for end in range(len(words), 0, -1):  # the whole, then ever shorter beginnings
            said = " ".join(words[:end])
            fit = resolver(said)
            if fit >= (BARE_FIT if end == len(words) else BARE_BEGINNING_FIT):
                return Parse(text, self.bare_intent, {"item": said}, round(fit / 100, 3),
                             source="catalogue")  # fmt: skip
        return None

    def parse_best(
        self,
        texts: Sequence[str],
        *,
        expecting: str | None = None,
        resolver: ProductResolver | None = None,
    ) -> Parse:
        """The best reading of a recogniser's n-best: the highest-ranked alternative with
        a sound reading; else the exact readings compared by confidence,
        discounted 5% per rank; only when no alternative has one does the first
        alternative the trained parser understands win (its probability is not on the
        templates' scale, and the recogniser's own ranking is the better guide there)."""
        readings = [self.parse(t, expecting=expecting, resolver=resolver) for t in texts or [""]]
        for reading in readings:  # the recogniser's order first, while a reading is sound
            bar = SOUND.get(reading.source, 1) * (ASKED_SOUND if reading.intent == expecting
                                                  else 1)  # fmt: skip
            if reading.intent != FALLBACK and reading.confidence >= bar:
                return reading
        exact = [(r.confidence * (1 - 0.05 * rank), rank) for rank, r in enumerate(readings)
                 if r.source == "template" and r.intent != FALLBACK]  # fmt: skip
        if exact:
            return readings[max(exact, key=lambda sr: (sr[0], -sr[1]))[1]]
        understood = [r for r in readings if r.intent != FALLBACK]
        return understood[0] if understood else readings[0]
