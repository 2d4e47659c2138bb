"""Regression tests for the hardening review (issue 15) of the app's own edges: the
secret key, request bodies, headers, health and database trouble."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import alexa
import pytest
from flask import Flask
from flask.testing import FlaskClient
from oauthflow import exchange, sign_up_and_allow
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker
from testkit import OAUTH_REDIRECT

from account_link import carts, orders
from account_link.models import Channel, Customer
from catalog.models import Product
from skill.speech import plain_text
from voicecart.cli.output import printable
from voicecart.settings import ConfigError, Settings, load_secret_key
from web.jsonbody import MalformedJson, document_problem, load_json

ROOT = Path(__file__).resolve().parents[2]


def _fresh(tmp_path: Path) -> Settings:
    return replace(Settings.from_env({}), instance_dir=tmp_path, secret_key=None)


def test_secret_key_created_by_a_rival_between_check_and_create_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check-then-create window: another worker's key appears in between."""
    settings = _fresh(tmp_path)
    rival = "r" * 64
    real_exists = Path.exists

    def exists_then_rival_writes(self: Path, **kwargs: bool) -> bool:
        if self.name == "secret_key" and not real_exists(self):
            self.write_text(rival)
            return False
        return real_exists(self, **kwargs)

    monkeypatch.setattr(Path, "exists", exists_then_rival_writes)
    assert load_secret_key(settings) == rival


def _boot_together(settings: Settings, workers: int) -> tuple[list[str], list[BaseException]]:
    start = threading.Barrier(workers)
    keys: list[str] = []
    failures: list[BaseException] = []

    def boot() -> None:
        start.wait()
        try:
            keys.append(load_secret_key(settings))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=boot) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return keys, failures


def test_workers_starting_together_share_one_key(tmp_path: Path) -> None:
    for round_ in range(20):
        settings = _fresh(tmp_path / str(round_))
        keys, failures = _boot_together(settings, 8)
        assert not failures
        assert len(keys) == 8 and len(set(keys)) == 1 and len(keys[0]) >= 32
        assert not [p for p in settings.instance_dir.iterdir() if p.name != "secret_key"]


