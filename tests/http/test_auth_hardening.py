"""Regression tests for the second security review: OAuth grant families, refresh token
lifetimes, redirect URIs, server-side web sessions, form input and voice code lock-outs.

Each test was written first and seen failing before its fix.
"""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any

import alexa
import pytest
from flask.testing import FlaskClient
from oauthflow import (
    Shopper,
    allow_again,
    authorize_path,
    csrf_token,
    exchange,
    session_cookie,
    sign_in_form,
    sign_up_and_allow,
    with_cookie,
)
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from testkit import OAUTH_REDIRECT

from account_link.accounts import sign_up
from account_link.errors import InvalidSignUp
from account_link.models import Customer, OAuthCode, OAuthToken, OutboxMessage
from account_link.oauth import OAuthSettings, refresh_token_expired
from account_link.voice_codes import CodeOutcome, VoiceCodePolicy, check_code, set_voice_code
from app import create_app, wiring
from catalog.db import utcnow
from voicecart.settings import Settings

LAYLA = "https://layla.amazon.com/api/skill/link/M2TESTVENDOR"
PASSWORD = "correct horse battery"


def _redeem(client: FlaskClient, code: str, redirect_uri: str | None = OAUTH_REDIRECT) -> Any:
    form = {"grant_type": "authorization_code", "code": code}
    if redirect_uri is not None:
        form["redirect_uri"] = redirect_uri
    return exchange(client, form)


def _refresh(client: FlaskClient, refresh_token: str) -> Any:
    return exchange(client, {"grant_type": "refresh_token", "refresh_token": refresh_token})


def _tokens(reply: Any) -> dict[str, str]:
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return {k: str(v) for k, v in reply.get_json().items()}


def _api(client: FlaskClient, access_token: str) -> int:
    reply = client.get("/api/v1/cart", headers={"Authorization": f"Bearer {access_token}"})
    return int(reply.status_code)


def _invalid_grant(reply: Any) -> bool:
    return bool(reply.status_code == 400 and reply.get_json()["error"] == "invalid_grant")


# ---------------------------------------------------------------- 1. authorization code reuse


def test_a_reused_code_revokes_every_token_issued_from_it(client: FlaskClient) -> None:
    """RFC 6749 4.1.2: a second use of a code revokes the tokens it issued, and the
    tokens those rotated into."""
    linked = sign_up_and_allow(client, email="code-reuse@example.com")
    first = _tokens(_redeem(client, linked.code))
    rotated = _tokens(_refresh(client, first["refresh_token"]))
    assert _api(client, rotated["access_token"]) == 200
    again = _redeem(client, linked.code)
    assert _invalid_grant(again)
    assert _api(client, rotated["access_token"]) == 401
    assert _invalid_grant(_refresh(client, rotated["refresh_token"]))


def test_a_reused_code_revokes_only_its_own_grant(client: FlaskClient) -> None:
    linked = sign_up_and_allow(client, email="two-grants@example.com")
    first = _tokens(_redeem(client, linked.code))
    other = _tokens(_redeem(client, allow_again(client)))  # the same shopper links again
    assert _invalid_grant(_redeem(client, linked.code))
    assert _api(client, first["access_token"]) == 401
    assert _api(client, other["access_token"]) == 200
    assert _refresh(client, other["refresh_token"]).status_code == 200


