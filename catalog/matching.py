"""Match what a shopper said to catalogue products.

One entry point, :meth:`CatalogMatcher.match`, returns a :class:`MatchResult` built in
one place (:func:`_decide`). The in-memory index is rebuilt lazily whenever the
catalogue's change stamp moves, so every worker process picks up catalogue edits
without a restart.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import Product
from catalog.normalize import normalize

MAX_QUERY_CHARS = 200
"""Longer input is not a product name; it is cut before matching."""

NO_MATCH_BELOW = 60.0
CONFIDENT_AT = 80.0
CONFIDENT_MARGIN = 5.0
PRIOR_WEIGHT = 15.0
"""Points a product bought often and recently (prior 1.0) gains over an unknown one."""


class Decision(StrEnum):
    """What the dialogue should do with a match."""

    CONFIDENT = "confident"
    AMBIGUOUS = "ambiguous"
    NO_MATCH = "no_match"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A product that fits the words, with its score (0-100, prior included)."""

    product_id: int
    sku: str
    display_name: str
    size: str
    price_cents: int
    in_stock: bool
    score: float
    text_score: float
    prior: float


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Scored candidates (best first) and the decision taken on them."""

    query: str
    normalized: str
    candidates: tuple[Candidate, ...]
    decision: Decision

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def contenders(self) -> tuple[Candidate, ...]:
        """The close alternatives a shopper would be asked to choose between."""
        if not self.candidates:
            return ()
        top = self.candidates[0].score
        return tuple(c for c in self.candidates[:3] if top - c.score < CONFIDENT_MARGIN)


@dataclass(frozen=True, slots=True)
class _Entry:
    product_id: int
    sku: str
    display_name: str
    size: str
    price_cents: int
    in_stock: bool
    popularity: int


class _Index:
    """Normalised names and synonyms of the active catalogue, one choice per phrase."""

    def __init__(self, products: list[Product]) -> None:
        self.entries: dict[int, _Entry] = {}
        self.choices: list[str] = []
        self.owners: list[int] = []
        for p in products:
            self.entries[p.id] = _Entry(
                p.id, p.sku, p.display_name, p.size, p.price_cents, p.stock > 0, p.popularity
            )
            phrases = {normalize(p.display_name), normalize(p.name), *map(normalize, p.synonyms)}
            for phrase in sorted(phrases - {""}):
                self.choices.append(phrase)
                self.owners.append(p.id)


class CatalogMatcher:
    """Fuzzy product matching over the active catalogue, cached per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: _Index | None = None
        self._stamp: tuple[int, datetime | None] | None = None

    def invalidate(self) -> None:
        """Forget the index; the next match rebuilds it."""
        with self._lock:
            self._index, self._stamp = None, None

    def _current_index(self, session: Session) -> _Index:
        stamp_row = session.execute(
            select(func.count(Product.id), func.max(Product.updated_at))
        ).one()
        stamp = (int(stamp_row[0]), stamp_row[1])
        with self._lock:
            if self._index is None or stamp != self._stamp:
                products = list(session.scalars(select(Product).where(Product.active)))
                self._index, self._stamp = _Index(products), stamp
            return self._index

    def match(
        self,
        session: Session,
        text: str,
        *,
        prior: Mapping[int, float] | None = None,
        limit: int = 5,
    ) -> MatchResult:
        """Rank active products for ``text``; ``prior`` maps product id to 0..1 preference.

        Never raises on odd input: empty, huge or symbol-only text gives ``NO_MATCH``.
        """
        query = (text or "")[:MAX_QUERY_CHARS]
        normalized = normalize(query)
        if not normalized:
            return MatchResult(query, normalized, (), Decision.NO_MATCH)
        index = self._current_index(session)
        prior = prior or {}
        hits = process.extract(
            normalized, index.choices, scorer=fuzz.WRatio, limit=max(limit * 8, 40)
        )
        text_scores: dict[int, float] = {}
        for _choice, score, position in hits:
            owner = index.owners[position]
            text_scores[owner] = max(text_scores.get(owner, 0.0), float(score))
        candidates = []
        for product_id, text_score in text_scores.items():
            entry = index.entries[product_id]
            weight = prior.get(product_id, 0.0) if text_score >= NO_MATCH_BELOW + 10 else 0.0
            candidates.append(
                (
                    Candidate(
                        product_id=entry.product_id,
                        sku=entry.sku,
                        display_name=entry.display_name,
                        size=entry.size,
                        price_cents=entry.price_cents,
                        in_stock=entry.in_stock,
                        score=min(100.0, text_score + PRIOR_WEIGHT * weight),
                        text_score=text_score,
                        prior=weight,
                    ),
                    entry.popularity,
                )
            )
        # Ties break on history, then on general popularity, then on stock, then name.
        candidates.sort(
            key=lambda cp: (-cp[0].score, -cp[0].prior, -cp[1], not cp[0].in_stock, cp[0].sku)
        )
        ranked = tuple(c for c, _ in candidates[:limit])
        return MatchResult(query, normalized, ranked, _decide(ranked))


def _decide(ranked: tuple[Candidate, ...]) -> Decision:
    if not ranked or ranked[0].score < NO_MATCH_BELOW:
        return Decision.NO_MATCH
    top = ranked[0]
    runner_up = ranked[1].score if len(ranked) > 1 else 0.0
    if top.score >= CONFIDENT_AT and top.score - runner_up >= CONFIDENT_MARGIN:
        return Decision.CONFIDENT
    return Decision.AMBIGUOUS