def test_an_empty_key_file_is_a_clear_error_not_an_empty_key(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("\n")
    with pytest.raises(ConfigError, match="secret_key"):
        load_secret_key(_fresh(tmp_path))


# ------------------------------------------------------------------ request bodies


@pytest.fixture
def token(client: FlaskClient) -> str:
    linked = sign_up_and_allow(client, email="robust@example.com")
    reply = exchange(client, {"grant_type": "authorization_code", "code": linked.code,
                              "redirect_uri": OAUTH_REDIRECT})  # fmt: skip
    return str(reply.get_json()["access_token"])


NESTED = "[" * 5000 + "]" * 5000
ODD_BODIES = {
    "deep nesting": (NESTED, "deeper than"),
    "deep object": ('{"a":' * 3000 + "1" + "}" * 3000, "deeper than"),
    "lone surrogate": (
        '{"text": "milk \\ud800", "sku": "\\udfff", "sessionId": "\\ud800"}',
        "surrogate",
    ),
    "NUL": (
        '{"text": "milk\\u0000", "sku": "A\\u0000", "quantity": 1, "sessionId": "s\\u0000"}',
        "NUL",
    ),
    "NUL in a key": ('{"te\\u0000xt": "milk"}', "NUL"),
    "not UTF-8": (b'{"text": "caf\xe9"}', "UTF-8"),
    "not JSON": ("{'text': 'milk'}", "not valid JSON"),
}


@pytest.mark.parametrize("path", ["/api/v1/cart/lines", "/api/v1/text", "/api/v1/request"])
@pytest.mark.parametrize("kind", list(ODD_BODIES))
def test_odd_json_bodies_are_named_400s(
    client: FlaskClient, token: str, path: str, kind: str
) -> None:
    body, reason = ODD_BODIES[kind]
    data = body.encode() if isinstance(body, str) else body
    reply = client.post(path, data=data, content_type="application/json",
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert reply.status_code == 400, reply.get_data(as_text=True)[:300]
    assert reply.get_json()["error"] == "malformed_json"
    assert reason in reply.get_json()["message"]


def test_shallow_valid_unicode_still_works(client: FlaskClient, token: str) -> None:
    """Paired surrogate escapes are one character (an emoji), not a lone surrogate."""
    reply = client.post("/api/v1/text", json={"text": "what's in my cart \ud83d\ude00"},
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert reply.status_code == 200
    assert reply.get_json()["speech"]


def test_depth_is_checked_without_recursion() -> None:
    assert document_problem(json.loads("[" * 900 + "]" * 900)) is not None
    assert document_problem({"a": [{"b": ["c"]}]}) is None
    with pytest.raises(MalformedJson, match="deeper"):
        load_json("[" * 100_000 + "]" * 100_000)


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/v1/cart", "/nowhere"])
def test_replies_are_never_sniffed(client: FlaskClient, path: str) -> None:
    assert client.get(path).headers["X-Content-Type-Options"] == "nosniff"


# ------------------------------------------------------------------ database trouble


@pytest.fixture
def write_lock(settings: Settings) -> Iterator[Callable[[], None]]:
    """Take SQLite's write lock from another connection, as another process would."""
    holder = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"),
                             isolation_level=None)  # fmt: skip

    def take() -> None:
        holder.execute("BEGIN IMMEDIATE")

    yield take
    holder.close()


SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
def test_a_locked_database_is_a_quick_503_with_retry_after(
    make_app: Callable[..., Flask], write_lock: Callable[[], None]
) -> None:
    app = make_app(db_lock_timeout=1)
    client = app.test_client()
    token = _token(client)
    write_lock()
    started = time.monotonic()
    reply = client.post("/api/v1/cart/lines", json={"sku": "VC-10001", "quantity": 1},
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert time.monotonic() - started < 5
    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "2"
    assert reply.get_json()["error"] == "database_unavailable"
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json()["database"] == "locked"


@SQLITE_ONLY
def test_a_locked_database_is_one_warning_line(
    make_app: Callable[..., Flask], write_lock: Callable[[], None], caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(db_lock_timeout=1).test_client()
    token = _token(client)
    write_lock()
    with caplog.at_level(logging.WARNING):
        client.post("/api/v1/cart/lines", json={"sku": "VC-10001", "quantity": 1},
                    headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    records = [r for r in caplog.records if "503" in r.getMessage()]
    assert len(records) == 1 and records[0].exc_info is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_row_lock_held_too_long_is_a_503_on_postgresql(
    make_app: Callable[..., Flask], settings: Settings
) -> None:
    app = make_app(db_lock_timeout=1)
    client = app.test_client()
    token = _token(client)
    first = client.post("/api/v1/cart/lines", json={"sku": "VC-10001", "quantity": 1},
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert first.status_code == 201  # the cart row exists now
    holder = create_engine(settings.database_url)
    try:
        with holder.begin() as connection:
            connection.execute(text("SELECT id FROM carts FOR UPDATE"))
            started = time.monotonic()
            reply = client.post("/api/v1/cart/lines", json={"sku": "VC-10001", "quantity": 1},
                                headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            assert time.monotonic() - started < 5
    finally:
        holder.dispose()
    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "2"
    again = client.post("/api/v1/cart/lines", json={"sku": "VC-10001", "quantity": 1},
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert again.status_code == 201
    assert [line["quantity"] for line in again.get_json()["lines"]] == [2]


def test_health_never_shows_the_database_error(make_app: Callable[..., Flask]) -> None:
    app = make_app(database_url="postgresql+psycopg://voicecart:hunter2@127.0.0.1:9/shop")
    reply = app.test_client().get("/healthz")
    assert reply.status_code == 503
    assert reply.get_json()["database"] == "unreachable"
    assert "127.0.0.1" not in reply.get_data(as_text=True)
    assert "hunter2" not in reply.get_data(as_text=True)
    assert reply.headers["Retry-After"] == "5"


def _token(client: FlaskClient) -> str:
    linked = sign_up_and_allow(client, email="locked@example.com")
    reply = exchange(client, {"grant_type": "authorization_code", "code": linked.code,
                              "redirect_uri": OAUTH_REDIRECT})  # fmt: skip
    return str(reply.get_json()["access_token"])


def _voicecart(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "voicecart", *args],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, **env}, cwd=ROOT)  # fmt: skip


def test_cli_says_a_corrupt_database_in_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database" * 300)
    done = _voicecart(["orders", "list"], {"VOICECART_DATABASE_URL": f"sqlite:///{broken}"})
    assert done.returncode == 3
    assert done.stderr.strip().splitlines()[-1].startswith("voicecart: error: the database")
    assert "Traceback" not in done.stderr


def test_cli_says_a_locked_database_in_one_line(tmp_path: Path) -> None:
    env = {"VOICECART_DATABASE_URL": f"sqlite:///{tmp_path / 'v.db'}",
           "VOICECART_DB_LOCK_TIMEOUT": "1", "VOICECART_INSTANCE_DIR": str(tmp_path)}  # fmt: skip
    assert _voicecart(["db", "upgrade"], env).returncode == 0
    holder = sqlite3.connect(tmp_path / "v.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        done = _voicecart(["seed", "--demo"], env)
    finally:
        holder.close()
    assert done.returncode == 3, done.stderr
    assert "busy (locked by another process)" in done.stderr
    assert "Traceback" not in done.stderr


def test_text_replies_are_plain_text_not_ssml(
    client: FlaskClient, token: str, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as db:
        db.execute(update(Product).where(Product.sku == "VC-10001").values(brand="Smith & Sons"))
    reply = client.post("/api/v1/text", json={"text": "add bananas"},
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    speech = reply.get_json()["speech"]
    assert "Smith & Sons Bananas" in speech
    assert "&amp;" not in speech and "<" not in speech


def test_plain_text_of_ssml() -> None:
    assert plain_text("<speak>Tom &amp; Jerry&apos;s <break time='1s'/>x &lt; y</speak>") == (
        "Tom & Jerry's x < y"
    )


# ------------------------------------------------------------------ idempotency keys


def test_an_idempotency_key_reused_for_another_cart_is_422(client: FlaskClient, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    client.put("/api/v1/account/address", json={"address": "1 Main St, Springfield"},
               headers=auth)  # fmt: skip
    client.post("/api/v1/cart/lines", json={"sku": "VC-10001", "quantity": 2}, headers=auth)
    keyed = {**auth, "Idempotency-Key": "k-1"}
    first = client.post("/api/v1/checkout", headers=keyed)
    assert first.status_code == 201
    retried = client.post("/api/v1/checkout", headers=keyed)
    assert (retried.status_code, retried.get_json()["id"]) == (200, first.get_json()["id"])

    client.post("/api/v1/cart/lines", json={"sku": "VC-10002", "quantity": 1}, headers=auth)
    reused = client.post("/api/v1/checkout", headers=keyed)
    assert reused.status_code == 422
    assert reused.get_json()["error"] == "idempotency_key_reused"
    assert str(first.get_json()["id"]) in reused.get_json()["message"]
    assert len(client.get("/api/v1/cart", headers=auth).get_json()["lines"]) == 1  # kept
    fresh = client.post("/api/v1/checkout", headers={**auth, "Idempotency-Key": "k-2"})
    assert fresh.status_code == 201 and fresh.get_json()["id"] != first.get_json()["id"]


# ------------------------------------------------------------------ the command line


def test_printable_escapes_what_a_terminal_would_obey() -> None:
    assert printable("a\x1b[2Jb\x07c\rd\u202ee\x00") == "a\\x1b[2Jb\\x07c\\x0dd\\u202ee\\x00"
    assert printable("Crème brûlée\tx\ny 😀") == "Crème brûlée\tx\ny 😀"


def test_orders_list_prints_untrusted_text_safely(tmp_path: Path) -> None:
    env = {"VOICECART_DATABASE_URL": f"sqlite:///{tmp_path / 'v.db'}",
           "VOICECART_INSTANCE_DIR": str(tmp_path)}  # fmt: skip
    assert _voicecart(["seed", "--demo"], env).returncode == 0
    with sqlite3.connect(tmp_path / "v.db") as db:
        db.execute("UPDATE customers SET email = 'x\x1b]0;pwned\x07@example.com'")
        db.execute("UPDATE order_lines SET product_name = 'Milk\u202egnp.exe'")
    done = _voicecart(["orders", "list", "--limit", "3"], env)
    assert done.returncode == 0, done.stderr
    assert "x\\x1b]0;pwned\\x07@example.com" in done.stdout
    assert "Milk\\u202egnp.exe" in done.stdout
    assert not {"\x1b", "\x07", "\u202e"} & set(done.stdout)


def test_two_shoppers_with_the_same_key_get_their_own_orders(session: Session) -> None:
    """Keys are per shopper: before, the second shopper's key was "claimed but has no
    order" (a 500) on every channel that lets the client choose the key."""
    product = session.scalars(select(Product).where(Product.sku == "VC-10001")).one()
    placed = []
    for name in ("ann", "bob"):
        customer = Customer(email=f"{name}@example.com", name=name, address="1 Elm St")
        session.add(customer)
        session.flush()
        carts.add_item(session, customer.id, product.id, 1, channel=Channel.WEB, max_quantity=5)
        order, replayed = orders.checkout_cart(session, customer.id, channel=Channel.WEB,
                                               max_quantity=5, idempotency_key="web:1")  # fmt: skip
        assert not replayed and order.customer_id == customer.id
        placed.append(order.id)
    assert placed[0] != placed[1]


@SQLITE_ONLY
def test_alexa_hears_try_again_when_the_database_is_locked(
    make_app: Callable[..., Flask],
    write_lock: Callable[[], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Alexa reads a 5xx as "a problem with the skill": a 200 that says what happened."""
    client = make_app(db_lock_timeout=1).test_client()
    write_lock()
    with caplog.at_level(logging.WARNING):
        reply = client.post("/alexa", json=alexa.intent("AddToCartIntent", {"item": "bananas"}))
    assert reply.status_code == 200
    assert alexa.speech(reply.get_json()).startswith("Sorry, I can't reach your cart right now")
    assert reply.get_json()["response"]["shouldEndSession"] is True
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert any("locked" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        (b'["a\\\\u0000b"]', False),  # an escaped backslash, then the text u0000
        (b'{"a": "\\ud83d\\ude00"}', False),  # a pair is one character
        (b'{"a": "\\uD800x"}', True),
        (b'{"a": "\\u0000"}', True),
        (b"[" * 33 + b"]" * 33, True),
        (b"[" * 32 + b"]" * 32, False),
        (b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}', False),  # brackets inside a string
    ],
)
def test_the_quick_checks_never_clear_a_bad_body(body: bytes, refused: bool) -> None:
    if refused:
        with pytest.raises(MalformedJson):
            load_json(body)
    else:
        load_json(body)
