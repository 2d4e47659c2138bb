"""HTTP-level behaviour of /alexa and friends through the Flask test client."""

from __future__ import annotations

from dataclasses import replace

import alexa
import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from account_link import carts
from account_link.identity import demo_shopper
from app import create_app, wiring
from voicecart.settings import Settings


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        (b"", "application/json", "empty"),
        (b"{not json", "application/json", "not valid JSON"),
        (b"\xff\xfe\x00", "application/json", "not valid JSON"),
        (b"[1, 2, 3]", "application/json", "not an Alexa request envelope"),
        (b'{"version": "1.0"}', "application/json", "not an Alexa request envelope"),
        (b'{"request": {"type": 7}}', "application/json", "not an Alexa request envelope"),
        (b"hello", "text/plain", "not valid JSON"),
    ],
)
def test_malformed_bodies_get_400_json(
    client: FlaskClient, body: bytes, content_type: str, fragment: str
) -> None:
    reply = client.post("/alexa", data=body, headers={"Content-Type": content_type})
    assert reply.status_code == 400
    payload = reply.get_json()
    assert payload["error"] == "malformed_request"
    assert fragment in payload["message"]


def test_oversized_body_is_refused(client: FlaskClient) -> None:
    reply = client.post("/alexa", data=b"{" + b" " * 300_000 + b"}")
    assert reply.status_code == 400
    assert "larger than" in reply.get_json()["message"]


def test_get_is_method_not_allowed_json(client: FlaskClient) -> None:
    reply = client.get("/alexa")
    assert reply.status_code == 405
    assert reply.get_json()["error"] == "method_not_allowed"


def test_unknown_route_is_json_404(client: FlaskClient) -> None:
    reply = client.get("/nope")
    assert reply.status_code == 404
    assert reply.get_json()["error"] == "not_found"


def test_health(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}


def test_unlinked_user_is_asked_to_link_and_nothing_changes(
    settings: Settings, session: Session
) -> None:
    app = create_app(replace(settings, demo_shopper_for_unlinked=False))
    reply = app.test_client().post(
        "/alexa", json=alexa.intent("AddToCartIntent", {"item": "bananas", "quantity": "2"})
    )
    wiring(app).close()
    payload = reply.get_json()
    assert reply.status_code == 200
    assert "link your Voice Cart account" in alexa.speech(payload)
    assert payload["response"]["card"]["type"] == "LinkAccount"
    assert alexa.ends_session(payload)
    shopper = demo_shopper(session)
    assert shopper is not None
    assert carts.view_cart(session, shopper.id).lines == ()


def test_help_works_unlinked(settings: Settings) -> None:
    app = create_app(replace(settings, demo_shopper_for_unlinked=False))
    reply = app.test_client().post("/alexa", json=alexa.intent("AMAZON.HelpIntent"))
    wiring(app).close()
    assert "reorder coffee" in alexa.speech(reply.get_json())


def test_unknown_access_token_is_not_the_demo_shopper(client: FlaskClient) -> None:
    envelope = alexa.intent("ReadCartIntent", access_token="forged-token")
    payload = client.post("/alexa", json=envelope).get_json()
    assert "link your Voice Cart account" in alexa.speech(payload)


def test_handler_crash_rolls_back_and_apologises(
    client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after the cart was written leaves the cart untouched (no half-written turn)."""
    from skill import prompts

    def explode(*args: object, **kwargs: object) -> str:
        raise RuntimeError("speech rendering failed")

    monkeypatch.setattr(prompts, "added_to_cart", explode)
    payload = client.post(
        "/alexa", json=alexa.intent("AddToCartIntent", {"item": "bananas", "quantity": "2"})
    ).get_json()
    assert "something went wrong on my side" in alexa.speech(payload)
    shopper = demo_shopper(session)
    assert shopper is not None
    assert carts.view_cart(session, shopper.id).lines == ()
