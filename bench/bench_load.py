"""Load: a running `voicecart serve` driven over loopback with a realistic Alexa mix.

Many simulated shoppers each hold a session: launch, add to cart, read the cart,
reorder and confirm, check out and confirm (Alexa JSON with session attributes carried
from turn to turn, each shopper's own access token). Each configuration runs for a
bounded time; the table shows throughput, p50/p95/p99 latency per intent and errors.
The load generator runs on the same machine and takes CPU from the server: the
numbers are a floor.

    .venv/bin/python bench/bench_load.py [--seconds 15] [--clients 16] [--shoppers 200]
                                         [--rate 300] [--rates 50,100,200,300,400]
                                         [--baseline [REV]] [--no-plot]

Each configuration runs twice: closed loop (connections sending back to back: the most
it can do) and open loop (requests arriving at ``--rate`` per second at random: the
latency shoppers see at that load; the target is p99 <= 50 ms at 300/s). SQLite with
``--workers`` workers also runs open loop at each of ``--rates``: p50/p95/p99 against
the offered rate, drawn in docs/benchmarks/load-latency.png (``--no-plot`` skips it).

``--baseline REV`` (REV defaults to the last commit before read-only turns) measures
that revision too, in the same run: a ``git worktree`` of it in a temporary folder,
served by the same interpreter and virtualenv, driven with the same load, one
configuration after the other; the table gives each configuration's most requests per
second on both and the ratio, and the plot a line per percentile and version.
"""

from __future__ import annotations

import argparse
import http.client
import json
import queue
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "support"), str(ROOT / "bench")]

import alexa  # noqa: E402
import serverproc  # noqa: E402
from pgserver import PgServer, PostgresUnavailable  # noqa: E402
from plots import line_chart  # noqa: E402
from serverproc import Server  # noqa: E402
from sqlalchemy import create_engine, func, select, text, update  # noqa: E402

from account_link.demo import record_past_order  # noqa: E402
from account_link.identity import demo_shopper  # noqa: E402
from account_link.models import Channel, Customer, Order  # noqa: E402
from account_link.tokens import issue_access_token  # noqa: E402
from catalog.db import utcnow  # noqa: E402
from catalog.models import Product  # noqa: E402
from voicecart.database import make_engine, make_sessions  # noqa: E402
from voicecart.settings import Settings  # noqa: E402

DEFAULT_BASELINE = "81a14dc8f4eef48d1b0c5c4df702feae318ee06d"
"""The last commit before read-only turns: every turn claimed its request and committed."""

SCRIPT: list[tuple[str, str, dict[str, str]]] = [
    ("LaunchRequest", "", {}),
    ("AddToCartIntent", "AddToCartIntent", {"item": "bananas", "quantity": "2"}),
    ("ReadCartIntent", "ReadCartIntent", {}),
    ("ReorderIntent", "ReorderIntent", {"item": "paper towels"}),
    ("AMAZON.YesIntent (reorder)", "AMAZON.YesIntent", {}),
    ("CheckoutIntent", "CheckoutIntent", {}),
    ("AMAZON.YesIntent (checkout)", "AMAZON.YesIntent", {}),
]


def _orders_placed(database_url: str) -> int:
    """Orders the mix placed (each conversation's reorder and checkout): the check that
    the confirmations really ordered, not just answered."""
    engine = make_engine(Settings(database_url=database_url))
    with make_sessions(engine)() as db:
        placed = db.scalar(select(func.count()).select_from(Order)
                           .where(Order.channel == Channel.ALEXA.value))  # fmt: skip
    engine.dispose()
    return int(placed or 0)


def _prepare(database_url: str, shoppers: int) -> list[str]:
    """Shoppers with a purchase history (copied from the demo shopper's) and tokens."""
    engine = make_engine(Settings(database_url=database_url))
    tokens = []
    with make_sessions(engine).begin() as db:
        db.execute(update(Product).values(stock=1_000_000))
        demo = demo_shopper(db)
        assert demo is not None
        tokens.append(issue_access_token(db, demo, ttl_seconds=3600))
        past = [
            [(db.get_one(Product, ln.product_id), ln.quantity) for ln in order.lines]
            for order in db.scalars(select(Order).where(Order.customer_id == demo.id))
        ]
        for number in range(shoppers - 1):
            shopper = Customer(email=f"load{number}@example.com", name=f"Load {number}",
                               address=f"{number} Load Street")  # fmt: skip
            db.add(shopper)
            db.flush()
            for days, items in enumerate(past, start=3):  # so "paper towels" is their usual
                record_past_order(db, shopper, items, placed_at=utcnow() - timedelta(days=days))
            tokens.append(issue_access_token(db, shopper, ttl_seconds=3600))
    engine.dispose()
    return tokens


