"""Turns that change nothing write nothing: no claim, no commit, no write lock.

A launch, help, reading the cart, an order's status, a price and the offers that wait
for a yes only read (``skill.once.reads_only``); a retried one simply reads again.
Every test runs on SQLite and on PostgreSQL (see conftest's ``database_url``).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import alexa
import pytest
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope, Response
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from account_link.claims import Claim
from account_link.identity import demo_shopper
from app import wiring
from skill import handlers, once, prompts
from skill.scope import is_write
from skill.turn import turn_of
from voicecart.settings import Settings

WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE)\b", re.IGNORECASE)


@dataclass
class Traffic:
    """What one app's engine sent while watched."""

    statements: list[str] = field(default_factory=list)
    commits: int = 0

    @property
    def writes(self) -> list[str]:
        return [s for s in self.statements if WRITE.match(s)]


@contextmanager
def watched(engine: Engine) -> Iterator[Traffic]:
    traffic = Traffic()

    def sent(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        traffic.statements.append(statement)

    def committed(_conn: Any) -> None:
        traffic.commits += 1

    event.listen(engine, "before_cursor_execute", sent)
    event.listen(engine, "commit", committed)
    try:
        yield traffic
    finally:
        event.remove(engine, "before_cursor_execute", sent)
        event.remove(engine, "commit", committed)


def _claims(sessions: sessionmaker[Session]) -> int:
    with sessions() as db:
        return int(db.scalar(select(func.count()).select_from(Claim)) or 0)


def _say(client: FlaskClient, envelope: dict[str, Any]) -> dict[str, Any]:
    reply = client.post("/alexa", json=envelope)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    payload: dict[str, Any] = reply.get_json()
    return payload


def _parsed(envelope: dict[str, Any]) -> RequestEnvelope:
    parsed: RequestEnvelope = DefaultSerializer().deserialize(json.dumps(envelope), RequestEnvelope)
    return parsed


def _offer(client: FlaskClient, intent: str, **slots: str) -> dict[str, Any]:
    """The attributes of an offer waiting for its answer."""
    return alexa.attributes(_say(client, alexa.intent(intent, slots)))


READS: dict[str, Callable[[FlaskClient], dict[str, Any]]] = {
    "LaunchRequest": lambda c: alexa.launch(),
    "SessionEndedRequest": lambda c: alexa.session_ended(),
    "AMAZON.HelpIntent": lambda c: alexa.intent("AMAZON.HelpIntent"),
    "ReadCartIntent": lambda c: alexa.intent("ReadCartIntent"),
    "OrderStatusIntent": lambda c: alexa.intent("OrderStatusIntent"),
    "LastOrderIntent": lambda c: alexa.intent("LastOrderIntent"),
    "PriceIntent": lambda c: alexa.intent("PriceIntent", {"item": "oat milk"}),
    "ReorderIntent": lambda c: alexa.intent("ReorderIntent", {"item": "paper towels"}),
    "ReorderLastOrderIntent": lambda c: alexa.intent("ReorderLastOrderIntent"),
    "CheckoutIntent": lambda c: alexa.intent("CheckoutIntent"),
    "EmptyCartIntent": lambda c: alexa.intent("EmptyCartIntent"),
    "CancelOrderIntent": lambda c: alexa.intent("CancelOrderIntent"),
    "ReturnItemIntent": lambda c: alexa.intent("ReturnItemIntent", {"item": "eggs"}),
    "AMAZON.FallbackIntent": lambda c: alexa.intent("AMAZON.FallbackIntent"),
    "AMAZON.NoIntent": lambda c: alexa.intent(
        "AMAZON.NoIntent", attributes=_offer(c, "ReorderIntent", item="coffee")
    ),
    "AMAZON.StopIntent": lambda c: alexa.intent(
        "AMAZON.StopIntent", attributes=_offer(c, "ReorderIntent", item="coffee")
    ),
    "AMAZON.CancelIntent": lambda c: alexa.intent("AMAZON.CancelIntent"),
    "AMAZON.NavigateHomeIntent": lambda c: alexa.intent("AMAZON.NavigateHomeIntent"),
}
"""Every request :func:`skill.once.reads_only` lets through without a claim."""


def test_the_read_only_list_is_exactly_the_requests_tried_here() -> None:
    """A request added to the list must be added here too, and so proven to write nothing."""
    assert set(READS) == once.READ_ONLY_INTENTS | once.READ_ONLY_REQUESTS


@pytest.mark.parametrize("name", list(READS))
def test_a_read_only_turn_writes_nothing_and_commits_nothing(
    app: Flask, client: FlaskClient, sessions: sessionmaker[Session], name: str
) -> None:
    _say(client, alexa.intent("AddToCartIntent", {"item": "bananas", "quantity": "2"}))
    envelope = READS[name](client)
    assert once.reads_only(_parsed(envelope))
    claims_before = _claims(sessions)
    with watched(wiring(app).engine) as traffic:
        reply = _say(client, envelope)
    assert prompts.SOMETHING_WENT_WRONG not in alexa.speech(reply)
    assert traffic.writes == [], traffic.statements
    assert traffic.commits == 0
    assert not any(is_write(s) for s in traffic.statements), traffic.statements
    assert _claims(sessions) == claims_before


@pytest.mark.parametrize(
    ("intent", "slots"),
    [
        ("AddToCartIntent", {"item": "bananas"}),
        ("RemoveFromCartIntent", {"item": "bananas"}),
        ("ChangeQuantityIntent", {"item": "bananas", "quantity": "3"}),
        ("ChooseProductIntent", {"item": "the second one"}),
        ("AMAZON.YesIntent", {}),
        ("VoiceCodeIntent", {"code": "1234"}),
        ("SomeIntentNobodyListed", {}),
    ],
)
def test_requests_that_may_write_are_not_read_only(intent: str, slots: dict[str, str]) -> None:
    assert not once.reads_only(_parsed(alexa.intent(intent, slots)))


def test_a_writing_turn_still_claims_commits_and_replays(
    app: Flask, client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    add = alexa.intent("AddToCartIntent", {"item": "bananas", "quantity": "2"})
    claims_before = _claims(sessions)
    with watched(wiring(app).engine) as traffic:
        first = alexa.speech(_say(client, add))
    assert first.startswith("Added 2 Sunny Acres Bananas")
    assert any(s.lstrip().upper().startswith("INSERT INTO CLAIMS") for s in traffic.writes)
    assert traffic.commits == 1
    assert _claims(sessions) == claims_before + 1
    assert alexa.speech(_say(client, add)) == first  # the retry is replayed, not re-added
    cart = alexa.speech(_say(client, alexa.intent("ReadCartIntent")))
    assert "You have 2 items in your cart" in cart


def test_a_retried_read_reads_again(client: FlaskClient, sessions: sessionmaker[Session]) -> None:
    """No answer is stored for a read: the same requestId sent again says what is now true."""
    read = alexa.intent("ReadCartIntent")
    assert prompts.CART_EMPTY in alexa.speech(_say(client, read))
    _say(client, alexa.intent("AddToCartIntent", {"item": "bananas", "quantity": "2"}))
    claims = _claims(sessions)
    again = alexa.speech(_say(client, read))  # Alexa's retry: the very same envelope
    assert "You have 2 items in your cart" in again
    assert _claims(sessions) == claims


@contextmanager
def another_writer(settings: Settings) -> Iterator[None]:
    """Another process in the middle of a write: on SQLite it holds the database's write
    lock (``BEGIN IMMEDIATE``); on PostgreSQL it locks the claims table against writes."""
    if settings.is_sqlite:
        path = settings.database_url.split("///", 1)[1]
        holder = sqlite3.connect(path, isolation_level=None, timeout=1)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    engine = create_engine(settings.database_url)
    with engine.connect() as connection:
        connection.exec_driver_sql("LOCK TABLE claims IN SHARE ROW EXCLUSIVE MODE")
        try:
            yield
        finally:
            connection.rollback()
    engine.dispose()


BLOCKED_BEFORE = ["LaunchRequest", "AMAZON.HelpIntent", "ReadCartIntent", "OrderStatusIntent",
                  "PriceIntent"]  # fmt: skip


@pytest.mark.parametrize("name", BLOCKED_BEFORE)
def test_a_read_only_turn_is_not_blocked_by_a_writer(
    client: FlaskClient, settings: Settings, name: str
) -> None:
    """Before, the claim waited out the lock timeout (5 s) and the shopper heard "I can't
    reach your cart"; a read now answers at once beside a writer."""
    _say(client, alexa.intent("AddToCartIntent", {"item": "bananas", "quantity": "2"}))
    envelope = READS[name](client)
    with another_writer(settings):
        started = time.monotonic()
        said = alexa.speech(_say(client, envelope))
        took = time.monotonic() - started
    assert prompts.DATA_UNAVAILABLE not in said
    assert took < settings.db_lock_timeout / 2, f"{name} waited {took:.1f} s for the writer"
    if name == "ReadCartIntent":
        assert "You have 2 items in your cart" in said


def test_the_writer_in_these_tests_really_blocks_writes(
    make_app: Callable[..., Flask], settings: Settings
) -> None:
    """The control for the test above: a turn that writes does wait for that writer."""
    client = make_app(db_lock_timeout=1).test_client()
    with another_writer(settings):
        said = alexa.speech(_say(client, alexa.intent("AddToCartIntent", {"item": "bananas"})))
    assert said == prompts.DATA_UNAVAILABLE


def test_a_read_only_turn_that_writes_after_all_is_claimed_once(
    client: FlaskClient, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listed as read-only by mistake, an add still commits, and its retries, concurrent
    or late, replay the first answer instead of adding again (claimed after the fact)."""
    monkeypatch.setattr(once, "READ_ONLY_INTENTS", once.READ_ONLY_INTENTS | {"AddToCartIntent"})
    add = alexa.intent("AddToCartIntent", {"item": "bananas", "quantity": "2"})
    app, said, lock = client.application, [], threading.Lock()

    def send() -> None:
        reply = app.test_client().post("/alexa", json=add)
        assert reply.status_code == 200, reply.get_data(as_text=True)
        with lock:
            said.append(alexa.speech(reply.get_json()))

    claims_before = _claims(sessions)
    workers = [threading.Thread(target=send) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    send()
    assert len(said) == 7
    assert set(said) == {said[0]}, said
    assert said[0].startswith("Added 2 Sunny Acres Bananas")
    assert _claims(sessions) == claims_before + 1
    cart = alexa.speech(_say(client, alexa.intent("ReadCartIntent")))
    assert "You have 2 items in your cart" in cart


def test_a_change_left_unflushed_by_a_read_only_turn_is_claimed_and_committed(
    client: FlaskClient, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handler that changes an object and never flushes it still writes: the change is
    sent, claimed and committed, not rolled back with the read."""
    help_handle = handlers.HelpIntentHandler.handle

    def renaming(self: handlers.HelpIntentHandler, handler_input: HandlerInput) -> Response:
        turn_of(handler_input).require_customer().name = "Renamed In Help"
        return help_handle(self, handler_input)

    monkeypatch.setattr(handlers.HelpIntentHandler, "handle", renaming)
    claims_before = _claims(sessions)
    help_request = alexa.intent("AMAZON.HelpIntent")
    assert alexa.speech(_say(client, help_request)).startswith("With Voice Cart you can say")
    assert _claims(sessions) == claims_before + 1
    with sessions() as db:
        shopper = demo_shopper(db)
        assert shopper is not None
        assert shopper.name == "Renamed In Help"
    # its retry replays the first answer (or, renaming to the same name, writes nothing)
    assert alexa.speech(_say(client, help_request)).startswith("With Voice Cart")
    assert _claims(sessions) == claims_before + 1


@pytest.mark.parametrize(
    ("statement", "writes"),
    [
        ("SELECT carts.id FROM carts", False),
        ("  select 1", False),
        ("PRAGMA busy_timeout", False),
        ("SELECT carts.id FROM carts WHERE carts.id = ? FOR UPDATE", True),
        ("INSERT INTO claims (key) VALUES (?)", True),
        ("UPDATE carts SET id=id", True),
        ("DELETE FROM claims", True),
        ("SAVEPOINT sa_savepoint_1", True),
        ("WITH x AS (SELECT 1) DELETE FROM claims", True),
    ],
)
def test_what_counts_as_a_write(statement: str, writes: bool) -> None:
    assert is_write(statement) is writes
