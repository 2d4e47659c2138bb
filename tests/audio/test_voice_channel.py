"""POST /api/v1/voice: WAV in, the same dialogue out; bad audio is refused and changes nothing."""

from __future__ import annotations

import subprocess
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient
from oauthflow import exchange, sign_up_and_allow
from sqlalchemy import event
from testkit import OAUTH_REDIRECT

from app import create_app, wiring
from nlu.audio import write_wav
from voicecart.settings import Settings


def _token_for(client: FlaskClient) -> str:
    linked = sign_up_and_allow(client, email="voice@example.com")
    reply = exchange(client, {"grant_type": "authorization_code", "code": linked.code,
                              "redirect_uri": OAUTH_REDIRECT})  # fmt: skip
    return str(reply.get_json()["access_token"])


@pytest.fixture
def token(client: FlaskClient) -> str:
    return _token_for(client)


def _post(client: FlaskClient, token: str, body: bytes, kind: str = "audio/wav") -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": kind}
    return client.post("/api/v1/voice", data=body, headers=headers)


def _cart(client: FlaskClient, token: str) -> list[Any]:
    reply = client.get("/api/v1/cart", headers={"Authorization": f"Bearer {token}"})
    return list(reply.get_json()["lines"])


def _tone(seconds: float, rate: int = 16000) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return write_wav((6000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16), rate)


@pytest.mark.parametrize(
    ("body", "kind", "status", "error"),
    [
        (b"", "audio/wav", 400, "empty_audio"),
        (b"OggS not a wav at all", "audio/wav", 415, "not_wav"),
        (_tone(1.0)[:9000], "audio/wav", 400, "truncated_wav"),
        (write_wav(np.zeros(16000, np.int16)), "audio/wav", 422, "silence"),
        (_tone(16.0), "audio/wav", 413, "too_long"),
        (_tone(1.0), "text/plain", 415, "unsupported_media_type"),
    ],
)
def test_bad_audio_gets_a_named_4xx_and_changes_nothing(
    client: FlaskClient, token: str, body: bytes, kind: str, status: int, error: str
) -> None:
    reply = _post(client, token, body, kind)
    assert reply.status_code == status, reply.get_data(as_text=True)
    assert reply.get_json()["error"] == error
    assert _cart(client, token) == []


def test_multipart_without_the_audio_field(client: FlaskClient, token: str) -> None:
    reply = client.post("/api/v1/voice", data={"other": "x"}, content_type="multipart/form-data",
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert reply.status_code == 400
    assert reply.get_json()["error"] == "missing_audio"


def test_spoken_request_reaches_the_cart(
    client: FlaskClient, token: str, espeak: str, tmp_path: Path
) -> None:
    """Real English speech (espeak-ng) through PocketSphinx with the domain language model."""
    wav = tmp_path / "said.wav"
    subprocess.run([espeak, "-v", "en-us+f2", "-s", "140", "-w", str(wav),
                    "add two bananas to my cart"], check=True)  # fmt: skip
    reply = _post(client, token, wav.read_bytes())
    payload = reply.get_json()
    assert reply.status_code == 200, payload
    assert payload["transcript"]["engine"] == "pocketsphinx"
    assert payload["transcript"]["alternatives"]
    assert payload["intent"] == "AddToCartIntent"
    assert payload["slots"]["quantity"] == "2"
    assert payload["matchedProduct"]["name"] == "Sunny Acres Bananas"
    assert [(ln["name"], ln["quantity"], ln["addedVia"]) for ln in _cart(client, token)] == [
        ("Sunny Acres Bananas", 2, "local-voice")
    ]


def test_multipart_upload_with_session(
    client: FlaskClient, token: str, espeak: str, tmp_path: Path
) -> None:
    wav = tmp_path / "said.wav"
    subprocess.run([espeak, "-v", "en-us+f2", "-s", "140", "-w", str(wav),
                    "what's in my cart"], check=True)  # fmt: skip
    with wav.open("rb") as audio:
        reply = client.post("/api/v1/voice", data={"audio": (audio, "said.wav")},
                            content_type="multipart/form-data",
                            headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    payload = reply.get_json()
    assert reply.status_code == 200, payload
    assert payload["intent"] == "ReadCartIntent"
    assert payload["speech"].startswith("Your cart is empty")


def test_configured_but_missing_vosk_model_is_a_clear_503(
    settings: Settings, tmp_path: Path, espeak: str
) -> None:
    app = create_app(replace(settings, vosk_model=tmp_path / "no-model-here"))
    client = app.test_client()
    token = _token_for(client)
    wav = tmp_path / "said.wav"
    subprocess.run([espeak, "-w", str(wav), "check out"], check=True)
    reply = _post(client, token, wav.read_bytes())
    wiring(app).close()
    assert reply.status_code == 503
    assert reply.get_json()["error"] == "speech_model_missing"
    assert "VOICECART_VOSK_MODEL" in reply.get_json()["message"]


def test_a_spoken_turn_checks_the_token_once_in_one_transaction(
    client: FlaskClient, token: str, espeak: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the token checked three times (before the upload is read, by the channel,
    by the skill), four transactions (the check, the recogniser's catalogue bias, the
    session, the turn) and the product words matched three times."""
    wav = tmp_path / "said.wav"
    subprocess.run([espeak, "-v", "en-us+f2", "-s", "140", "-w", str(wav),
                    "add two bananas to my cart"], check=True)  # fmt: skip
    built = wiring(client.application)
    matched: list[str] = []
    match_item = built.matcher.match_item

    def counted(session: Any, words: str, *, prior: Any = None) -> Any:
        matched.append(words)
        return match_item(session, words, prior=prior)

    statements: list[str] = []
    begins: list[object] = []
    caller = threading.current_thread()

    def sent(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    def began(connection: object) -> None:
        if threading.current_thread() is caller:  # not the catalogue index builder
            begins.append(connection)

    monkeypatch.setattr(built.matcher, "match_item", counted)
    assert built.dialogue.parser is not None  # built once per process, before the turn
    built.matcher.wait_for_build()
    event.listen(built.engine, "before_cursor_execute", sent)
    event.listen(built.engine, "begin", began)
    try:
        reply = _post(client, token, wav.read_bytes())
    finally:
        event.remove(built.engine, "before_cursor_execute", sent)
        event.remove(built.engine, "begin", began)
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["intent"] == "AddToCartIntent"
    assert sum("FROM oauth_tokens" in s for s in statements) == 1
    assert len(begins) == 1
    assert matched and len(matched) == len(set(matched)), matched
    assert [(ln["name"], ln["quantity"]) for ln in _cart(client, token)] == [
        ("Sunny Acres Bananas", 2)
    ]


def test_an_upload_with_a_bad_token_is_refused_before_it_is_heard(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*_: Any, **__: Any) -> Any:
        raise AssertionError("the upload was read")

    monkeypatch.setattr("web.local._upload", never)
    reply = _post(client, "not-a-token", _tone(1.0))
    assert reply.status_code == 401
    assert reply.get_json()["error"] == "invalid_token"
