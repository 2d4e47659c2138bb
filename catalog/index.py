"""An in-memory product index built for spoken queries.

Candidate generation never scans the catalogue: each query token is looked up in an
inverted index (exactly, and through a character-trigram index over the vocabulary
for misheard or mistyped words), postings are accumulated with IDF weights in a numpy
vector, and only the best few hundred products are re-ranked with rapidfuzz.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any, overload

import jellyfish
import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz

from catalog.confusions import alternatives
from catalog.normalize import compounds, singular, tokens

CANDIDATES = 50
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
    """The words said are one of its names, word for word (in any order)."""
    headed: bool = False
    """Two or more words were said and one of its names ends with the last (the head of
    the phrase: "beef jerky" heads Original Beef Jerky; "orange juice" does not head
    Orange Juice No Pulp, and one word, "butter", heads nothing)."""
    ends: bool = False
    """One word was said and one of its names ends with it: "apples" ends Granny Smith
    Apples, not Apple Juice. (Of longer requests the last word may be a descriptor:
    "panko breadcrumbs" for Panko Breadcrumbs Original.)"""


def twin_key(entry: IndexEntry) -> tuple[tuple[str, ...], str]:
    """The same for products no one can tell apart by voice: their brand and name words
    in any order ("Sparkling Water Berry", "Berry Sparkling Water") and their size."""
    # Brand and name apart: each is one of few strings, and tokens() remembers them.
    said = [*tokens(entry.brand), *tokens(entry.name)]
    return tuple(sorted(said)), " ".join(tokens(entry.size))


@lru_cache(maxsize=100_000)  # catalogues repeat brands and names
def _compounds(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(compounds(text).items())


def twin_groups(entries: Sequence[IndexEntry]) -> npt.NDArray[np.int32]:
    """Per product, a group id shared with its twins: the same words in any order
    (:func:`twin_key`), or the same letters in the same order ("Yellow Pop Corn",
    "Yellow Popcorn"), and the same size. Twins of twins are twins."""
    parent = list(range(len(entries)))

    def root(row: int) -> int:
        while parent[row] != row:
            parent[row] = parent[parent[row]]
            row = parent[row]
        return row

    first: dict[object, int] = {}
    for row, entry in enumerate(entries):
        by_words = twin_key(entry)
        letters = "".join([*tokens(entry.brand), *tokens(entry.name)])
        for key in (by_words, (letters, by_words[1])):
            other = first.setdefault(key, row)
            if other != row:
                parent[root(row)] = root(other)
    dense: dict[int, int] = {}
    return np.asarray([dense.setdefault(root(row), len(dense)) for row in range(len(entries))],
                      dtype=np.int32)  # fmt: skip


def _ids(found: npt.NDArray[np.int32] | None) -> list[int]:
    return [] if found is None else found.tolist()


def _trigrams(word: str) -> set[str]:
    padded = f"#{word}#"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


FORMAT = 1
"""Version of the files :meth:`ProductIndex.save` writes; another version is rebuilt."""
Arrays = dict[str, npt.NDArray[Any]]


def _pack(strings: Iterable[str]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Strings as one UTF-8 blob and offsets (a file can hold them; no Python objects)."""
    encoded = [text.encode("utf-8") for text in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), offsets


def _csr(groups: Iterable[Iterable[int]]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    """Lists of ints as offsets and one flat array."""
    flat: list[int] = []
    offsets = [0]
    for group in groups:
        flat.extend(group)
        offsets.append(len(flat))
    return np.asarray(offsets, dtype=np.int64), np.asarray(flat, dtype=np.int32)


class _Strings(Sequence[str]):
    """The i-th string of a packed blob, decoded when asked for."""

    def __init__(self, blob: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64]) -> None:
        self._blob, self._offsets = blob, offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        start, end = int(self._offsets[i]), int(self._offsets[i + 1])
        return self._blob[start:end].tobytes().decode("utf-8")


