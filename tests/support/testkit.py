"""What many tests share: the test OAuth client, the browser flags, a conversation over
/alexa and the command line run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import alexa
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]

OAUTH_SECRET = "test-client-secret"
OAUTH_REDIRECT = "https://pitangui.amazon.com/api/skill/link/M2TESTVENDOR"

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]  # fmt: skip
"""Headless Chromium as the browser tests run it (in containers, without a sandbox)."""


class Conversation:
    """Posts Alexa envelopes to /alexa and carries session attributes between turns."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.attributes: dict[str, Any] = {}
        self.last: dict[str, Any] = {}

    def send(self, envelope: dict[str, Any]) -> dict[str, Any]:
        envelope["session"]["attributes"] = dict(self.attributes)
        reply = self.client.post("/alexa", json=envelope)
        assert reply.status_code == 200, reply.get_data(as_text=True)
        self.last = reply.get_json()
        self.attributes = alexa.attributes(self.last)
        if alexa.ends_session(self.last):
            self.attributes = {}
        return self.last

    def launch(self) -> str:
        return alexa.speech(self.send(alexa.launch()))

    def say(self, intent: str, **slots: str | None) -> str:
        return alexa.speech(self.send(alexa.intent(intent, slots)))


def voicecart(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voicecart", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        check=False,
    )
