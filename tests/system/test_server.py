"""A real `voicecart serve` process on loopback: the acceptance conversation over HTTP."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import alexa
import pytest
from serverproc import ROOT, Server, cli_command

pytestmark = pytest.mark.server


@pytest.fixture
def open_server(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path, verify=False)
    yield server
    server.stop()


def test_acceptance_conversation_over_http(open_server: Server) -> None:
    def turn(envelope: dict[str, Any], attributes: dict[str, Any] | None = None) -> dict[str, Any]:
        envelope["session"]["attributes"] = attributes or {}
        status, payload = open_server.post(json.dumps(envelope).encode())
        assert status == 200, payload
        return payload

    assert "Welcome to Voice Cart" in alexa.speech(turn(alexa.launch()))

    offer = turn(alexa.intent("ReorderIntent", {"item": "paper towels"}))
    assert "Paper Towels" in alexa.speech(offer)
    assert "$" in alexa.speech(offer)
    assert alexa.speech(offer).endswith("Should I order it?")

    placed = turn(alexa.intent("AMAZON.YesIntent"), alexa.attributes(offer))
    number = re.search(r"Order number (\d+) is placed", alexa.speech(placed))
    assert number, alexa.speech(placed)

    status = alexa.speech(turn(alexa.intent("OrderStatusIntent")))
    assert f"number {number.group(1)}" in status

    turn(alexa.intent("AddToCartIntent", {"item": "bananas", "quantity": "2"}))
    cart = alexa.speech(turn(alexa.intent("ReadCartIntent")))
    assert re.search(r"2 [A-Za-z ]*Banana", cart), cart

    bad_status, bad = open_server.post(b"{broken")
    assert bad_status == 400
    assert bad["error"] == "malformed_request"

    open_server.stop()
    log = open_server.log.read_text()
    assert "verification is DISABLED" in log
    assert "Traceback" not in log


def test_every_worker_sees_an_imported_product_without_restart(
    open_server: Server, tmp_path: Path
) -> None:
    def add(words: str) -> str:
        envelope = alexa.intent("AddToCartIntent", {"item": words})
        status, payload = open_server.post(json.dumps(envelope).encode())
        assert status == 200, payload
        return alexa.speech(payload)

    for _ in range(6):  # both workers build their index before the import
        assert "I couldn't find dragonfruit kombucha" in add("dragonfruit kombucha")
    catalogue = tmp_path / "new.csv"
    catalogue.write_text(
        "sku,name,brand,size,price_cents,stock,category,synonyms,popularity\n"
        "NEW-1,Dragonfruit Kombucha,Brewco,16 oz,449,40,beverages,,1\n"
    )
    imported = subprocess.run(
        cli_command("catalog", "import", str(catalogue)), env=open_server.env,
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert "imported 1 products (1 new" in imported.stdout
    for _ in range(6):
        assert "Added 1 Brewco Dragonfruit Kombucha" in add("dragonfruit kombucha")


def test_verifying_server_refuses_unsigned_requests(tmp_path: Path) -> None:
    server = Server(tmp_path, verify=True)
    try:
        status, payload = server.post(json.dumps(alexa.launch()).encode())
    finally:
        server.stop()
    assert status == 400
    assert payload["error"] == "verification_failed"


def test_the_start_says_where_to_go_and_each_warning_once(open_server: Server) -> None:
    """Two workers, one announcement: the URLs that matter, and each warning a single time
    (not once per worker); no Alembic chatter."""
    log = open_server.log.read_text()
    base = open_server.url
    for path in ("/", "/cart", "/alexa", "/api/docs", "/healthz"):
        assert f"{base}{path}\n" in log, log[-2000:]
    assert log.count("Alexa request verification is DISABLED") == 1
    assert log.count("account linking is off") == 1
    assert "alembic.runtime.migration" not in log
