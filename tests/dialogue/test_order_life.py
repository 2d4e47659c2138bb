"""Order life cycle: advance by the admin command, cancel within the window, stock back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import alexa
import pytest
from flask import Flask
from flask.testing import FlaskClient
from oauthflow import linked_token
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from testkit import voicecart

from account_link.errors import CannotAdvance
from account_link.models import Order, OutboxMessage
from account_link.orders import advance_order
from catalog.models import Product
from skill import prompts


def _token(client: FlaskClient, email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {linked_token(client, email)}"}


def _stock(sessions: sessionmaker[Session]) -> int:
    with sessions() as db:
        return int(db.scalars(select(Product.stock).where(Product.sku == "VC-10001")).one())


@pytest.fixture
def placed(client: FlaskClient, sessions: sessionmaker[Session]) -> tuple[dict[str, str], int]:
    auth = _token(client, "life@example.com")
    client.post("/api/v1/cart/lines", json={"sku": "VC-10001", "quantity": 3}, headers=auth)
    order = client.post("/api/v1/checkout", headers=auth).get_json()
    return auth, int(order["id"])


def test_cancel_within_the_window_restores_stock(
    client: FlaskClient, sessions: sessionmaker[Session], placed: tuple[dict[str, str], int]
) -> None:
    auth, order_id = placed
    before = _stock(sessions)
    reply = client.post(f"/api/v1/orders/{order_id}/cancel", headers=auth)
    assert reply.status_code == 200
    assert reply.get_json()["status"] == "cancelled"
    assert _stock(sessions) == before + 3
    twice = client.post(f"/api/v1/orders/{order_id}/cancel", headers=auth)
    assert twice.status_code == 200  # cancelling again changes nothing more
    assert _stock(sessions) == before + 3


def test_cancel_is_refused_late_or_once_packed_and_others_get_404(
    client: FlaskClient, sessions: sessionmaker[Session], placed: tuple[dict[str, str], int]
) -> None:
    auth, order_id = placed
    stranger = _token(client, "stranger@example.com")
    other = client.post(f"/api/v1/orders/{order_id}/cancel", headers=stranger)
    assert other.status_code == 404
    with sessions.begin() as db:
        db.get_one(Order, order_id).placed_at -= timedelta(minutes=31)
    late = client.post(f"/api/v1/orders/{order_id}/cancel", headers=auth)
    assert late.status_code == 409
    assert "can be cancelled for 30 minutes" in late.get_json()["message"]
    with sessions.begin() as db:
        db.get_one(Order, order_id).placed_at += timedelta(minutes=31)
        advance_order(db, order_id)
    packed = client.post(f"/api/v1/orders/{order_id}/cancel", headers=auth)
    assert packed.status_code == 409
    assert "already packed" in packed.get_json()["message"]
    missing = client.post("/api/v1/orders/999999/cancel", headers=auth)
    assert missing.status_code == 404


def test_advance_walks_the_life_cycle_and_stops(
    sessions: sessionmaker[Session], placed: tuple[dict[str, str], int]
) -> None:
    _, order_id = placed
    seen = []
    with sessions.begin() as db:
        for _ in range(3):
            seen.append(advance_order(db, order_id).status)
        with pytest.raises(CannotAdvance):
            advance_order(db, order_id)
    assert seen == ["packed", "shipped", "delivered"]


def test_the_orders_command(tmp_path: Path) -> None:
    env = {"VOICECART_DATABASE_URL": f"sqlite:///{tmp_path / 'orders.db'}"}
    assert voicecart("seed", "--demo", env=env).returncode == 0
    listed = voicecart("orders", "list", "--limit", "2", env=env)
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.strip().splitlines()
    assert len(rows) == 2
    assert "demo@voicecart.example" in rows[0]
    assert "delivered" in rows[0]
    first = rows[0].split()[0]
    done = voicecart("orders", "advance", first, env=env)
    assert done.returncode == 1
    assert "is delivered: it moves no further" in done.stderr
    missing = voicecart("orders", "advance", "99999", env=env)
    assert "no order 99999" in missing.stderr


def test_the_promised_delivery_is_kept_on_the_order_and_spoken(
    make_app: Callable[..., Flask], sessions: sessionmaker[Session]
) -> None:
    client = make_app(delivery_days=3).test_client()
    auth = _token(client, "promise@example.com")
    client.post("/api/v1/cart/lines", json={"sku": "VC-10001"}, headers=auth)
    order = client.post("/api/v1/checkout", headers=auth).get_json()
    placed, expected = (datetime.fromisoformat(order[k]) for k in ("placedAt", "expectedAt"))
    assert expected - placed == timedelta(days=3)
    with sessions() as db:
        mail = db.scalars(select(OutboxMessage).where(OutboxMessage.order_id == order["id"]))
        assert f"Expected delivery: {expected:%A, %B} {expected.day}" in mail.one().body
    token = auth["Authorization"].removeprefix("Bearer ")
    status = client.post("/alexa", json=alexa.intent("OrderStatusIntent", access_token=token))
    speech = alexa.speech(status.get_json())
    assert f"It should arrive on {expected:%A, %B} {expected.day}." in speech


def test_arrival_wording() -> None:
    now = datetime(2026, 11, 25, 15, tzinfo=UTC)
    assert prompts.arrival("placed", now + timedelta(hours=2), now) == "It should arrive today."
    assert prompts.arrival("packed", now + timedelta(days=1), now) == "It should arrive tomorrow."
    later = prompts.arrival("shipped", now + timedelta(days=2), now)
    assert later == "It should arrive on Friday, November 27."
    late = prompts.arrival("shipped", now - timedelta(days=2), now)
    assert late == "It was due on November 23; sorry it's late."
    assert prompts.arrival("delivered", now - timedelta(days=2), now) == "It has been delivered."
    assert prompts.arrival("cancelled", now, now) == ""
    assert prompts.arrival("placed", None, now) == ""


def test_concurrent_cancels_restore_the_stock_once(
    client: FlaskClient, sessions: sessionmaker[Session], placed: tuple[dict[str, str], int]
) -> None:
    """Two cancels at once (two devices, a retry): both answer, the stock comes back once."""
    auth, order_id = placed
    before = _stock(sessions)
    app = client.application
    start = threading.Barrier(4)

    def cancel() -> int:
        start.wait()
        return app.test_client().post(f"/api/v1/orders/{order_id}/cancel", headers=auth).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(lambda _: cancel(), range(4)))
    assert codes == [200] * 4
    assert _stock(sessions) == before + 3
