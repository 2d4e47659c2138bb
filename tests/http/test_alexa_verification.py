"""/alexa with verification ON: only correctly signed, fresh, own-skill requests pass."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import alexa
import pytest
from flask.testing import FlaskClient
from signing import CERT_URL, SigningChain, make_chain

from app import create_app, wiring
from skill import webservice
from skill.webservice import AlexaSignatureVerifier
from voicecart.settings import Settings


@pytest.fixture(scope="module")
def chain() -> SigningChain:
    return make_chain()


@dataclass
class Fetches:
    """A stand-in for the certificate download that records every URL it is asked for."""

    chain: SigningChain
    urls: list[str] = field(default_factory=list)

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        return self.chain.fetch(url)


@pytest.fixture
def fetches(chain: SigningChain) -> Fetches:
    return Fetches(chain)


@pytest.fixture
def verified_client(
    settings: Settings, chain: SigningChain, fetches: Fetches
) -> Iterator[FlaskClient]:
    verifier = AlexaSignatureVerifier(extra_trust_roots=[chain.root_pem], fetch_chain=fetches)
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
    assert str(payload["message"]).startswith("Timestamp verification failed: timestamp too old")


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
        # Amazon's URL never has these; each variant would otherwise be one more download.
        ("SignatureCertChainUrl", f"{CERT_URL}?x=17", "query"),
        ("SignatureCertChainUrl", f"{CERT_URL}#x", "fragment"),
        ("SignatureCertChainUrl", CERT_URL.replace("https://", "https://me@"), "user"),
        ("Signature-256", "%%% not base64 %%%", "base64"),
        ("Signature-256", "", "empty"),
    ],
)
def test_bad_signature_headers_are_refused_without_a_download(
    verified_client: FlaskClient,
    chain: SigningChain,
    fetches: Fetches,
    header: str,
    value: str,
    reason: str,
) -> None:
    body = json.dumps(alexa.launch()).encode()
    headers = {**chain.sign(body), header: value}
    status, payload = _post(verified_client, body, headers)
    assert status == 400
    assert reason in str(payload["message"])
    assert fetches.urls == []


def test_default_verifier_is_on_and_refuses_unsigned(settings: Settings) -> None:
    """No injected trust: the production verifier (real oscrypto/certvalidator import) is used."""
    app = create_app(replace(settings, verify_alexa_requests=True))
    reply = app.test_client().post("/alexa", json=alexa.launch())
    wiring(app).close()
    assert reply.status_code == 400


# ----------------------------------------------------------------- cheap checks come first


@pytest.mark.parametrize(
    "cert_url",
    [CERT_URL, f"{CERT_URL}?x=1", "https://s3.amazonaws.com/echo.api/another-cert-7.pem"],
)
@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"timestamp_offset": -200}, "timestamp too old"),
        ({"timestamp_offset": 400}, "timestamp in the future"),
        ({"skill_id": "amzn1.ask.skill.someone-else"}, "different skill id"),
    ],
)
def test_stale_or_foreign_requests_are_refused_before_any_download(
    verified_client: FlaskClient,
    chain: SigningChain,
    fetches: Fetches,
    cert_url: str,
    changes: dict[str, Any],
    reason: str,
) -> None:
    """Timestamp and skill id cost nothing to check; the signature check downloads the
    chain (5 s timeout), so it runs last and only for requests that passed the rest."""
    body = json.dumps(alexa.launch(**changes)).encode()
    headers = {**chain.sign(body), "SignatureCertChainUrl": cert_url}
    status, payload = _post(verified_client, body, headers)
    assert status == 400
    assert payload["error"] == "verification_failed"
    assert reason in str(payload["message"])
    assert fetches.urls == []


def test_the_production_verifier_does_not_download_for_a_stale_request(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default verifier (no injected download) checks the timestamp first, too."""
    called: list[str] = []

    def no_download(url: str, *args: object, **kwargs: object) -> bytes:
        called.append(url)
        raise AssertionError(f"downloaded {url}")

    monkeypatch.setattr(webservice, "_fetch_chain", no_download)
    monkeypatch.setattr(webservice, "urlopen", no_download)
    app = create_app(replace(settings, verify_alexa_requests=True))
    for n in range(3):
        body = json.dumps(alexa.launch(timestamp_offset=-3600)).encode()
        headers = {"SignatureCertChainUrl": f"{CERT_URL}?x={n}", "Signature-256": "AAAA"}
        status, payload = _post(app.test_client(), body, headers)
        assert status == 400
        assert "timestamp too old" in str(payload["message"])
    wiring(app).close()
    assert called == []


