"""The /api/v1 web channel on the shared cart: bearer tokens, ETags, errors, concurrency."""

from __future__ import annotations

import threading
from typing import Any

import alexa
import pytest
from flask.testing import FlaskClient
from oauthflow import exchange, linked_token, sign_up_and_allow
from sqlalchemy import select
from sqlalchemy.orm import Session
from testkit import OAUTH_REDIRECT

from catalog.models import Product


@pytest.fixture
def token(client: FlaskClient) -> str:
    linked = sign_up_and_allow(client, email="web@example.com")
    reply = exchange(client, {"grant_type": "authorization_code", "code": linked.code,
                              "redirect_uri": OAUTH_REDIRECT})  # fmt: skip
    return str(reply.get_json()["access_token"])


def _product_id(session: Session, name: str) -> int:
    found = session.scalar(select(Product.id).where(Product.name == name).order_by(Product.sku))
    assert found is not None
    return int(found)


def _auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def test_voice_and_web_share_one_cart(client: FlaskClient, token: str, session: Session) -> None:
    bananas = _product_id(session, "Bananas")
    said = client.post("/alexa", json=alexa.intent(
        "AddToCartIntent", {"item": "bananas", "quantity": "2"}, access_token=token))  # fmt: skip
    assert alexa.speech(said.get_json()).startswith("Added 2")

    cart = client.get("/api/v1/cart", headers=_auth(token))
    assert cart.status_code == 200
    (line,) = cart.get_json()["lines"]
    assert (line["productId"], line["quantity"], line["addedVia"]) == (bananas, 2, "alexa")

    changed = client.patch(f"/api/v1/cart/lines/{bananas}", json={"quantity": 5},
                           headers=_auth(token))  # fmt: skip
    assert changed.get_json()["lines"][0]["quantity"] == 5
    assert changed.get_json()["updatedVia"] == "web"
    heard = client.post("/alexa", json=alexa.intent("ReadCartIntent", access_token=token))
    assert "5 Sunny Acres Bananas" in alexa.speech(heard.get_json())

    removed = client.delete(f"/api/v1/cart/lines/{bananas}", headers=_auth(token))
    assert removed.get_json()["lines"] == []
    heard = client.post("/alexa", json=alexa.intent("ReadCartIntent", access_token=token))
    assert alexa.speech(heard.get_json()).startswith("Your cart is empty")


def test_etag_and_if_match(client: FlaskClient, token: str, session: Session) -> None:
    eggs = _product_id(session, "Large White Eggs")
    first = client.get("/api/v1/cart", headers=_auth(token))
    stale = first.headers["ETag"]
    added = client.post("/api/v1/cart/lines", json={"productId": eggs, "quantity": 1},
                        headers=_auth(token, **{"If-Match": stale}))  # fmt: skip
    assert added.status_code == 201
    assert added.headers["ETag"] != stale
    refused = client.post("/api/v1/cart/lines", json={"productId": eggs, "quantity": 1},
                          headers=_auth(token, **{"If-Match": stale}))  # fmt: skip
    assert refused.status_code == 412
    assert refused.get_json()["error"] == "precondition_failed"
    assert refused.headers["ETag"] == added.headers["ETag"]
    cart = client.get("/api/v1/cart", headers=_auth(token)).get_json()
    assert cart["lines"][0]["quantity"] == 1  # the refused change left no trace


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "error"),
    [
        ("post", "/api/v1/cart/lines", None, 400, "malformed_json"),
        ("post", "/api/v1/cart/lines", {"productId": "seven"}, 400, "malformed_json"),
        ("post", "/api/v1/cart/lines", {"productId": 999999}, 404, "not_found"),
        ("post", "/api/v1/cart/lines", {"sku": "NOPE-1"}, 404, "not_found"),
        ("post", "/api/v1/cart/lines", {"sku": "VC-10001", "quantity": 0}, 422,
         "quantity_out_of_range"),
        ("post", "/api/v1/cart/lines", {"sku": "VC-10001", "quantity": 26}, 422,
         "quantity_out_of_range"),
        ("patch", "/api/v1/cart/lines/1", {"quantity": 2}, 404, "not_found"),
        ("delete", "/api/v1/cart/lines/1", None, 404, "not_found"),
        ("get", "/api/v1/orders/1", None, 404, "not_found"),  # the demo shopper's order
    ],
)  # fmt: skip
def test_bad_requests_get_json_errors(
    client: FlaskClient, token: str, method: str, path: str, payload: Any, status: int, error: str
) -> None:
    send = getattr(client, method)
    reply = (
        send(path, json=payload, headers=_auth(token))
        if payload is not None
        else send(path, data=b"{oops", headers=_auth(token, **{"Content-Type": "application/json"}))
    )
    assert reply.status_code == status, reply.get_data(as_text=True)
    assert reply.get_json()["error"] == error
    cart = client.get("/api/v1/cart", headers=_auth(token)).get_json()
    assert cart["lines"] == []


