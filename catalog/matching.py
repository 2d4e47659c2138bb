"""Match what a shopper said to catalogue products.

One entry point for the dialogue, :meth:`CatalogMatcher.match`, and one pure function
under it, :func:`match_text`, which builds every :class:`MatchResult` (so the
benchmarks measure exactly what the skill runs). The in-memory index is rebuilt
lazily whenever the catalogue's change stamp moves, so every worker process picks up
catalogue edits without a restart.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar, cast

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.index import Hit, IndexEntry, ProductIndex
from catalog.models import Product
from catalog.normalize import normalize, singular, tokens
from catalog.quantity import QuantityPhrase, split_quantity, strip_carriers, without_purpose
from catalog.revision import current_revision

_T = TypeVar("_T")

log = logging.getLogger("voicecart.catalog")

MAX_QUERY_CHARS = 200
"""Longer input is not a product name; it is cut before matching."""

NO_MATCH_BELOW = 60.0
MIN_COVERAGE = 0.6
"""A product that leaves most of what was said unexplained is no match ("dragonfruit
kombucha" is not the ginger kombucha)."""
FULLY_EXPLAINED = 0.999
"""Coverage of a product that accounts for every said word."""
MIN_PART = 3
"""Split words are rejoined, and unknown words split, only into parts this long."""
MAX_BEGINNING_WORDS = 8
"""How far into unmatched words a product name is looked for."""
ENDS_BONUS = 5.0
"""Ranking (not scoring) lift for a product one word said names (its name ends with
the word, or is the word): what is named comes before what the word only describes
(Granny Smith Apples before Apple Juice for "apples"; Whole Milk before Milk Chocolate
for "milk")."""
CONFIDENT_AT = 80.0
CONFIDENT_MARGIN = 5.0
PRIOR_WEIGHT = 45.0
"""Points the shopper's usual product (of those that fit the words) gains over an unknown one."""
PRIOR_BASE = 0.55
"""Share of ``PRIOR_WEIGHT`` any product the shopper bought gets: more than extra unspoken
words cost (at most 25 points), so "almond milk" finds their Organic Unsweetened Vanilla
Almond Milk rather than a shorter stranger. The rest grows with how much more often (and
more recently) it was bought than the other fitting products they bought."""
PRIOR_NEEDS = 0.8
"""History only lifts products that explain this share of the spoken words."""
PRIOR_LITERAL_SLACK = 0.05
"""...and that explain (nearly) as many of them word for word as the most literal fit:
the usual Whole Wheat Bread hears "white" as "wheat", but "white bread" is the white.
When a product is called exactly what was said, history only lifts such products and
those whose name ends with the last of two or more words said (the head of the phrase):
"beef jerky" is the usual Original Beef Jerky, but "oranges" are the Navel Oranges, not
the usual Orange Juice No Pulp, and "butter" is butter, not the usual peanut butter."""


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
    rank_score: float = 0.0
    """Uncapped ``text_score + PRIOR_WEIGHT * prior``: what ranking and decisions use."""
    coverage: float = 1.0
    """Share (0-1) of the spoken words the product explains."""
    literal: float = 1.0
    """The share it explains word for word."""
    exact: bool = False
    """The words said are one of its names (after plurals, case and "&"/"and")."""
    ends: bool = False
    """One word was said and one of its names ends with it (see :attr:`Hit.ends`)."""
    twins: int = 0
    """How many other products carry the very same words (any order, same size): no one
    can tell them apart by voice, so they were decided by history, popularity, stock and
    price and are not offered."""


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
    def asks(self) -> bool:
        """Whether the shopper must be asked which: two or three really different
        products fit about as well (one fitting product alone is taken)."""
        return self.decision is Decision.AMBIGUOUS and len(self.contenders) > 1

    @property
    def contenders(self) -> tuple[Candidate, ...]:
        """The close alternatives a shopper would be asked to choose between (2-3): when
        the words said are some products' very name, only those."""
        if not self.candidates:
            return ()
        top = self.candidates[0]
        margin = top.rank_score - CONFIDENT_MARGIN
        close = [c for c in self.candidates[1:] if c.rank_score > margin and _rivals(c, top)]
        return (top, *close[:2])


def match_text(
    index: ProductIndex,
    text: str,
    *,
    prior: Mapping[int, float] | None = None,
    limit: int = 5,
) -> MatchResult:
    """Rank products for ``text``; ``prior`` maps product id to a 0..1 preference.

    Never raises on odd input: empty, huge, emoji-only or non-Latin text gives
    ``NO_MATCH``.
    """
    query = (text or "")[:MAX_QUERY_CHARS]
    query_tokens = tokens(query)
    normalized = " ".join(query_tokens)
    if all(t.isdigit() for t in query_tokens):  # nothing, or numbers alone: no product
        return MatchResult(query, normalized, (), Decision.NO_MATCH)
    prior = prior or {}
    own_rows = [index.row_of[pid] for pid in prior if pid in index.row_of]
    hits = index.search(query_tokens, also=own_rows)
    weights = _prior_weights(index, hits, prior)
    ranked: list[tuple[tuple[float, float, int, bool, int, float, int], Hit]] = []
    for hit in hits:
        row = hit.row
        weight = weights.get(row, 0.0)
        # Ties break on history, then general popularity, then stock, then price, then
        # word order, then SKU: never on list order.
        bonus = ENDS_BONUS if hit.ends or hit.exact else 0.0
        key = (-round(hit.text_score + PRIOR_WEIGHT * weight + bonus, 1), -weight,
               -int(index.popularity[row]), not index.in_stock[row], int(index.price[row]),
               -hit.order_score, int(index.sku_rank[row]))  # fmt: skip
        ranked.append((key, hit))
    ranked.sort(key=lambda kh: kh[0])
    kept: dict[int, list[Hit]] = {}
    for _, hit in ranked:  # twins join the first (best-placed) of their words
        twins = kept.setdefault(int(index.twin[hit.row]), [])
        if twins or len(kept) <= limit:
            twins.append(hit)
    best = tuple(
        _candidate(index.entries[group[0].row], group[0], weights.get(group[0].row, 0.0),
                   len(group) - 1)
        for group in list(kept.values())[:limit]
    )  # fmt: skip
    return MatchResult(query, normalized, best, _decide(best))


def match_item(
    index: ProductIndex,
    words: str,
    *,
    prior: Mapping[int, float] | None = None,
    limit: int = 5,
) -> tuple[QuantityPhrase, MatchResult]:
    """Product words as a slot holds them ("two bags of limes to my cart"): how many and
    in what (:func:`split_quantity`), and the products the rest names
    (:func:`match_words`). A leading number that is part of a product's very name is no
    count: "four cheese tortellini" is one Four Cheese Tortellini (even where Cheese
    Tortellini is sold too: the reading that explains every word wins)."""
    phrase = split_quantity(words)
    result = match_words(index, phrase.rest or words, prior=prior, limit=limit)
    if phrase.quantity is None or not phrase.rest:
        return phrase, result
    whole = strip_carriers(words)
    named = match_text(index, whole, prior=prior, limit=limit)
    if named.best is not None and named.best.exact and named.decision is not Decision.NO_MATCH:
        return QuantityPhrase(None, phrase.pack, whole, phrase.unit), named
    return phrase, result


def respellings(index: ProductIndex, text: str, *, split_known: bool = False) -> list[str]:
    """The words as a recogniser may have split or joined them: two words joined when the
    catalogue has the joined word ("tooth paste", "mozza rella"); a word the catalogue
    lacks (or, with ``split_known``, any word) split into two it has ("peanutbutter",
    "breadcrumbs" for Panko Bread Crumbs: said alike)."""
    words = tokens(text[:MAX_QUERY_CHARS])
    known = index.token_id
    variants = []
    for at in range(len(words) - 1):
        joined = singular(words[at] + words[at + 1])
        if joined in known and not joined.isdigit():
            variants.append([*words[:at], joined, *words[at + 2 :]])
    for at, word in enumerate(words):
        if (word in known and not split_known) or len(word) < 2 * MIN_PART or not word.isalpha():
            continue
        for cut in range(MIN_PART, len(word) - MIN_PART + 1):
            if word[:cut] in known and singular(word[cut:]) in known:
                variants.append([*words[:at], word[:cut], singular(word[cut:]), *words[at + 1 :]])
                break
    return [" ".join(v) for v in variants]


def _standing(result: MatchResult) -> tuple[int, float]:
    """Which of two readings of the words is better: the decision, then the score."""
    order = {Decision.NO_MATCH: 0, Decision.AMBIGUOUS: 1, Decision.CONFIDENT: 2}
    return order[result.decision], result.best.rank_score if result.best else 0.0


def match_words(
    index: ProductIndex,
    text: str,
    *,
    prior: Mapping[int, float] | None = None,
    limit: int = 5,
) -> MatchResult:
    """What the skill runs on cleaned product words (``split_quantity(...).rest``):
    :func:`match_text`; when that names nothing, the words without a trailing purpose
    ("... for taco night"), then their longest beginning that names a product word for
    word ("trash bags the kitchen one is full")."""
    result = match_text(index, text, prior=prior, limit=limit)
    best = result.best
    if result.decision is not Decision.CONFIDENT or (best and best.coverage < FULLY_EXPLAINED):
        # Also when a said word is left over: "black pepper corn grinder" is the
        # Black Peppercorn Grinder, not the Black Pepper Grinder.
        split_known = result.decision is Decision.AMBIGUOUS
        for variant in respellings(index, text, split_known=split_known):
            other = match_text(index, variant, prior=prior, limit=limit)
            if _standing(other) > _standing(result):
                result = other
    if result.decision is Decision.NO_MATCH and (shorter := without_purpose(text)):
        result = match_text(index, shorter, prior=prior, limit=limit)
    if result.decision is not Decision.NO_MATCH:
        return result
    words = text.split()[:MAX_BEGINNING_WORDS]
    for end in range(len(words) - 1, 0, -1):
        beginning = match_text(index, " ".join(words[:end]), prior=prior, limit=limit)
        best = beginning.best
        if beginning.decision is not Decision.NO_MATCH and best and best.literal >= 0.99:
            return beginning
    return result


def _candidate(entry: IndexEntry, hit: Hit, weight: float, twins: int = 0) -> Candidate:
    rank_score = hit.text_score + PRIOR_WEIGHT * weight
    return Candidate(
        product_id=entry.product_id,
        sku=entry.sku,
        display_name=entry.display_name,
        size=entry.size,
        price_cents=entry.price_cents,
        in_stock=entry.in_stock,
        score=min(100.0, rank_score),
        text_score=hit.text_score,
        prior=weight,
        rank_score=rank_score,
        coverage=hit.coverage,
        literal=hit.literal,
        exact=hit.exact,
        ends=hit.ends,
        twins=twins,
    )


def _prior_weights(
    index: ProductIndex, hits: list[Hit], prior: Mapping[int, float]
) -> dict[int, float]:
    """0..1 history weight per fitting row, relative to the best-liked fitting product."""
    literal = max((hit.literal for hit in hits), default=0.0) - PRIOR_LITERAL_SLACK
    named = any(hit.exact for hit in hits)
    liked = {
        hit.row: prior[int(index.product_ids[hit.row])]
        for hit in hits
        if hit.coverage >= PRIOR_NEEDS
        and hit.literal >= literal
        and (hit.exact or hit.headed or not named)
        and prior.get(int(index.product_ids[hit.row]), 0.0) > 0
    }
    if not liked:
        return {}
    top = max(liked.values())
    return {row: PRIOR_BASE + (1.0 - PRIOR_BASE) * value / top for row, value in liked.items()}


def _rivals(other: Candidate, top: Candidate) -> bool:
    """Whether ``other`` competes with the best fit. A product's very name beats names
    that are not; and a product that is the best fit plus more words ("Signature Shredded
    Steak & Three-Cheese Chimichangas" after "... & Cheese Chimichanga"; "Organic Whole
    Milk Plain Kefir" after "Whole Milk Plain Kefir") is a variant of it, not a rival: the
    plainer one is what was asked for. Both fit what was said; history can still lift the
    variant to the top. Nor is a product the last word said only describes ("Apple
    Juice" after "apples") a rival of one it names ("Granny Smith Apples")."""
    if top.exact and not other.exact:
        return False
    if top.ends and not other.ends and not other.exact:
        return False  # "apples": Granny Smith Apples, and no Apple Juice in the question
    mine, theirs = set(tokens(top.display_name)), set(tokens(other.display_name))
    return not (top.literal >= other.literal and mine < theirs)


def _decide(ranked: tuple[Candidate, ...]) -> Decision:
    if not ranked or ranked[0].rank_score < NO_MATCH_BELOW or ranked[0].coverage < MIN_COVERAGE:
        return Decision.NO_MATCH
    top = ranked[0]
    rivals = [c for c in ranked[1:] if _rivals(c, top)]
    runner_up = rivals[0].rank_score if rivals else 0.0
    if top.rank_score >= CONFIDENT_AT and top.rank_score - runner_up >= CONFIDENT_MARGIN:
        return Decision.CONFIDENT
    return Decision.AMBIGUOUS


def index_entry(product: Product) -> IndexEntry:
    return IndexEntry(
        product_id=product.id,
        sku=product.sku,
        name=product.name,
        brand=product.brand,
        size=product.size,
        synonyms=tuple(product.synonyms),
        popularity=product.popularity,
        price_cents=product.price_cents,
        in_stock=product.stock > 0,
    )


STALE_STAGING_SECONDS = 3600
"""A half-built index folder this old belongs to a builder that is gone."""
RETRY_BUILD_SECONDS = 10.0
"""How soon a worker tries to build a missing index again (a failed build, or another
process building it)."""
KEEP_REVISIONS = 2
"""Index folders kept on disk: the newest, and the one before for workers still on it."""


def _revision_of(folder: Path) -> int | None:
    name = folder.name
    digits = name.removeprefix("revision-")
    return int(digits) if name.startswith("revision-") and digits.isdigit() else None


def build_index_folder(session: Session, root: Path) -> tuple[Path, ProductIndex]:
    """Build the index of the committed catalogue into ``root/revision-N`` and return it
    memory-mapped; the folder appears in one rename (readers never see half of it), and
    older revisions beyond :data:`KEEP_REVISIONS` are removed. Another process that won
    the race for the same revision is fine: its folder is used."""
    revision = current_revision(session)
    target = root / f"revision-{revision}"
    if root.is_dir():  # staging left by a builder that died half way
        stale = time.time() - STALE_STAGING_SECONDS
        for left in root.glob(".building-*"):
            if left.stat().st_mtime < stale:
                shutil.rmtree(left, ignore_errors=True)
    if not target.exists():
        started = time.perf_counter()
        products = session.scalars(select(Product).where(Product.active))
        built = ProductIndex(map(index_entry, products))
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=root, prefix=f".building-{revision}-"))
        try:
            built.save(staging / "index")
            os.chmod(staging / "index", 0o755)  # workers may run as another user
            os.rename(staging / "index", target)
            log.info("catalogue index for revision %d: %d products in %.2f s -> %s",
                     revision, len(built), time.perf_counter() - started, target)  # fmt: skip
        except OSError:
            if not target.exists():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    older = sorted((r, f) for f in root.iterdir()
                   if (r := _revision_of(f)) is not None and r < revision)  # fmt: skip
    for _, old in older[: max(0, len(older) - (KEEP_REVISIONS - 1))]:
        shutil.rmtree(old, ignore_errors=True)  # mapped files stay readable until unmapped
    return target, ProductIndex.load(target)