class _Session:
    """One shopper's conversation: the next turn of the script and its session attributes."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.step = 0
        self.attributes: dict[str, Any] = {}

    def next_request(self) -> tuple[str, str]:
        name, intent, slots = SCRIPT[self.step]
        if intent:
            envelope = alexa.intent(intent, slots, access_token=self.token,
                                    attributes=self.attributes)  # fmt: skip
        else:
            envelope = alexa.launch(access_token=self.token)
        return name, json.dumps(envelope)

    def answered(self, payload: dict[str, Any] | None) -> None:
        self.attributes = alexa.attributes(payload) if payload else {}
        self.step = (self.step + 1) % len(SCRIPT)
        if self.step == 0 or payload is None:
            self.step, self.attributes = 0, {}


class _Recorder:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {name: [] for name, _, _ in SCRIPT}
        self.errors: list[str] = []
        self.lock = threading.Lock()


def _send(
    connection: http.client.HTTPConnection, session: _Session, recorder: _Recorder, since: float
) -> http.client.HTTPConnection:
    """One turn; latency counts from ``since`` (the send time, or when it was due)."""
    name, body = session.next_request()
    try:
        connection.request("POST", "/alexa", body, {"Content-Type": "application/json"})
        reply = connection.getresponse()
        payload = json.loads(reply.read())
    except (OSError, http.client.HTTPException, ValueError) as exc:
        connection.close()
        with recorder.lock:
            recorder.errors.append(f"{name}: {exc}")
        session.answered(None)
        return http.client.HTTPConnection(connection.host, connection.port, timeout=30)
    elapsed = (time.perf_counter() - since) * 1000
    speech = alexa.speech(payload) if reply.status == 200 else ""
    with recorder.lock:
        if reply.status != 200 or "went wrong" in speech:
            recorder.errors.append(f"{name}: HTTP {reply.status} {speech[:60]}")
        recorder.latencies[name].append(elapsed)
    session.answered(payload if reply.status == 200 else None)
    return connection


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def _drive(url: str, tokens: list[str], clients: int, seconds: float) -> dict[str, Any]:
    """Closed loop: ``clients`` connections, each sending its next turn as soon as the
    last one is answered (the most the server can do)."""
    host, port = _address(url)
    recorder = _Recorder()
    deadline = time.monotonic() + seconds
    shoppers = iter(range(10**9))

    def client() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        while time.monotonic() < deadline:
            with recorder.lock:
                session = _Session(tokens[next(shoppers) % len(tokens)])
            for _ in SCRIPT:
                connection = _send(connection, session, recorder, time.perf_counter())
        connection.close()

    return _run(recorder, [threading.Thread(target=client) for _ in range(clients)])


def _drive_at(url: str, tokens: list[str], rate: float, seconds: float) -> dict[str, Any]:
    """Open loop: turns arrive at ``rate`` per second (Poisson, seeded) whatever the
    server's pace, as real traffic does; latency counts from when a turn was due, so a
    server falling behind shows in the tail instead of slowing the generator down."""
    host, port = _address(url)
    recorder = _Recorder()
    idle = [_Session(token) for token in tokens]
    picker = random.Random(11)
    due: queue.Queue[float | None] = queue.Queue()
    senders = min(24, len(idle))  # each sender holds one shopper: never an empty pick

    def sender() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        while (when := due.get()) is not None:
            with recorder.lock:  # a random idle shopper: their turns interleave as in life
                session = idle.pop(picker.randrange(len(idle)))
            connection = _send(connection, session, recorder, when)
            with recorder.lock:
                idle.append(session)
        connection.close()

    def pacer() -> None:
        arrivals = random.Random(7)
        start = time.perf_counter()
        offset = 0.0
        while offset < seconds:
            pause = start + offset - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            due.put(start + offset)
            offset += arrivals.expovariate(rate)
        for _ in range(senders):
            due.put(None)

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    return _run(recorder, [*threads, threading.Thread(target=pacer)])


def _run(recorder: _Recorder, threads: list[threading.Thread]) -> dict[str, Any]:
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {"latencies": recorder.latencies, "errors": recorder.errors, "seconds": elapsed}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


@dataclass
class Measured:
    """One configuration on one version of the code."""

    config: str
    version: str
    most: dict[str, Any]
    paced: dict[str, Any]
    sweep: dict[float, dict[str, Any]] = field(default_factory=dict)
    placed: int = 0


@contextmanager
def _worktree(rev: str) -> Iterator[Path]:
    """A checkout of ``rev`` in a temporary folder (``git worktree``), removed after."""
    with tempfile.TemporaryDirectory(prefix="voicecart-baseline-") as tmp:
        folder = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(folder), rev], cwd=ROOT,
                       check=True, capture_output=True, text=True)  # fmt: skip
        try:
            yield folder
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT,
                           check=False, capture_output=True)  # fmt: skip


def _serve(root: Path, folder: Path, url: str, workers: int) -> Server:
    """``voicecart serve`` from the code in ``root`` (this tree or a baseline worktree)."""
    serverproc.ROOT = root  # Server seeds and serves from its module's ROOT
    command = serverproc.cli_command
    if not (root / "voicecart" / "cli").is_dir():  # a revision from before the CLI package
        serverproc.cli_command = lambda *a: [sys.executable, "-c", "import app; app.main()", *a]
    try:
        return Server(folder, verify=False, VOICECART_DATABASE_URL=url,
                      VOICECART_WORKERS=str(workers), VOICECART_LOG_LEVEL="WARNING",
                      VOICECART_DEMO_SHOPPER_FOR_UNLINKED="0")  # fmt: skip
    finally:
        serverproc.ROOT, serverproc.cli_command = ROOT, command


def _measure(
    args: Any, root: Path, version: str, config: str, url: str, workers: int, folder: Path,
    sweep: list[float],
) -> Measured:  # fmt: skip
    folder.mkdir()
    server = _serve(root, folder, url, workers)
    try:
        tokens = _prepare(url, args.shoppers)
        _drive(server.url, tokens, 2, 2.0)  # warm the workers' indexes
        before = _orders_placed(url)
        most = _drive(server.url, tokens, args.clients, args.seconds)
        paced = _drive_at(server.url, tokens, args.rate, args.seconds)
        placed = _orders_placed(url) - before
        measured = Measured(config, version, most, paced, placed=placed)
        for rate in sweep:
            again = rate != args.rate
            run = _drive_at(server.url, tokens, rate, args.sweep_seconds) if again else paced
            measured.sweep[rate] = run
    finally:
        server.stop()
    print(f"{config}, {version}: {_summary(most)[1]:.0f} req/s at most; {placed} orders "
          "placed by voice during the closed and open loop runs", flush=True)  # fmt: skip
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="per configuration")
    parser.add_argument("--clients", type=int, default=16, help="concurrent connections")
    parser.add_argument("--shoppers", type=int, default=200, help="distinct shoppers")
    parser.add_argument("--workers", type=int, default=2, help="worker processes to compare")
    parser.add_argument("--rate", type=float, default=300.0,
                        help="requests/s offered in the open-loop latency run")  # fmt: skip
    parser.add_argument("--rates", default="50,100,200,300,400",
                        help="offered rates (requests/s) of the latency sweep")  # fmt: skip
    parser.add_argument("--sweep-seconds", type=float, default=8.0, help="per swept rate")
    parser.add_argument("--baseline", nargs="?", const=DEFAULT_BASELINE, metavar="REV",
                        help="also measure this git revision (default: the last commit "
                             f"before read-only turns, {DEFAULT_BASELINE[:10]})")  # fmt: skip
    parser.add_argument("--no-plot", action="store_true",
                        help="do not write docs/benchmarks/load-latency.png")  # fmt: skip
    args = parser.parse_args()
    sweep = sorted({float(r) for r in args.rates.split(",") if r.strip()})

    results: list[Measured] = []
    with tempfile.TemporaryDirectory() as tmp, _versions(args.baseline) as versions:
        configs: list[tuple[str, str, int]] = [
            ("SQLite, 1 worker", "sqlite", 1),
            (f"SQLite, {args.workers} workers", "sqlite", args.workers),
        ]
        pg: PgServer | None = None
        try:
            try:
                pg = PgServer()
                configs += [("PostgreSQL, 1 worker", "postgresql", 1),
                            (f"PostgreSQL, {args.workers} workers", "postgresql",
                             args.workers)]  # fmt: skip
            except PostgresUnavailable as exc:
                print(f"(no PostgreSQL rows: {exc})")
            for index, (config, kind, workers) in enumerate(configs):
                swept = sweep if kind == "sqlite" and workers == args.workers else []
                ordered = list(enumerate(versions))  # alternate who goes first: load drifts
                for number, (version, root) in ordered if index % 2 == 0 else ordered[::-1]:
                    name = f"load_{index}_{number}"
                    url = f"sqlite:///{Path(tmp) / f'{name}.db'}"
                    if kind == "postgresql":
                        assert pg is not None
                        url = _database(pg, name)
                    folder = Path(tmp) / f"server_{name}"
                    results.append(_measure(args, root, version, config, url, workers, folder,
                                            swept))  # fmt: skip
        finally:
            if pg is not None:
                pg.stop()

    _report(results, args, [version for version, _ in versions])
    if not args.no_plot:
        path = _plot(results, args)
        if path is not None:
            print(f"\nplot: {path.relative_to(ROOT)}")


@contextmanager
def _versions(baseline: str | None) -> Iterator[list[tuple[str, Path]]]:
    """(label, source folder) of each version measured: the baseline first, if asked for."""
    if baseline is None:
        yield [("this tree", ROOT)]
        return
    rev = subprocess.run(["git", "rev-parse", "--short", baseline], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    with _worktree(baseline) as folder:
        yield [(f"baseline {rev}", folder), ("this tree", ROOT)]


def _database(pg: PgServer, name: str) -> str:
    admin = create_engine(pg.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return pg.url(name)


def _summary(run: dict[str, Any]) -> tuple[list[float], float]:
    every = [v for values in run["latencies"].values() for v in values]
    return every, len(every) / run["seconds"]


def _percentiles(run: dict[str, Any]) -> tuple[float, float, float]:
    every, _ = _summary(run)
    p50, p95, p99 = (_percentile(every, q) for q in (0.5, 0.95, 0.99))
    return p50, p95, p99


def _report(results: list[Measured], args: Any, versions: list[str]) -> None:
    print(f"\n{args.shoppers} shoppers, {args.seconds:g} s per run; latency in ms.\n"
          f"closed loop: {args.clients} connections sending back to back (the most it does);\n"
          f"open loop: {args.rate:g} requests/s arriving at random (Poisson), latency from "
          "when each was due.\n")  # fmt: skip
    print(f"| configuration | code | most req/s | vs first row | vs {versions[0]} | "
          f"at {args.rate:g}/s: req/s | p50 | p95 | p99 | errors |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    first = {m.version: _summary(m.most)[1] for m in results if m.config == results[0].config}
    before = {m.config: _summary(m.most)[1] for m in results if m.version == versions[0]}
    for m in results:
        _, top = _summary(m.most)
        _, rate = _summary(m.paced)
        p50, p95, p99 = _percentiles(m.paced)
        errors = len(m.most["errors"]) + len(m.paced["errors"])
        against = top / (before.get(m.config) or 1.0)
        print(f"| {m.config} | {m.version} | {top:.0f} | {top / (first[m.version] or 1.0):.2f}x "
              f"| {against:.2f}x | {rate:.0f} | {p50:.1f} | {p95:.1f} | {p99:.1f} | "
              f"{errors} |")  # fmt: skip
    if len(versions) > 1:
        ratios = [_summary(m.most)[1] / (before.get(m.config) or 1.0)
                  for m in results if m.version == versions[-1]]  # fmt: skip
        print(f"\nmost req/s, {versions[-1]} against {versions[0]}: "
              + ", ".join(f"{r:.2f}x" for r in ratios)
              + f" (target: at least 1.5x); best {max(ratios):.2f}x")  # fmt: skip
    swept = [m for m in results if m.sweep]
    if swept:
        print("\nlatency against offered rate (open loop), ms:")
        print(f"  {'configuration':24} {'code':18} {'offered/s':>9} {'served/s':>9} "
              f"{'p50':>8} {'p95':>8} {'p99':>8} {'errors':>6}")  # fmt: skip
        for m in swept:
            for rate, run in m.sweep.items():
                p50, p95, p99 = _percentiles(run)
                print(f"  {m.config:24} {m.version:18} {rate:9.0f} {_summary(run)[1]:9.0f} "
                      f"{p50:8.1f} {p95:8.1f} {p99:8.1f} {len(run['errors']):6d}")  # fmt: skip
    for m in results:
        for label, run in (("closed loop", m.most), (f"open loop at {args.rate:g}/s", m.paced)):
            print(f"\n{m.config}, {m.version}, {label}:")
            print(f"  {'intent':30} {'count':>6} {'p50':>7} {'p95':>7} {'p99':>7}")
            every, _ = _summary(run)
            for intent, values in [*run["latencies"].items(), ("all", every)]:
                if values:
                    p50, p95, p99 = (_percentile(values, q) for q in (0.5, 0.95, 0.99))
                    print(f"  {intent:30} {len(values):6d} {p50:7.1f} {p95:7.1f} {p99:7.1f}")
            for problem in run["errors"][:5]:
                print(f"  error: {problem}")


def _plot(results: list[Measured], args: Any) -> Path | None:
    """p50/p95/p99 against the offered rate: one line per percentile and version."""
    swept = [m for m in results if m.sweep]
    if not swept:
        return None
    series: dict[str, list[tuple[float, float]]] = {}
    for m in swept:
        points = [(rate, _percentiles(run)) for rate, run in m.sweep.items()]
        for at, name in enumerate(("p50", "p95", "p99")):
            label = f"{name}, {m.version}" if len(swept) > 1 else name
            series[label] = [(rate, values[at]) for rate, values in points]
    title = f"Alexa load mix, {swept[0].config}: latency against offered rate"
    return line_chart("load-latency", title, "offered requests per second",
                      "latency, ms (log scale)", series, log_y=True)  # fmt: skip


if __name__ == "__main__":
    main()
