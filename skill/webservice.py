"""The Alexa HTTPS endpoint: flask-ask-sdk's ``SkillAdapter`` with strict verification.

Requests are checked for a valid Amazon signature (``Signature-256`` over the raw
body, certificate chain from Amazon's S3 bucket), a fresh timestamp and this skill's
id. Anything that fails, or is not a well-formed Alexa envelope, gets HTTP 400 with a
JSON body; only verified requests reach the skill, inside one database transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.error import URLError
from urllib.request import urlopen

from skill._oscrypto_compat import ensure_oscrypto_importable

ensure_oscrypto_importable()

# These imports need the oscrypto hook above (E402 is deliberate).
from ask_sdk_core.serialize import DefaultSerializer  # noqa: E402
from ask_sdk_core.skill import CustomSkill  # noqa: E402
from ask_sdk_model import RequestEnvelope  # noqa: E402
from ask_sdk_webservice_support.verifier import (  # noqa: E402
    AbstractVerifier,
    RequestVerifier,
    TimestampVerifier,
    VerificationException,
)
from asn1crypto import pem  # noqa: E402
from certvalidator import CertificateValidator, ValidationContext  # noqa: E402
from certvalidator.errors import PathError, ValidationError  # noqa: E402
from cryptography.x509 import Certificate, DNSName, SubjectAlternativeName  # noqa: E402
from cryptography.x509.oid import ExtensionOID  # noqa: E402
from flask import Flask, Response, g, has_app_context, jsonify  # noqa: E402
from flask import request as flask_request  # noqa: E402
from flask_ask_sdk.skill_adapter import (  # noqa: E402
    VERIFY_SIGNATURE_APP_CONFIG,
    VERIFY_TIMESTAMP_APP_CONFIG,
    SkillAdapter,
)
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from account_link.models import Channel  # noqa: E402
from skill.scope import turn_scope  # noqa: E402

log = logging.getLogger("voicecart.alexa")

ALEXA_CERT_DOMAIN = "echo-api.amazon.com"
MAX_CHAIN_BYTES = 64 * 1024
MAX_CACHED_CHAINS = 32
MAX_BODY_BYTES = 256 * 1024


def _fetch_chain(url: str) -> bytes:
    """Download a signing chain from Amazon (URL already validated by the caller)."""
    try:
        with urlopen(url, timeout=5) as response:
            data: bytes = response.read(MAX_CHAIN_BYTES + 1)
    except (URLError, TimeoutError, OSError) as exc:
        raise VerificationException(f"could not download the signing certificate: {exc}") from exc
    if len(data) > MAX_CHAIN_BYTES:
        raise VerificationException("signing certificate chain is too large")
    return data


class AlexaSignatureVerifier(RequestVerifier):
    """ask-sdk's ``RequestVerifier`` with UTC-aware validity checks and a bounded cache.

    ``extra_trust_roots`` and ``fetch_chain`` exist so tests can sign requests with a
    locally generated chain; production uses the operating system's roots and Amazon.
    """

    def __init__(
        self,
        *,
        extra_trust_roots: Sequence[bytes] = (),
        fetch_chain: Callable[[str], bytes] = _fetch_chain,
    ) -> None:
        super().__init__()
        self._extra_roots = list(extra_trust_roots)
        self._fetch = fetch_chain

    def _load_cert_chain(self, cert_url: str) -> bytes:
        cached: bytes | None = self._cert_cache.get(cert_url)
        if cached is not None:
            return cached
        data = self._fetch(cert_url)
        if len(self._cert_cache) >= MAX_CACHED_CHAINS:
            self._cert_cache.clear()
        self._cert_cache[cert_url] = data
        return data

    def _validate_cert_chain(self, cert_chain: bytes) -> None:
        try:
            ders = [der for _type, _headers, der in pem.unarmor(cert_chain, multiple=True)]
            if not ders:
                raise VerificationException("certificate chain is empty")
            context = (
                ValidationContext(extra_trust_roots=self._extra_roots)
                if self._extra_roots
                else None
            )
            validator = CertificateValidator(ders[0], ders[1:], validation_context=context)
            validator.validate_usage(key_usage={"digital_signature"})
        except (PathError, ValidationError) as exc:
            raise VerificationException("certificate chain is not valid", exc) from exc

    def _validate_end_certificate(self, x509_cert: Certificate) -> None:
        now = datetime.now(UTC)
        if not x509_cert.not_valid_before_utc <= now <= x509_cert.not_valid_after_utc:
            raise VerificationException("signing certificate is expired or not yet valid")
        try:
            san = x509_cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
            assert isinstance(san.value, SubjectAlternativeName)
            names = san.value.get_values_for_type(DNSName)
        except Exception as exc:
            raise VerificationException("signing certificate has no subject names") from exc
        if ALEXA_CERT_DOMAIN not in names:
            raise VerificationException(f"{ALEXA_CERT_DOMAIN} missing from signing certificate")


class SkillIdVerifier(AbstractVerifier):
    """Refuse requests addressed to any other skill (or to none, if no id is configured)."""

    def __init__(self, skill_id: str | None) -> None:
        self._skill_id = skill_id

    def verify(
        self,
        headers: dict[str, Any],
        serialized_request_env: str,
        deserialized_request_env: RequestEnvelope,
    ) -> None:
        if not self._skill_id:
            raise VerificationException("VOICECART_SKILL_ID is not set, so no skill id can match")
        system = getattr(deserialized_request_env.context, "system", None)
        application = getattr(system, "application", None)
        if getattr(application, "application_id", None) != self._skill_id:
            raise VerificationException("request is addressed to a different skill id")


class GuardedVerifier(AbstractVerifier):
    """Run one check; any failure, even a crash on garbage input, becomes a recorded refusal.

    The recorded reason lets the 400 reply say which check refused the request.
    """

    def __init__(self, inner: AbstractVerifier) -> None:
        self._inner = inner

    def verify(
        self,
        headers: dict[str, Any],
        serialized_request_env: str,
        deserialized_request_env: RequestEnvelope,
    ) -> None:
        try:
            self._inner.verify(headers, serialized_request_env, deserialized_request_env)
        except VerificationException as exc:
            g.alexa_verification_failure = str(exc.args[0] if exc.args else exc)
            raise
        except Exception as exc:  # bad base64, non-PEM chains, odd timestamps ...
            reason = f"{type(self._inner).__name__} could not check the request: {exc}"
            g.alexa_verification_failure = reason
            raise VerificationException(reason) from exc


def verification_failure() -> str:
    """The reason recorded for this request's failed verification."""
    return str(g.get("alexa_verification_failure", "request failed verification"))


