"""Drive the account-linking flow the way Alexa and a shopper's browser do."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import alexa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker
from testkit import OAUTH_REDIRECT, OAUTH_SECRET
from werkzeug.test import TestResponse

CLIENT_ID = "alexa-skill"


def csrf_token(page: TestResponse) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, page.get_data(as_text=True)
    return found.group(1)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize_path(
    state: str | None = "xyz", redirect_uri: str | None = OAUTH_REDIRECT, **extra: str
) -> str:
    """The authorization request's URL; ``redirect_uri=None`` leaves the parameter out."""
    query = {"response_type": "code", "client_id": CLIENT_ID, **extra}
    if redirect_uri is not None:
        query["redirect_uri"] = redirect_uri
    if state is not None:
        query["state"] = state
    return "/oauth/authorize?" + urlencode(query)


@dataclass
class Linked:
    code: str
    state: str | None
    location: str


def sign_up_and_allow(
    client: FlaskClient,
    email: str = "sam@example.com",
    password: str = "correct horse battery",
    state: str | None = "xyz",
    redirect_uri: str | None = OAUTH_REDIRECT,
    **authorize_extra: str,
) -> Linked:
    """Sign up on the authorize page, allow, and return the redirect's code and state."""
    path = authorize_path(state=state, redirect_uri=redirect_uri, **authorize_extra)
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    form = {"csrf_token": csrf_token(page), "action": "signup", "name": "Sam",
            "email": email, "password": password, "address": "1 Test Lane"}  # fmt: skip
    signed_up = client.post(path, data=form)
    assert signed_up.status_code == 303, signed_up.get_data(as_text=True)
    consent = client.get(signed_up.headers["Location"])
    assert "Allow Alexa to shop for you?" in consent.get_data(as_text=True)
    allowed = client.post(path, data={"csrf_token": csrf_token(consent), "action": "allow"})
    assert allowed.status_code == 302, allowed.get_data(as_text=True)
    location = allowed.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    return Linked(query["code"][0], query.get("state", [None])[0], location)


def basic_auth(secret: str = OAUTH_SECRET) -> dict[str, str]:
    """HTTP Basic client authentication, as Alexa sends it to the token endpoint."""
    pair = base64.b64encode(f"{CLIENT_ID}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def exchange(client: FlaskClient, form: dict[str, str], secret: str = OAUTH_SECRET) -> TestResponse:
    return client.post("/oauth/token", data=form, headers=basic_auth(secret))


def sign_in_form(token: str, email: str, password: str) -> dict[str, str]:
    return {"csrf_token": token, "action": "signin", "email": email, "password": password}


def linked_token(client: FlaskClient, email: str) -> str:
    """A new shopper signs up through the linking flow; their access token."""
    linked = sign_up_and_allow(client, email=email)
    grant = {"grant_type": "authorization_code", "code": linked.code,
             "redirect_uri": OAUTH_REDIRECT}  # fmt: skip
    return str(exchange(client, grant).get_json()["access_token"])


def allow_again(client: FlaskClient, **authorize_extra: str) -> str:
    """An already signed-in shopper links once more (a second grant); the new code."""
    path = authorize_path(**authorize_extra)
    consent = client.get(path)
    assert "Allow Alexa to shop for you?" in consent.get_data(as_text=True)
    allowed = client.post(path, data={"csrf_token": csrf_token(consent), "action": "allow"})
    assert allowed.status_code == 302, allowed.get_data(as_text=True)
    return parse_qs(urlsplit(allowed.headers["Location"]).query)["code"][0]


def session_cookie(client: FlaskClient) -> str:
    """The browser's session cookie as it is now (what a thief or a backup would keep)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def with_cookie(client: FlaskClient, value: str) -> FlaskClient:
    """Another browser presenting a saved session cookie."""
    other = client.application.test_client()
    other.set_cookie("session", value)
    return other


def sign_in_as(client: FlaskClient, sessions: sessionmaker[Session], customer_id: int) -> None:
    """Sign ``client`` in as a customer without a password (the demo shopper): a
    server-side web session, and its id in the cookie, as signing in makes them."""
    from account_link.accounts import start_web_session
    from account_link.models import Customer
    from web.auth import SESSION_KEY

    with sessions.begin() as db:
        token = start_web_session(db, db.get_one(Customer, customer_id))
    with client.session_transaction() as cookie:
        cookie[SESSION_KEY] = token


class Shopper:
    """A signed-up shopper talking to /alexa with their token, turn after turn."""

    def __init__(self, client: FlaskClient, email: str) -> None:
        self.client = client
        self.token = linked_token(client, email)
        self.auth = {"Authorization": f"Bearer {self.token}"}
        self.attributes: dict[str, Any] = {}

    def add(self, sku: str, quantity: int = 1) -> None:
        added = self.client.post("/api/v1/cart/lines", json={"sku": sku, "quantity": quantity},
                                 headers=self.auth)  # fmt: skip
        assert added.status_code == 201

    def say(self, intent: str, slots: dict[str, str | None] | None = None) -> dict[str, Any]:
        body = alexa.intent(intent, slots, access_token=self.token, attributes=self.attributes)
        reply = self.client.post("/alexa", json=body)
        assert reply.status_code == 200
        data: dict[str, Any] = reply.get_json()
        self.attributes = alexa.attributes(data)
        return data

    def orders(self) -> list[dict[str, Any]]:
        return list(self.client.get("/api/v1/orders", headers=self.auth).get_json()["orders"])

    def set_code(self, code: str = "0472") -> None:
        reply = self.client.put("/api/v1/account/voice-code", json={"code": code},
                                headers=self.auth)  # fmt: skip
        assert reply.status_code == 200
