"""Exactly-once orders: retried Alexa requests, a repeated "yes", concurrent confirmations.

Runs on SQLite and on PostgreSQL (see conftest's ``database_url``).
"""

from __future__ import annotations

import threading
from typing import Any

import alexa
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from account_link.identity import demo_shopper
from account_link.models import Order
from catalog.models import Product

COFFEE = "VC-10128"


def _orders_and_stock(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as db:
        shopper = demo_shopper(db)
        assert shopper is not None
        count = db.scalar(select(func.count(Order.id)).where(Order.customer_id == shopper.id))
        stock = db.scalar(select(Product.stock).where(Product.sku == COFFEE))
    return int(count or 0), int(stock or 0)


def _offer(client: FlaskClient) -> dict[str, Any]:
    reply = client.post("/alexa", json=alexa.intent("ReorderIntent", {"item": "coffee"}))
    assert "Should I order it?" in alexa.speech(reply.get_json())
    return alexa.attributes(reply.get_json())


def _storm(client: FlaskClient, envelopes: list[dict[str, Any]], threads: int) -> list[str]:
    """Send the envelopes, ``threads`` at a time; the speech of every reply."""
    app, said, lock = client.application, [], threading.Lock()

    def send(envelope: dict[str, Any]) -> None:
        reply = app.test_client().post("/alexa", json=envelope)
        assert reply.status_code == 200, reply.get_data(as_text=True)
        with lock:
            said.append(alexa.speech(reply.get_json()))

    for start in range(0, len(envelopes), threads):
        batch = [threading.Thread(target=send, args=(e,)) for e in envelopes[start:start + threads]]
        for worker in batch:
            worker.start()
        for worker in batch:
            worker.join(timeout=120)
    return said


def test_the_same_confirmation_sent_a_hundred_times_places_one_order(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    before_orders, before_stock = _orders_and_stock(sessions)
    yes = alexa.intent("AMAZON.YesIntent", attributes=_offer(client))
    said = _storm(client, [yes] * 20, threads=20) + _storm(client, [yes] * 80, threads=4)
    assert len(said) == 100
    assert len(set(said)) == 1, set(said)  # every retry gets the first answer
    assert said[0].startswith("Done. Order number")
    assert _orders_and_stock(sessions) == (before_orders + 1, before_stock - 1)


def test_a_second_yes_to_the_same_offer_finds_the_first_order(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """Different requestIds, same offer (the attributes Alexa replays): one order."""
    before_orders, before_stock = _orders_and_stock(sessions)
    offer = _offer(client)
    yeses = [alexa.intent("AMAZON.YesIntent", attributes=offer) for _ in range(12)]
    said = _storm(client, yeses, threads=6)
    numbers = {s.split("Order number ")[1].split()[0] for s in said}
    assert len(numbers) == 1, said
    assert _orders_and_stock(sessions) == (before_orders + 1, before_stock - 1)


def test_a_new_offer_is_a_new_order(client: FlaskClient, sessions: sessionmaker[Session]) -> None:
    before_orders, before_stock = _orders_and_stock(sessions)
    for _ in range(2):
        client.post("/alexa", json=alexa.intent("AMAZON.YesIntent", attributes=_offer(client)))
    assert _orders_and_stock(sessions) == (before_orders + 2, before_stock - 2)


def test_a_failed_turn_is_handled_afresh_when_retried(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """Out of stock rolls the turn back, claim included: the retry runs again (and can
    succeed once stock is back)."""
    offer = _offer(client)
    yes = alexa.intent("AMAZON.YesIntent", attributes=offer)
    with sessions.begin() as db:
        coffee = db.scalars(select(Product).where(Product.sku == COFFEE)).one()
        stock, coffee.stock = coffee.stock, 0
    first = alexa.speech(client.post("/alexa", json=yes).get_json())
    assert "out of stock" in first
    with sessions.begin() as db:
        db.scalars(select(Product).where(Product.sku == COFFEE)).one().stock = stock
    second = alexa.speech(client.post("/alexa", json=yes).get_json())
    assert second.startswith("Done. Order number")


def test_a_retried_request_changes_the_cart_once(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """Alexa resends a request it got no answer to: same requestId, acted on once."""
    add = alexa.intent("AddToCartIntent", {"item": "bananas", "quantity": "2"})
    said = _storm(client, [add] * 10, threads=10) + _storm(client, [add] * 30, threads=3)
    assert set(said) == {said[0]}
    assert said[0].startswith("Added 2 Sunny Acres Bananas")
    cart = client.post("/alexa", json=alexa.intent("ReadCartIntent")).get_json()
    assert "You have 2 items in your cart" in alexa.speech(cart)
