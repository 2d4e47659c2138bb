"""Product matching on the real Instacart catalogue: naive full scan vs voicecart, one run.

Baseline: ``rapidfuzz.process.extractOne(query, names, scorer=WRatio,
processor=default_process)`` over every product name. voicecart: ``catalog.matching.
match_text`` over ``catalog.index.ProductIndex`` (what the skill runs). Queries come
from a seeded generator of spoken-style noise. A query counts as *answerable* when the
product it was made from is the only catalogue product with the fewest words that
contains all of the query's intended words; otherwise (e.g. "green grapes" made from
"Organic Green Grapes" while "Green Grapes" is also sold) no matcher can know, and
accuracy is reported on both sets.

    .venv/bin/python bench/bench_match.py [--queries N] [--large N] [--seed S]

Reads ../shared/data/instacart/products.csv (non-commercial data: read in place,
never copied). Skips with a message when it is absent.
"""

from __future__ import annotations

import argparse
import csv
import gc
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz, process, utils  # noqa: E402

from catalog.index import IndexEntry, ProductIndex  # noqa: E402
from catalog.matching import match_text  # noqa: E402
from catalog.normalize import tokens  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "instacart"
NUMBER_WORDS = {
    "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six", "7": "seven",
    "8": "eight", "10": "ten", "12": "twelve", "16": "sixteen", "20": "twenty",
}  # fmt: skip
# Word-level confusions a recogniser makes on grocery words (homophones, near-homophones).
CONFUSIONS = {
    "whole": "hole", "flour": "flower", "cereal": "serial", "pear": "pair", "pears": "pairs",
    "beet": "beat", "beets": "beats", "thyme": "time", "chili": "chilly", "leek": "leak",
    "peas": "peace", "mussels": "muscles", "berry": "barry", "dough": "doe", "mint": "meant",
    "chard": "charred", "smith": "yes", "wheat": "wheet", "cloves": "clothes", "roll": "role",
    "rolls": "roles", "sole": "soul", "plum": "plumb", "mustard": "mustered", "greek": "great",
    "turkey": "turkish", "dates": "dates", "lox": "locks", "mousse": "moose",
}  # fmt: skip
KINDS = ("drop_first", "drop_word", "typo", "plural", "number", "confusion")