# ------------------------------------------------------------- the certificate-chain cache


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_chain_cache_evicts_the_least_recently_used() -> None:
    cache: webservice.ExpiringLRU[str] = webservice.ExpiringLRU(
        max_entries=3, max_age=3600, clock=FakeClock()
    )
    for key in ("a", "b", "c"):
        cache.put(key, key.upper())
    assert cache.get("a") == "A"  # a is now the most recently used
    cache.put("d", "D")  # full: b goes, not the whole cache
    assert cache.keys() == ["c", "a", "d"]
    assert cache.get("b") is None
    cache.put("c", "C2")  # replacing refreshes too
    cache.put("e", "E")
    assert cache.keys() == ["d", "c", "e"]
    assert cache.get("c") == "C2"


def test_chain_cache_entries_expire_at_max_age_or_not_after_whichever_is_sooner() -> None:
    clock = FakeClock()
    cache: webservice.ExpiringLRU[int] = webservice.ExpiringLRU(
        max_entries=8, max_age=3600, clock=clock
    )
    cache.put("long-lived cert", 1, not_after=clock.now + 86_400)  # max age decides
    cache.put("short-lived cert", 2, not_after=clock.now + 60)  # notAfter decides
    cache.put("expired cert", 3, not_after=clock.now - 1)  # never cached
    cache.put("no notAfter", 4)
    assert cache.keys() == ["long-lived cert", "short-lived cert", "no notAfter"]
    clock.advance(59.9)
    assert cache.get("short-lived cert") == 2
    clock.advance(0.1)
    assert cache.get("short-lived cert") is None
    clock.advance(3600 - 60 - 0.1)
    assert cache.get("long-lived cert") == 1
    assert cache.get("no notAfter") == 4
    clock.advance(0.1)
    assert cache.get("long-lived cert") is None
    assert cache.keys() == ["no notAfter"]  # get() dropped what it found expired
    cache.put("new", 5)  # a put sweeps out everything expired
    assert cache.keys() == ["new"]


def test_chain_cache_is_safe_under_threads() -> None:
    cache: webservice.ExpiringLRU[int] = webservice.ExpiringLRU(max_entries=16, max_age=3600)
    errors: list[BaseException] = []

    def hammer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(3000):
                key = f"k{rng.randrange(40)}"
                if rng.random() < 0.5:
                    cache.put(key, seed)
                else:
                    cache.get(key)
                assert len(cache) <= 16
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert errors == []
    assert len(cache) <= 16


def _signed_launch(client: FlaskClient, chain: SigningChain) -> int:
    body = json.dumps(alexa.launch()).encode()
    status, _payload = _post(client, body, chain.sign(body))
    return status


def test_a_chain_is_downloaded_once_then_again_when_its_cache_entry_expires(
    settings: Settings,
) -> None:
    clock = FakeClock(time.time())
    short = make_chain(leaf_not_after=datetime.now(UTC) + timedelta(seconds=120))
    fetches = Fetches(short)
    verifier = AlexaSignatureVerifier(
        extra_trust_roots=[short.root_pem], fetch_chain=fetches, clock=clock, chain_max_age=90
    )
    app = create_app(replace(settings, verify_alexa_requests=True), signature_verifier=verifier)
    client = app.test_client()
    try:
        assert _signed_launch(client, short) == 200
        clock.advance(89)
        assert _signed_launch(client, short) == 200
        assert len(fetches.urls) == 1  # cached
        clock.advance(1)  # the configured age is up
        assert _signed_launch(client, short) == 200
        assert len(fetches.urls) == 2
        # Past the leaf's notAfter on the cache's clock (sooner than another 90 s): the
        # entry is gone. (The real clock is not there yet, so the chain still verifies.)
        clock.advance(31)
        assert _signed_launch(client, short) == 200
        assert len(fetches.urls) == 3
    finally:
        wiring(app).close()


