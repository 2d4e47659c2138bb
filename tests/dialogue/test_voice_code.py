"""The voice code: set hashed on the web API, asked after the yes on Alexa, wrong codes
counted and locking, the amount above which a code is required, never logged."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import alexa
import pytest
from flask import Flask
from flask.testing import FlaskClient
from oauthflow import Shopper
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from account_link.errors import InvalidVoiceCode, VoiceCodeNotSet, VoicePurchasingLocked
from account_link.models import Customer, OutboxMessage
from account_link.voice_codes import (
    CodeOutcome,
    VoiceCodePolicy,
    check_code,
    code_required,
    set_voice_code,
)
from catalog.db import utcnow


def asked_for_code(client: FlaskClient, email: str) -> Shopper:
    """A shopper with code 0472 and one item in the cart who checked out, said yes and
    is now being asked for the code."""
    shopper = Shopper(client, email)
    shopper.add("VC-10001")
    shopper.set_code()
    shopper.say("CheckoutIntent")
    assert "voice code" in alexa.speech(shopper.say("AMAZON.YesIntent"))
    return shopper


def test_the_code_is_set_on_the_web_api_hashed_and_never_shown(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    shopper = Shopper(client, "code@example.com")
    for bad in ({"code": "12a4"}, {"code": "123"}, {"code": 1234}, {"code": "12345"}, {}):
        refused = client.put("/api/v1/account/voice-code", json=bad, headers=shopper.auth)
        assert refused.status_code == 400, bad
        assert refused.get_json()["error"] == "bad_voice_code"
    assert client.put("/api/v1/account/voice-code", data="{", headers=shopper.auth,
                      content_type="application/json").status_code == 400  # fmt: skip
    set_ = client.put("/api/v1/account/voice-code", json={"code": "0472"}, headers=shopper.auth)
    assert set_.status_code == 200
    assert set_.get_json()["voiceCode"] is True
    assert "0472" not in set_.get_data(as_text=True)
    with sessions() as db:
        stored = db.scalars(select(Customer.voice_code_hash)
                            .where(Customer.email == "code@example.com")).one()  # fmt: skip
        assert stored is not None and stored.startswith("$argon2id$") and "0472" not in stored
    assert client.get("/api/v1/account", headers=shopper.auth).get_json()["voiceCode"] is True
    cleared = client.delete("/api/v1/account/voice-code", headers=shopper.auth)
    assert cleared.get_json()["voiceCode"] is False
    assert client.put("/api/v1/account/voice-code", json={"code": "1234"}).status_code == 401


def test_checkout_on_alexa_asks_for_the_code_and_places_once_right(client: FlaskClient) -> None:
    shopper = Shopper(client, "alexa-code@example.com")
    shopper.add("VC-10001", 2)
    shopper.set_code()
    assert "Should I place the order?" in alexa.speech(shopper.say("CheckoutIntent"))
    asked = shopper.say("AMAZON.YesIntent")
    assert alexa.speech(asked) == "Please say your four-digit voice code."
    directive = asked["response"]["directives"][0]
    assert directive["type"] == "Dialog.ElicitSlot"
    assert directive["slotToElicit"] == "code"
    assert directive["updatedIntent"]["name"] == "VoiceCodeIntent"
    assert shopper.orders() == []
    # Alexa sends "?" for a FOUR_DIGIT_NUMBER it could not read: asked again, not counted
    again = shopper.say("VoiceCodeIntent", {"code": "?"})
    assert alexa.speech(again).startswith("A voice code has four digits.")
    wrong = shopper.say("VoiceCodeIntent", {"code": "1111"})
    assert "You have 2 more tries." in alexa.speech(wrong)
    placed = shopper.say("VoiceCodeIntent", {"code": "0472"})
    assert alexa.speech(placed).startswith("Done. Order number")
    assert placed["response"]["card"]["type"] == "Simple"
    assert len(shopper.orders()) == 1


def test_three_wrong_codes_lock_voice_purchasing_but_not_the_web(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    shopper = asked_for_code(client, "locked@example.com")
    shopper.say("VoiceCodeIntent", {"code": "1111"})
    shopper.say("VoiceCodeIntent", {"code": "2222"})
    locked = shopper.say("VoiceCodeIntent", {"code": "3333"})
    assert "locked purchasing by voice for 15 minutes" in alexa.speech(locked)
    account = client.get("/api/v1/account", headers=shopper.auth).get_json()
    assert account["voicePurchasingLockedUntil"] is not None
    # the lock holds on a fresh offer, and the owner hears of it by e-mail (the outbox)
    refused = shopper.say("CheckoutIntent")
    assert alexa.speech(refused).startswith("Purchasing by voice is locked for another 15 minutes")
    assert shopper.orders() == []
    with sessions() as db:
        notices = (select(OutboxMessage).join(Customer)
                   .where(OutboxMessage.kind == "voice_code_locked",
                          Customer.email == "locked@example.com"))  # fmt: skip
        notice = db.scalars(notices).one()
        assert "wrong voice code 3 times" in notice.body and "0472" not in notice.body
    # the owner can still check out on the web, where they signed in
    assert client.post("/api/v1/checkout", headers=shopper.auth).status_code == 201
    # and the lock ends on its own
    with sessions.begin() as db:
        customer = db.scalars(select(Customer).where(Customer.email == "locked@example.com")).one()
        customer.voice_code_locked_until = utcnow() - timedelta(seconds=1)
    shopper.add("VC-10001")
    shopper.say("CheckoutIntent")
    shopper.say("AMAZON.YesIntent")
    assert alexa.speech(shopper.say("VoiceCodeIntent", {"code": "0472"})).startswith("Done.")


@pytest.fixture
def threshold_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(voice_code_above_cents=500, voice_code_attempts=2, voice_code_lock_minutes=60)


def test_orders_above_the_configured_amount_need_a_code(threshold_app: Flask) -> None:
    client = threshold_app.test_client()
    shopper = Shopper(client, "big@example.com")
    shopper.add("VC-10001")  # $1.29: under the $5.00 line, no code set, no code asked
    shopper.say("CheckoutIntent")
    assert alexa.speech(shopper.say("AMAZON.YesIntent")).startswith("Done.")
    shopper.add("VC-10001", 5)  # $6.45: over the line, and no code set
    refused = shopper.say("CheckoutIntent")
    assert alexa.speech(refused).startswith(
        "Orders over $5.00 need a voice code, and you haven't set one yet."
    )
    shopper.set_code("8080")
    shopper.say("CheckoutIntent")
    assert alexa.speech(shopper.say("AMAZON.YesIntent")).startswith("Please say your")
    shopper.say("VoiceCodeIntent", {"code": "1234"})
    locked = alexa.speech(shopper.say("VoiceCodeIntent", {"code": "4321"}))
    assert "That's 2 wrong voice codes, so I've locked purchasing by voice for 1 hour" in locked
    assert len(shopper.orders()) == 1


def test_the_code_is_never_logged(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    shopper = asked_for_code(client, "quiet@example.com")
    with caplog.at_level(logging.DEBUG):
        shopper.say("VoiceCodeIntent", {"code": "9517"})
        shopper.say("VoiceCodeIntent", {"code": "0472"})
    assert "slots={'code': '****'}" in caplog.text
    assert "9517" not in caplog.text and "0472" not in caplog.text


def test_a_misheard_code_is_not_logged_either(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A code heard as words lands in another intent's slot: masked while a code is asked."""
    shopper = asked_for_code(client, "misheard@example.com")
    with caplog.at_level(logging.DEBUG):
        again = shopper.say("ChooseProductIntent", {"item": "oh for seven to"})
    assert "I need your four-digit voice code" in alexa.speech(again)
    assert "slots={'item': '****'}" in caplog.text
    assert "seven" not in caplog.text