class _Keyed:
    """Sorted string keys -> int arrays (trigram, sound code or heard word -> token ids)."""

    def __init__(self, arrays: Arrays, prefix: str) -> None:
        keys = _Strings(arrays[f"{prefix}_blob"], arrays[f"{prefix}_keys"])
        self._at = {keys[i]: i for i in range(len(keys))}
        self._offsets, self._ids = arrays[f"{prefix}_off"], arrays[f"{prefix}_ids"]

    @staticmethod
    def pack(prefix: str, table: Mapping[str, Iterable[int]]) -> Arrays:
        keys = sorted(table)
        blob, key_offsets = _pack(keys)
        offsets, ids = _csr(table[k] for k in keys)
        return {f"{prefix}_blob": blob, f"{prefix}_keys": key_offsets,
                f"{prefix}_off": offsets, f"{prefix}_ids": ids}  # fmt: skip

    def get(self, key: str) -> npt.NDArray[np.int32] | None:
        at = self._at.get(key)
        if at is None:
            return None
        return self._ids[int(self._offsets[at]) : int(self._offsets[at + 1])]


class _Entries(Sequence[IndexEntry]):
    """Index rows as :class:`IndexEntry`, built from the columns when asked for."""

    def __init__(self, arrays: Arrays) -> None:
        self._a = arrays
        self._text = {f: _Strings(arrays[f"{f}_blob"], arrays[f"{f}_off"])
                      for f in ("sku", "name", "brand", "size", "synonyms")}  # fmt: skip

    def __len__(self) -> int:
        return len(self._a["pid"])

    @overload
    def __getitem__(self, row: int) -> IndexEntry: ...
    @overload
    def __getitem__(self, row: slice) -> list[IndexEntry]: ...
    def __getitem__(self, row: int | slice) -> IndexEntry | list[IndexEntry]:
        if isinstance(row, slice):
            return [self[r] for r in range(*row.indices(len(self)))]
        text = self._text
        synonyms = text["synonyms"][row]
        return IndexEntry(
            product_id=int(self._a["pid"][row]), sku=text["sku"][row], name=text["name"][row],
            brand=text["brand"][row], size=text["size"][row],
            synonyms=tuple(synonyms.split(_SEPARATOR)) if synonyms else (),
            popularity=int(self._a["popularity"][row]), price_cents=int(self._a["price"][row]),
            in_stock=bool(self._a["in_stock"][row]),
        )  # fmt: skip


class _RowOf(Mapping[int, int]):
    """Product id -> index row, by binary search over the sorted ids."""

    def __init__(self, ids: npt.NDArray[np.int64], rows: npt.NDArray[np.int32]) -> None:
        self._ids, self._rows = ids, rows

    def __getitem__(self, product_id: int) -> int:
        at = int(np.searchsorted(self._ids, product_id))
        if at >= len(self._ids) or int(self._ids[at]) != product_id:
            raise KeyError(product_id)
        return int(self._rows[at])

    def __iter__(self) -> Iterator[int]:
        return (int(i) for i in self._ids)

    def __len__(self) -> int:
        return len(self._ids)


_SEPARATOR = "\x1f"


