"""Reorder by a short phrase: does voicecart pick the product *this* shopper buys?

For each Instacart shopper whose prior history is complete and each product they
reordered, the query is the last two words of the product's name ("almond milk",
"soda"). The expected answer is, among everything that shopper ever bought whose name
contains every word of the query, the product bought in the most orders (ties: most
recently). A hit is a *confident* top match. Measured without history (popularity
only: the baseline) and with the shopper's history as the prior, in one run.

    .venv/bin/python bench/bench_reorder.py [--users N] [--no-plot]

Also draws both shares as docs/benchmarks/reorder-accuracy.png.

Reads ../shared/data/instacart/ (non-commercial data: read in place, never copied).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_match import DATA, load_products  # noqa: E402
from plots import hbar_chart  # noqa: E402

from account_link.orders import PurchaseStat, history_prior  # noqa: E402
from catalog.index import IndexEntry, ProductIndex  # noqa: E402
from catalog.matching import Decision, match_text  # noqa: E402

NOW = datetime(2017, 6, 1, tzinfo=UTC)


@dataclass
class Shopper:
    stats: dict[int, PurchaseStat]
    reordered: set[int]


def name_words(name: str) -> list[str]:
    return [w for w in "".join(c if c.isalnum() else " " for c in name.lower()).split() if w]


def load_shoppers() -> dict[int, Shopper]:
    orders: dict[int, dict[int, tuple[int, float]]] = defaultdict(dict)  # user -> order -> (n, gap)
    lines: dict[int, list[tuple[int, int, bool]]] = defaultdict(list)  # user -> (order, pid, re)
    with open(DATA / "user_prior_histories.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["user_prior_history_complete"] != "1":
                continue
            user, order = int(row["user_id"]), int(row["order_id"])
            gap = float(row["days_since_prior_order"] or 0)
            orders[user][order] = (int(row["order_number"]), gap)
            lines[user].append((order, int(row["product_id"]), row["reordered"] == "1"))
    shoppers = {}
    for user, user_orders in orders.items():
        # Orders are dated from their gaps; the last one was placed a day before NOW.
        by_number = sorted(user_orders.items(), key=lambda item: item[1][0])
        day, dates = 0.0, {}
        for order, (_number, gap) in by_number:
            day += gap
            dates[order] = day
        last = max(dates.values())
        when = {o: NOW - timedelta(days=1 + last - d) for o, d in dates.items()}
        seen: dict[int, set[int]] = defaultdict(set)
        latest: dict[int, datetime] = {}
        reordered = set()
        for order, pid, again in lines[user]:
            seen[pid].add(order)
            latest[pid] = max(latest.get(pid, when[order]), when[order])
            if again:
                reordered.add(pid)
        stats = {pid: PurchaseStat(len(os), len(os), latest[pid]) for pid, os in seen.items()}
        shoppers[user] = Shopper(stats, reordered)
    return shoppers


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=0, help="limit shoppers (0 = all)")
    parser.add_argument(
        "--no-plot", action="store_true", help="do not write docs/benchmarks/reorder-accuracy.png"
    )
    args = parser.parse_args()
    if not (DATA / "user_prior_histories.csv").exists():
        print(f"skipped: {DATA} not found (the Instacart data lives in ../shared)")
        return
    names, ids, counts = load_products()
    by_id = dict(zip(ids, names, strict=True))
    index = ProductIndex(
        IndexEntry(pid, str(pid), name, popularity=counts.get(pid, 0))
        for pid, name in zip(ids, names, strict=True)
    )
    shoppers = load_shoppers()
    users = sorted(shoppers)[: args.users or None]
    results = {"without history (baseline)": [], "with history": []}  # type: dict[str, list[bool]]
    times: dict[str, list[float]] = {k: [] for k in results}
    for user in users:
        shopper = shoppers[user]
        prior = history_prior(shopper.stats, NOW)
        words_of = {pid: set(name_words(by_id[pid])) for pid in shopper.stats}
        for pid in sorted(shopper.reordered):
            words = name_words(by_id[pid])
            query_words = words[-2:]
            if not query_words:
                continue
            fits = [p for p, ws in words_of.items() if set(query_words) <= ws]
            expected = max(
                fits, key=lambda p: (shopper.stats[p].orders, shopper.stats[p].last_bought)
            )
            query = " ".join(query_words)
            for label, use in (("without history (baseline)", None), ("with history", prior)):
                start = time.perf_counter()
                result = match_text(index, query, prior=use)
                times[label].append((time.perf_counter() - start) * 1000)
                best = result.best
                results[label].append(
                    best is not None
                    and best.product_id == expected
                    and result.decision is Decision.CONFIDENT
                )
    total = len(results["with history"])
    print(f"{len(users)} shoppers with complete histories, {total:,} reorder queries")
    print(f"{'matcher':30} {'confident & right':>18} {'p50 ms':>8} {'vs baseline':>12}")
    base = 100.0 * sum(results["without history (baseline)"]) / max(1, total)
    for label, hits in results.items():
        rate = 100.0 * sum(hits) / max(1, total)
        print(f"{label:30} {rate:17.1f}% {statistics.median(times[label]):8.2f} "
              f"{rate - base:+11.1f}pt")  # fmt: skip
    if not args.no_plot:
        path = hbar_chart(
            "reorder-accuracy",
            f'Reorder by a short phrase ("almond milk"):\n{total:,} queries by {len(users)} '
            "Instacart shoppers",
            "the product this shopper buys,\npicked confidently (%)",
            {label: {label: 100.0 * sum(hits) / max(1, total)} for label, hits in results.items()},
            baseline="without history (baseline)",
            x_max=100,
            value_format="{:.1f}%",
            legend=False,
        )
        print(f"plot: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