def alexa_verifiers(
    skill_id: str | None, signature: AlexaSignatureVerifier | None = None
) -> list[AbstractVerifier]:
    """Signature, then timestamp, then skill id: the order Amazon's guide checks them."""
    checks = [signature or AlexaSignatureVerifier(), TimestampVerifier(), SkillIdVerifier(skill_id)]
    return [GuardedVerifier(check) for check in checks]


def json_error(status: int, error: str, message: str) -> Response:
    response = jsonify({"error": error, "message": message})
    response.status_code = status
    return response


class _CheckedOnce(DefaultSerializer):
    """The ask-sdk serializer, except that each envelope is parsed and each answer
    written once per request: the envelope parsed while checking the request is handed
    over, and the answer the exactly-once store wrote is reused for the reply."""

    def deserialize(self, payload: str | None, obj_type: Any) -> Any:
        checked = g.pop("alexa_checked_envelope", None) if has_app_context() else None
        if checked is not None and obj_type is RequestEnvelope and checked[0] == payload:
            return checked[1]
        return super().deserialize(payload=payload, obj_type=obj_type)

    def serialize(self, obj: Any) -> Any:
        if not has_app_context():
            return super().serialize(obj)
        done = g.get("alexa_serialized")
        if done is not None and done[0] is obj:
            return done[1]
        result = super().serialize(obj)
        g.alexa_serialized = (obj, result)
        return result


class VoicecartSkillAdapter(SkillAdapter):  # type: ignore[misc]
    """``SkillAdapter`` that refuses malformed envelopes (400) and owns the turn's transaction."""

    def __init__(
        self,
        skill: CustomSkill,
        skill_id: str | None,
        sessions: sessionmaker[Session],
        verifiers: list[AbstractVerifier],
        app: Flask,
    ) -> None:
        # The ask-sdk defaults are replaced by the explicit verifier list above.
        app.config[VERIFY_SIGNATURE_APP_CONFIG] = False
        app.config[VERIFY_TIMESTAMP_APP_CONFIG] = False
        self._sessions = sessions
        skill.serializer = _CheckedOnce()
        super().__init__(skill=skill, skill_id=skill_id or "unset", verifiers=verifiers, app=app)

    def _envelope_problem(self, body: bytes) -> str | None:
        """Why ``body`` is not an Alexa request envelope, or ``None`` if it is one."""
        if not body:
            return "the request body is empty"
        if len(body) > MAX_BODY_BYTES:
            return f"the request body is larger than {MAX_BODY_BYTES} bytes"
        try:
            document = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return f"the request body is not valid JSON: {exc}"
        request = document.get("request") if isinstance(document, dict) else None
        if not isinstance(request, dict) or not isinstance(request.get("type"), str):
            return "the JSON is not an Alexa request envelope (no request.type)"
        if not isinstance(document.get("context", {}), dict):
            return "the envelope's context is not an object"
        text = body.decode("utf-8")
        try:
            envelope = self._skill.serializer.deserialize(payload=text, obj_type=RequestEnvelope)
        except Exception as exc:
            return f"the Alexa request envelope is malformed: {exc}"
        g.alexa_checked_envelope = (text, envelope)
        return None

    def dispatch_request(self) -> Response:
        problem = self._envelope_problem(flask_request.get_data(cache=True))
        if problem is not None:
            log.warning("refused Alexa request: %s", problem)
            return json_error(400, "malformed_request", problem)
        with turn_scope(self._sessions, Channel.ALEXA):
            response: Response = super().dispatch_request()
        return response
