"""Load: a running `voicecart serve` driven over loopback with a realistic Alexa mix.

Many simulated shoppers each hold a session: launch, add to cart, read the cart,
reorder and confirm, check out and confirm (Alexa JSON with session attributes carried
from turn to turn, each shopper's own access token). Each configuration runs for a
bounded time; the table shows throughput, p50/p95/p99 latency per intent and errors.
The baseline is one worker on SQLite, measured in the same run. The load generator
runs on the same machine and takes CPU from the server: the numbers are a floor.

    .venv/bin/python bench/bench_load.py [--seconds 15] [--clients 16] [--shoppers 200]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import alexa  # noqa: E402
from pgserver import PgServer, PostgresUnavailable  # noqa: E402
from serverproc import Server  # noqa: E402
from sqlalchemy import create_engine, text, update  # noqa: E402

from account_link.identity import demo_shopper  # noqa: E402
from account_link.models import Customer  # noqa: E402
from account_link.tokens import issue_access_token  # noqa: E402
from app import Settings, make_engine, make_sessions  # noqa: E402
from catalog.models import Product  # noqa: E402

SCRIPT: list[tuple[str, str, dict[str, str]]] = [
    ("LaunchRequest", "", {}),
    ("AddToCartIntent", "AddToCartIntent", {"item": "bananas", "quantity": "2"}),
    ("ReadCartIntent", "ReadCartIntent", {}),
    ("ReorderIntent", "ReorderIntent", {"item": "paper towels"}),
    ("AMAZON.YesIntent (reorder)", "AMAZON.YesIntent", {}),
    ("CheckoutIntent", "CheckoutIntent", {}),
    ("AMAZON.YesIntent (checkout)", "AMAZON.YesIntent", {}),
]


def _prepare(database_url: str, shoppers: int) -> list[str]:
    """Shoppers with a purchase history (copied from the demo shopper's) and tokens."""
    engine = make_engine(Settings(database_url=database_url))
    tokens = []
    with make_sessions(engine).begin() as db:
        db.execute(update(Product).values(stock=1_000_000))
        demo = demo_shopper(db)
        assert demo is not None
        tokens.append(issue_access_token(db, demo, ttl_seconds=3600))
        for number in range(shoppers - 1):
            shopper = Customer(email=f"load{number}@example.com", name=f"Load {number}")
            db.add(shopper)
            db.flush()
            tokens.append(issue_access_token(db, shopper, ttl_seconds=3600))
    engine.dispose()
    return tokens


def _drive(url: str, tokens: list[str], clients: int, seconds: float) -> dict[str, Any]:
    host, port = url.removeprefix("http://").split(":")
    latencies: dict[str, list[float]] = {name: [] for name, _, _ in SCRIPT}
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    turn = iter(range(10**9))

    def client() -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        while time.monotonic() < deadline:
            with lock:
                token = tokens[next(turn) % len(tokens)]
            attributes: dict[str, Any] = {}
            for name, intent, slots in SCRIPT:
                if intent:
                    envelope = alexa.intent(intent, slots, access_token=token,
                                            attributes=attributes)  # fmt: skip
                else:
                    envelope = alexa.launch(access_token=token)
                body = json.dumps(envelope)
                started = time.perf_counter()
                try:
                    connection.request("POST", "/alexa", body,
                                       {"Content-Type": "application/json"})  # fmt: skip
                    reply = connection.getresponse()
                    payload = json.loads(reply.read())
                except (OSError, http.client.HTTPException, ValueError) as exc:
                    connection.close()
                    connection = http.client.HTTPConnection(host, int(port), timeout=30)
                    with lock:
                        errors.append(f"{name}: {exc}")
                    break
                elapsed = (time.perf_counter() - started) * 1000
                speech = alexa.speech(payload) if reply.status == 200 else ""
                with lock:
                    if reply.status != 200 or "went wrong" in speech:
                        errors.append(f"{name}: HTTP {reply.status} {speech[:60]}")
                    latencies[name].append(elapsed)
                attributes = alexa.attributes(payload) if reply.status == 200 else {}
        connection.close()

    started = time.monotonic()
    workers = [threading.Thread(target=client) for _ in range(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    return {"latencies": latencies, "errors": errors, "seconds": elapsed}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="per configuration")
    parser.add_argument("--clients", type=int, default=16, help="concurrent connections")
    parser.add_argument("--shoppers", type=int, default=200, help="distinct shoppers")
    parser.add_argument("--workers", type=int, default=2, help="worker processes to compare")
    args = parser.parse_args()

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        configs: list[tuple[str, str, int]] = [
            ("SQLite, 1 worker (baseline)", f"sqlite:///{Path(tmp) / 'a.db'}", 1),
            (f"SQLite, {args.workers} workers", f"sqlite:///{Path(tmp) / 'b.db'}", args.workers),
        ]
        pg: PgServer | None = None
        try:
            pg = PgServer()
            admin = create_engine(pg.url(), isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text("CREATE DATABASE load_one"))
                connection.execute(text("CREATE DATABASE load_many"))
            admin.dispose()
            configs += [("PostgreSQL, 1 worker", pg.url("load_one"), 1),
                        (f"PostgreSQL, {args.workers} workers", pg.url("load_many"),
                         args.workers)]  # fmt: skip
        except PostgresUnavailable as exc:
            print(f"(no PostgreSQL rows: {exc})")
        try:
            for index, (name, url, workers) in enumerate(configs):
                folder = Path(tmp) / f"server{index}"
                folder.mkdir()
                server = Server(folder, verify=False, VOICECART_DATABASE_URL=url,
                                VOICECART_WORKERS=str(workers), VOICECART_LOG_LEVEL="WARNING",
                                VOICECART_DEMO_SHOPPER_FOR_UNLINKED="0")  # fmt: skip
                try:
                    tokens = _prepare(url, args.shoppers)
                    _drive(server.url, tokens, 2, 2.0)  # warm the workers' indexes
                    results.append((name, _drive(server.url, tokens, args.clients, args.seconds)))
                finally:
                    server.stop()
        finally:
            if pg is not None:
                pg.stop()

    base_rate = 0.0
    print(f"{args.clients} concurrent connections, {args.shoppers} shoppers, "
          f"{args.seconds:g} s per configuration; latency in ms")  # fmt: skip
    for name, run in results:
        every = [v for values in run["latencies"].values() for v in values]
        rate = len(every) / run["seconds"]
        base_rate = base_rate or rate or 1.0
        print(f"\n{name}: {rate:.0f} requests/s ({rate / base_rate:.2f}x baseline), "
              f"{len(run['errors'])} errors")  # fmt: skip
        print(f"  {'intent':30} {'count':>6} {'p50':>7} {'p95':>7} {'p99':>7}")
        rows = [*run["latencies"].items(), ("all", every)]
        for intent, values in rows:
            if values:
                p50, p95 = statistics.median(values), _percentile(values, 0.95)
                print(f"  {intent:30} {len(values):6d} {p50:7.1f} {p95:7.1f} "
                      f"{_percentile(values, 0.99):7.1f}")  # fmt: skip
        for problem in run["errors"][:5]:
            print(f"  error: {problem}")


if __name__ == "__main__":
    main()