def test_a_forged_pending_kind_places_nothing(client: FlaskClient) -> None:
    """Session attributes come from the client: an unknown kind is nothing to confirm."""
    shopper = Shopper(client, "forged@example.com")
    shopper.set_code()
    forged = {"pending": {"kind": "Reorder", "items": [[1, 1]], "totalCents": 129}}
    body = alexa.intent("AMAZON.YesIntent", access_token=shopper.token, attributes=forged)
    reply = client.post("/alexa", json=body).get_json()
    assert alexa.speech(reply).startswith("There's nothing waiting for a yes")
    assert shopper.orders() == []


def test_the_service_rules(sessions: sessionmaker[Session]) -> None:
    policy = VoiceCodePolicy(required_above_cents=1000, max_attempts=3, lock_minutes=10)
    with sessions.begin() as db:
        customer = Customer(email="rules@example.com", name="Rules")
        db.add(customer)
        db.flush()
        assert code_required(customer, 1000, policy) is False  # not above the line
        with pytest.raises(VoiceCodeNotSet):
            code_required(customer, 1001, policy)
        with pytest.raises(InvalidVoiceCode):
            set_voice_code(db, customer, "\uff11\uff12\uff13\uff14")  # full-width: not ASCII
        set_voice_code(db, customer, "2468")
        assert code_required(customer, 1, policy) is True
        now = utcnow()
        outcomes = [check_code(db, customer.id, c, policy, now=now).outcome
                    for c in ("12", "0000", "2468", "0000", "1111")]  # fmt: skip
        # a right code resets the count: two more wrong ones do not lock yet
        assert outcomes == [CodeOutcome.MALFORMED, CodeOutcome.WRONG, CodeOutcome.ACCEPTED,
                            CodeOutcome.WRONG, CodeOutcome.WRONG]  # fmt: skip
        third = check_code(db, customer.id, "2222", policy, now=now)
        assert third.outcome is CodeOutcome.LOCKED
        assert third.locked_until == now + timedelta(minutes=10)
        with pytest.raises(VoicePurchasingLocked):
            check_code(db, customer.id, "2468", policy, now=now + timedelta(minutes=9))
        later = check_code(db, customer.id, "2468", policy, now=now + timedelta(minutes=11))
        assert later.outcome is CodeOutcome.ACCEPTED
        # wrong codes more than a day apart do not add up to a lock
        for days in (0, 2, 4):
            when = now + timedelta(minutes=11, days=days)
            spaced = check_code(db, customer.id, "0000", policy, now=when)
            assert (spaced.outcome, spaced.attempts_left) == (CodeOutcome.WRONG, 2)


