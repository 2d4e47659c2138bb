"""Account linking: the authorization-code flow, refresh rotation, revocation, every error."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import alexa
import pytest
from flask.testing import FlaskClient
from oauthflow import (
    authorize_path,
    basic_auth,
    csrf_token,
    exchange,
    pkce_pair,
    sign_in_form,
    sign_up_and_allow,
)
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from testkit import OAUTH_REDIRECT, Conversation

from account_link.models import OAuthCode, OAuthToken
from account_link.tokens import token_hash
from app import create_app, wiring
from voicecart.settings import Settings


def _tokens(client: FlaskClient, **authorize_extra: str) -> dict[str, object]:
    linked = sign_up_and_allow(client, **authorize_extra)
    reply = exchange(client, {"grant_type": "authorization_code", "code": linked.code,
                              "redirect_uri": OAUTH_REDIRECT})  # fmt: skip
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return dict(reply.get_json())


def _speech_with(client: FlaskClient, token: str, intent: str = "ReadCartIntent") -> str:
    payload = client.post("/alexa", json=alexa.intent(intent, access_token=token)).get_json()
    return alexa.speech(payload)


def test_full_link_then_alexa_uses_the_token(client: FlaskClient) -> None:
    linked = sign_up_and_allow(client)
    assert linked.location.startswith(OAUTH_REDIRECT + "?")
    assert linked.state == "xyz"
    reply = exchange(client, {"grant_type": "authorization_code", "code": linked.code,
                              "redirect_uri": OAUTH_REDIRECT})  # fmt: skip
    token = reply.get_json()
    assert reply.status_code == 200
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert token["refresh_token"]
    assert reply.headers["Cache-Control"] == "no-store"
    # The new shopper's own (empty) cart, not the demo shopper's.
    assert _speech_with(client, token["access_token"]).startswith("Your cart is empty")
    added = client.post("/alexa", json=alexa.intent(
        "AddToCartIntent", {"item": "bananas"}, access_token=token["access_token"]))  # fmt: skip
    assert alexa.speech(added.get_json()).startswith("Added 1")
    assert "1 item in your cart" in _speech_with(client, token["access_token"])


def test_tokens_and_codes_are_stored_hashed(client: FlaskClient, session: Session) -> None:
    token = _tokens(client)
    rows = session.scalars(select(OAuthToken)).all()
    assert len(rows) == 1
    assert rows[0].access_token_hash == token_hash(str(token["access_token"]))
    stored = {rows[0].access_token_hash, rows[0].refresh_token_hash}
    assert str(token["access_token"]) not in stored
    # a spent code is kept (hashed) and marked used, so a second use can revoke its tokens
    assert [c.used_at is not None for c in session.scalars(select(OAuthCode))] == [True]


def test_pkce_s256(client: FlaskClient) -> None:
    verifier, challenge = pkce_pair()
    linked = sign_up_and_allow(client, code_challenge=challenge, code_challenge_method="S256")
    base = {"grant_type": "authorization_code", "code": linked.code, "redirect_uri": OAUTH_REDIRECT}
    wrong = exchange(client, {**base, "code_verifier": "x" * 50})
    assert wrong.status_code == 400
    assert wrong.get_json()["error"] == "invalid_grant"
    right = exchange(client, {**base, "code_verifier": verifier})
    assert right.status_code == 200, right.get_data(as_text=True)


def test_refresh_rotates_and_old_tokens_die(client: FlaskClient) -> None:
    first = _tokens(client)
    refreshed = exchange(
        client, {"grant_type": "refresh_token", "refresh_token": str(first["refresh_token"])}
    )
    second = refreshed.get_json()
    assert refreshed.status_code == 200, refreshed.get_data(as_text=True)
    assert second["refresh_token"] != first["refresh_token"]
    assert "link your Voice Cart account" in _speech_with(client, str(first["access_token"]))
    assert _speech_with(client, second["access_token"]).startswith("Your cart is empty")
    again = exchange(
        client, {"grant_type": "refresh_token", "refresh_token": str(first["refresh_token"])}
    )
    assert again.get_json()["error"] == "invalid_grant"
    # reusing a rotated refresh token revokes the family it rotated into (RFC 9700)
    assert "link your Voice Cart account" in _speech_with(client, second["access_token"])


def test_revocation(client: FlaskClient) -> None:
    token = _tokens(client)
    reply = client.post(
        "/oauth/revoke", data={"token": str(token["access_token"])}, headers=basic_auth()
    )
    assert reply.status_code == 200
    assert "link your Voice Cart account" in _speech_with(client, str(token["access_token"]))
    refresh = exchange(
        client, {"grant_type": "refresh_token", "refresh_token": str(token["refresh_token"])}
    )
    assert refresh.get_json()["error"] == "invalid_grant"


def test_expired_access_token_asks_to_link(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    token = _tokens(client)
    with sessions.begin() as db:
        row = db.scalars(select(OAuthToken)).one()
        db.execute(update(OAuthToken).values(issued_at=row.issued_at - timedelta(hours=2)))
    payload = client.post(
        "/alexa", json=alexa.intent("CheckoutIntent", access_token=str(token["access_token"]))
    ).get_json()
    assert "link your Voice Cart account" in alexa.speech(payload)
    assert payload["response"]["card"]["type"] == "LinkAccount"


def test_wrong_client_secret_is_invalid_client(client: FlaskClient) -> None:
    linked = sign_up_and_allow(client)
    reply = exchange(client, {"grant_type": "authorization_code", "code": linked.code,
                              "redirect_uri": OAUTH_REDIRECT}, secret="guess")  # fmt: skip
    assert reply.status_code == 401
    assert reply.get_json()["error"] == "invalid_client"


def test_code_is_single_use(client: FlaskClient) -> None:
    linked = sign_up_and_allow(client)
    form = {"grant_type": "authorization_code", "code": linked.code, "redirect_uri": OAUTH_REDIRECT}
    assert exchange(client, form).status_code == 200
    reused = exchange(client, form)
    assert reused.status_code == 400
    assert reused.get_json()["error"] == "invalid_grant"


@pytest.mark.parametrize("code", ["forged-code", ""])
def test_unknown_code_is_invalid_grant(client: FlaskClient, code: str) -> None:
    reply = exchange(client, {"grant_type": "authorization_code", "code": code,
                              "redirect_uri": OAUTH_REDIRECT})  # fmt: skip
    assert reply.status_code == 400
    assert reply.get_json()["error"] in ("invalid_grant", "invalid_request")


def test_expired_code_is_invalid_grant(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    linked = sign_up_and_allow(client)
    with sessions.begin() as db:
        code = db.scalars(select(OAuthCode)).one()
        code.expires_at = code.created_at - timedelta(seconds=1)
    reply = exchange(client, {"grant_type": "authorization_code", "code": linked.code,
                              "redirect_uri": OAUTH_REDIRECT})  # fmt: skip
    assert reply.get_json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        (authorize_path(redirect_uri="https://evil.example.com/steal"), "redirect"),
        (authorize_path().replace("client_id=alexa-skill", "client_id=intruder"), "client"),
    ],
)
def test_bad_client_or_redirect_gets_an_error_page_never_a_redirect(
    client: FlaskClient, path: str, fragment: str
) -> None:
    reply = client.get(path)
    assert reply.status_code == 400
    assert "Location" not in reply.headers
    assert "We can't link your account" in reply.get_data(as_text=True)
    assert fragment in reply.get_data(as_text=True).lower()


def test_missing_state_is_allowed_and_not_invented(client: FlaskClient) -> None:
    """RFC 6749 recommends ``state``; without one the redirect simply carries none."""
    linked = sign_up_and_allow(client, state=None)
    assert linked.state is None


def test_deny_redirects_with_access_denied(client: FlaskClient) -> None:
    path = authorize_path()
    page = client.get(path)
    form = {"csrf_token": csrf_token(page), "action": "signup", "name": "Ann",
            "email": "ann@example.com", "password": "long enough password",
            "address": "2 Ann Road"}  # fmt: skip
    consent = client.get(client.post(path, data=form).headers["Location"])
    denied = client.post(path, data={"csrf_token": csrf_token(consent), "action": "deny"})
    assert denied.status_code == 302
    assert "error=access_denied" in denied.headers["Location"]
    assert "state=xyz" in denied.headers["Location"]


def test_forms_need_the_csrf_token(client: FlaskClient) -> None:
    reply = client.post(authorize_path(), data={"action": "signin", "email": "a@b.co",
                                                "password": "whatever12345"})  # fmt: skip
    assert reply.status_code == 400
    assert "CSRF" in reply.get_data(as_text=True)


def test_failed_sign_ins_are_throttled(client: FlaskClient) -> None:
    sign_up_and_allow(client, email="tom@example.com", password="the right password")
    fresh = client.application.test_client()
    path = authorize_path()
    page = fresh.get(path)
    token = csrf_token(page)
    for _ in range(5):
        wrong = fresh.post(path, data=sign_in_form(token, "tom@example.com", "nope nope nope"))
        assert wrong.status_code == 401
    locked = fresh.post(path, data=sign_in_form(token, "tom@example.com", "the right password"))
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.get_data(as_text=True)


def test_sign_up_errors(client: FlaskClient) -> None:
    path = authorize_path()
    token = csrf_token(client.get(path))
    short = client.post(path, data={"csrf_token": token, "action": "signup", "name": "X",
                                    "email": "x@example.com", "password": "short",
                                    "address": "1 X Street"})  # fmt: skip
    assert short.status_code == 422
    assert "at least 10 characters" in short.get_data(as_text=True)
    nowhere = client.post(path, data={"csrf_token": token, "action": "signup", "name": "X",
                                      "email": "x@example.com", "password": "long enough pw",
                                      "address": "   "})  # fmt: skip
    assert nowhere.status_code == 422
    assert "Enter the address orders should go to." in nowhere.get_data(as_text=True)
    sign_up_and_allow(client.application.test_client(), email="dup@example.com")
    form = {"csrf_token": token, "action": "signup", "name": "X",
            "email": "DUP@example.com", "password": "long enough pw",
            "address": "1 X Street"}  # fmt: skip
    dup = client.post(path, data=form)
    assert dup.status_code == 409


def test_linked_help_and_stop_work_unlinked(conversation: Conversation) -> None:
    envelope = alexa.intent("AMAZON.HelpIntent", access_token="expired-or-unknown")
    assert "reorder coffee" in alexa.speech(conversation.send(envelope))


def test_code_bound_to_its_redirect_uri(settings: Settings) -> None:
    """A code issued for one allowed redirect cannot be redeemed naming another."""
    layla = "https://layla.amazon.com/api/skill/link/M2TESTVENDOR"
    app = create_app(replace(settings, oauth_redirect_uris=(OAUTH_REDIRECT, layla)))
    client = app.test_client()
    linked = sign_up_and_allow(client)
    reply = exchange(client, {"grant_type": "authorization_code", "code": linked.code,
                              "redirect_uri": layla})  # fmt: skip
    wiring(app).close()
    assert reply.status_code == 400
    assert reply.get_json()["error"] == "invalid_grant"


def test_revoked_token_on_the_api_is_401(client: FlaskClient) -> None:
    token = _tokens(client)
    client.post("/oauth/revoke", data={"token": str(token["access_token"])}, headers=basic_auth())
    reply = client.get("/api/v1/cart", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert reply.status_code == 401
    assert 'error="invalid_token"' in reply.headers["WWW-Authenticate"]
    assert "revoked" in reply.get_json()["message"]


def test_linking_switched_off_without_a_client_secret(settings: Settings) -> None:
    app = create_app(replace(settings, oauth_client_secret=None))
    page = app.test_client().get(authorize_path())
    wiring(app).close()
    assert page.status_code == 503
    assert "VOICECART_OAUTH_CLIENT_SECRET" in page.get_data(as_text=True)
