"""The /cart web page and the skill hearing about web changes."""

from __future__ import annotations

import re

import alexa
from flask.testing import FlaskClient
from oauthflow import csrf_token, linked_token


def _linked(client: FlaskClient) -> str:
    return linked_token(client, "page@example.com")


def test_cart_page_needs_sign_in_and_never_redirects_off_site(client: FlaskClient) -> None:
    reply = client.get("/cart")
    assert reply.status_code == 302
    assert "/account/signin" in reply.headers["Location"]
    page = client.get("/account/signin?next=//evil.example.com")
    form = {"csrf_token": csrf_token(page), "email": "x@example.com", "password": "wrong pw 1234"}
    assert client.post("/account/signin?next=//evil.example.com", data=form).status_code == 401


def test_voice_additions_show_on_the_page_and_web_edits_are_heard(client: FlaskClient) -> None:
    token = _linked(client)  # the same browser session is signed in by the linking flow
    client.post("/alexa", json=alexa.intent(
        "AddToCartIntent", {"item": "bananas", "quantity": "2"}, access_token=token))  # fmt: skip
    page = client.get("/cart")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Sunny Acres Bananas" in html
    assert 'value="2"' in html
    product_id = re.search(r'data-product="(\d+)"', html)
    assert product_id
    update = client.post(f"/cart/lines/{product_id.group(1)}",
                         data={"csrf_token": csrf_token(page), "action": "update",
                               "quantity": "4"})  # fmt: skip
    assert update.status_code == 303
    heard = alexa.speech(client.post(
        "/alexa", json=alexa.intent("ReadCartIntent", access_token=token)).get_json())  # fmt: skip
    assert heard.startswith("You added Sunny Acres Bananas on the web today.")
    assert "4 Sunny Acres Bananas" in heard

    bad = client.post(f"/cart/lines/{product_id.group(1)}",
                      data={"csrf_token": csrf_token(page), "action": "update",
                            "quantity": "500"})  # fmt: skip
    assert (bad.status_code, bad.headers["Location"]) == (303, "/cart")  # post/redirect/get
    assert "Quantities go from 1 to 25" in client.get("/cart").get_data(as_text=True)

    removed = client.post(f"/cart/lines/{product_id.group(1)}",
                          data={"csrf_token": csrf_token(page), "action": "remove"})  # fmt: skip
    assert removed.status_code == 303
    heard = alexa.speech(client.post(
        "/alexa", json=alexa.intent("ReadCartIntent", access_token=token)).get_json())  # fmt: skip
    assert heard.startswith("Your cart is empty")


def test_cart_page_forms_need_csrf(client: FlaskClient) -> None:
    _linked(client)
    assert client.post("/cart/lines/1", data={"action": "remove"}).status_code == 400


def test_the_account_page_sets_the_address_and_the_voice_code(client: FlaskClient) -> None:
    assert "/account/signin" in client.get("/account").headers["Location"]
    token = _linked(client)
    page = client.get("/account")
    assert page.status_code == 200
    assert "No voice code is set" in page.get_data(as_text=True)
    bad = client.post("/account/voice-code", data={"csrf_token": csrf_token(page),
                                                   "action": "set", "code": "12 4"},
                      follow_redirects=True)  # post/redirect/get  # fmt: skip
    assert bad.request.path == "/account"
    assert "exactly four digits" in bad.get_data(as_text=True)
    assert client.post("/account/voice-code", data={"action": "set", "code": "5150"}
                       ).status_code == 400  # no CSRF token  # fmt: skip
    done = client.post("/account/voice-code", data={"csrf_token": csrf_token(page),
                                                    "action": "set", "code": "5150"},
                       follow_redirects=True)  # fmt: skip
    assert "A voice code is set" in done.get_data(as_text=True)
    assert "5150" not in done.get_data(as_text=True)
    client.post("/account/address", data={"csrf_token": csrf_token(page),
                                          "address": " 3  Quay   Lane "})  # fmt: skip
    auth = {"Authorization": f"Bearer {token}"}
    account = client.get("/api/v1/account", headers=auth).get_json()
    assert (account["address"], account["voiceCode"]) == ("3 Quay Lane", True)
    empty = client.post("/account/address", data={"csrf_token": csrf_token(page), "address": ""},
                        follow_redirects=True)  # fmt: skip
    assert 'class="error"' in empty.get_data(as_text=True)
    assert client.get("/api/v1/account", headers=auth).get_json()["address"] == "3 Quay Lane"
    client.post("/api/v1/cart/lines", json={"sku": "VC-10001"}, headers=auth)
    offer = client.post("/alexa", json=alexa.intent("CheckoutIntent", access_token=token))
    assert "delivered to 3 Quay Lane" in alexa.speech(offer.get_json())
    yes = alexa.intent("AMAZON.YesIntent", access_token=token,
                       attributes=alexa.attributes(offer.get_json()))  # fmt: skip
    assert "voice code" in alexa.speech(client.post("/alexa", json=yes).get_json())
    removed = client.post("/account/voice-code", data={"csrf_token": csrf_token(page),
                                                       "action": "remove"},
                          follow_redirects=True)  # fmt: skip
    assert "No voice code is set" in removed.get_data(as_text=True)