MATCH_MEMORY = 1024
"""Matches remembered per catalogue index (a few MB): a shopper's next turn often names
the same words again ("how much is the oat milk", then "add oat milk"; a choice after
a question; a retried request), and a match is a pure function of the index, the words
and the shopper's history."""


class _MatchMemory:
    """The latest :data:`MATCH_MEMORY` matches of one index, least recently used out."""

    def __init__(self, index: ProductIndex) -> None:
        self.index = index
        self.lock = threading.Lock()
        self.results: OrderedDict[Hashable, Any] = OrderedDict()

    def recall(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        with self.lock:
            found = self.results.get(key, _MISSING)
            if found is not _MISSING:
                self.results.move_to_end(key)
                return cast(_T, found)
        value = compute()  # outside the lock: matches run in parallel
        with self.lock:
            self.results[key] = value
            if len(self.results) > MATCH_MEMORY:
                self.results.popitem(last=False)
        return value


_MISSING = object()


def _prior_key(prior: Mapping[int, float] | None) -> frozenset[tuple[int, float]] | None:
    return frozenset(prior.items()) if prior else None


class CatalogMatcher:
    """Fuzzy product matching over the active catalogue.

    With a ``folder`` (production), the index of each catalogue revision is built once,
    by whichever process first needs it or by ``voicecart catalog import`` / ``catalog
    index``, into a folder every worker memory-maps: workers load, they do not rebuild,
    and memory does not multiply with them. A request never waits for a rebuild: after
    a catalogue edit the previous index answers until the new one is on disk (built in a
    background thread), then it is swapped in. Only when there is no index at all (a
    fresh database) is it built on the spot. Without a folder (tests, tools) the index
    lives in this process and follows even the calling session's own uncommitted edits.
    """

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._index: ProductIndex | None = None
        self._revision: int | None = None
        self._building: threading.Thread | None = None
        self._next_build = 0.0
        self._memory: _MatchMemory | None = None

    def _remembered(self, index: ProductIndex) -> _MatchMemory:
        """The match memory of ``index`` (a new catalogue revision starts afresh)."""
        memory = self._memory
        if memory is None or memory.index is not index:
            memory = self._memory = _MatchMemory(index)
        return memory

    def index(self, session: Session) -> ProductIndex:
        """The index of the active catalogue, for the catalogue revision ``session`` sees
        (or, with a folder, the newest one ready)."""
        session.flush()  # this session's own edits count too
        revision = current_revision(session)
        with self._lock:
            if self._index is not None and revision == self._revision:
                return self._index
            if self.folder is None:
                started = time.perf_counter()
                products = session.scalars(select(Product).where(Product.active))
                self._index, self._revision = ProductIndex(map(index_entry, products)), revision
                log.info("catalogue index built: %d products, revision %d, %.2f s",
                         len(self._index), revision, time.perf_counter() - started)  # fmt: skip
                return self._index
            ready = self.folder / f"revision-{revision}"
            if ready.is_dir() and self._swap_in(ready, revision) and self._index is not None:
                return self._index
            if self._index is None and (newest := self._newest_ready()) is not None:
                self._swap_in(*newest)
            self._build_in_background(session)
            if self._index is None:  # nothing anywhere yet: this once, build on the spot
                products = session.scalars(select(Product).where(Product.active))
                self._index, self._revision = ProductIndex(map(index_entry, products)), -1
            return self._index

    def _swap_in(self, folder: Path, revision: int) -> bool:
        try:
            self._index, self._revision = ProductIndex.load(folder), revision
        except (OSError, ValueError, KeyError) as exc:
            log.warning("catalogue index %s is unusable (%s): building it again", folder, exc)
            shutil.rmtree(folder, ignore_errors=True)
            return False
        log.info("catalogue index loaded: %d products, revision %d (%s)",
                 len(self._index), revision, folder)  # fmt: skip
        return True

    def _newest_ready(self) -> tuple[Path, int] | None:
        assert self.folder is not None
        if not self.folder.is_dir():
            return None
        found = [(f, r) for f in self.folder.iterdir() if (r := _revision_of(f)) is not None]
        return max(found, key=lambda fr: fr[1]) if found else None

    def _build_in_background(self, session: Session) -> None:
        """One builder thread per process; across processes a lock file lets one build."""
        if self._building is not None and self._building.is_alive():
            return
        if time.monotonic() < self._next_build:
            return  # a build just failed, or another process holds the lock: not per request
        self._next_build = time.monotonic() + RETRY_BUILD_SECONDS
        assert self.folder is not None
        folder, bind = self.folder, session.get_bind()

        def build() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            with (folder / ".lock").open("a") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    return  # another process is building; its folder will appear
                try:
                    with Session(bind) as fresh:  # the committed catalogue, read only
                        build_index_folder(fresh, folder)
                except Exception:
                    log.exception("building the catalogue index failed")

        self._building = threading.Thread(target=build, name="catalogue-index", daemon=True)
        self._building.start()

    def wait_for_build(self, timeout: float | None = None) -> None:
        """Until the background build (if any) is done: for tools and tests."""
        if self._building is not None:
            self._building.join(timeout)

    def match(
        self,
        session: Session,
        text: str,
        *,
        prior: Mapping[int, float] | None = None,
        limit: int = 5,
    ) -> MatchResult:
        """Match ``text`` against the active catalogue (see :func:`match_words`)."""
        index = self.index(session)
        return self._remembered(index).recall(
            ("words", text, _prior_key(prior), limit),
            lambda: match_words(index, text, prior=prior, limit=limit),
        )

    def match_item(
        self, session: Session, words: str, *, prior: Mapping[int, float] | None = None
    ) -> tuple[QuantityPhrase, MatchResult]:
        """Count, pack and products of a product slot's words (see :func:`match_item`)."""
        index = self.index(session)
        return self._remembered(index).recall(
            ("item", words, _prior_key(prior)), lambda: match_item(index, words, prior=prior)
        )

    def fit(self, session: Session, words: str) -> float:
        """0-100: how well spoken product words (quantity words dropped) name a product;
        0 when nothing fits. The local parser's product-slot check."""
        return fit_score(self.match_item(session, words)[1])


def fit_score(result: MatchResult) -> float:
    """0-100: how well the matched words name a product (the best candidate's text
    score), 0 when nothing fits: what the local parser weighs a product slot by."""
    best = result.best
    return 0.0 if best is None or result.decision is Decision.NO_MATCH else best.text_score


def _word_key(word: str) -> str:
    """A word as the question compares them: "Apples" and "apple" alike, "gal" and
    "gallon" not (they are said differently)."""
    return singular("".join(c for c in word.lower() if c.isalnum()))


def differences(candidates: Sequence[Candidate]) -> tuple[str, list[str]]:
    """What the candidates share (their kind: "sunny acres apples") and what tells each
    apart ("Granny Smith", "Honeycrisp"; the size only when the names are alike), so a
    question can name only the difference. With no kind, the labels are full names."""
    for sized in (False, True):
        said = [f"{c.display_name} {c.size}".split() if sized else c.display_name.split()
                for c in candidates]  # fmt: skip
        keys = [[_word_key(w) for w in words] for words in said]
        shared = set.intersection(*(set(k) for k in keys)) - {""} if keys else set()
        labels = [" ".join(w for w, k in zip(words, ks, strict=True) if k not in shared)
                  for words, ks in zip(said, keys, strict=True)]  # fmt: skip
        name = candidates[0].display_name.split() if candidates else []
        kind = " ".join(w for w in name if _word_key(w) in shared).lower()
        if kind and all(labels) and len(set(labels)) == len(labels):
            return kind, labels
    names = [c.display_name for c in candidates]
    if len(set(names)) < len(names):
        names = [f"{c.display_name}, {c.size}" if c.size else c.display_name for c in candidates]
    return "", names


_ORDINALS = {"first": 0, "1st": 0, "one": 0, "1": 0, "second": 1, "2nd": 1, "two": 1, "2": 1,
             "third": 2, "3rd": 2, "three": 2, "3": 2}  # fmt: skip
PICK_AT = 60.0


def pick_option(names: list[str], words: str | None, ordinal: str | None = None) -> int | None:
    """Which of ``names`` an answer means: "the second one", a brand, a name fragment.

    Returns the index, or ``None`` when the answer fits none, or two equally.
    """
    spoken = " ".join(filter(None, (ordinal, words))).lower().split()
    for word in spoken:
        if word in _ORDINALS and _ORDINALS[word] < len(names):
            return _ORDINALS[word]
        if word == "last" and names:
            return len(names) - 1
    query = normalize(words or "")
    if not query:
        return None
    scores = [fuzz.token_set_ratio(query, normalize(name)) for name in names]
    best = max(range(len(names)), key=scores.__getitem__)
    runner_up = max((s for i, s in enumerate(scores) if i != best), default=0.0)
    if scores[best] >= PICK_AT and scores[best] - runner_up >= CONFIDENT_MARGIN:
        return best
    return None