def test_a_spent_code_is_kept_hashed_and_marked_used(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    linked = sign_up_and_allow(client, email="spent@example.com")
    token = _tokens(_redeem(client, linked.code))
    with sessions() as db:
        code = db.scalars(select(OAuthCode)).one()
        assert code.code_hash != linked.code and code.used_at is not None
        row = db.scalars(select(OAuthToken)).one()
        assert row.family_id == code.family_id
        assert token["access_token"] not in (row.access_token_hash, row.refresh_token_hash)


def test_a_concurrent_double_redemption_counts_as_reuse(client: FlaskClient) -> None:
    """Two redemptions at once cannot be told apart from a thief racing Alexa: one
    wins the exchange, and the other's reuse then revokes what the winner got."""
    linked = sign_up_and_allow(client, email="code-race@example.com")
    app = client.application
    replies: list[tuple[int, str]] = []

    def redeem() -> None:
        reply = _redeem(app.test_client(), linked.code)
        replies.append((reply.status_code, str(reply.get_json().get("access_token", ""))))

    workers = [threading.Thread(target=redeem) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert sorted(status for status, _ in replies) == [200, 400, 400, 400]
    winner = next(token for status, token in replies if status == 200)
    assert _api(client, winner) == 401


# ---------------------------------------------------------------- 2. refresh token reuse


def test_a_reused_refresh_token_revokes_the_whole_family(client: FlaskClient) -> None:
    """RFC 9700 4.14.2: the rotated-away token comes back, so someone holds a copy;
    nobody can tell whom, so every token of the grant is revoked."""
    first = _tokens(_redeem(client, sign_up_and_allow(client, email="rt@example.com").code))
    second = _tokens(_refresh(client, first["refresh_token"]))
    third = _tokens(_refresh(client, second["refresh_token"]))
    assert _invalid_grant(_refresh(client, first["refresh_token"]))
    assert _api(client, third["access_token"]) == 401
    assert _invalid_grant(_refresh(client, third["refresh_token"]))


def test_refresh_token_reuse_leaves_other_grants_alone(client: FlaskClient) -> None:
    first = _tokens(_redeem(client, sign_up_and_allow(client, email="rt2@example.com").code))
    other = _tokens(_redeem(client, allow_again(client)))
    _tokens(_refresh(client, first["refresh_token"]))
    assert _invalid_grant(_refresh(client, first["refresh_token"]))
    assert _api(client, other["access_token"]) == 200
    assert _refresh(client, other["refresh_token"]).status_code == 200


def test_a_refresh_race_is_reuse_too(client: FlaskClient) -> None:
    """Six refreshes of one token at once: one rotates, the other five are reuse of a
    spent token, and the family (the winner's new tokens too) is revoked."""
    first = _tokens(_redeem(client, sign_up_and_allow(client, email="rt3@example.com").code))
    app = client.application
    replies: list[tuple[int, str]] = []

    def rotate() -> None:
        reply = _refresh(app.test_client(), first["refresh_token"])
        replies.append((reply.status_code, str(reply.get_json().get("refresh_token", ""))))

    workers = [threading.Thread(target=rotate) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert sorted(status for status, _ in replies) == [200, 400, 400, 400, 400, 400]
    winner = next(token for status, token in replies if status == 200)
    assert _invalid_grant(_refresh(client, winner))


# ---------------------------------------------------------------- 3. refresh token lifetimes


def _age(sessions: sessionmaker[Session], *, issued: timedelta, started: timedelta) -> None:
    """Make every stored token look ``issued`` old, from a grant ``started`` ago."""
    now = utcnow()
    with sessions.begin() as db:
        db.execute(update(OAuthToken).values(issued_at=now - issued,
                                             family_started_at=now - started))  # fmt: skip


def test_a_400_day_old_refresh_token_is_refused(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    first = _tokens(_redeem(client, sign_up_and_allow(client, email="old@example.com").code))
    with sessions.begin() as db:
        db.execute(update(OAuthToken).values(issued_at=utcnow() - timedelta(days=400)))
    assert _invalid_grant(_refresh(client, first["refresh_token"]))


def test_the_absolute_lifetime_counts_from_the_grant_not_the_last_rotation(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    first = _tokens(_redeem(client, sign_up_and_allow(client, email="abs@example.com").code))
    _age(sessions, issued=timedelta(days=29), started=timedelta(days=89))
    second = _tokens(_refresh(client, first["refresh_token"]))  # within both limits
    with sessions() as db:
        newest = db.scalars(select(OAuthToken).order_by(OAuthToken.id.desc())).first()
        assert newest is not None
        assert utcnow() - newest.family_started_at > timedelta(days=88)  # kept, not reset
    _age(sessions, issued=timedelta(days=1), started=timedelta(days=91))
    assert _invalid_grant(_refresh(client, second["refresh_token"]))


def test_an_idle_refresh_token_is_refused(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    first = _tokens(_redeem(client, sign_up_and_allow(client, email="idle@example.com").code))
    _age(sessions, issued=timedelta(days=31), started=timedelta(days=31))
    assert _invalid_grant(_refresh(client, first["refresh_token"]))


def test_refresh_lifetimes_are_configurable() -> None:
    settings = OAuthSettings("alexa-skill", "secret", (OAUTH_REDIRECT,))
    assert (settings.refresh_token_lifetime_days, settings.refresh_token_idle_days) == (90, 30)
    short = replace(settings, refresh_token_lifetime_days=10, refresh_token_idle_days=2)
    now = utcnow()
    row = OAuthToken(issued_at=now - timedelta(days=1), family_started_at=now - timedelta(days=9))
    assert not refresh_token_expired(row, short, now)
    assert refresh_token_expired(row, short, now + timedelta(days=1, seconds=1))  # idle
    row.issued_at = now
    assert refresh_token_expired(row, short, now + timedelta(days=1, seconds=1))  # absolute


# ---------------------------------------------------------------- 4. redirect_uri, token endpoint


def test_no_redirect_uri_in_the_request_means_none_is_needed_at_the_token_endpoint(
    client: FlaskClient,
) -> None:
    """RFC 6749 4.1.3: redirect_uri is required only if the authorization request had one."""
    linked = sign_up_and_allow(client, email="noredirect@example.com", redirect_uri=None)
    assert linked.location.startswith(OAUTH_REDIRECT + "?")  # sent to the registered one
    assert _redeem(client, linked.code, redirect_uri=None).status_code == 200


def test_without_a_redirect_uri_the_code_still_names_where_it_was_sent(
    settings: Settings,
) -> None:
    app = create_app(replace(settings, oauth_redirect_uris=(OAUTH_REDIRECT, LAYLA)))
    client = app.test_client()
    try:
        linked = sign_up_and_allow(client, email="elsewhere@example.com", redirect_uri=None)
        assert _invalid_grant(_redeem(client, linked.code, redirect_uri=LAYLA))
        assert _redeem(client, linked.code, redirect_uri=OAUTH_REDIRECT).status_code == 200
    finally:
        wiring(app).close()


def test_a_named_redirect_uri_must_be_named_again(client: FlaskClient) -> None:
    linked = sign_up_and_allow(client, email="named@example.com")
    assert _invalid_grant(_redeem(client, linked.code, redirect_uri=None))
    assert _redeem(client, linked.code).status_code == 200


# ---------------------------------------------------------------- 5. odd characters in redirect_uri

ODD = {"quote": '"', "backslash": "\\", "tab": "\t", "crlf": "\r\n", "del": "\x7f",
       "non-ascii": "\u00e9", "bidi": "\u202e", "nul": "\x00"}  # fmt: skip


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("odd", ODD.values(), ids=ODD.keys())
def test_an_odd_redirect_uri_gets_the_error_page(
    client: FlaskClient, method: str, odd: str
) -> None:
    token = csrf_token(client.get(authorize_path()))
    path = authorize_path(redirect_uri=f"https://evil.example/{odd}cb")
    if method == "get":
        reply = client.get(path)
    else:
        reply = client.post(path, data={"csrf_token": token, "action": "allow"})
    assert reply.status_code == 400, reply.get_data(as_text=True)
    assert "Location" not in reply.headers
    assert "We can't link your account" in reply.get_data(as_text=True)


@pytest.mark.parametrize("odd", ['"', "\\", "\u00e9", "\x00"])
def test_an_odd_response_type_gets_the_error_page(client: FlaskClient, odd: str) -> None:
    reply = client.get(authorize_path(response_type=f"code{odd}"))
    assert reply.status_code == 400
    assert "Location" not in reply.headers


@pytest.mark.parametrize("scope", ["read\x00", "x" * 300, 'a"b'])
def test_an_unstorable_scope_is_refused_not_a_500(client: FlaskClient, scope: str) -> None:
    reply = client.get(authorize_path(scope=scope))
    assert reply.status_code == 400
    assert "Location" not in reply.headers


# ---------------------------------------------------------------- 6. signing out ends the session


def _shop_sign_up(client: FlaskClient, email: str) -> None:
    page = client.get("/account/signup")
    form = {"csrf_token": csrf_token(page), "name": "Sid Session", "email": email,
            "address": "1 Cookie Lane", "password": PASSWORD}  # fmt: skip
    assert client.post("/account/signup", data=form).status_code == 303


def _shop_sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    page = client.get("/account/signin")
    form = {"csrf_token": csrf_token(page), "email": email, "password": password}
    return client.post("/account/signin", data=form)


def _signed_out(client: FlaskClient) -> bool:
    reply = client.get("/cart")
    return bool(reply.status_code == 302 and "/account/signin" in reply.headers["Location"])


def test_a_cookie_saved_before_shop_sign_out_no_longer_signs_in(client: FlaskClient) -> None:
    _shop_sign_up(client, "signout@example.com")
    saved = session_cookie(client)
    assert not _signed_out(with_cookie(client, saved))  # the saved copy works until...
    client.post("/account/signout", data={"csrf_token": csrf_token(client.get("/cart"))})
    assert _signed_out(client)
    assert _signed_out(with_cookie(client, saved))  # ...sign-out ends it on the server


def test_a_cookie_saved_before_signing_out_on_the_consent_page_no_longer_signs_in(
    client: FlaskClient,
) -> None:
    sign_up_and_allow(client, email="consent-out@example.com")
    saved = session_cookie(client)
    consent = client.get(authorize_path())
    out = client.post(authorize_path(), data={"csrf_token": csrf_token(consent),
                                              "action": "signout"})  # fmt: skip
    assert out.status_code == 200
    replay = with_cookie(client, saved)
    assert _signed_out(replay)
    assert "Allow Alexa" not in replay.get(authorize_path()).get_data(as_text=True)


def test_signing_out_one_browser_keeps_the_others_signed_in(client: FlaskClient) -> None:
    _shop_sign_up(client, "two-browsers@example.com")
    laptop = client.application.test_client()
    assert _shop_sign_in(laptop, "two-browsers@example.com").status_code == 303
    client.post("/account/signout", data={"csrf_token": csrf_token(client.get("/cart"))})
    assert _signed_out(client)
    assert not _signed_out(laptop)


def _change_password(client: FlaskClient, current: str, new: str) -> str:
    page = client.get("/account")
    form = {"csrf_token": csrf_token(page), "current_password": current, "new_password": new}
    reply = client.post("/account/password", data=form, follow_redirects=True)
    assert reply.status_code == 200
    return str(reply.get_data(as_text=True))


def test_a_password_change_signs_out_every_other_session(client: FlaskClient) -> None:
    _shop_sign_up(client, "newpw@example.com")
    phone = client.application.test_client()
    assert _shop_sign_in(phone, "newpw@example.com").status_code == 303
    saved = session_cookie(client)
    shown = _change_password(client, PASSWORD, "a brand new passphrase")
    assert "Password changed" in shown
    assert not _signed_out(client)  # the browser that changed it stays signed in
    assert _signed_out(phone)
    assert _signed_out(with_cookie(client, saved))  # its own old cookie is replaced too
    fresh = client.application.test_client()
    assert _shop_sign_in(fresh, "newpw@example.com").status_code == 401
    assert _shop_sign_in(fresh, "newpw@example.com", "a brand new passphrase").status_code == 303


def test_a_password_change_needs_the_current_password_and_a_good_new_one(
    client: FlaskClient,
) -> None:
    _shop_sign_up(client, "pwrules@example.com")
    phone = client.application.test_client()
    assert _shop_sign_in(phone, "pwrules@example.com").status_code == 303
    assert "current password is not right" in _change_password(client, "guess guess 1", "x" * 12)
    assert "at least 10 characters" in _change_password(client, PASSWORD, "short")
    assert "cannot contain a NUL" in _change_password(client, PASSWORD, "nul\x00 in it here")
    assert not _signed_out(phone)  # nothing changed
    assert _shop_sign_in(client.application.test_client(), "pwrules@example.com").status_code == 303
    refused = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "no csrf token here"},
    )
    assert refused.status_code == 400


def test_wrong_current_passwords_count_toward_the_sign_in_lock(client: FlaskClient) -> None:
    _shop_sign_up(client, "pwguess@example.com")
    for n in range(5):
        _change_password(client, f"guess number {n}", "a brand new passphrase")
    assert "Too many failed" in _change_password(client, PASSWORD, "a brand new passphrase")
    locked = _shop_sign_in(client.application.test_client(), "pwguess@example.com")
    assert locked.status_code == 429
    # the wait said as people say it ("1 minute", "15 minutes", "1 hour")
    said = re.search(r"Try again in ([^.<]+)\.", locked.get_data(as_text=True))
    assert said is not None and re.fullmatch(r"1 minute|\d+ minutes|\d+ hours?( \d+ minutes?)?",
                                             said.group(1))  # fmt: skip


def test_an_idle_or_old_web_session_ends(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    from account_link.models import WebSession

    _shop_sign_up(client, "idle-web@example.com")
    with sessions.begin() as db:
        db.execute(update(WebSession).values(last_seen_at=utcnow() - timedelta(days=15)))
    assert _signed_out(client)
    assert _shop_sign_in(client, "idle-web@example.com").status_code == 303
    with sessions.begin() as db:
        db.execute(update(WebSession).values(created_at=utcnow() - timedelta(days=31)))
    assert _signed_out(client)


# ---------------------------------------------------------------- 7. control characters, NUL

CONTROLS = {"esc": "\x1b[31m", "crlf": "\r\nBcc: x@y.example", "nul": "\x00", "del": "\x7f",
            "c1": "\x85", "tab": "\t", "rlo": "\u202e", "isolate": "\u2066"}  # fmt: skip
FIELDS = {"email": ("ctl{}@example.com", "e-mail"), "name": ("Bob{}", "name"),
          "address": ("1 Elm{} St", "address")}  # fmt: skip


def _sign_up_form(field: str, odd: str) -> dict[str, str]:
    form = {"name": "Bob", "email": "bob-ctl@example.com", "address": "1 Elm St",
            "password": PASSWORD}  # fmt: skip
    form[field] = FIELDS[field][0].format(odd)
    return form


@pytest.mark.parametrize("odd", CONTROLS.values(), ids=CONTROLS.keys())
@pytest.mark.parametrize("field", FIELDS)
def test_sign_up_refuses_control_characters_with_a_field_error(
    client: FlaskClient, session: Session, field: str, odd: str
) -> None:
    form = _sign_up_form(field, odd)
    with pytest.raises(InvalidSignUp) as refused:
        sign_up(session, form["email"], form["name"], form["password"], form["address"])
    assert refused.value.field == field
    session.rollback()
    page = client.get("/account/signup")
    shop = client.post("/account/signup", data={"csrf_token": csrf_token(page), **form})
    assert shop.status_code == 422, shop.get_data(as_text=True)
    assert FIELDS[field][1] in shop.get_data(as_text=True).lower()
    path = authorize_path()
    linking = client.post(path, data={"csrf_token": csrf_token(client.get(path)),
                                      "action": "signup", **form})  # fmt: skip
    assert linking.status_code == 422, linking.get_data(as_text=True)
    with wiring(client.application).sessions() as db:
        assert db.scalars(select(Customer).where(Customer.name.startswith("Bob"))).all() == []


def test_sign_up_with_nul_in_the_password_is_a_field_error(client: FlaskClient) -> None:
    page = client.get("/account/signup")
    form = {**_sign_up_form("name", ""), "password": "nul\x00 in a long password"}
    reply = client.post("/account/signup", data={"csrf_token": csrf_token(page), **form})
    assert reply.status_code == 422


@pytest.mark.parametrize("email", ["a\x00@example.com", "\x00", "sam@example.com\x00"])
def test_sign_in_with_nul_is_a_plain_refusal(client: FlaskClient, email: str) -> None:
    sign_up_and_allow(client.application.test_client(), email="sam@example.com")
    page = client.get("/account/signin")
    shop = client.post("/account/signin", data={"csrf_token": csrf_token(page), "email": email,
                                                "password": "correct horse battery"})  # fmt: skip
    assert shop.status_code == 401, shop.get_data(as_text=True)
    path = authorize_path()
    token = csrf_token(client.get(path))
    linking = client.post(path, data=sign_in_form(token, email, "correct horse battery"))
    assert linking.status_code == 401, linking.get_data(as_text=True)
    wrong_pw = client.post(path, data=sign_in_form(token, "sam@example.com", "pass\x00word 1"))
    assert wrong_pw.status_code == 401


# ---------------------------------------------------------------- 8. voice code lock-outs


@pytest.fixture
def coded(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as db:
        customer = Customer(email="escalate@example.com", name="Esc", address="1 Lock Rd")
        db.add(customer)
        db.flush()
        set_voice_code(db, customer, "2468")
        return customer.id


def _lock_out(db: Session, customer_id: int, policy: VoiceCodePolicy, when: Any) -> Any:
    for _ in range(policy.max_attempts - 1):
        assert check_code(db, customer_id, "0000", policy, now=when).outcome is CodeOutcome.WRONG
    check = check_code(db, customer_id, "0000", policy, now=when)
    assert check.outcome is CodeOutcome.LOCKED
    return check


def test_repeated_lock_outs_double_up_to_a_day(sessions: sessionmaker[Session], coded: int) -> None:
    policy = VoiceCodePolicy(max_attempts=3, lock_minutes=15)
    assert policy.max_lock_minutes == 24 * 60
    when = utcnow()
    lengths = []
    with sessions.begin() as db:
        for _ in range(10):
            check = _lock_out(db, coded, policy, when)
            lengths.append(check.lock_minutes)
            assert check.locked_until == when + timedelta(minutes=check.lock_minutes)
            when = check.locked_until + timedelta(seconds=1)  # straight after it ends
        notices = db.scalars(select(OutboxMessage.body).where(
            OutboxMessage.customer_id == coded).order_by(OutboxMessage.id)).all()  # fmt: skip
    assert lengths == [15, 30, 60, 120, 240, 480, 960, 1440, 1440, 1440]
    assert len(notices) == 10
    assert "locked for 15 minutes" in notices[0]
    assert "locked for 30 minutes" in notices[1]
    assert "locked for 2 hours" in notices[3]
    assert "locked for 24 hours" in notices[-1]
    assert all("2468" not in body for body in notices)


def test_a_quiet_day_or_a_new_code_starts_the_lock_over(
    sessions: sessionmaker[Session], coded: int
) -> None:
    policy = VoiceCodePolicy(max_attempts=3, lock_minutes=15)
    when = utcnow()
    with sessions.begin() as db:
        first = _lock_out(db, coded, policy, when)
        second = _lock_out(db, coded, policy, first.locked_until + timedelta(minutes=1))
        assert (first.lock_minutes, second.lock_minutes) == (15, 30)
        # the right code does not shorten the next lock: the guesser may be in the house
        later = second.locked_until + timedelta(minutes=1)
        assert check_code(db, coded, "2468", policy, now=later).outcome is CodeOutcome.ACCEPTED
        assert _lock_out(db, coded, policy, later).lock_minutes == 60
        quiet = later + timedelta(minutes=60) + timedelta(days=1, minutes=1)
        assert _lock_out(db, coded, policy, quiet).lock_minutes == 15
        customer = db.get_one(Customer, coded)
        set_voice_code(db, customer, "1357")  # the owner proved who they are
        assert _lock_out(db, coded, policy, quiet + timedelta(minutes=16)).lock_minutes == 15


def _second_lock(client: FlaskClient, sessions: sessionmaker[Session]) -> tuple[Shopper, str]:
    """A shopper locked out once, then again straight after: what Alexa said the second time."""
    shopper = Shopper(client, "spoken-lock@example.com")
    shopper.add("VC-10001")
    shopper.set_code()
    for _round in range(2):
        shopper.say("CheckoutIntent")
        assert "voice code" in alexa.speech(shopper.say("AMAZON.YesIntent"))
        shopper.say("VoiceCodeIntent", {"code": "1111"})
        shopper.say("VoiceCodeIntent", {"code": "2222"})
        locked = alexa.speech(shopper.say("VoiceCodeIntent", {"code": "3333"}))
        if _round == 0:
            assert "for 15 minutes" in locked
            with sessions.begin() as db:
                db.execute(update(Customer).where(Customer.email == "spoken-lock@example.com")
                           .values(voice_code_locked_until=utcnow()))  # fmt: skip
    return shopper, locked


def test_a_longer_lock_is_what_the_shopper_is_told_and_mailed(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    shopper, _said = _second_lock(client, sessions)
    refused = alexa.speech(shopper.say("CheckoutIntent"))
    assert refused.startswith("Purchasing by voice is locked for another 30 minutes")
    with sessions() as db:
        mine = (Customer.email == "spoken-lock@example.com",
                OutboxMessage.kind == "voice_code_locked")  # fmt: skip
        query = select(OutboxMessage.body).join(Customer).where(*mine)
        notices = db.scalars(query.order_by(OutboxMessage.id)).all()
    assert len(notices) == 2
    assert "locked for 15 minutes" in notices[0] and "locked for 30 minutes" in notices[1]


def test_the_lock_spoken_at_the_third_wrong_code_is_the_real_length(
    client: FlaskClient, sessions: sessionmaker[Session]
) -> None:
    _shopper, said = _second_lock(client, sessions)
    assert "locked purchasing by voice for 30 minutes" in said