# ------------------------------------------------------- one WARNING line per refusal


def _refused_request(case: str, chain: SigningChain) -> tuple[bytes, dict[str, str], str]:
    """Body, headers and the reason the refusal should name."""
    if case == "malformed envelope":
        return b'{"version": "1.0", "request": {}}', {}, "not an Alexa request envelope"
    if case == "missing signature headers":
        return json.dumps(alexa.launch()).encode(), {}, "Missing Signature"
    if case == "bad signature":
        body = json.dumps(alexa.launch()).encode()
        return body.replace(b"en-US", b"en-GB"), chain.sign(body), "not valid"
    if case == "bad signature header":
        body = json.dumps(alexa.launch()).encode()
        return body, {**chain.sign(body), "Signature-256": "!!"}, "base64"
    if case == "stale timestamp":
        body = json.dumps(alexa.launch(timestamp_offset=-200)).encode()
        return body, chain.sign(body), "timestamp too old (2"
    if case == "wrong skill id":
        body = json.dumps(alexa.launch(skill_id="amzn1.ask.skill.other")).encode()
        return body, chain.sign(body), "different skill id"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "malformed envelope",
        "missing signature headers",
        "bad signature",
        "bad signature header",
        "stale timestamp",
        "wrong skill id",
    ],
)
def test_a_refusal_logs_one_warning_line_and_no_traceback(
    verified_client: FlaskClient,
    chain: SigningChain,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    body, headers, reason = _refused_request(case, chain)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="voicecart")
    caplog.clear()
    status, payload = _post(verified_client, body, headers)
    assert status == 400
    assert payload["error"] in ("verification_failed", "malformed_request")
    assert reason in str(payload["message"])
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(loud) == 1, [r.getMessage() for r in loud]
    record = loud[0]
    assert record.levelno == logging.WARNING
    assert record.name == "voicecart.alexa"
    assert record.getMessage() == f"refused /alexa request: {payload['message']}"
    assert reason in record.getMessage()
    assert "\n" not in record.getMessage()
    assert all(r.exc_info is None and r.exc_text is None for r in caplog.records)
    assert all(r.stack_info is None for r in caplog.records)


def test_a_refusal_reason_cannot_forge_log_lines(
    verified_client: FlaskClient, chain: SigningChain, caplog: pytest.LogCaptureFixture
) -> None:
    envelope = alexa.launch()
    envelope["request"]["timestamp"] = "not a time\nERROR forged line"
    caplog.set_level(logging.WARNING)
    caplog.set_level(logging.WARNING, logger="voicecart")
    status, _payload = _post(verified_client, json.dumps(envelope).encode(), {})
    assert status == 400
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "\n" not in record.getMessage()


def test_equivalent_certificate_urls_share_one_download(
    verified_client: FlaskClient, chain: SigningChain, fetches: Fetches
) -> None:
    """Amazon's guide allows ``:443`` and ``..`` forms; they name (and fetch) one URL."""
    variants = [
        CERT_URL,
        CERT_URL.replace(".com/", ".com:443/"),
        CERT_URL.replace("/echo.api/", "/echo.api/../echo.api/"),
        CERT_URL.replace("s3.amazonaws.com", "S3.AmazonAWS.com"),
    ]
    for url in variants:
        body = json.dumps(alexa.launch()).encode()
        status, _payload = _post(
            verified_client, body, {**chain.sign(body), "SignatureCertChainUrl": url}
        )
        assert status == 200, url
    assert fetches.urls == [CERT_URL]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000, "nested too deeply"),  # the JSON parser's recursion overflows
        (
            json.dumps(
                alexa.launch(attributes={"deep": json.loads("[" * 100 + "]" * 100)})
            ).encode(),
            "nests deeper than 64 levels",
        ),
    ],
)
def test_deeply_nested_json_is_malformed_not_a_crash(
    client: FlaskClient, caplog: pytest.LogCaptureFixture, body: bytes, reason: str
) -> None:
    caplog.set_level(logging.WARNING)
    caplog.set_level(logging.WARNING, logger="voicecart")
    status, payload = _post(client, body, {})
    assert status == 400
    assert payload["error"] == "malformed_request"
    assert reason in str(payload["message"])
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