def test_a_retried_wrong_code_request_counts_once(client: FlaskClient) -> None:
    """Alexa resends a request it got no answer to: the same requestId must not count twice."""
    shopper = asked_for_code(client, "retry-code@example.com")
    body = alexa.intent("VoiceCodeIntent", {"code": "1111"}, access_token=shopper.token,
                        attributes=shopper.attributes)  # fmt: skip
    replies = [alexa.speech(client.post("/alexa", json=body).get_json()) for _ in range(3)]
    assert all("You have 2 more tries." in r for r in replies)


def test_no_order_is_written_while_the_code_is_asked(client: FlaskClient) -> None:
    shopper = asked_for_code(client, "pending@example.com")
    for _ in range(3):  # "yes", "yes", "yes": each asks for the code again
        assert "voice code" in alexa.speech(shopper.say("AMAZON.YesIntent"))
    assert shopper.orders() == []
    cart = client.get("/api/v1/cart", headers=shopper.auth).get_json()
    assert [(ln["sku"], ln["quantity"]) for ln in cart["lines"]] == [("VC-10001", 1)]


def test_concurrent_wrong_codes_all_count(sessions: sessionmaker[Session]) -> None:
    """Six wrong guesses at once (as from several workers): the third locks, none is lost."""
    policy = VoiceCodePolicy(max_attempts=3, lock_minutes=10)
    with sessions.begin() as db:
        customer = Customer(email="race-code@example.com", name="Race")
        db.add(customer)
        db.flush()
        set_voice_code(db, customer, "2468")
        customer_id = customer.id
    start = threading.Barrier(6)

    def guess(code: str) -> str:
        start.wait()
        try:
            with sessions.begin() as db:
                return check_code(db, customer_id, code, policy).outcome.value
        except VoicePurchasingLocked:
            return "already locked"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = sorted(pool.map(guess, [f"{n}{n}{n}{n}" for n in range(1, 7)]))
    assert outcomes == ["already locked"] * 3 + ["locked"] + ["wrong"] * 2