def _build(entries: list[IndexEntry]) -> tuple[Arrays, dict[str, Any]]:
    """Every array the index is made of, and the small rest (kept as JSON)."""
    arrays: Arrays = {}
    for field in ("sku", "name", "brand", "size"):
        arrays[f"{field}_blob"], arrays[f"{field}_off"] = _pack(getattr(e, field) for e in entries)
    arrays["synonyms_blob"], arrays["synonyms_off"] = _pack(
        _SEPARATOR.join(e.synonyms) for e in entries
    )
    arrays["pid"] = np.asarray([e.product_id for e in entries], dtype=np.int64)
    arrays["popularity"] = np.asarray([e.popularity for e in entries], dtype=np.int64)
    arrays["price"] = np.asarray([e.price_cents for e in entries], dtype=np.int64)
    arrays["in_stock"] = np.asarray([e.in_stock for e in entries], dtype=np.bool_)
    order = np.argsort(arrays["pid"], kind="stable")
    arrays["pid_sorted"], arrays["pid_rows"] = arrays["pid"][order], order.astype(np.int32)
    by_sku = sorted(range(len(entries)), key=lambda row: entries[row].sku)
    arrays["sku_rank"] = np.empty(len(entries), dtype=np.int32)
    arrays["sku_rank"][by_sku] = np.arange(len(entries), dtype=np.int32)
    arrays["twin"] = twin_groups(entries)
    # Phrases a shopper may say for a product: brand+name, name, each synonym.
    joined: dict[str, tuple[str, ...]] = {}
    phrases: list[tuple[str, ...]] = []
    postings: dict[str, list[int]] = defaultdict(list)
    for row, entry in enumerate(entries):
        for text in (entry.brand, entry.name, *entry.synonyms):  # none spans the space
            joined.update(_compounds(text))
        name = " ".join(tokens(entry.name))
        full = " ".join([*tokens(entry.brand), *tokens(entry.name)])  # the display name
        spoken = [" ".join(tokens(s)) for s in entry.synonyms]
        said = tuple(dict.fromkeys(p for p in (full, name, *spoken) if p))
        phrases.append(said)
        for token in {t for p in said for t in p.split()}:
            postings[token].append(row)
    vocabulary = sorted(postings)
    token_id = {t: i for i, t in enumerate(vocabulary)}
    arrays["vocab_blob"], arrays["vocab_off"] = _pack(vocabulary)
    arrays["post_off"], arrays["post_rows"] = _csr(postings[t] for t in vocabulary)
    arrays["row_phrases"], _ = _csr([0] * len(said) for said in phrases)
    arrays["phrase_off"], arrays["phrase_tokens"] = _csr(
        [token_id[t] for t in phrase.split()] for said in phrases for phrase in said
    )
    count = max(1, len(entries))
    arrays["idf"] = np.asarray(
        [math.log(1.0 + count / len(postings[t])) for t in vocabulary], dtype=np.float32
    )
    sounds: dict[str, list[int]] = defaultdict(list)
    grams: dict[str, list[int]] = defaultdict(list)
    for i, token in enumerate(vocabulary):
        if len(token) >= MIN_PHONETIC_TOKEN and token.isalpha():
            code = jellyfish.metaphone(token)
            if len(code) >= 2:
                sounds[code].append(i)
        if len(token) >= MIN_FUZZY_TOKEN and not token.isdigit():
            for gram in _trigrams(token):
                grams[gram].append(i)
    arrays |= _Keyed.pack("gram", grams) | _Keyed.pack("sound", sounds)
    alike = homophones(vocabulary)
    arrays |= _Keyed.pack("homo", {w: [token_id[o] for o in others] for w, others in alike.items()})
    popularity = arrays["popularity"].astype(np.float32)
    top = float(popularity.max()) if len(popularity) else 0.0
    shortest = np.asarray([min((len(set(p.split())) for p in said), default=1) for said in phrases],
                          dtype=np.float32)  # fmt: skip
    # Among equally good word matches, shorter names (fewer unexplained words) come
    # first, then popular ones: a whisper next to the IDF weights (about 1 to 10).
    arrays["tiebreak"] = (-0.01 * shortest + (popularity / top * 1e-3 if top > 0 else 0.0)).astype(
        np.float32
    )
    # A spoken word the catalogue has never seen is as telling as the rarest word:
    # "dragonfruit kombucha" is not a half-right "ginger kombucha".
    meta = {"format": FORMAT, "products": len(entries), "unknown_idf": math.log(1.0 + count),
            "compounds": {k: list(v) for k, v in joined.items()}}  # fmt: skip
    return arrays, meta