@dataclass(frozen=True)
class Query:
    text: str
    intended: str
    source: int
    kind: str


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def load_products() -> tuple[list[str], list[int], dict[int, int]]:
    names, ids = [], []
    with open(DATA / "products.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):  # the file escapes inner quotes as \" (a quirk)
            ids.append(int(row["product_id"]))
            names.append(row["product_name"].replace('\\"', '"'))
    popularity: dict[int, int] = defaultdict(int)
    with open(DATA / "user_prior_histories.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            popularity[int(row["product_id"])] += 1
    return names, ids, popularity


def spoken_words(name: str) -> list[str]:
    cleaned = name.lower().replace("%", " percent ").replace("&", " and ")
    words = ["".join(c for c in w if c.isalnum() or c == "'") for w in cleaned.split()]
    return [w for w in words if w]


def make_query(rng: random.Random, name: str, source: int) -> Query | None:
    words = spoken_words(name)
    kind = rng.choice(KINDS)
    if kind == "drop_first" and len(words) >= 3:
        words = words[1:]
    elif kind == "drop_word" and len(words) >= 3:
        del words[rng.randrange(len(words))]
    intended = " ".join(words)
    if kind == "typo":
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) < 4:
            return None
        j = rng.randrange(1, len(w) - 1)
        op = rng.choice("sdit")
        if op == "s":
            w = w[:j] + rng.choice("abcdefghijklmnopqrstuvwxyz") + w[j + 1 :]
        elif op == "d":
            w = w[:j] + w[j + 1 :]
        elif op == "i":
            w = w[:j] + rng.choice("aeiounrst") + w[j:]
        else:
            w = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
        words[i] = w
    elif kind == "plural":
        i = rng.randrange(len(words))
        w = words[i]
        if w.isdigit() or len(w) < 3:
            return None
        words[i] = w[:-1] if w.endswith("s") else w + "s"
    elif kind == "number":
        if not any(w in NUMBER_WORDS for w in words):
            return None
        words = [NUMBER_WORDS.get(w, w) for w in words]
    elif kind == "confusion":
        if not any(w in CONFUSIONS for w in words):
            return None
        words = [CONFUSIONS.get(w, w) for w in words]
    return Query(" ".join(words), intended, source, kind)


def generate(names: Sequence[str], count: int, seed: int) -> list[Query]:
    rng = random.Random(seed)
    queries: list[Query] = []
    while len(queries) < count:
        source = rng.randrange(len(names))
        query = make_query(rng, names[source], source)
        if query is not None:
            queries.append(query)
    return queries


class Answerability:
    """Is the source the unique shortest product containing the intended words?"""

    def __init__(self, names: Sequence[str]) -> None:
        self.sets = [frozenset(tokens(n)) for n in names]
        self.postings: dict[str, set[int]] = defaultdict(set)
        for row, words in enumerate(self.sets):
            for w in words:
                self.postings[w].add(row)

    def __call__(self, query: Query) -> bool:
        wanted = set(tokens(query.intended))
        if not wanted:
            return False
        rows = set.intersection(*(self.postings.get(w, set()) for w in wanted))
        size = len(self.sets[query.source])
        return not any(r != query.source and len(self.sets[r]) <= size for r in rows)


def timed(
    fn: Callable[[Query], int | None], queries: Sequence[Query]
) -> tuple[list[float], list[bool]]:
    times, correct = [], []
    for q in queries:
        start = time.perf_counter()
        answer = fn(q)
        times.append((time.perf_counter() - start) * 1000)
        correct.append(answer == q.source)
    return times, correct


def pct(values: Sequence[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def synthetic(names: Sequence[str], popularity: Sequence[int], size: int) -> list[IndexEntry]:
    """A large catalogue from the real names: synthetic brands and sizes on each name."""
    brands = ["Acme", "Hearthside", "Meadowvale", "Blue Harbor", "Sunny Acres", "Brightwash",
              "Golden Fields", "Riverbend", "Oak Hollow", "Summit", "Prairie Gold", "Coastal",
              "Maple Ridge", "Silver Lake", "Green Valley", "Red Barn", "Northwind", "Cedar Creek",
              "Harvest Moon", "Willow Park"]  # fmt: skip
    sizes = ["8 oz", "12 oz", "16 oz", "1 lb", "2 lb", "6 pack", "12 pack", "1 gal", "half gallon",
             "32 oz", "family size", "value pack", "24 count", "500 ml", "1 l"]  # fmt: skip
    entries = []
    for i in range(size):
        base = i % len(names)
        variant = i // len(names)
        entries.append(
            IndexEntry(
                product_id=i,
                sku=f"S{i}",
                name=names[base],
                brand=brands[variant % len(brands)],
                size=sizes[(variant // len(brands) + base) % len(sizes)],
                popularity=popularity[base],
            )
        )
    return entries


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=int, default=1000, help="spoken-style queries")
    parser.add_argument("--large", type=int, default=1_000_000, help="synthetic catalogue size")
    parser.add_argument("--seed", type=int, default=2017)
    args = parser.parse_args()
    if not (DATA / "products.csv").exists():
        print(f"skipped: {DATA / 'products.csv'} not found (the Instacart data lives in ../shared)")
        return

    names, ids, counts = load_products()
    popularity = [counts.get(pid, 0) for pid in ids]
    queries = generate(names, args.queries, args.seed)
    answerable = Answerability(names)
    ok_mask = [answerable(q) for q in queries]
    print(f"{len(names):,} products, {len(queries):,} queries "
          f"({sum(ok_mask):,} answerable), seed {args.seed}")  # fmt: skip

    base_mem = rss_mb()
    start = time.perf_counter()
    choices = list(names)
    base_build = time.perf_counter() - start

    def baseline(q: Query) -> int | None:
        found = process.extractOne(
            q.text, choices, scorer=fuzz.WRatio, processor=utils.default_process
        )
        return None if found is None else int(found[2])

    base_times, base_ok = timed(baseline, queries)

    gc.collect()
    before = rss_mb()
    start = time.perf_counter()
    index = ProductIndex(
        IndexEntry(row, str(pid), name, popularity=pop)
        for row, (pid, name, pop) in enumerate(zip(ids, names, popularity, strict=True))
    )
    vc_build = time.perf_counter() - start
    vc_mem = rss_mb() - before

    def voicecart(q: Query) -> int | None:
        best = match_text(index, q.text).best
        return None if best is None else best.product_id

    vc_times, vc_ok = timed(voicecart, queries)

    rows = [("baseline (WRatio full scan)", base_times, base_ok, base_build, base_mem * 0),
            ("voicecart (index + rerank)", vc_times, vc_ok, vc_build, vc_mem)]  # fmt: skip

    def acc(ok: Sequence[bool], mask: Sequence[bool] | None = None) -> float:
        picked = [o for o, m in zip(ok, mask or [True] * len(ok), strict=True) if m]
        return 100.0 * sum(picked) / max(1, len(picked))

    base_p50 = pct(base_times, 50)
    print()
    print(f"{'method':30} {'top-1 answerable':>16} {'top-1 all':>9} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p50 speed-up':>12} {'build s':>8} {'index MB':>9}")  # fmt: skip
    for name, times, ok, build, mem in rows:
        p50, p95 = pct(times, 50), pct(times, 95)
        print(f"{name:30} {acc(ok, ok_mask):15.1f}% {acc(ok):8.1f}% {p50:8.2f} {p95:8.2f} "
              f"{base_p50 / p50:11.1f}x {build:8.2f} {mem:9.0f}")  # fmt: skip

    print()
    print("by noise kind (answerable queries): kind, baseline, voicecart")
    for kind in KINDS:
        mask = [m and q.kind == kind for q, m in zip(queries, ok_mask, strict=True)]
        if any(mask):
            print(
                f"  {kind:12} {acc(base_ok, mask):6.1f}% {acc(vc_ok, mask):6.1f}%  (n={sum(mask)})"
            )

    if args.large:
        del index
        gc.collect()
        before = rss_mb()
        start = time.perf_counter()
        big = ProductIndex(synthetic(names, popularity, args.large))
        big_build = time.perf_counter() - start
        big_mem = rss_mb() - before
        rng = random.Random(args.seed)
        big_queries: list[Query] = []
        while len(big_queries) < min(args.queries, 1000):
            row = rng.randrange(len(big))
            made = make_query(rng, big.entries[row].display_name, row)
            if made is not None:
                big_queries.append(made)
        big_times, big_ok = timed(
            lambda q: getattr(match_text(big, q.text).best, "product_id", None), big_queries
        )
        print()
        print(f"synthetic catalogue of {len(big):,} products (real names x synthetic brands/sizes)")
        print(f"  build {big_build:.1f} s, index memory {big_mem:,.0f} MB, "
              f"p50 {pct(big_times, 50):.2f} ms, p95 {pct(big_times, 95):.2f} ms, "
              f"p50 vs baseline on 49,688: {base_p50 / pct(big_times, 50):.1f}x faster, "
              f"top-1 (exact product incl. brand/size) {acc(big_ok):.1f}%")  # fmt: skip


if __name__ == "__main__":
    main()
