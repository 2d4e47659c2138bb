"""Exactly-once orders: retried Alexa requests, a repeated "yes", concurrent confirmations.

Runs on SQLite and on PostgreSQL (see conftest's ``database_url``).
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import alexa
import pytest
from flask.testing import FlaskClient
from oauthflow import linked_token
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from account_link import carts, claims
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


# ------------------------------------------------- one requestId, different speakers


def _cart_items(client: FlaskClient, token: str) -> int:
    reply = client.get("/api/v1/cart", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return int(reply.get_json()["itemCount"])


def _demo_cart_items(sessions: sessionmaker[Session]) -> int:
    with sessions() as db:
        shopper = demo_shopper(db)
        assert shopper is not None
        return carts.view_cart(db, shopper.id).item_count


def test_the_same_request_id_from_another_user_or_token_is_handled_afresh(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """The replay is keyed by request id AND speaker (user id, access token): a request
    id seen from someone else never hands them the first speaker's answer."""
    token = linked_token(client, "other@example.com")
    first = alexa.intent("AddToCartIntent", {"item": "bananas", "quantity": "2"})
    request_id = first["request"]["requestId"]

    def same_id(**speaker: Any) -> dict[str, Any]:
        envelope = alexa.intent("AddToCartIntent", {"item": "bananas", "quantity": "2"}, **speaker)
        envelope["request"]["requestId"] = request_id
        return envelope

    def say(envelope: dict[str, Any]) -> str:
        reply = client.post("/alexa", json=envelope)
        assert reply.status_code == 200, reply.get_data(as_text=True)
        return alexa.speech(reply.get_json())

    assert say(first).startswith("Added 2 Sunny Acres Bananas")  # the demo shopper
    other = {"user_id": "amzn1.ask.account.SOMEONEELSE", "access_token": token}
    assert say(same_id(**other)).startswith("Added 2 Sunny Acres Bananas")
    assert _cart_items(client, token) == 2  # acted on for them, not replayed to them
    # Same Alexa user, but a token nobody issued: asked to link, not the first answer.
    forged = say(same_id(access_token="forged-token"))
    assert "link your Voice Cart account" in forged
    # Genuine retries still replay, for each speaker, and act once.
    assert say(same_id(**other)).startswith("Added 2 Sunny Acres Bananas")
    assert say(first).startswith("Added 2 Sunny Acres Bananas")
    assert _cart_items(client, token) == 2
    assert _demo_cart_items(sessions) == 2
    with sessions() as db:
        keys = list(db.scalars(select(claims.Claim.key)))
    stored = " ".join(keys)
    for secret in (request_id, token, alexa.USER_ID, "SOMEONEELSE", "forged-token"):
        assert secret not in stored  # claim keys are hashes, never tokens or ids


# --------------------------------------------- envelope strings that reach the database


def _claim_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as db:
        return int(db.scalar(select(func.count()).select_from(claims.Claim)) or 0)


def _with(envelope: dict[str, Any], where: str, value: Any) -> dict[str, Any]:
    if where == "requestId":
        envelope["request"]["requestId"] = value
    elif where == "userId":
        envelope["context"]["System"]["user"]["userId"] = value
        envelope["session"]["user"]["userId"] = value
    elif where == "session.user.userId":
        envelope["session"]["user"] = {"userId": value}
    elif where == "sessionId":
        envelope["session"]["sessionId"] = value
    elif where == "applicationId":
        envelope["context"]["System"]["application"]["applicationId"] = value
    elif where == "accessToken":
        envelope["context"]["System"]["user"] = {"userId": alexa.USER_ID, "accessToken": value}
    elif where == "slot":
        envelope["request"]["intent"]["slots"]["item"]["value"] = value
    elif where == "attributes":
        envelope["session"]["attributes"] = {"note": value}
    else:
        raise AssertionError(where)
    return envelope


@pytest.mark.parametrize(
    ("where", "value", "fragment"),
    [
        ("requestId", "amzn1.echo-api.request.\x00", "NUL"),
        ("requestId", "amzn1.echo-api.request." + "r" * 233, "longer than 255"),
        ("requestId", "amzn1.echo-api.request.\ud800", "not valid Unicode"),
        ("requestId", 12345, "must be a string"),
        ("userId", "amzn1.ask.account.\x00", "NUL"),
        ("userId", "amzn1.ask.account." + "u" * 495, "longer than 512"),
        ("session.user.userId", "amzn1.ask.account." + "u" * 495, "longer than 512"),
        ("sessionId", "amzn1.echo-api.session.\x00", "NUL"),
        ("sessionId", "s" * 256, "longer than 255"),
        ("applicationId", "a" * 256, "longer than 255"),
        ("accessToken", "tok\x00en", "NUL"),
        ("slot", "bananas\x00", "NUL"),
        ("attributes", "\x00", "NUL"),
    ],
)
def test_envelope_strings_that_could_reach_the_database_are_checked(
    client: FlaskClient, sessions: sessionmaker[Session], where: str, value: Any, fragment: str
) -> None:
    """PostgreSQL refuses NUL in text and overlong keys (a 500 before); both databases
    now get the documented 400 ``malformed_request`` and nothing is written."""
    envelope = _with(alexa.intent("AddToCartIntent", {"item": "bananas", "quantity": "2"}),
                     where, value)  # fmt: skip
    claims_before, cart_before = _claim_count(sessions), _demo_cart_items(sessions)
    reply = client.post("/alexa", data=json.dumps(envelope), content_type="application/json")
    assert reply.status_code == 400, reply.get_data(as_text=True)
    payload = reply.get_json()
    assert payload["error"] == "malformed_request"
    assert fragment in payload["message"]
    assert (_claim_count(sessions), _demo_cart_items(sessions)) == (claims_before, cart_before)


def test_the_longest_allowed_ids_are_answered(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    envelope = alexa.intent("AddToCartIntent", {"item": "bananas", "quantity": "2"},
                            user_id="amzn1.ask.account." + "u" * 494,
                            session_id="s" * 255)  # fmt: skip
    envelope["request"]["requestId"] = "amzn1.echo-api.request." + "r" * 232
    for _ in range(2):  # the second is a retry, replayed
        reply = client.post("/alexa", json=envelope)
        assert reply.status_code == 200, reply.get_data(as_text=True)
        assert alexa.speech(reply.get_json()).startswith("Added 2 Sunny Acres Bananas")
    assert _demo_cart_items(sessions) == 2
