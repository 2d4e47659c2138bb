"""Real worker processes on PostgreSQL: the last units sell exactly once.

`voicecart serve` with four worker processes on a throwaway PostgreSQL; fifty shoppers,
each with one unit of an item that has ten in stock, check out at the same moment, half
by voice (check out, then yes) and half on the web. Exactly ten orders, forty clear
out-of-stock replies, stock at zero, never below.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import alexa
import pytest
from serverproc import Server
from sqlalchemy import func, select

from account_link.carts import add_item
from account_link.models import Channel, Customer, Order, OrderLine
from account_link.tokens import issue_access_token
from catalog.models import Product
from voicecart.database import make_engine, make_sessions
from voicecart.settings import Settings

pytestmark = pytest.mark.server
SKU, STOCK, SHOPPERS = "VC-10001", 10, 50


def _call(url: str, body: dict[str, Any] | None, token: str | None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_fifty_concurrent_checkouts_sell_ten_units_once(tmp_path: Path, pg_url: str) -> None:
    server = Server(tmp_path, verify=False, VOICECART_DATABASE_URL=pg_url, VOICECART_WORKERS="4",
                    VOICECART_DEMO_SHOPPER_FOR_UNLINKED="0")  # fmt: skip
    engine = make_engine(Settings(database_url=pg_url))
    try:
        with make_sessions(engine).begin() as db:
            product = db.scalars(select(Product).where(Product.sku == SKU)).one()
            product.stock = STOCK
            tokens = []
            for number in range(SHOPPERS):
                shopper = Customer(
                    email=f"rush{number}@example.com",
                    name=f"Rush {number}",
                    address=f"{number} Rush Row",
                )
                db.add(shopper)
                db.flush()
                add_item(db, shopper.id, product.id, 1, channel=Channel.WEB, max_quantity=25)
                tokens.append(issue_access_token(db, shopper))

        def by_web(token: str) -> tuple[bool, str]:
            status, body = _call(f"{server.url}/api/v1/checkout", None, token)
            assert status in (201, 409), body
            return status == 201, body.get("error", "")

        def by_voice(token: str) -> tuple[bool, str]:
            checkout = alexa.intent("CheckoutIntent", access_token=token)
            status, offer = _call(f"{server.url}/alexa", checkout, None)
            assert status == 200, offer
            said = alexa.speech(offer)
            if "Should I place the order?" not in said:
                return False, said
            yes = alexa.intent("AMAZON.YesIntent", access_token=token,
                               attributes=alexa.attributes(offer))  # fmt: skip
            status, placed = _call(f"{server.url}/alexa", yes, None)
            assert status == 200, placed
            said = alexa.speech(placed)
            return said.startswith("Done. Order number"), said

        with ThreadPoolExecutor(max_workers=SHOPPERS) as pool:
            futures = [pool.submit(by_voice if i % 2 else by_web, token)
                       for i, token in enumerate(tokens)]  # fmt: skip
            results = [future.result() for future in futures]
        with make_sessions(engine)() as db:
            sold = db.scalar(select(func.coalesce(func.sum(OrderLine.quantity), 0))
                             .join(Order).where(Order.status == "placed"))  # fmt: skip
            orders = db.scalar(select(func.count(Order.id)).where(Order.channel != "seed"))
            stock = db.scalar(select(Product.stock).where(Product.sku == SKU))
    finally:
        engine.dispose()
        server.stop()
    assert sum(ok for ok, _ in results) == STOCK
    assert (sold, orders, stock) == (STOCK, STOCK, 0)
    refusals = [why for ok, why in results if not ok]
    assert len(refusals) == SHOPPERS - STOCK
    for why in refusals:  # each one a clear out-of-stock answer, spoken or JSON
        assert why == "out_of_stock" or "out of stock" in why, why
    assert "Traceback" not in server.log.read_text()
