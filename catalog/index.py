"""An in-memory product index built for spoken queries.

Candidate generation never scans the catalogue: each query token is looked up in an
inverted index (exactly, and through a character-trigram index over the vocabulary
for misheard or mistyped words), postings are accumulated with IDF weights in a numpy
vector, and only the best few hundred products are re-ranked with rapidfuzz.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jellyfish
import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz

from catalog.confusions import alternatives
from catalog.normalize import compounds, singular, tokens

CANDIDATES = 100
"""Products re-ranked per query after candidate generation."""
MIN_FUZZY_TOKEN = 4
"""Shorter words must match exactly: 'oz' must not become 'of'."""
FUZZY_TOKEN_CUTOFF = 75.0
SHORT_TOKEN = 5
SHORT_FUZZY_CUTOFF = 85.0
"""Words this short need closer spellings: two letters off is most of "song" ("sponge")."""
MAX_EXPANSIONS = 6
PHONETIC_WEIGHT = 0.85
CONFUSION_WEIGHT = 0.9
MIN_PHONETIC_TOKEN = 3
MIN_PHONETIC_SPELLING = 50.0
HOMOPHONE_WEIGHT = 0.9
"""A word pronounced exactly like a catalogue word ("catsup": ketchup, "flower": flour)."""


def pronunciations() -> Iterator[tuple[str, str]]:
    """(word, phones) from the CMU pronouncing dictionary the PocketSphinx wheel ships
    (BSD-licensed; one line per pronunciation, alternatives marked "word(2)")."""
    import pocketsphinx  # a data file in a library this project already needs

    path = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            word, _, phones = line.strip().partition(" ")
            if phones:
                yield word.split("(", 1)[0], phones


def homophones(vocabulary: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Heard word (as :func:`tokens` leaves it) -> the catalogue words pronounced alike."""
    known = set(vocabulary)
    said = [(singular(word), phones) for word, phones in pronunciations() if word.isalpha()]
    sounds: dict[str, set[str]] = defaultdict(set)
    for word, phones in said:
        if word in known:
            sounds[phones].add(word)
    alike: dict[str, set[str]] = defaultdict(set)
    for word, phones in said:
        for other in sounds.get(phones, ()):
            if other != word:
                alike[word].add(other)
    return {word: tuple(sorted(others)) for word, others in alike.items()}


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """What the index needs to know of a product."""

    product_id: int
    sku: str
    name: str
    brand: str = ""
    size: str = ""
    synonyms: tuple[str, ...] = ()
    popularity: int = 0
    price_cents: int = 0
    in_stock: bool = True

    @property
    def display_name(self) -> str:
        return f"{self.brand} {self.name}".strip()


@dataclass(frozen=True, slots=True)
class Hit:
    """A re-ranked candidate: its row in the index and its text score (0-100)."""

    row: int
    text_score: float
    order_score: float = 0.0
    coverage: float = 0.0
    """Share (0-1, IDF-weighted) of the spoken words this product explains."""
    literal: float = 0.0
    """The share it explains with the very words said (no sound-alike or misspelling)."""
    exact: bool = False
    """The words said are one of its names, word for word."""


def _trigrams(word: str) -> set[str]:
    padded = f"#{word}#"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


