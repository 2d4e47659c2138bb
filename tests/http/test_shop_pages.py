"""The web shop through Flask's test client: front door, sign-up, cart, checkout, orders.

Each test walks what a shopper does in a browser (forms posted with their CSRF token,
redirects followed) and checks what the other channels then see.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import alexa
import pytest
from flask import Flask
from flask.testing import FlaskClient
from oauthflow import csrf_token, linked_token, sign_in_as
from sqlalchemy import select
from testkit import OAUTH_REDIRECT

from account_link.identity import demo_shopper
from account_link.models import Order, OutboxMessage, ReturnRequest
from account_link.orders import advance_order
from app import wiring

HTML = {"Accept": "text/html,application/xhtml+xml"}


def _sign_up(client: FlaskClient, email: str = "web@example.com", address: str = "1 Elm St") -> Any:
    page = client.get("/account/signup")
    form = {"csrf_token": csrf_token(page), "name": "Wendy Web", "email": email,
            "address": address, "password": "correct horse battery"}  # fmt: skip
    return client.post("/account/signup", data=form, follow_redirects=True)


def _post(client: FlaskClient, path: str, page: Any, **form: str) -> Any:
    return client.post(path, data={"csrf_token": csrf_token(page), **form}, follow_redirects=True)


def _text(reply: Any) -> str:
    return str(reply.get_data(as_text=True))


def test_the_front_door_leads_somewhere(client: FlaskClient) -> None:
    home = client.get("/", headers=HTML)
    html = _text(home)
    assert home.status_code == 200 and home.mimetype == "text/html"
    for link in ("/account/signin", "/account/signup", "/developers", "/healthz"):
        assert f'href="{link}"' in html
    assert client.get("/developers").status_code == 200
    missing = client.get("/no/such/page", headers=HTML)
    assert (missing.status_code, missing.mimetype) == (404, "text/html")
    assert "There is no page at this address" in _text(missing)
    api = client.get("/api/v1/nothing-here", headers=HTML)  # programs keep their JSON
    assert (api.status_code, api.mimetype) == (404, "application/json")
    assert client.get("/no/such/page").mimetype == "application/json"  # no Accept: JSON


def test_sign_up_on_the_web_signs_in_and_refuses_what_linking_refuses(
    client: FlaskClient,
) -> None:
    made = _sign_up(client)
    assert made.request.path == "/cart"
    assert "Welcome, Wendy Web" in _text(made)
    home = _text(client.get("/"))
    assert "Hello, Wendy Web" in home and 'id="signout"' in home
    client.post("/account/signout", data={"csrf_token": csrf_token(made)})
    again = _sign_up(client)
    assert again.status_code == 409 and "exists" in _text(again)
    short = _sign_up(client, email="other@example.com", address="   ")
    assert short.status_code == 422 and "address" in _text(short)
    assert client.get("/cart").status_code == 302  # neither attempt signed anyone in


def test_search_add_step_and_totals_match_what_voice_reads(
    make_app: Callable[..., Flask],
) -> None:
    app = make_app(tax_bps=825, delivery_fee_cents=499)
    client = app.test_client()
    token = linked_token(client, "steps@example.com")
    page = client.get("/cart?q=oat+milk")
    html = _text(page)
    assert 'id="results"' in html and "Original Oat Milk" in html
    product = re.search(r'name="product_id" value="(\d+)"', html)
    assert product
    added = _post(client, "/cart/add", page, product_id=product.group(1),
                  back="/cart?q=oat+milk")  # fmt: skip
    assert added.request.full_path.startswith("/cart?q=oat")
    assert "Added" in _text(added) and "You have 1 in your cart" in _text(added)
    line = f"/cart/lines/{product.group(1)}"
    _post(client, line, added, action="more")
    stepped = _post(client, line, added, action="more")
    assert 'value="3"' in _text(stepped)
    fewer = _post(client, line, stepped, action="less")
    html = _text(fewer)
    assert 'value="2"' in html
    total = re.search(r'id="total">\$([0-9.]+)<', html)
    assert total
    offer = client.post("/alexa", json=alexa.intent("CheckoutIntent", access_token=token))
    assert f"${total.group(1)}" in alexa.speech(offer.get_json())  # one quote, two channels
    gone = _post(client, line, fewer, action="less")
    gone = _post(client, line, gone, action="less")
    assert 'id="empty"' in _text(gone)


def test_checkout_places_one_order_however_often_the_form_is_posted(
    client: FlaskClient,
) -> None:
    token = linked_token(client, "buyer@example.com")
    client.post("/alexa", json=alexa.intent("AddToCartIntent", {"item": "bananas", "quantity": "2"},
                                            access_token=token))  # fmt: skip
    page = client.get("/cart")
    form = {"csrf_token": csrf_token(page)}
    for name in ("key", "version"):
        found = re.search(rf'name="{name}" value="([^"]+)"', _text(page))
        assert found
        form[name] = found.group(1)
    first = client.post("/cart/checkout", data=form)
    second = client.post("/cart/checkout", data=form)  # a double click
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    shown = client.get(first.headers["Location"])
    assert "is placed" in _text(shown) and "2 \u00d7 Sunny Acres Bananas" in _text(shown)
    with wiring(client.application).sessions() as db:
        placed = list(db.scalars(select(Order).where(Order.channel == "web")))
        assert len(placed) == 1 and placed[0].channel == "web"
        sent = select(OutboxMessage).where(OutboxMessage.order_id == placed[0].id)
        mails = list(db.scalars(sent))
        assert len(mails) == 1
    heard = alexa.speech(client.post("/alexa", json=alexa.intent(
        "OrderStatusIntent", access_token=token)).get_json())  # fmt: skip
    assert f"number {placed[0].id}" in heard and "Sunny Acres Bananas" in heard
    assert 'id="empty"' in _text(client.get("/cart"))


def test_cancel_on_the_web_is_heard_by_voice_and_reorder_refills_the_cart(
    client: FlaskClient,
) -> None:
    token = linked_token(client, "cancel@example.com")
    client.post("/api/v1/cart/lines", json={"sku": "VC-10009", "quantity": 3},
                headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    offer = client.post("/alexa", json=alexa.intent("CheckoutIntent", access_token=token))
    yes = alexa.intent("AMAZON.YesIntent", access_token=token,
                       attributes=alexa.attributes(offer.get_json()))  # fmt: skip
    placed = alexa.speech(client.post("/alexa", json=yes).get_json())
    number = re.search(r"Order number (\d+)", placed)
    assert number, placed
    orders_page = client.get("/orders")
    assert f'data-order="{number.group(1)}"' in _text(orders_page)
    assert "by Alexa" in _text(orders_page)
    detail = client.get(f"/orders/{number.group(1)}")
    assert 'id="cancel"' in _text(detail)
    cancelled = _post(client, f"/orders/{number.group(1)}/cancel", detail)
    assert "is cancelled" in _text(cancelled) and 'id="cancel"' not in _text(cancelled)
    heard = alexa.speech(client.post("/alexa", json=alexa.intent(
        "OrderStatusIntent", access_token=token)).get_json())  # fmt: skip
    assert heard.startswith(f"You cancelled order {number.group(1)} on the web.")
    again = _post(client, f"/orders/{number.group(1)}/reorder", cancelled)
    assert again.request.path == "/cart"
    assert "items are in your cart" in _text(again) and 'value="3"' in _text(again)
    assert client.get("/orders/999999").status_code == 404
    assert client.get("/orders/99999999999").status_code == 404  # beyond any integer row


def test_someone_elses_order_is_not_found(client: FlaskClient) -> None:
    token = linked_token(client, "first@example.com")
    client.post("/api/v1/cart/lines", json={"sku": "VC-10009"},
                headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    placed = client.post("/api/v1/checkout", headers={"Authorization": f"Bearer {token}"})
    order_id = placed.get_json()["id"]
    client.post("/account/signout", data={"csrf_token": csrf_token(client.get("/cart"))})
    _sign_up(client, email="second@example.com")
    assert client.get(f"/orders/{order_id}", headers=HTML).status_code == 404
    page = client.get("/orders")
    refused = client.post(f"/orders/{order_id}/cancel", data={"csrf_token": csrf_token(page)})
    assert refused.status_code == 404
    form = {"csrf_token": csrf_token(page), "quantity": "1"}
    for path in (f"/orders/{order_id}/reorder", f"/orders/{order_id}/lines/1/return",
                 "/orders/99999999999/reorder", "/orders/99999999999/cancel",
                 "/orders/99999999999/lines/1/return"):  # fmt: skip
        assert client.post(path, data=form).status_code == 404, path


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_buy_again_lists_the_usual_products(client: FlaskClient) -> None:
    sessions = wiring(client.application).sessions
    with sessions() as db:
        shopper = demo_shopper(db)  # has a dozen past orders (and no password)
        assert shopper is not None
    sign_in_as(client, sessions, shopper.id)
    html = _text(client.get("/cart"))
    assert 'id="buy-again"' in html
    assert html.count('aria-label="Add ') >= 3


def test_linked_shows_the_code_only_on_a_registered_redirect(
    client: FlaskClient, make_app: Callable[..., Flask]
) -> None:
    assert client.get("/linked?code=abc", headers=HTML).status_code == 404
    dev = make_app(oauth_redirect_uris=(OAUTH_REDIRECT, "http://localhost/linked"))
    shown = dev.test_client().get("/linked?code=abc123&state=xyz")
    assert shown.status_code == 200
    assert "abc123" in _text(shown) and "grant_type=authorization_code" in _text(shown)


def test_a_delivered_line_is_returned_on_the_web_whatever_channel_bought_it(
    client: FlaskClient,
) -> None:
    token = linked_token(client, "returns@example.com")
    auth = {"Authorization": f"Bearer {token}"}
    client.post("/api/v1/cart/lines", json={"sku": "VC-10009", "quantity": 3}, headers=auth)
    offer = client.post("/alexa", json=alexa.intent("CheckoutIntent", access_token=token))
    yes = alexa.intent("AMAZON.YesIntent", access_token=token,
                       attributes=alexa.attributes(offer.get_json()))  # fmt: skip
    order_id = int(re.findall(r"Order number (\d+)", alexa.speech(
        client.post("/alexa", json=yes).get_json()))[0])  # fmt: skip
    page = client.get(f"/orders/{order_id}")
    assert "Return</button>" not in _text(page)  # placed, not delivered: nothing to return
    with wiring(client.application).sessions.begin() as db:
        for _ in range(3):
            advance_order(db, order_id)
    page = client.get(f"/orders/{order_id}")
    line = re.search(r'action="(/orders/\d+/lines/\d+/return)"', _text(page))
    assert line
    started = _post(client, line.group(1), page, quantity="2")
    html = _text(started)
    assert "Return" in html and "is started: 2 x" in html and 'id="returns"' in html
    again = _post(client, line.group(1), started, quantity="2")  # one unit left
    assert "Quantities go from 1 to 1" in _text(again)
    with wiring(client.application).sessions() as db:
        made = db.scalars(select(ReturnRequest)).one()
        assert (made.quantity, made.refund_cents, made.channel) == (2, 598, "web")
        sent = select(OutboxMessage.kind).where(OutboxMessage.order_id == order_id)
        kinds = set(db.scalars(sent))
        assert kinds == {"order_confirmation", "return_started"}
