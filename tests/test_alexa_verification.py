"""/alexa with verification ON: only correctly signed, fresh, own-skill requests pass."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import alexa
import pytest
from flask.testing import FlaskClient
from signing import SigningChain, make_chain

from app import Settings, create_app, wiring
from skill.webservice import AlexaSignatureVerifier


@pytest.fixture(scope="module")
def chain() -> SigningChain:
    return make_chain()


@pytest.fixture
def verified_client(settings: Settings, chain: SigningChain) -> Iterator[FlaskClient]:
    verifier = AlexaSignatureVerifier(extra_trust_roots=[chain.root_pem], fetch_chain=chain.fetch)
    app = create_app(
        replace(settings, verify_alexa_requests=True, demo_shopper_for_unlinked=True),
        signature_verifier=verifier,
    )
    yield app.test_client()
    wiring(app).close()


def _post(
    client: FlaskClient, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, object]]:
    reply = client.post(
        "/alexa", data=body, headers={"Content-Type": "application/json", **headers}
    )
    return reply.status_code, reply.get_json()


def test_correctly_signed_request_is_answered(
    verified_client: FlaskClient, chain: SigningChain
) -> None:
    body = json.dumps(alexa.launch()).encode()
    status, payload = _post(verified_client, body, chain.sign(body))
    assert status == 200
    assert "Welcome to Voice Cart" in alexa.speech(payload)


def test_unsigned_request_is_refused(verified_client: FlaskClient) -> None:
    status, payload = _post(verified_client, json.dumps(alexa.launch()).encode(), {})
    assert status == 400
    assert payload["error"] == "verification_failed"
    assert "Missing Signature" in str(payload["message"])


def test_tampered_body_is_refused(verified_client: FlaskClient, chain: SigningChain) -> None:
    body = json.dumps(alexa.intent("ReorderIntent", {"item": "paper towels"})).encode()
    headers = chain.sign(body)
    tampered = body.replace(b"paper towels", b"champagne!!!")
    status, payload = _post(verified_client, tampered, headers)
    assert status == 400
    assert "not valid" in str(payload["message"])


def test_stale_timestamp_is_refused(verified_client: FlaskClient, chain: SigningChain) -> None:
    body = json.dumps(alexa.launch(timestamp_offset=-200)).encode()
    status, payload = _post(verified_client, body, chain.sign(body))
    assert status == 400
    assert "Timestamp" in str(payload["message"])


def test_wrong_skill_id_is_refused(verified_client: FlaskClient, chain: SigningChain) -> None:
    body = json.dumps(alexa.launch(skill_id="amzn1.ask.skill.someone-else")).encode()
    status, payload = _post(verified_client, body, chain.sign(body))
    assert status == 400
    assert "different skill id" in str(payload["message"])


def _refusal(
    settings: Settings, trusted: SigningChain, signer: SigningChain, **changes: Any
) -> str:
    """Post a launch signed by ``signer`` to an app trusting ``trusted``'s root; expect 400."""
    verifier = AlexaSignatureVerifier(
        extra_trust_roots=[trusted.root_pem], fetch_chain=signer.fetch
    )
    app = create_app(
        replace(settings, verify_alexa_requests=True, **changes), signature_verifier=verifier
    )
    body = json.dumps(alexa.launch()).encode()
    status, payload = _post(app.test_client(), body, signer.sign(body))
    wiring(app).close()
    assert status == 400
    return str(payload["message"])


def test_chain_from_an_untrusted_root_is_refused(settings: Settings, chain: SigningChain) -> None:
    assert "chain is not valid" in _refusal(settings, chain, make_chain())


def test_certificate_for_another_domain_is_refused(settings: Settings) -> None:
    impostor = make_chain(san="evil.example.com")
    assert "echo-api.amazon.com" in _refusal(settings, impostor, impostor)


def test_missing_skill_id_setting_refuses_everything(
    settings: Settings, chain: SigningChain
) -> None:
    assert "VOICECART_SKILL_ID" in _refusal(settings, chain, chain, skill_id=None)


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        ("SignatureCertChainUrl", "http://s3.amazonaws.com/echo.api/cert.pem", "protocol"),
        ("SignatureCertChainUrl", "https://evil.example.com/echo.api/cert.pem", "hostname"),
        ("SignatureCertChainUrl", "https://s3.amazonaws.com/EcHo.aPi/../x/cert.pem", "path"),
        ("SignatureCertChainUrl", "https://s3.amazonaws.com:8443/echo.api/cert.pem", "port"),
        ("Signature-256", "%%% not base64 %%%", "could not check"),
    ],
)
def test_bad_signature_headers_are_refused(
    verified_client: FlaskClient, chain: SigningChain, header: str, value: str, reason: str
) -> None:
    body = json.dumps(alexa.launch()).encode()
    headers = {**chain.sign(body), header: value}
    status, payload = _post(verified_client, body, headers)
    assert status == 400
    assert reason in str(payload["message"])


def test_default_verifier_is_on_and_refuses_unsigned(settings: Settings) -> None:
    """No injected trust: the production verifier (real oscrypto/certvalidator import) is used."""
    app = create_app(replace(settings, verify_alexa_requests=True))
    reply = app.test_client().post("/alexa", json=alexa.launch())
    wiring(app).close()
    assert reply.status_code == 400
