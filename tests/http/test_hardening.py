"""Regression tests for problems a security review found (each reproduced before the fix)."""

from __future__ import annotations

import threading

import pytest
from flask.testing import FlaskClient
from oauthflow import csrf_token, exchange, sign_up_and_allow
from testkit import OAUTH_REDIRECT

from web.shop import safe_next

HUGE = 100_000_000_000_000_000_000


def _tokens(client: FlaskClient) -> dict[str, str]:
    linked = sign_up_and_allow(client, email="hard@example.com")
    reply = exchange(client, {"grant_type": "authorization_code", "code": linked.code,
                              "redirect_uri": OAUTH_REDIRECT})  # fmt: skip
    return {k: str(v) for k, v in reply.get_json().items()}


@pytest.mark.parametrize(
    "target", ["/\t/evil.example", "//evil.example", "https://evil.example/", "/\\evil", "cart"]
)
def test_sign_in_never_redirects_off_site(target: str) -> None:
    assert safe_next(target) == "/cart"


def test_same_site_next_is_kept() -> None:
    assert safe_next("/cart?x=1") == "/cart?x=1"


def test_pkce_challenge_without_method_is_s256_not_plain(client: FlaskClient) -> None:
    challenge = "A" * 50
    linked = sign_up_and_allow(client, code_challenge=challenge)
    form = {"grant_type": "authorization_code", "code": linked.code,
            "redirect_uri": OAUTH_REDIRECT, "code_verifier": challenge}  # fmt: skip
    reply = exchange(client, form)
    assert reply.status_code == 400
    assert reply.get_json()["error"] == "invalid_grant"


def test_concurrent_code_exchanges_issue_one_token(client: FlaskClient) -> None:
    linked = sign_up_and_allow(client)
    form = {"grant_type": "authorization_code", "code": linked.code, "redirect_uri": OAUTH_REDIRECT}
    app = client.application
    statuses: list[int] = []

    def redeem() -> None:
        statuses.append(exchange(app.test_client(), form).status_code)

    workers = [threading.Thread(target=redeem) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert sorted(statuses) == [200, 400, 400, 400, 400, 400]


def test_concurrent_refreshes_rotate_once(client: FlaskClient) -> None:
    refresh = _tokens(client)["refresh_token"]
    app = client.application
    replies: list[tuple[int, str]] = []

    def rotate() -> None:
        reply = exchange(
            app.test_client(), {"grant_type": "refresh_token", "refresh_token": refresh}
        )
        replies.append((reply.status_code, str(reply.get_json().get("refresh_token", ""))))

    workers = [threading.Thread(target=rotate) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert sorted(status for status, _ in replies) == [200, 400, 400, 400, 400, 400]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/cart/lines", {"productId": HUGE}),
        ("patch", f"/api/v1/cart/lines/{HUGE}", {"quantity": 2}),
        ("delete", f"/api/v1/cart/lines/{HUGE}", None),
        ("get", f"/api/v1/orders/{HUGE}", None),
    ],
)
def test_huge_ids_are_4xx_not_500(
    client: FlaskClient, method: str, path: str, body: dict[str, int] | None
) -> None:
    token = _tokens(client)["access_token"]
    send = getattr(client, method)
    reply = send(path, json=body, headers={"Authorization": f"Bearer {token}"})
    assert 400 <= reply.status_code < 500, reply.get_data(as_text=True)


@pytest.mark.parametrize("quantity", ["²", "--3", "9" * 5000])
def test_cart_page_odd_quantities_are_refused_with_a_message(
    client: FlaskClient, quantity: str
) -> None:
    token = _tokens(client)["access_token"]
    client.post("/api/v1/cart/lines", json={"sku": "VC-10005"},
                headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    page = client.get("/cart")
    line = client.get("/api/v1/cart", headers={"Authorization": f"Bearer {token}"}).get_json()
    product = line["lines"][0]["productId"]
    reply = client.post(f"/cart/lines/{product}", data={"csrf_token": csrf_token(page),
                        "action": "update", "quantity": quantity})  # fmt: skip
    assert (reply.status_code, reply.headers["Location"]) == (303, "/cart")  # post/redirect/get
    shown = client.get("/cart").get_data(as_text=True)
    assert 'class="error" role="alert">Quantities go from 1 to 25.' in shown
    after = client.get("/api/v1/cart", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert after["lines"][0]["quantity"] == 1  # nothing changed


def test_cart_page_unknown_or_huge_product_is_refused_with_a_message(client: FlaskClient) -> None:
    _tokens(client)
    token = csrf_token(client.get("/cart"))
    for product in (999_999, HUGE):
        reply = client.post(
            f"/cart/lines/{product}", data={"csrf_token": token, "action": "remove"}
        )
        assert (reply.status_code, reply.headers["Location"]) == (303, "/cart")
        shown = client.get("/cart").get_data(as_text=True)
        assert "That item is no longer in your cart." in shown


def test_oversized_bodies_are_refused_before_reading(client: FlaskClient) -> None:
    headers = {"Authorization": "Bearer x", "Content-Type": "audio/wav"}
    reply = client.post("/api/v1/voice", data=b"\0" * (6 * 1024 * 1024), headers=headers)
    assert reply.status_code in (401, 413)
    big = client.post("/alexa", data=b"{" + b" " * (6 * 1024 * 1024) + b"}",
                      headers={"Content-Type": "application/json"})  # fmt: skip
    assert big.status_code == 413
    assert big.get_json()["error"] == "request_entity_too_large"


def test_pages_cannot_be_framed(client: FlaskClient) -> None:
    reply = client.get("/oauth/authorize")
    assert reply.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in reply.headers["Content-Security-Policy"]
