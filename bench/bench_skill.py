"""In-process latency of every intent over the demo catalogue, against a bare-skill baseline.

Both sides go through Flask's test client and flask-ask-sdk's SkillAdapter, so the
ratio shows what voicecart adds (database, matching, services) on top of the
framework floor: a one-handler ask-sdk skill that answers "hello" to everything. Each
voicecart request is followed by one to the bare skill, so both are measured under the
same load (this machine's other work moves both alike).

Turns that change nothing (a launch, help, reading the cart, an order's status, a
price) write nothing and commit nothing; their target is a p50 at most 3x the bare
skill's, and the last table says whether each meets it. CPU time (this thread's) is
shown beside the wall clock: on a busy machine the other work preempts the longer
requests more often and stretches their wall-clock time, not their CPU time. ``--runs 3`` measures
everything three times and reports each figure's median. The ratios are also drawn in
docs/benchmarks/skill-latency.png (``--no-plot`` skips it).

    .venv/bin/python bench/bench_skill.py [--iterations N] [--runs N] [--no-plot]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "support"), str(ROOT / "bench")]

import alexa  # noqa: E402
from plots import bar_chart  # noqa: E402
from sqlalchemy import select  # noqa: E402

from account_link.demo import record_past_order  # noqa: E402
from account_link.identity import demo_shopper  # noqa: E402
from account_link.models import Customer, Order  # noqa: E402
from account_link.tokens import issue_access_token  # noqa: E402
from app import create_app, wiring  # noqa: E402
from catalog.demo import read_demo_rows  # noqa: E402
from catalog.models import Product  # noqa: E402
from skill._oscrypto_compat import ensure_oscrypto_importable  # noqa: E402
from voicecart.database import make_engine, make_sessions, seed_demo, upgrade_database  # noqa: E402
from voicecart.settings import Settings  # noqa: E402

READ_ONLY_TARGET = 3.0
"""A read-only turn's p50 may be at most this many times the bare skill's."""
READ_ONLY = ("LaunchRequest", "AMAZON.HelpIntent", "ReadCartIntent", "OrderStatusIntent",
             "PriceIntent", "PriceIntent (new words each time)")  # fmt: skip
"""The turns the target is for (they claim nothing and commit nothing). A price asked
again (the same shopper, the same words) is matched from memory; the words' first time
is shown on its own line, matched afresh."""


def baseline_client() -> Any:
    """A bare flask-ask-sdk app whose only handler says hello (no database, no matching)."""
    ensure_oscrypto_importable()
    from ask_sdk_core.dispatch_components import AbstractRequestHandler
    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_core.skill_builder import SkillBuilder
    from ask_sdk_model import Response
    from flask import Flask
    from flask_ask_sdk.skill_adapter import SkillAdapter

    class Hello(AbstractRequestHandler):
        def can_handle(self, handler_input: HandlerInput) -> bool:
            return True

        def handle(self, handler_input: HandlerInput) -> Response:
            return handler_input.response_builder.speak("hello").response

    builder = SkillBuilder()
    builder.add_request_handler(Hello())
    app = Flask("baseline")
    app.config["ASK_SDK_VERIFY_SIGNATURE"] = False
    app.config["ASK_SDK_VERIFY_TIMESTAMP"] = False
    SkillAdapter(skill=builder.create(), skill_id="bench", app=app).register(app, "/alexa")
    return app.test_client()


Post = tuple[Any, Callable[[], dict[str, Any]]]
"""A test client and what to send it."""


Timing = tuple[float, float]
"""Wall-clock and CPU (this thread's) milliseconds of one request."""


def _post(client: Any, body: str) -> Timing:
    start, used = time.perf_counter(), time.thread_time()
    reply = client.post("/alexa", data=body, headers={"Content-Type": "application/json"})
    elapsed = (time.perf_counter() - start) * 1000, (time.thread_time() - used) * 1000
    if reply.status_code != 200:
        raise SystemExit(f"benchmark request failed: {reply.status_code} {reply.data[:200]!r}")
    return elapsed


def measure(
    client: Any, make: Callable[[], dict[str, Any]], iterations: int, beside: Post | None = None
) -> tuple[list[Timing], list[Timing]]:
    """Timings of ``iterations`` requests; with ``beside``, each is followed by one to
    that other client (its timings second), so both are measured under the same load."""
    timings: list[Timing] = []
    others: list[Timing] = []
    for _ in range(iterations):
        timings.append(_post(client, json.dumps(make())))
        if beside is not None:
            others.append(_post(beside[0], json.dumps(beside[1]())))
    return timings, others


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


Row = tuple[str, float, float, float]
"""A request's name, p50 and p95 (ms), and the p50 of its CPU time (ms)."""


def _row(name: str, timings: list[Timing]) -> Row:
    wall = [t[0] for t in timings]
    return name, pct(wall, 50), pct(wall, 95), pct([t[1] for t in timings], 50)


class Linked:
    """Requests from a shopper who linked their account (an access token in each, as
    Alexa sends it): the path every real shopper's turn takes."""

    def __init__(self, token: str) -> None:
        self.token = token

    def launch(self) -> dict[str, Any]:
        return alexa.launch(access_token=self.token)

    def intent(self, name: str, slots: dict[str, str] | None = None, **kw: Any) -> dict[str, Any]:
        return alexa.intent(name, slots, access_token=self.token, **kw)


def run_once(
    client: Any, base: Any, iterations: int, shopper: Linked, buyer: Linked
) -> tuple[Row, list[Row]]:
    """The bare skill's row and every scenario's, measured side by side. The orders the
    measured yeses place go to ``buyer`` (the same history as ``shopper`` to begin with),
    so ``shopper``'s history stays a shopper's, not hundreds of benchmark orders."""
    intent = shopper.intent
    # Words no earlier request said: the demo catalogue's names, each one a single time
    # per run (numbered past the catalogue's end), so no match is remembered.
    names = [row.name.lower() for row in read_demo_rows()]
    fresh_words = (f"{names[i % len(names)]} {'pack ' * (i // len(names))}".strip()
                   for i in itertools.count())  # fmt: skip

    def pending(kind: str) -> Callable[[], dict[str, Any]]:
        def make() -> dict[str, Any]:
            offer = client.post("/alexa", json=buyer.intent(kind, {"item": "paper towels"}))
            attributes = alexa.attributes(offer.get_json())
            return buyer.intent("AMAZON.YesIntent", attributes=attributes)

        return make

    def add_bananas() -> None:
        client.post("/alexa", json=intent("AddToCartIntent", {"item": "bananas"}))

    scenarios: dict[str, Callable[[], dict[str, Any]]] = {
        "LaunchRequest": shopper.launch,
        "AMAZON.HelpIntent": lambda: intent("AMAZON.HelpIntent"),
        "AddToCartIntent": lambda: intent("AddToCartIntent", {"item": "bananas"}),
        "ReadCartIntent": lambda: intent("ReadCartIntent"),
        "RemoveFromCartIntent": lambda: intent("RemoveFromCartIntent", {"item": "bananas"}),
        "ReorderIntent": lambda: intent("ReorderIntent", {"item": "paper towels"}),
        "ReorderLastOrderIntent": lambda: intent("ReorderLastOrderIntent"),
        "CheckoutIntent": lambda: intent("CheckoutIntent"),
        "AMAZON.YesIntent (places order)": pending("ReorderIntent"),
        "OrderStatusIntent": lambda: intent("OrderStatusIntent"),
        "LastOrderIntent": lambda: intent("LastOrderIntent"),
        "PriceIntent": lambda: intent("PriceIntent", {"item": "oat milk"}),
        "PriceIntent (new words each time)": lambda: intent(
            "PriceIntent", {"item": next(fresh_words)}
        ),
        "ChangeQuantityIntent": lambda: intent(
            "ChangeQuantityIntent", {"item": "bananas", "quantity": "3"}
        ),
        "EmptyCartIntent (offer)": lambda: intent("EmptyCartIntent"),
        "ReturnItemIntent (offer)": lambda: intent("ReturnItemIntent", {"item": "eggs"}),
        "AMAZON.FallbackIntent": lambda: intent("AMAZON.FallbackIntent"),
    }
    beside: Post = (base, alexa.launch)
    measure(base, alexa.launch, 50)  # warm-up
    base_times: list[Timing] = []
    rows = []
    for name, make in scenarios.items():
        if name in ("ReadCartIntent", "RemoveFromCartIntent", "ChangeQuantityIntent"):
            add_bananas()  # a cart with a line in it
        measure(client, make, 10)  # warm-up (index build, caches)
        if name == "RemoveFromCartIntent":
            times = []
            for _ in range(iterations):
                add_bananas()
                timed, bare = measure(client, make, 1, beside)
                times += timed
                base_times += bare
        else:
            times, bare = measure(client, make, iterations, beside)
            base_times += bare
        rows.append(_row(name, times))
    return _row("baseline: bare ask-sdk skill", base_times), rows


def _median_rows(runs: list[list[Row]]) -> list[Row]:
    return [
        (
            named[0][0],
            statistics.median(r[1] for r in named),
            statistics.median(r[2] for r in named),
            statistics.median(r[3] for r in named),
        )
        for named in zip(*runs, strict=True)
    ]


def _label(name: str) -> str:
    """A scenario's short name on the plot: "YesIntent", "PriceIntent (new words)"."""
    short = name.removeprefix("AMAZON.")
    return short.replace(" each time", "") if "new words" in short else short.split(" (")[0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=300, help="requests per intent")
    parser.add_argument("--runs", type=int, default=1,
                        help="measure everything this many times; report medians")  # fmt: skip
    parser.add_argument("--no-plot", action="store_true",
                        help="do not write docs/benchmarks/skill-latency.png")  # fmt: skip
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
            verify_alexa_requests=False,
            demo_shopper_for_unlinked=False,
            instance_dir=Path(tmp),
            log_level="WARNING",
        )
        upgrade_database(settings)
        engine = make_engine(settings)
        sessions = make_sessions(engine)
        seed_demo(sessions)
        with sessions.begin() as session:  # the shopper has linked their account
            shopper = demo_shopper(session)
            assert shopper is not None
            token = issue_access_token(session, shopper, ttl_seconds=86_400)
            buyer = Customer(email="buyer@bench.example", name="Bench Buyer",
                             address="1 Bench Street")  # fmt: skip
            session.add(buyer)
            session.flush()
            for order in session.scalars(select(Order).where(Order.customer_id == shopper.id)):
                items = [
                    (session.get_one(Product, ln.product_id), ln.quantity) for ln in order.lines
                ]
                record_past_order(session, buyer, items, placed_at=order.placed_at)
            buyer_token = issue_access_token(session, buyer, ttl_seconds=86_400)
        with engine.begin() as connection:  # plenty of stock: every "yes" really orders
            connection.exec_driver_sql("UPDATE products SET stock = 1000000")
        engine.dispose()
        app = create_app(settings)
        import logging

        logging.disable(logging.INFO)
        client = app.test_client()
        base = baseline_client()
        linked = Linked(token)
        measured = [run_once(client, base, args.iterations, linked, Linked(buyer_token))
                    for _ in range(max(1, args.runs))]  # fmt: skip
        wiring(app).close()

    base_row = _median_rows([[b] for b, _ in measured])[0]
    rows = _median_rows([r for _, r in measured])
    base_p50, base_cpu = base_row[1], base_row[3]
    runs = f", median of {len(measured)} runs" if len(measured) > 1 else ""
    print(f"skill latency, in-process via Flask test client, {args.iterations} requests "
          f"each{runs}; every request followed by one to the bare skill")  # fmt: skip
    print(f"{'request':34} {'p50 ms':>8} {'p95 ms':>8} {'p50 / baseline':>15} "
          f"{'CPU p50 ms':>11} {'CPU / baseline':>15}")  # fmt: skip
    for name, p50, p95, cpu in [base_row, *rows]:
        print(f"{name:34} {p50:8.2f} {p95:8.2f} {p50 / base_p50:15.1f} {cpu:11.2f} "
              f"{cpu / base_cpu:15.1f}")  # fmt: skip
    print(f"\nturns that change nothing: target p50 <= {READ_ONLY_TARGET:g}x the bare skill "
          "(CPU: the same ratio of the CPU time the requests used, which a busy machine's "
          "other work does not stretch)")  # fmt: skip
    print(f"{'request':34} {'p50 / baseline':>15} {'target':>8} {'CPU / baseline':>15} "
          f"{'target':>8}")  # fmt: skip
    for name, p50, _, cpu in rows:
        if name in READ_ONLY:
            ratios = (p50 / base_p50, cpu / base_cpu)
            said = ["met" if r <= READ_ONLY_TARGET else "NOT met" for r in ratios]
            print(f"{name:34} {ratios[0]:15.1f} {said[0]:>8} {ratios[1]:15.1f} {said[1]:>8}")
    if not args.no_plot:
        groups = {_label(name): {"wall-clock p50": p50 / base_p50, "CPU p50": cpu / base_cpu}
                  for name, p50, _, cpu in rows}  # fmt: skip
        target = (READ_ONLY_TARGET, "target for turns that change nothing")
        path = bar_chart("skill-latency", "Skill latency (p50) against the bare ask-sdk skill",
                         "p50 / bare skill's p50", groups, target=target)  # fmt: skip
        print(f"plot: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
