"""In-process latency of every intent over the demo catalogue, against a bare-skill baseline.

Both sides go through Flask's test client and flask-ask-sdk's SkillAdapter, so the
ratio shows what voicecart adds (database, matching, services) on top of the
framework floor: a one-handler ask-sdk skill that answers "hello" to everything.

    .venv/bin/python bench/bench_skill.py [--iterations N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import alexa  # noqa: E402

from app import (  # noqa: E402
    Settings,
    create_app,
    make_engine,
    make_sessions,
    seed_demo,
    upgrade_database,
    wiring,
)
from skill._oscrypto_compat import ensure_oscrypto_importable  # noqa: E402


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


def measure(client: Any, make: Callable[[], dict[str, Any]], iterations: int) -> list[float]:
    timings = []
    for _ in range(iterations):
        body = json.dumps(make())
        start = time.perf_counter()
        reply = client.post("/alexa", data=body, headers={"Content-Type": "application/json"})
        timings.append((time.perf_counter() - start) * 1000)
        if reply.status_code != 200:
            raise SystemExit(f"benchmark request failed: {reply.status_code} {reply.data[:200]!r}")
    return timings


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--iterations", type=int, default=300, help="requests per intent")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
            verify_alexa_requests=False,
            demo_shopper_for_unlinked=True,
            instance_dir=Path(tmp),
            log_level="WARNING",
        )
        upgrade_database(settings)
        engine = make_engine(settings)
        seed_demo(make_sessions(engine))
        with engine.begin() as connection:  # plenty of stock: every "yes" really orders
            connection.exec_driver_sql("UPDATE products SET stock = 1000000")
        engine.dispose()
        app = create_app(settings)
        import logging

        logging.disable(logging.INFO)
        client = app.test_client()

        def pending(kind: str) -> Callable[[], dict[str, Any]]:
            def make() -> dict[str, Any]:
                offer = client.post("/alexa", json=alexa.intent(kind, {"item": "paper towels"}))
                attributes = alexa.attributes(offer.get_json())
                return alexa.intent("AMAZON.YesIntent", attributes=attributes)

            return make

        scenarios: dict[str, Callable[[], dict[str, Any]]] = {
            "LaunchRequest": alexa.launch,
            "AMAZON.HelpIntent": lambda: alexa.intent("AMAZON.HelpIntent"),
            "AddToCartIntent": lambda: alexa.intent("AddToCartIntent", {"item": "bananas"}),
            "ReadCartIntent": lambda: alexa.intent("ReadCartIntent"),
            "RemoveFromCartIntent": lambda: alexa.intent(
                "RemoveFromCartIntent", {"item": "bananas"}
            ),
            "ReorderIntent": lambda: alexa.intent("ReorderIntent", {"item": "paper towels"}),
            "ReorderLastOrderIntent": lambda: alexa.intent("ReorderLastOrderIntent"),
            "CheckoutIntent": lambda: alexa.intent("CheckoutIntent"),
            "AMAZON.YesIntent (places order)": pending("ReorderIntent"),
            "OrderStatusIntent": lambda: alexa.intent("OrderStatusIntent"),
            "LastOrderIntent": lambda: alexa.intent("LastOrderIntent"),
            "PriceIntent": lambda: alexa.intent("PriceIntent", {"item": "oat milk"}),
            "ChangeQuantityIntent": lambda: alexa.intent(
                "ChangeQuantityIntent", {"item": "bananas", "quantity": "3"}
            ),
            "EmptyCartIntent (offer)": lambda: alexa.intent("EmptyCartIntent"),
            "ReturnItemIntent (offer)": lambda: alexa.intent("ReturnItemIntent", {"item": "eggs"}),
            "AMAZON.FallbackIntent": lambda: alexa.intent("AMAZON.FallbackIntent"),
        }
        base = baseline_client()
        measure(base, alexa.launch, 50)  # warm-up
        base_times = measure(base, alexa.launch, args.iterations)
        base_p50 = statistics.median(base_times)

        rows = [("baseline: bare ask-sdk skill", pct(base_times, 50), pct(base_times, 95))]
        for name, make in scenarios.items():
            if name in ("RemoveFromCartIntent", "ChangeQuantityIntent"):
                client.post("/alexa", json=alexa.intent("AddToCartIntent", {"item": "bananas"}))
            measure(client, make, 10)  # warm-up (index build, caches)
            if name == "RemoveFromCartIntent":
                times = []
                for _ in range(args.iterations):
                    client.post("/alexa", json=alexa.intent("AddToCartIntent", {"item": "bananas"}))
                    times += measure(client, make, 1)
            else:
                times = measure(client, make, args.iterations)
            rows.append((name, pct(times, 50), pct(times, 95)))
        wiring(app).close()

    print(f"skill latency, in-process via Flask test client, {args.iterations} requests each")
    print(f"{'request':34} {'p50 ms':>8} {'p95 ms':>8} {'p50 / baseline':>15}")
    for name, p50, p95 in rows:
        print(f"{name:34} {p50:8.2f} {p95:8.2f} {p50 / base_p50:15.1f}")


if __name__ == "__main__":
    main()
