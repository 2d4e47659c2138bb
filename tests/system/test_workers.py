"""A dialogue whose turns are served by different server processes completes correctly.

Two `voicecart serve` instances (separate processes, separate ports) on one PostgreSQL
database; the turns of each conversation alternate between them. All state lives in
the database (local sessions, carts, pending confirmations in session attributes).
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import alexa
import pytest
from serverproc import Server

from account_link.identity import demo_shopper
from account_link.models import Customer
from account_link.tokens import issue_access_token
from voicecart.database import make_engine, make_sessions
from voicecart.settings import Settings

pytestmark = pytest.mark.server


def _post(url: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=30) as reply:
        answer: dict[str, Any] = json.loads(reply.read())
        return answer


def test_turns_alternate_between_two_server_processes(tmp_path: Path, pg_url: str) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = Server(tmp_path / "a", verify=False, VOICECART_DATABASE_URL=pg_url)
    second = Server(tmp_path / "b", verify=False, VOICECART_DATABASE_URL=pg_url)
    engine = make_engine(Settings(database_url=pg_url))
    try:
        with make_sessions(engine).begin() as db:
            shopper = demo_shopper(db)
            assert shopper is not None
            token = issue_access_token(db, shopper)
            newcomer = Customer(
                email="two@example.com", name="Two Servers", address="2 Server Street"
            )
            db.add(newcomer)
            db.flush()
            fresh = issue_access_token(db, newcomer)  # no history: "whole milk" is ambiguous
        servers = [first.url, second.url]

        # Alexa: the pending order travels in the session attributes.
        offer = _post(f"{servers[0]}/alexa", alexa.intent("ReorderIntent", {"item": "coffee"},
                                                          access_token=token))  # fmt: skip
        assert "Should I order it?" in alexa.speech(offer)
        yes = alexa.intent("AMAZON.YesIntent", access_token=token,
                           attributes=alexa.attributes(offer))  # fmt: skip
        placed = _post(f"{servers[1]}/alexa", yes)
        assert alexa.speech(placed).startswith("Done. Order number")

        # Local text: the session (and a disambiguation question) lives in the database.
        said = []
        session_id = None
        for number, text in enumerate(["add whole milk", "the second one", "check out", "yes"]):
            body: dict[str, Any] = {"text": text}
            if session_id:
                body["sessionId"] = session_id
            reply = _post(f"{servers[number % 2]}/api/v1/text", body, fresh)
            session_id = reply["sessionId"]
            said.append(reply["speech"])
        assert said[0].startswith(("Did you mean", "Which "))
        assert said[1].startswith("Added 1")
        assert "Should I place the order?" in said[2]
        assert said[3].startswith("Done. Order number")
    finally:
        engine.dispose()
        first.stop()
        second.stop()
    for server in (first, second):
        assert "Traceback" not in server.log.read_text()
