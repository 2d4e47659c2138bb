"""Tax and delivery: spoken with the total before the yes, charged, kept on the order."""

from __future__ import annotations

from collections.abc import Callable

import alexa
import pytest
from flask import Flask
from flask.testing import FlaskClient
from oauthflow import linked_token
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from account_link.models import Customer, Order, OutboxMessage
from account_link.orders import Charges
from app import wiring


@pytest.fixture
def charging(make_app: Callable[..., Flask]) -> Flask:
    return make_app(tax_bps=800, delivery_fee_cents=399, free_delivery_from_cents=3500)


def test_the_spoken_total_includes_tax_and_delivery(charging: Flask) -> None:
    client: FlaskClient = charging.test_client()
    offer = client.post("/alexa", json=alexa.intent("ReorderIntent", {"item": "coffee"}))
    speech = alexa.speech(offer.get_json())
    # $8.99 of coffee, 8% tax ($0.72), $3.99 delivery (under the $35 free-delivery line)
    assert "for $13.70, that's $8.99 for the items plus $0.72 tax and $3.99 delivery" in speech
    yes = alexa.intent("AMAZON.YesIntent", attributes=alexa.attributes(offer.get_json()))
    placed = alexa.speech(client.post("/alexa", json=yes).get_json())
    assert "for $13.70" in placed
    with wiring(charging).sessions() as db:
        order = db.scalars(select(Order).order_by(Order.id.desc())).first()
        assert order is not None
        assert (order.subtotal_cents, order.tax_cents, order.delivery_cents,
                order.total_cents) == (899, 72, 399, 1370)  # fmt: skip
        mail = db.scalars(select(OutboxMessage).where(OutboxMessage.order_id == order.id)).one()
        assert "Tax: $0.72" in mail.body
        assert "Delivery: $3.99" in mail.body


def test_charges_arithmetic() -> None:
    charges = Charges(tax_bps=825, delivery_fee_cents=499, free_delivery_from_cents=3500)
    assert charges.tax(1000) == 83  # 82.5 rounds half up
    assert charges.delivery(3499) == 499
    assert charges.delivery(3500) == 0
    assert charges.delivery(0) == 0  # nothing to deliver
    assert Charges().tax(12345) == 0


def test_the_delivery_address_is_spoken_before_the_yes(client: FlaskClient) -> None:
    offer = client.post("/alexa", json=alexa.intent("ReorderIntent", {"item": "coffee"}))
    speech = alexa.speech(offer.get_json())
    assert speech.endswith("for $8.99, delivered to 12 Market Street. Should I order it?")


def test_a_shopper_sets_the_address_on_the_web_and_hears_it(client: FlaskClient) -> None:
    token = linked_token(client, "address@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    # the address given at sign-up is on file and spoken
    assert client.get("/api/v1/account", headers=auth).get_json()["address"] == "1 Test Lane"
    client.post("/api/v1/cart/lines", json={"sku": "VC-10001", "quantity": 1}, headers=auth)
    before = alexa.speech(client.post("/alexa", json=alexa.intent(
        "CheckoutIntent", access_token=token)).get_json())  # fmt: skip
    assert "delivered to 1 Test Lane" in before
    bad = client.put("/api/v1/account/address", json={"address": "  "}, headers=auth)
    assert bad.status_code == 400
    assert bad.get_json()["error"] == "bad_address"
    set_ = client.put("/api/v1/account/address", json={"address": "7  Elm   Road"}, headers=auth)
    assert set_.get_json()["address"] == "7 Elm Road"
    after = alexa.speech(client.post("/alexa", json=alexa.intent(
        "CheckoutIntent", access_token=token)).get_json())  # fmt: skip
    assert "The total is $1.29, delivered to 7 Elm Road. Should I place the order?" in after


def test_no_address_no_order_on_any_channel(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    """An account from before addresses were asked at sign-up: told how to add one."""
    token = linked_token(client, "nowhere@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    with sessions.begin() as db:
        db.scalars(select(Customer).where(Customer.email == "nowhere@example.com")).one(
        ).address = None  # fmt: skip
    client.post("/api/v1/cart/lines", json={"sku": "VC-10001", "quantity": 1}, headers=auth)
    spoken = alexa.speech(client.post("/alexa", json=alexa.intent(
        "CheckoutIntent", access_token=token)).get_json())  # fmt: skip
    assert spoken.startswith("I don't have a delivery address for you yet")
    refused = client.post("/api/v1/checkout", headers=auth)
    assert refused.status_code == 409
    assert refused.get_json()["error"] == "no_address"
    assert client.get("/api/v1/orders", headers=auth).get_json()["orders"] == []
