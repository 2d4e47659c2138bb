"""The one entry point for understanding text: deterministic templates first, then the
trained parser (the snips-nlu arrangement).

The template parser knows every phrasing the model generates and is trusted whenever
one fits (exact, high precision). What no template explains goes to the trained
parser, whose calibrated probability decides between an intent and the fallback; a
weak template reading (a product the catalogue lacks) is kept when the trained parser
has nothing better.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from nlu.parser import (
    FALLBACK,
    MAX_UTTERANCE_CHARS,
    UNASKED_ANSWER,
    IntentParser,
    Parse,
    ProductResolver,
    normalize_utterance,
    spoken_number,
)
from nlu.spelling import FrameSpeller
from nlu.trained import TrainedParser

TEMPLATE_TRUST = 0.4
"""A template reading at or above this confidence is taken as it is."""
SOUND = {"template": 0.6, "trained": 0.8}
"""Confidence at which a reading is sound (a template fits and its product fits the
catalogue well; the classifier is sure): taken from the highest-ranked alternative."""
UNKNOWN_ITEM_SURE = 0.75
"""A trained reading whose product words name nothing in the catalogue needs this much
confidence: "sing me a song about the sea" is no order for "a song about the sea", but
"add dragon fruit to my cart" is an order we cannot fill (and say so)."""
UNSURE_ITEM_FIT = 60.0
"""...and below that confidence its product words must fit a product at least this well
(0-100): "a song about the sea" is no half-fit for sea salt."""
ASKED_SOUND = 0.75
"""The share of ``SOUND`` an answer to the pending question needs: "the whole milk" to
"Did you mean...?" is sound sooner than a new request among the alternatives."""
BARE_FIT = 80.0
"""Words that fit nothing else but name a catalogue product this well (0-100) are a bare
request for it ("oat milk please")."""
BARE_BEGINNING_FIT = 99.0
"""...and when only their beginning names one, it must name it word for word ("sour
cream, we finished it yesterday"; not "put" heard as "pita")."""
_POINTERS = frozenset({"it", "that", "them", "those", "these", "this", "em", "'em"})
_LAST_CLAUSE = re.compile(r"^(.*\w.*?)[,.;:!?]+\s*([^,.;:!?]*\w[^,.;:!?]*?)[.!?]*\s*$")
_REFERENCE = re.compile(r"^(?:(?:all|both|[\w']+) of )?(?:it|that|them|those|these|this|em|'em)"
                        r"(?: (?:too|as well|also|in|on|out|off|again|please))*$")  # fmt: skip
"""Product words that only point back: "it", "those", "two of them"."""
_FINAL_COUNT = re.compile(
    r"^(?:(?:add|get|grab|order|buy|make it|just|only|maybe|about)\s+)?"
    r"((?:\w+ ){0,2}?\w+?)(?: (?:please|of them|of those|more))?$"
)
"""A last clause that is only a count: "allergy pills, 2"; "creamer, add 2"."""


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
        if len(text) > MAX_UTTERANCE_CHARS:
            return Parse(text, FALLBACK)  # no request; its clauses are not searched either
        said = text
        if self.speller is not None and (fixed := self.speller.correct(text)) != text:
            said = fixed
        reading = self._parse(said, expecting, resolver)
        if self._unresolved(reading, resolver):
            reading = self._referred(said, expecting, resolver) or reading
        if expecting is None and reading.intent in self.templates.answer_intents:
            # An answer nobody asked for, after a product's name ("milk, the oat one"):
            # a request for that product.
            reading = self._bare_product(said, resolver) or reading
        reading = self._counted(said, reading)
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
        if item and resolver is not None and unsure and resolver(item) < UNSURE_ITEM_FIT:
            learnt = replace(learnt, intent=FALLBACK, slots={}, alternatives=())
        if learnt.intent != FALLBACK:
            return learnt
        if exact.intent != FALLBACK:
            return exact
        if expecting is not None:  # a question waits: a product name is no new request
            return learnt
        return self._bare_product(text, resolver) or learnt

    def _unresolved(self, reading: Parse, resolver: ProductResolver | None) -> bool:
        """No request understood, or one whose product words name nothing."""
        if reading.intent == FALLBACK:
            return True
        item = reading.slots.get("item")
        return (reading.intent in self.templates.item_intents and resolver is not None
                and (not item or resolver(item) < BARE_FIT))  # fmt: skip

    def _referred(
        self, text: str, expecting: str | None, resolver: ProductResolver | None
    ) -> Parse | None:
        """A last clause that points back ("kids won't eat the edamame, get rid of it";
        "too much cola, take away two of them"): its request, for the product the words
        before it end with. Typed text only: it needs the punctuation."""
        split = _LAST_CLAUSE.match(text)
        if split is None or resolver is None:
            return None
        bare = normalize_utterance(split.group(2), keep_fillers=True)
        if spoken_number(bare) is not None:
            return None  # only a count ("reorder allergy pills, 2"): :meth:`_counted`'s
        tail = self._parse(split.group(2), expecting, resolver)
        item = normalize_utterance(tail.slots.get("item", ""), keep_fillers=True) or "it"
        if tail.intent not in self.templates.item_intents or not _REFERENCE.match(item):
            return None
        words = normalize_utterance(split.group(1)).split()
        for start in range(len(words)):  # the longest ending that names a product
            said = " ".join(words[start:])
            if resolver(said) >= BARE_BEGINNING_FIT:
                count = "" if item.split()[0] in _POINTERS else f" {item}"
                return replace(tail, text=text, slots={**tail.slots, "item": said + count},
                               confidence=max(tail.confidence, TEMPLATE_TRUST))  # fmt: skip
        return None

    def _counted(self, text: str, reading: Parse) -> Parse:
        """A request whose last clause is only a count ("reorder allergy pills, 2";
        "bananas. two."): that many, and the count out of the product words. Typed text
        only: it needs the punctuation."""
        item = reading.slots.get("item")
        split = _LAST_CLAUSE.match(text)
        if (not item or "quantity" in reading.slots or split is None
                or reading.intent not in self.templates.item_intents):  # fmt: skip
            return reading
        tail = normalize_utterance(split.group(2), keep_fillers=True)
        found = _FINAL_COUNT.match(tail)
        count = spoken_number(found.group(1)) if found else None
        words, said = item.split(), tail.split()
        if count is None or count < 1 or words == said:
            return reading
        if words[-len(said) :] == said:  # the count out of the product words
            item = " ".join(words[: -len(said)])
        elif found and found.group(1) in words:  # the count inside them: not only a count
            return reading
        return replace(reading, slots={**reading.slots, "item": item, "quantity": str(count)})

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