class ProductIndex:
    """Token + trigram inverted index with rapidfuzz re-ranking. Immutable once built.

    Made of flat arrays only, so :meth:`save` can write them to a folder that every
    worker process (on every host sharing the folder) memory-maps with :meth:`load`:
    the operating system keeps one copy in its page cache, however many workers read it.
    """

    def __init__(self, entries: Iterable[IndexEntry]) -> None:
        self._attach(*_build(list(entries)))

    @classmethod
    def load(cls, folder: Path) -> ProductIndex:
        """The index :meth:`save` wrote to ``folder``, memory-mapped (read-only)."""
        meta = json.loads((folder / "meta.json").read_text("utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{folder}: index format {meta.get('format')}, expected {FORMAT}")
        arrays = {f.stem: np.load(f, mmap_mode="r") for f in folder.glob("*.npy")}
        index = cls.__new__(cls)
        index._attach(arrays, meta)
        return index

    def save(self, folder: Path) -> None:
        """Write the index into ``folder`` (created; it must not exist yet)."""
        folder.mkdir(parents=True)
        for name, array in self._arrays.items():
            np.save(folder / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
        (folder / "meta.json").write_text(json.dumps(self._meta), "utf-8")

    def _attach(self, arrays: Arrays, meta: dict[str, Any]) -> None:
        self._arrays, self._meta = arrays, meta
        self.entries: Sequence[IndexEntry] = _Entries(arrays)
        self.row_of: Mapping[int, int] = _RowOf(arrays["pid_sorted"], arrays["pid_rows"])
        self.vocabulary: list[str] = list(_Strings(arrays["vocab_blob"], arrays["vocab_off"]))
        self.token_id: dict[str, int] = {t: i for i, t in enumerate(self.vocabulary)}
        self.compounds: dict[str, tuple[str, ...]] = {
            k: tuple(v) for k, v in meta["compounds"].items()
        }
        self.idf: npt.NDArray[np.float32] = arrays["idf"]
        self.idf_list: list[float] = self.idf.tolist()
        self.unknown_idf: float = meta["unknown_idf"]
        self.tiebreak: npt.NDArray[np.float32] = arrays["tiebreak"]
        self._floor = float(self.tiebreak.max()) if len(self.tiebreak) else 0.0
        # Per row, for ranking without building entries: ids, popularity, stock, price,
        # SKU order, and the twin group (rows no one can tell apart by voice share one).
        self.product_ids: npt.NDArray[np.int64] = arrays["pid"]
        self.popularity: npt.NDArray[np.int64] = arrays["popularity"]
        self.in_stock: npt.NDArray[np.bool_] = arrays["in_stock"]
        self.price: npt.NDArray[np.int64] = arrays["price"]
        self.sku_rank: npt.NDArray[np.int32] = arrays["sku_rank"]
        self.twin: npt.NDArray[np.int32] = arrays["twin"]
        self.grams, self.sounds, self.homophones = (
            _Keyed(arrays, "gram"),
            _Keyed(arrays, "sound"),
            _Keyed(arrays, "homo"),
        )
        self._post_off, self._post_rows = arrays["post_off"], arrays["post_rows"]
        self._row_phrases, self._phrase_off = arrays["row_phrases"], arrays["phrase_off"]
        self._phrase_tokens = arrays["phrase_tokens"]
        self._expand = lru_cache(maxsize=50_000)(self._expand_uncached)

    def posting(self, token_id: int) -> npt.NDArray[np.int32]:
        """Rows of the products whose phrases hold the token."""
        return self._post_rows[int(self._post_off[token_id]) : int(self._post_off[token_id + 1])]

    def phrase_tokens(self, row: int) -> list[list[int]]:
        """Each phrase of the product as token ids, in spoken order."""
        first, last = int(self._row_phrases[row]), int(self._row_phrases[row + 1])
        bounds = self._phrase_off[first : last + 1].tolist()
        flat = self._phrase_tokens[bounds[0] : bounds[-1]].tolist() if bounds else []
        return [flat[a - bounds[0] : b - bounds[0]] for a, b in pairwise(bounds)]

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
        for token_id in _ids(self.homophones.get(token)):
            offer(token_id, HOMOPHONE_WEIGHT)
        if len(token) >= MIN_PHONETIC_TOKEN and token.isalpha():
            for token_id in _ids(self.sounds.get(jellyfish.metaphone(token))):
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
        if not len(self.entries):
            return []
        readings = [r for r in (self._expand(t) for t in dict.fromkeys(query_tokens)) if r]
        if not readings:
            return []
        size = len(self.entries)
        # Scored over the whole catalogue in one array: scattering postings into it
        # costs their length, where merging them (np.unique) cost ten times more.
        scores = np.zeros(size, dtype=np.float32)
        best: npt.NDArray[np.float32] | None = None
        reference: npt.NDArray[np.int32] | None = None
        reference_gain = -1.0
        for expansions in readings:
            if len(expansions) > 1 and best is None:
                best = np.zeros(size, dtype=np.float32)
            postings = []
            # A sound-alike or misspelling of a word we know says no more than the word:
            # "lime" is not better read as the rarer "limu" or "loam".
            said = max((float(self.idf[t]) for t, w in expansions if w >= 1.0), default=math.inf)
            for token_id, weight in expansions:
                posting = self.posting(token_id)
                gain = min(float(self.idf[token_id]), said) * weight
                if len(posting) >= limit and gain > reference_gain:
                    reference, reference_gain = posting, gain
                if best is None or len(expansions) == 1:
                    scores[posting] += gain  # a posting holds each row once
                else:  # a product counts once per spoken word: its best reading of it
                    best[posting] = np.maximum(best[posting], gain)
                    postings.append(posting)
            if postings and best is not None:
                rows = np.concatenate(postings)
                scores[rows] += best[rows]
                best[rows] = 0.0
        cut = np.float32(1e-6)
        if reference is not None:
            # Any one posting's k-th best score is a floor under the k best overall, so
            # only rows reaching it are ranked (not every row sharing a common word).
            sample = scores[reference] + self.tiebreak[reference]
            floor = np.partition(sample, len(sample) - limit)[len(sample) - limit]
            cut = max(cut, np.float32(floor - self._floor - 1e-3))
        touched = np.flatnonzero(scores >= cut)
        if not len(touched):
            return []
        ranked = scores[touched] + self.tiebreak[touched]
        limit = min(limit, len(ranked))
        top = np.argpartition(-ranked, limit - 1)[:limit]
        found: list[int] = [int(r) for r in touched[top[np.argsort(-ranked[top], kind="stable")]]]
        if also:
            chosen = set(found)
            found.extend(r for r in also if r not in chosen and scores[r] > 0)
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
        said_ids = sorted(self.token_id.get(t, -1) for t in query_tokens)
        # One word is too general to head a longer name ("butter" is no peanut butter).
        last = self.token_id.get(query_tokens[-1], -1) if query_tokens else -1
        single = len(query_tokens) == 1
        head = -1 if single else last
        hits = []
        for row in rows:
            best, best_coverage, best_literal = 0.0, 0.0, 0.0
            spoken = self.phrase_tokens(row)
            for ids in (set(p) for p in spoken):
                phrase_total = sum(idf[v] for v in ids) or 1.0
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
            first = " ".join(self.vocabulary[t] for t in spoken[0]) if spoken else ""
            order = fuzz.ratio(query, first)
            exact = any(len(p) == len(said_ids) and sorted(p) == said_ids  # in any order:
                        for p in spoken)  # still its very name  # fmt: skip
            headed = any(p and p[-1] == head for p in spoken)
            ends = single and any(p and p[-1] == last for p in spoken)
            hits.append(Hit(row, round(best, 1), order, best_coverage, best_literal, exact,
                            headed, ends))  # fmt: skip
        return hits

    def search(
        self, query_tokens: list[str], limit: int = CANDIDATES, also: Iterable[int] = ()
    ) -> list[Hit]:
        """Candidates for the query (plus fitting rows of ``also``), re-ranked."""
        query_tokens = self.split_compounds(query_tokens)
        return self.rerank(query_tokens, self.candidates(query_tokens, limit, also))
