"""Exactly-once orders: retried Alexa requests, a repeated "yes", concurrent confirmations.

Runs on SQLite and on PostgreSQL (see conftest's ``database_url``).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import alexa
import pytest
from flask.testing import FlaskClient
from oauthflow import linked_token
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from account_link import claims
from account_link.identity import demo_shopper
from account_link.models import Order
from catalog.db import utcnow
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
        batch = [
            threading.Thread(target=send, args=(e,)) for e in envelopes[start : start + threads]
        ]
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


def test_web_checkout_with_an_idempotency_key_places_one_order(client: FlaskClient) -> None:
    token = linked_token(client, "checkout@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    client.post("/api/v1/cart/lines", json={"sku": "VC-10001", "quantity": 3}, headers=auth)
    app, replies, lock = client.application, [], threading.Lock()

    def checkout() -> None:
        keyed = {**auth, "Idempotency-Key": "order-7f3a"}
        reply = app.test_client().post("/api/v1/checkout", headers=keyed)
        with lock:
            replies.append((reply.status_code, reply.get_json()))

    workers = [threading.Thread(target=checkout) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    checkout()  # and once more after they all finished
    assert len(replies) == 9
    assert sorted(status for status, _ in replies) == [200] * 8 + [201], replies
    assert replies[-1][0] == 200  # the late retry is a replay
    assert len({body["id"] for _, body in replies}) == 1
    assert [line["quantity"] for line in replies[0][1]["lines"]] == [3]
    listed = client.get("/api/v1/orders", headers=auth).get_json()["orders"]
    assert len(listed) == 1
    again = client.post("/api/v1/checkout", headers={**auth, "Idempotency-Key": "order-8b2c"})
    assert again.status_code == 409
    assert again.get_json()["error"] == "empty_cart"
    bad = client.post("/api/v1/checkout", headers={**auth, "Idempotency-Key": "x" * 65})
    assert bad.status_code == 400
    assert bad.get_json()["error"] == "bad_idempotency_key"


def test_web_checkout_names_what_ran_out(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    token = linked_token(client, "checkout@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    client.post("/api/v1/cart/lines", json={"sku": "VC-10001", "quantity": 3}, headers=auth)
    with sessions.begin() as db:
        db.scalars(select(Product).where(Product.sku == "VC-10001")).one().stock = 2
    reply = client.post("/api/v1/checkout", headers=auth)
    assert reply.status_code == 409
    message = "Sunny Acres Bananas: 2 left, 3 in the cart; nothing was ordered"
    assert reply.get_json() == {"error": "out_of_stock", "message": message}
    assert client.get("/api/v1/orders", headers=auth).get_json()["orders"] == []
    with sessions() as db:
        assert db.scalars(select(Product).where(Product.sku == "VC-10001")).one().stock == 2


def test_old_claims_are_pruned_now_and_then(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Claims older than a day go (on a sample of claims, here every one), fresh ones stay."""
    with sessions.begin() as db:
        assert claims.claim(db, "alexa:old")
        assert claims.claim(db, "alexa:recent")
        stale = utcnow() - claims.KEEP_FOR - timedelta(minutes=1)
        db.execute(update(claims.Claim).where(claims.Claim.key == "alexa:old")
                   .values(created_at=stale))  # fmt: skip
    monkeypatch.setattr(claims, "PRUNE_EVERY", 1)
    with sessions.begin() as db:
        assert claims.claim(db, "alexa:new")
        assert not claims.claim(db, "alexa:recent")  # still taken: a retry is still a retry
    with sessions() as db:
        keys = set(db.scalars(select(claims.Claim.key)))
    assert keys == {"alexa:recent", "alexa:new"}