class ProductIndex:
    """Token + trigram inverted index with rapidfuzz re-ranking. Immutable once built."""

    def __init__(self, entries: Iterable[IndexEntry]) -> None:
        self.entries: list[IndexEntry] = list(entries)
        self.row_of: dict[int, int] = {e.product_id: row for row, e in enumerate(self.entries)}
        # Phrases a shopper may say for a product: brand+name, name, each synonym.
        self.phrases: list[tuple[str, ...]] = []
        postings: dict[str, list[int]] = defaultdict(list)
        self.compounds: dict[str, tuple[str, ...]] = {}
        for row, entry in enumerate(self.entries):
            for text in (entry.display_name, *entry.synonyms):
                self.compounds.update(compounds(text))
            full = " ".join(tokens(entry.display_name))
            name = " ".join(tokens(entry.name))
            spoken = [" ".join(tokens(s)) for s in entry.synonyms]
            phrases = tuple(dict.fromkeys(p for p in (full, name, *spoken) if p))
            self.phrases.append(phrases)
            for token in {t for p in phrases for t in p.split()}:
                postings[token].append(row)
        self.vocabulary: list[str] = sorted(postings)
        self.token_id: dict[str, int] = {t: i for i, t in enumerate(self.vocabulary)}
        self.phrase_ids: list[tuple[tuple[int, ...], ...]] = [
            tuple(tuple(dict.fromkeys(self.token_id[t] for t in p.split())) for p in phrases)
            for phrases in self.phrases
        ]
        self.postings: list[npt.NDArray[np.int32]] = [
            np.asarray(postings[t], dtype=np.int32) for t in self.vocabulary
        ]
        count = max(1, len(self.entries))
        self.idf = np.asarray(
            [math.log(1.0 + count / len(p)) for p in self.postings], dtype=np.float32
        )
        self.idf_list: list[float] = self.idf.tolist()
        # A spoken word the catalogue has never seen is as telling as the rarest word:
        # "dragonfruit kombucha" is not a half-right "ginger kombucha".
        self.unknown_idf = math.log(1.0 + count)
        self.phrase_idf: list[tuple[float, ...]] = [
            tuple(sum(self.idf_list[v] for v in ids) or 1.0 for ids in phrases)
            for phrases in self.phrase_ids
        ]
        sounds: dict[str, list[int]] = defaultdict(list)
        grams: dict[str, list[int]] = defaultdict(list)
        for token_id, token in enumerate(self.vocabulary):
            if len(token) >= MIN_PHONETIC_TOKEN and token.isalpha():
                sounds[jellyfish.metaphone(token)].append(token_id)
            if len(token) >= MIN_FUZZY_TOKEN and not token.isdigit():
                for gram in _trigrams(token):
                    grams[gram].append(token_id)
        self.grams: dict[str, npt.NDArray[np.int32]] = {
            g: np.asarray(ids, dtype=np.int32) for g, ids in grams.items()
        }
        self.sounds: dict[str, tuple[int, ...]] = {
            code: tuple(ids) for code, ids in sounds.items() if len(code) >= 2
        }
        self.homophones: dict[str, tuple[int, ...]] = {
            heard: tuple(self.token_id[w] for w in words)
            for heard, words in homophones(self.vocabulary).items()
        }
        popularity = np.asarray([e.popularity for e in self.entries], dtype=np.float32)
        top = float(popularity.max()) if len(popularity) else 0.0
        shortest = np.asarray(
            [min((len(ids) for ids in phrases), default=1) for phrases in self.phrase_ids],
            dtype=np.float32,
        )
        # Among equally good word matches, shorter names (fewer unexplained words) come
        # first, then popular ones: a whisper next to the IDF weights (about 1 to 10).
        self.tiebreak = -0.01 * shortest + (
            (popularity / top * 1e-3) if top > 0 else np.zeros(count, np.float32)
        )
        self._expand = lru_cache(maxsize=50_000)(self._expand_uncached)

    def __len__(self) -> int:
        return len(self.entries)

    def _expand_uncached(self, token: str) -> tuple[tuple[int, float], ...]:
        """Vocabulary tokens standing for ``token``: itself, or close spellings (weight 0-1)."""
        exact = self.token_id.get(token)
        found: dict[int, float] = {} if exact is None else {exact: 1.0}

        def offer(token_id: int, weight: float) -> None:
            if weight > found.get(token_id, 0.0):
                found[token_id] = weight

        for alternative in alternatives(token):
            if alternative in self.token_id:
                offer(self.token_id[alternative], CONFUSION_WEIGHT)
        for token_id in self.homophones.get(token, ()):
            offer(token_id, HOMOPHONE_WEIGHT)
        if len(token) >= MIN_PHONETIC_TOKEN and token.isalpha():
            for token_id in self.sounds.get(jellyfish.metaphone(token), ()):
                # Same sound and some shared spelling: pear/pair yes, cake/cooky no.
                if fuzz.ratio(token, self.vocabulary[token_id]) >= MIN_PHONETIC_SPELLING:
                    offer(token_id, PHONETIC_WEIGHT)
        if len(token) < MIN_FUZZY_TOKEN or token.isdigit():
            return tuple(found.items())
        grams = _trigrams(token)
        hits: dict[int, int] = defaultdict(int)
        for gram in grams:
            ids = self.grams.get(gram)
            if ids is not None and len(ids) < 20_000:
                for token_id in ids.tolist():
                    hits[token_id] += 1
        need = max(1, len(grams) // 3)
        cutoff = SHORT_FUZZY_CUTOFF if len(token) <= SHORT_TOKEN else FUZZY_TOKEN_CUTOFF
        scored = []
        for token_id, shared in hits.items():
            if shared < need or token_id == exact:
                continue
            similarity = fuzz.ratio(token, self.vocabulary[token_id])
            if similarity >= cutoff:
                scored.append((similarity, token_id))
        scored.sort(reverse=True)
        for similarity, token_id in scored[:MAX_EXPANSIONS]:
            offer(token_id, similarity / 100.0 * (0.9 if exact is not None else 1.0))
        return tuple(found.items())

    def candidates(
        self, query_tokens: list[str], limit: int = CANDIDATES, also: Iterable[int] = ()
    ) -> list[int]:
        """Rows of the products sharing the most informative words with the query.

        Rows in ``also`` (the shopper's own products) join whenever they share a word,
        however many strangers outscore them.
        """
        if not self.entries:
            return []
        scores: npt.NDArray[np.float32] | None = None
        for token in dict.fromkeys(query_tokens):
            expansions = self._expand(token)
            if not expansions:
                continue
            if scores is None:
                scores = self.tiebreak.copy()
            if len(expansions) == 1:
                token_id, weight = expansions[0]
                scores[self.postings[token_id]] += self.idf[token_id] * weight
                continue
            # A product counts once per spoken word: its best reading of that word.
            best = np.zeros(len(scores), dtype=np.float32)
            for token_id, weight in expansions:
                posting = self.postings[token_id]
                best[posting] = np.maximum(best[posting], self.idf[token_id] * weight)
            scores += best
        if scores is None:
            return []
        limit = min(limit, len(scores))
        top = np.argpartition(-scores, limit - 1)[:limit]
        floor = float(self.tiebreak.max()) if len(self.tiebreak) else 0.0
        found = [int(r) for r in top[np.argsort(-scores[top], kind="stable")] if scores[r] > floor]
        chosen = set(found)
        found.extend(r for r in also if r not in chosen and scores[r] > floor)
        return found

    def split_compounds(self, query_tokens: list[str]) -> list[str]:
        """Read an unknown joined word ("glutenfree") as the catalogue's parts."""
        out: list[str] = []
        for token in query_tokens:
            parts = None if token in self.token_id else self.compounds.get(token)
            out.extend(parts or (token,))
        return out

    def rerank(self, query_tokens: list[str], rows: list[int]) -> list[Hit]:
        """Score candidates by how well their words explain the query's words, and back.

        Query coverage (every spoken word should be accounted for, rare words count
        more) weighs three times product coverage (fewer unexplained extra words is
        better). Word similarities come from the same expansion used for retrieval,
        so misheard words score partially instead of zero.
        """
        query = " ".join(query_tokens)
        expansions = [dict(self._expand(t)) for t in dict.fromkeys(query_tokens)]
        idf = self.idf_list
        weights = [max((idf[v] for v in exp), default=self.unknown_idf) for exp in expansions]
        total = sum(weights) or 1.0
        best_similarity: dict[int, float] = {}
        for exp in expansions:
            for v, similarity in exp.items():
                if similarity > best_similarity.get(v, 0.0):
                    best_similarity[v] = similarity
        # Each spoken word's readings, best first, so the first one a phrase holds wins.
        readings = [
            (weight, sorted(exp.items(), key=lambda item: -item[1]))
            for exp, weight in zip(expansions, weights, strict=True)
        ]
        hits = []
        for row in rows:
            best, best_coverage, best_literal = 0.0, 0.0, 0.0
            for ids, phrase_total in zip(self.phrase_ids[row], self.phrase_idf[row], strict=True):
                explained = literal = 0.0
                for weight, options in readings:
                    for token_id, similarity in options:
                        if token_id in ids:
                            explained += weight * similarity
                            literal += weight if similarity >= 1.0 else 0.0
                            break
                covered = 0.0
                for token_id in ids:
                    known = best_similarity.get(token_id)
                    if known is not None:
                        covered += idf[token_id] * known
                score = 75.0 * explained / total + 25.0 * covered / phrase_total
                if score > best:
                    best, best_coverage, best_literal = score, explained / total, literal / total
            # Word order and spelling only break ties between equal word matches.
            order = fuzz.ratio(query, self.phrases[row][0])
            exact = query in self.phrases[row]
            hits.append(Hit(row, round(best, 1), order, best_coverage, best_literal, exact))
        return hits

    def search(
        self, query_tokens: list[str], limit: int = CANDIDATES, also: Iterable[int] = ()
    ) -> list[Hit]:
        """Candidates for the query (plus fitting rows of ``also``), re-ranked."""
        query_tokens = self.split_compounds(query_tokens)
        return self.rerank(query_tokens, self.candidates(query_tokens, limit, also))


def build_index(entries: Iterable[IndexEntry]) -> ProductIndex:
    return ProductIndex(entries)


def prior_vector(index: ProductIndex, prior: Mapping[int, float]) -> dict[int, float]:
    """Map product-id priors onto index rows (unknown ids are ignored)."""
    return {index.row_of[pid]: w for pid, w in prior.items() if pid in index.row_of}
