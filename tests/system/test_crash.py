"""A worker killed (SIGKILL) inside an order's transaction leaves no trace of it.

`voicecart serve` on a throwaway PostgreSQL with a test hook that pauses every order's
transaction after the order and its stock moves are written, before commit. The worker
is killed there; afterwards there is no order, stock is as it was and the cart is
intact. Gunicorn starts a new worker, and the same checkout then completes whole.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from serverproc import Server
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from account_link.carts import add_item, view_cart
from account_link.models import Channel, Customer, Order, OutboxMessage
from account_link.tokens import issue_access_token
from catalog.models import Product
from voicecart.database import make_engine, make_sessions
from voicecart.settings import Settings

pytestmark = pytest.mark.server


def _checkout(url: str, token: str) -> int:
    request = urllib.request.Request(f"{url}/api/v1/checkout", data=b"", method="POST",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Idempotency-Key": "crash-1"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, ConnectionError, OSError):
        return 0  # the worker died with the connection open


def _state(
    sessions: sessionmaker[Session], customer_id: int
) -> tuple[int, int, list[tuple[str, int]]]:
    with sessions() as db:
        orders = db.scalar(select(func.count(Order.id)).where(Order.customer_id == customer_id))
        mails = db.scalar(select(func.count(OutboxMessage.id))
                          .where(OutboxMessage.customer_id == customer_id))  # fmt: skip
        assert mails == orders  # the confirmation lives and dies with its order
        stock = db.scalar(select(Product.stock).where(Product.sku == "VC-10001"))
        cart = [(ln.name, ln.quantity) for ln in view_cart(db, customer_id).lines]
    return int(orders or 0), int(stock or 0), cart


def test_a_worker_killed_mid_order_leaves_all_or_nothing(tmp_path: Path, pg_url: str) -> None:
    server = Server(tmp_path, verify=False, VOICECART_DATABASE_URL=pg_url, VOICECART_WORKERS="1",
                    VOICECART_TEST_PAUSE_IN_ORDER="4")  # fmt: skip
    engine = make_engine(Settings(database_url=pg_url))
    sessions = make_sessions(engine)
    try:
        with sessions.begin() as db:
            shopper = Customer(
                email="crash@example.com", name="Crash Test", address="1 Crash Court"
            )
            db.add(shopper)
            db.flush()
            bananas = db.scalars(select(Product).where(Product.sku == "VC-10001")).one()
            add_item(db, shopper.id, bananas.id, 2, channel=Channel.WEB, max_quantity=25)
            token, customer_id = issue_access_token(db, shopper), shopper.id
        before = _state(sessions, customer_id)
        statuses: list[int] = []
        worker = threading.Thread(target=lambda: statuses.append(_checkout(server.url, token)))
        worker.start()
        deadline, pid = time.monotonic() + 30, None
        while pid is None and time.monotonic() < deadline:
            found = re.search(r"pausing \d+ s inside the transaction of a new order \(pid (\d+)\)",
                              server.log.read_text())  # fmt: skip
            pid = int(found.group(1)) if found else None
            time.sleep(0.05)
        assert pid is not None, server.log.read_text()
        os.kill(pid, signal.SIGKILL)
        worker.join(timeout=30)
        assert statuses and statuses[0] != 201
        assert _state(sessions, customer_id) == before  # no order, stock and cart as before
        deadline = time.monotonic() + 60  # gunicorn starts a new worker
        while time.monotonic() < deadline:
            if _checkout(server.url, token) in (200, 201):
                break
            time.sleep(0.5)
        orders, stock, cart = _state(sessions, customer_id)
        assert (orders, stock, cart) == (1, before[1] - 2, [])
    finally:
        engine.dispose()
        server.stop()