@pytest.mark.parametrize(
    ("header", "challenge"),
    [
        (None, 'Bearer realm="voicecart"'),
        ("Bearer not-a-token", 'error="invalid_token"'),
        ("Basic dXNlcjpwdw==", 'Bearer realm="voicecart"'),
    ],
)
def test_unauthenticated_api_calls(client: FlaskClient, header: str | None, challenge: str) -> None:
    reply = client.get("/api/v1/cart", headers={"Authorization": header} if header else {})
    assert reply.status_code == 401
    assert challenge in reply.headers["WWW-Authenticate"]
    assert reply.get_json()["error"] in ("unauthorized", "invalid_token")


def test_orders_list_and_get(client: FlaskClient, token: str) -> None:
    client.post(
        "/alexa", json=alexa.intent("AddToCartIntent", {"item": "bananas"}, access_token=token)
    )
    offer = client.post(
        "/alexa", json=alexa.intent("CheckoutIntent", access_token=token)
    ).get_json()
    client.post("/alexa", json=alexa.intent(
        "AMAZON.YesIntent", access_token=token, attributes=alexa.attributes(offer)))  # fmt: skip
    orders = client.get("/api/v1/orders", headers=_auth(token)).get_json()["orders"]
    assert len(orders) == 1
    assert orders[0]["channel"] == "alexa"
    one = client.get(f"/api/v1/orders/{orders[0]['id']}", headers=_auth(token)).get_json()
    assert one["lines"][0]["name"].startswith("Sunny Acres Bananas")


def test_concurrent_voice_and_web_edits_lose_nothing(
    client: FlaskClient, token: str, session: Session
) -> None:
    """Many threads add to the same line by voice and by web; every unit must land."""
    bananas = _product_id(session, "Bananas")
    app = client.application
    errors: list[str] = []

    def by_voice() -> None:
        envelope = alexa.intent("AddToCartIntent", {"item": "bananas", "quantity": "1"},
                                access_token=token)  # fmt: skip
        reply = app.test_client().post("/alexa", json=envelope)
        if not alexa.speech(reply.get_json()).startswith("Added 1"):
            errors.append(alexa.speech(reply.get_json()))

    def by_web() -> None:
        reply = app.test_client().post("/api/v1/cart/lines", json={"productId": bananas,
                                       "quantity": 1}, headers=_auth(token))  # fmt: skip
        if reply.status_code != 201:
            errors.append(reply.get_data(as_text=True))

    workers = [threading.Thread(target=by_voice if i % 2 else by_web) for i in range(20)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    cart = client.get("/api/v1/cart", headers=_auth(token)).get_json()
    assert cart["lines"][0]["quantity"] == 20
    assert cart["version"] == 20


def test_ids_beyond_any_integer_row_are_404_not_500(client: FlaskClient) -> None:
    """Between 2**31 and 2**62 PostgreSQL's integer columns raise, not miss."""
    token = linked_token(client, "bigid@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    for method, path in (("get", "/api/v1/orders/99999999999"),
                         ("post", "/api/v1/orders/99999999999/cancel"),
                         ("delete", "/api/v1/cart/lines/99999999999")):  # fmt: skip
        assert getattr(client, method)(path, headers=auth).status_code == 404, path
    added = client.post("/api/v1/cart/lines", json={"productId": 99999999999}, headers=auth)
    assert 400 <= added.status_code < 500
