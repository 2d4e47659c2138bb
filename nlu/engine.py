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

from nlu.parser import FALLBACK, IntentParser, Parse, ProductResolver, best_reading
from nlu.trained import TrainedParser

TEMPLATE_TRUST = 0.4
"""A template reading at or above this confidence is taken as it is."""


class NluEngine:
    """``parse`` and ``parse_best`` as the template parser has them, with a trained
    parser behind it (optional: without one, templates alone)."""

    def __init__(self, templates: IntentParser, trained: TrainedParser | None = None) -> None:
        self.templates = templates
        self.trained = trained

    def parse(
        self,
        text: str,
        *,
        expecting: str | None = None,
        resolver: ProductResolver | None = None,
    ) -> Parse:
        exact = self.templates.parse(text, expecting=expecting, resolver=resolver)
        if exact.intent != FALLBACK and exact.confidence >= TEMPLATE_TRUST:
            return exact
        if self.trained is None or not text.strip():
            return exact
        learnt = self.trained.parse(text)
        if learnt.intent == FALLBACK and exact.intent != FALLBACK:
            return exact
        return learnt

    def parse_best(
        self,
        texts: Sequence[str],
        *,
        expecting: str | None = None,
        resolver: ProductResolver | None = None,
    ) -> Parse:
        """The best reading over a recogniser's n-best (see :func:`best_reading`)."""
        return best_reading(texts, lambda t: self.parse(t, expecting=expecting, resolver=resolver))
