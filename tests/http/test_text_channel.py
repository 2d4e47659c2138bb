"""POST /api/v1/text: typed words through the parser into the same skill, session kept."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from oauthflow import linked_token
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from account_link.models import Order
from app import wiring
from catalog.models import Product
from skill import prompts
from skill.local_session import LocalSession


@pytest.fixture
def token(client: FlaskClient) -> str:
    return linked_token(client, "text@example.com")


def _say(client: FlaskClient, token: str, text: str, session_id: str | None = None) -> Any:
    body: dict[str, Any] = {"text": text}
    if session_id:
        body["sessionId"] = session_id
    reply = client.post("/api/v1/text", json=body, headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.get_json()


def test_reorder_then_yes_across_two_requests(
    client: FlaskClient, token: str, session: Session
) -> None:
    offer = _say(client, token, "Alexa, reorder some dish soap please")
    assert offer["intent"] == "ReorderIntent"
    assert offer["slots"] == {"item": "some dish soap"}
    assert offer["matchedProduct"]["name"] == "Brightwash Dish Soap Original"
    assert offer["speech"].endswith("Should I order it?")
    assert offer["reprompt"] == prompts.CONFIRM_REPROMPT
    assert offer["newSession"] is True
    before = session.scalar(select(func.count(Order.id)))
    placed = _say(client, token, "yes", offer["sessionId"])
    assert placed["intent"] == "AMAZON.YesIntent"
    assert placed["newSession"] is False
    assert "is placed" in placed["speech"]
    assert placed["shouldEndSession"] is True
    session.expire_all()
    assert session.scalar(select(func.count(Order.id))) == (before or 0) + 1


def test_choice_answered_in_the_next_request(client: FlaskClient, token: str) -> None:
    asked = _say(client, token, "add water to my cart")
    assert asked["speech"].startswith("Which spring water: the Clearbrook")
    picked = _say(client, token, "the second one", asked["sessionId"])
    assert picked["intent"] == "ChooseProductIntent"
    assert picked["slots"] == {"ordinal": "2"}
    assert picked["speech"].startswith("Added 1 Voicecart Basics Spring Water")


def test_numbers_as_words_and_fallback(client: FlaskClient, token: str) -> None:
    added = _say(client, token, "add twenty four eggs to my cart")
    assert added["slots"] == {"quantity": "24", "item": "eggs"}
    assert "limit is 25" not in added["speech"]
    odd = _say(client, token, "sing me a song about the sea")
    assert odd["intent"] == "AMAZON.FallbackIntent"
    assert "can't help with that" in odd["speech"]


def test_unknown_session_id_starts_a_new_one_and_says_so(client: FlaskClient, token: str) -> None:
    reply = _say(client, token, "what's in my cart", "no-such-session")
    assert reply["newSession"] is True
    assert reply["sessionId"] != "no-such-session"
    assert "unknown sessionId" in reply["note"]


@pytest.mark.parametrize(
    ("headers", "body", "status", "error"),
    [
        ({}, {"text": "hi"}, 401, "unauthorized"),
        ({"Authorization": "Bearer nope"}, {"text": "hi"}, 401, "invalid_token"),
        (None, "not json", 400, "malformed_json"),
        (None, {"text": "   "}, 400, "missing_text"),
        (None, {"text": "x" * 600}, 413, "text_too_long"),
        (None, {"text": "hi", "sessionId": 7}, 400, "malformed_json"),
    ],
)
def test_bad_text_requests(
    client: FlaskClient, token: str, headers: dict[str, str] | None, body: Any, status: int,
    error: str,
) -> None:  # fmt: skip
    sent = headers if headers is not None else {"Authorization": f"Bearer {token}"}
    if isinstance(body, str):
        reply = client.post(
            "/api/v1/text", data=body, headers={**sent, "Content-Type": "application/json"}
        )
    else:
        reply = client.post("/api/v1/text", json=body, headers=sent)
    assert reply.status_code == status
    assert reply.get_json()["error"] == error


def test_failed_turn_rolls_back_but_drops_the_pending_order(
    client: FlaskClient, token: str, sessions: sessionmaker[Session]
) -> None:
    offer = _say(client, token, "reorder dish soap")
    with sessions.begin() as db:  # sold out between the offer and the yes
        db.execute(update(Product).where(Product.name == "Dish Soap Original").values(stock=0))
    refused = _say(client, token, "yes", offer["sessionId"])
    assert "out of stock" in refused["speech"]
    again = _say(client, token, "yes", offer["sessionId"])
    assert "nothing waiting for a yes" in again["speech"]


def _request(client: FlaskClient, token: str, body: Any, query: str = "") -> Any:
    return client.post(f"/api/v1/request{query}", json=body,
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip


def test_launch_intent_and_end_requests(client: FlaskClient, token: str) -> None:
    launched = _request(client, token, {"type": "LaunchRequest"}).get_json()
    assert launched["speech"].startswith("Welcome to Voice Cart")
    session_id = launched["sessionId"]
    added = _request(client, token, {"type": "IntentRequest", "intent": "AddToCartIntent",
                                     "slots": {"item": "bananas", "quantity": "2"},
                                     "sessionId": session_id}, "?trace=1").get_json()  # fmt: skip
    assert added["speech"].startswith("Added 2 Sunny Acres Bananas")
    assert added["sessionId"] == session_id
    sent = added["alexa"]["request"]
    assert sent["request"]["intent"]["slots"]["item"]["value"] == "bananas"
    assert sent["session"]["user"]["accessToken"] == "<redacted>"
    ended = _request(client, token, {"type": "SessionEndedRequest", "sessionId": session_id})
    assert ended.get_json()["shouldEndSession"] is True
    again = _say(client, token, "what's in my cart", session_id)
    assert again["newSession"] is True
    assert again["note"] == "unknown sessionId: a new session was started"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ([], "malformed_json"),
        ({"type": "PlayRequest"}, "unknown_request_type"),
        ({"type": "IntentRequest"}, "missing_intent"),
        ({"type": "IntentRequest", "intent": "X", "slots": {"a": 1}}, "malformed_json"),
        ({"type": "LaunchRequest", "sessionId": 5}, "malformed_json"),
        ({"type": "IntentRequest", "intent": "SessionEndedRequest"}, "missing_intent"),
        ({"type": "IntentRequest", "intent": "Add To Cart"}, "missing_intent"),
    ],
)
def test_bad_requests_are_named_400s(
    client: FlaskClient, token: str, body: Any, error: str
) -> None:
    reply = _request(client, token, body)
    assert reply.status_code == 400
    assert reply.get_json()["error"] == error


def test_huge_slot_values_are_refused(client: FlaskClient, token: str) -> None:
    body = {"type": "IntentRequest", "intent": "AddToCartIntent", "slots": {"item": "x" * 600}}
    reply = _request(client, token, body)
    assert reply.status_code == 413
    assert reply.get_json()["error"] == "text_too_long"


@dataclass
class _TurnCost:
    """What one local turn asked of the database and the catalogue."""

    token_checks: int = 0
    transactions: int = 0
    matched: list[str] = field(default_factory=list)


@contextmanager
def _costed(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[_TurnCost]:
    cost, built = _TurnCost(), wiring(app)
    match_item = built.matcher.match_item

    def counted(session: Session, words: str, *, prior: Any = None) -> Any:
        cost.matched.append(words)
        return match_item(session, words, prior=prior)

    def sent(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        cost.token_checks += "FROM oauth_tokens" in statement

    def began(_conn: Any) -> None:
        cost.transactions += threading.current_thread() is caller  # not the index builder

    caller = threading.current_thread()
    built.matcher.wait_for_build()
    monkeypatch.setattr(built.matcher, "match_item", counted)
    event.listen(built.engine, "before_cursor_execute", sent)
    event.listen(built.engine, "begin", began)
    try:
        yield cost
    finally:
        event.remove(built.engine, "before_cursor_execute", sent)
        event.remove(built.engine, "begin", began)


def test_a_turn_checks_the_token_once_in_one_transaction_and_matches_once(
    app: Flask, client: FlaskClient, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: three token checks (the API, the channel, the skill), two transactions
    (three after a failed turn) and the product words matched three times."""
    first = _say(client, token, "what's in my cart")  # the parser is ready, the session kept
    with _costed(app, monkeypatch) as cost:
        added = _say(client, token, "add two bananas to my cart", first["sessionId"])
    assert added["speech"].startswith("Added 2 Sunny Acres Bananas")
    assert (cost.token_checks, cost.transactions) == (1, 1)
    assert cost.matched and len(cost.matched) == len(set(cost.matched)), cost.matched
    with _costed(app, monkeypatch) as cost:
        request = {"type": "IntentRequest", "intent": "PriceIntent", "slots": {"item": "limes"},
                   "sessionId": first["sessionId"]}  # fmt: skip
        priced = _request(client, token, request).get_json()
    assert "limes" in priced["speech"].lower()
    assert (cost.token_checks, cost.transactions, cost.matched) == (1, 1, ["limes"])


def test_a_new_session_is_written_with_its_first_turn_only(
    client: FlaskClient, token: str, sessions: sessionmaker[Session]
) -> None:
    """A turn's session row is written at its end, in its transaction; a session that
    ends on its first turn is never written at all."""
    with sessions() as db:
        before = db.scalar(select(func.count()).select_from(LocalSession))
    ended = _request(client, token, {"type": "SessionEndedRequest"}).get_json()
    assert ended["shouldEndSession"] is True
    launched = _request(client, token, {"type": "LaunchRequest"}).get_json()
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(LocalSession)) == (before or 0) + 1
        assert db.get(LocalSession, launched["sessionId"]) is not None


def test_an_invalid_token_is_refused_before_anything_is_read_or_written(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _costed(app, monkeypatch) as cost:
        reply = client.post("/api/v1/text", json={"text": "add bananas"},
                            headers={"Authorization": "Bearer not-a-token"})  # fmt: skip
    assert reply.status_code == 401
    assert reply.get_json()["error"] == "invalid_token"
    assert (cost.token_checks, cost.transactions, cost.matched) == (1, 1, [])
