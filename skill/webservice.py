"""The Alexa HTTPS endpoint: flask-ask-sdk's ``SkillAdapter`` with strict verification.

Each request is checked in order of cost, cheapest first, so that junk never costs a
download: the envelope itself (well-formed JSON, an Alexa ``request.type``, no NUL or
invalid Unicode in any string, ids short enough to store), then a fresh timestamp and
this skill's id, and only then the Amazon signature (``Signature-256`` over the raw
body with the certificate chain from Amazon's S3 bucket, downloaded once and cached).
Anything that fails gets HTTP 400 with a JSON body naming the reason, and one WARNING
log line; only verified requests reach the skill, inside one database transaction.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import posixpath
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from urllib.error import URLError
from urllib.parse import urlsplit
from urllib.request import urlopen
from xml.sax.saxutils import escape

from skill._oscrypto_compat import ensure_oscrypto_importable

ensure_oscrypto_importable()

# These imports need the oscrypto hook above (E402 is deliberate).
from ask_sdk_core.exceptions import AskSdkException  # noqa: E402
from ask_sdk_core.serialize import DefaultSerializer  # noqa: E402
from ask_sdk_core.skill import CustomSkill  # noqa: E402
from ask_sdk_model import RequestEnvelope, ResponseEnvelope  # noqa: E402
from ask_sdk_model import Response as AlexaResponse  # noqa: E402
from ask_sdk_model.ui import SsmlOutputSpeech  # noqa: E402
from ask_sdk_webservice_support.verifier import (  # noqa: E402
    AbstractVerifier,
    RequestVerifier,
    TimestampVerifier,
    VerificationException,
)
from ask_sdk_webservice_support.verifier_constants import (  # noqa: E402
    ALEXA_SKILL_EVENT_LIST,
    CERT_CHAIN_URL_HOSTNAME,
    MAX_SKILL_EVENT_TOLERANCE_IN_MILLIS,
    SIGNATURE_CERT_CHAIN_URL_HEADER,
    SIGNATURE_HEADER,
)
from asn1crypto import pem  # noqa: E402
from certvalidator import CertificateValidator, ValidationContext  # noqa: E402
from certvalidator.errors import PathError, ValidationError  # noqa: E402
from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey  # noqa: E402
from cryptography.x509 import (  # noqa: E402
    Certificate,
    DNSName,
    SubjectAlternativeName,
    load_pem_x509_certificates,
)
from cryptography.x509.oid import ExtensionOID  # noqa: E402
from flask import Flask, Response, g, has_app_context, jsonify  # noqa: E402
from flask import request as flask_request  # noqa: E402
from flask_ask_sdk.skill_adapter import (  # noqa: E402
    VERIFY_SIGNATURE_APP_CONFIG,
    VERIFY_TIMESTAMP_APP_CONFIG,
    SkillAdapter,
)
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402
from werkzeug.exceptions import InternalServerError  # noqa: E402

from account_link.models import Channel  # noqa: E402
from catalog.dbstate import unavailable  # noqa: E402
from skill import prompts  # noqa: E402
from skill.scope import turn_scope  # noqa: E402

log = logging.getLogger("voicecart.alexa")

ALEXA_CERT_DOMAIN = "echo-api.amazon.com"
MAX_CHAIN_BYTES = 64 * 1024
MAX_CACHED_CHAINS = 32
CHAIN_MAX_AGE_SECONDS = 3600.0
"""A cached chain is downloaded again after this long (or at its notAfter, if sooner)."""
MAX_SIGNATURE_BYTES = 1024
"""An RSA-8192 signature; Amazon's are RSA-2048 (256 bytes)."""
MAX_BODY_BYTES = 256 * 1024
MAX_REASON_CHARS = 300
MAX_ENVELOPE_DEPTH = 64
"""Far deeper than Alexa nests (about 8 levels; APL component trees a little more)."""

ENVELOPE_ID_LIMITS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("request", "requestId"), 255),
    (("session", "sessionId"), 255),
    (("session", "application", "applicationId"), 255),
    (("context", "System", "application", "applicationId"), 255),
    (("session", "user", "userId"), 512),  # the size of alexa_links.alexa_user_id
    (("context", "System", "user", "userId"), 512),
    (("session", "user", "accessToken"), 4096),  # voicecart issues 43-character tokens
    (("context", "System", "user", "accessToken"), 4096),
)
"""The envelope strings voicecart stores, looks up or keys on, and their longest values."""

V = TypeVar("V")


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


def one_line(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """``text`` safe for one log line: control characters escaped, length capped."""
    shown = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text[: limit + 1])
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


class ExpiringLRU(Generic[V]):
    """A small thread-safe cache: least recently used out when full, entries expire.

    An entry expires ``max_age`` seconds after it was stored or at its own
    ``not_after`` (seconds on ``clock``'s scale, by default the epoch), whichever is
    sooner; expired entries are dropped when looked up and on every ``put``.
    """

    def __init__(
        self,
        *,
        max_entries: int = MAX_CACHED_CHAINS,
        max_age: float = CHAIN_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if max_entries < 1 or max_age <= 0:
            raise ValueError("the cache needs room for one entry and a positive max_age")
        self._max_entries = max_entries
        self._max_age = max_age
        self._clock = clock
        self._entries: OrderedDict[str, tuple[V, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._clock() >= entry[1]:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: str, value: V, *, not_after: float | None = None) -> None:
        with self._lock:
            now = self._clock()
            expires = now + self._max_age
            if not_after is not None:
                expires = min(expires, not_after)
            for stale in [k for k, (_, until) in self._entries.items() if now >= until]:
                del self._entries[stale]
            if now >= expires:  # already expired: nothing worth keeping
                self._entries.pop(key, None)
                return
            self._entries[key] = (value, expires)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def keys(self) -> list[str]:
        """Least recently used first."""
        with self._lock:
            return list(self._entries)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            return str(value)
    return None


class AlexaSignatureVerifier(RequestVerifier):
    """ask-sdk's ``RequestVerifier`` with cheap header checks before any download,
    UTC-aware validity checks and an LRU cache of validated chains that expire.

    The cache holds chains that passed validation, keyed by the canonical URL (so
    ``/echo.api/../echo.api/x.pem`` and ``:443`` variants share one download), for at
    most ``chain_max_age`` seconds and never past the chain's earliest notAfter; the
    signing certificate's validity is still checked on every request.

    ``extra_trust_roots``, ``fetch_chain`` and ``clock`` exist so tests can sign
    requests with a locally generated chain and move time; production uses the
    operating system's roots, Amazon and the wall clock.
    """

    def __init__(
        self,
        *,
        extra_trust_roots: Sequence[bytes] = (),
        fetch_chain: Callable[[str], bytes] | None = None,
        chain_max_age: float = CHAIN_MAX_AGE_SECONDS,
        max_cached_chains: int = MAX_CACHED_CHAINS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._extra_roots = list(extra_trust_roots)
        self._fetch = fetch_chain
        self._chains: ExpiringLRU[Certificate] = ExpiringLRU(
            max_entries=max_cached_chains, max_age=chain_max_age, clock=clock
        )

    def verify(
        self,
        headers: dict[str, Any],
        serialized_request_env: str,
        deserialized_request_env: RequestEnvelope,
    ) -> None:
        cert_url = _header(headers, SIGNATURE_CERT_CHAIN_URL_HEADER)
        signature = _header(headers, SIGNATURE_HEADER)
        if cert_url is None or signature is None:
            raise VerificationException("Missing Signature/Certificate for the skill request")
        url = self._canonical_url(cert_url)
        decoded = self._decoded_signature(signature)
        certificate = self._signing_certificate(url)  # the only step that may download
        key = certificate.public_key()
        if not isinstance(key, RSAPublicKey):
            raise VerificationException("the signing certificate does not hold an RSA key")
        try:
            key.verify(
                decoded,
                serialized_request_env.encode("utf-8"),
                self._padding,
                self._hash_algorithm,
            )
        except InvalidSignature as exc:
            raise VerificationException("Request body is not valid for its signature") from exc

    def _canonical_url(self, cert_url: str) -> str:
        """The one URL to download for ``cert_url``, or a refusal naming what is wrong."""
        self._validate_certificate_url(cert_url)  # protocol, host, /echo.api/ path, port
        parts = urlsplit(cert_url)
        for present, what in (
            (parts.query, "a query"),
            (parts.fragment, "a fragment"),
            (parts.username is not None or parts.password is not None, "user information"),
            (";" in parts.path, "path parameters"),
        ):
            if present:
                raise VerificationException(
                    f"Signature Certificate URL has {what}; Amazon's never does"
                )
        return f"https://{CERT_CHAIN_URL_HOSTNAME}{posixpath.normpath(parts.path)}"

    @staticmethod
    def _decoded_signature(signature: str) -> bytes:
        if not signature.strip():
            raise VerificationException("the Signature-256 header is empty")
        try:
            decoded = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise VerificationException("the Signature-256 header is not valid base64") from exc
        if not 0 < len(decoded) <= MAX_SIGNATURE_BYTES:
            raise VerificationException("the Signature-256 header is not a signature's length")
        return decoded

    def _signing_certificate(self, url: str) -> Certificate:
        """The validated signing certificate behind ``url``: cached, or downloaded once."""
        certificate = self._chains.get(url)
        if certificate is None:
            chain = self._load_cert_chain(url)
            self._validate_cert_chain(chain)
            certificates = load_pem_x509_certificates(chain)
            certificate = certificates[0]
            self._validate_end_certificate(certificate)
            not_after = min(c.not_valid_after_utc for c in certificates)
            self._chains.put(url, certificate, not_after=not_after.timestamp())
        else:
            self._validate_end_certificate(certificate)  # it may have expired since
        return certificate

    def _load_cert_chain(self, cert_url: str) -> bytes:
        """Download (never cached here: only validated chains are cached)."""
        fetch = self._fetch or _fetch_chain
        return fetch(cert_url)

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


class FreshTimestampVerifier(TimestampVerifier):
    """ask-sdk's ``TimestampVerifier`` (150 s; an hour for skill events) naming the
    reason: "Timestamp verification failed: timestamp too old (200 s; ...)"."""

    def verify(
        self,
        headers: dict[str, Any],
        serialized_request_env: str,
        deserialized_request_env: RequestEnvelope,
    ) -> None:
        request = deserialized_request_env.request
        stamp = getattr(request, "timestamp", None)
        if not isinstance(stamp, datetime):
            raise VerificationException("Timestamp verification failed: the request has none")
        if stamp.tzinfo is None:
            raise VerificationException("Timestamp verification failed: it has no time zone")
        age = (datetime.now(UTC) - stamp).total_seconds()
        limit = self._tolerance_in_millis / 1000
        if abs(age) <= limit:
            return
        event = getattr(request, "object_type", None) in ALEXA_SKILL_EVENT_LIST
        if event and abs(age) <= MAX_SKILL_EVENT_TOLERANCE_IN_MILLIS / 1000:
            return
        if age > 0:
            detail = f"timestamp too old ({age:.0f} s; at most {limit:.0f} s)"
        else:
            detail = f"timestamp in the future ({-age:.0f} s ahead; at most {limit:.0f} s)"
        raise VerificationException(f"Timestamp verification failed: {detail}")


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
            g.alexa_verification_failure = _reason(exc)
            raise
        except Exception as exc:  # bad base64, non-PEM chains, odd timestamps ...
            reason = f"{type(self._inner).__name__} could not check the request: {exc}"
            g.alexa_verification_failure = reason
            raise VerificationException(reason) from exc


def _reason(exc: BaseException) -> str:
    return str(exc.args[0] if exc.args else exc) or type(exc).__name__


def verification_failure() -> str:
    """The reason recorded for this request's failed verification."""
    return one_line(str(g.get("alexa_verification_failure", "request failed verification")))


def alexa_verifiers(
    skill_id: str | None, signature: AlexaSignatureVerifier | None = None
) -> list[AbstractVerifier]:
    """Timestamp, then skill id, then signature: every check Amazon's guide asks for,
    cheapest first, so only a fresh request for this skill can make the signature
    check download a certificate chain."""
    checks = [
        FreshTimestampVerifier(),
        SkillIdVerifier(skill_id),
        signature or AlexaSignatureVerifier(),
    ]
    return [GuardedVerifier(check) for check in checks]


def json_error(status: int, error: str, message: str) -> Response:
    response = jsonify({"error": error, "message": message})
    response.status_code = status
    return response


def _text_problem(document: Any) -> str | None:
    """Why ``document`` cannot be stored or echoed: a string (keys too) with NUL or a
    lone surrogate, or nesting deeper than :data:`MAX_ENVELOPE_DEPTH`. Iterative."""
    stack: list[tuple[Any, str, int]] = [(document, "", 0)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth >= MAX_ENVELOPE_DEPTH:
                return f"the envelope nests deeper than {MAX_ENVELOPE_DEPTH} levels"
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, value in items:
                inner = f"{where}[{key}]" if isinstance(node, list) else f"{where}.{key}"
                stack.append((key, inner.lstrip("."), depth + 1))
                stack.append((value, inner.lstrip("."), depth + 1))
        elif isinstance(node, str):
            if "\x00" in node:
                return f"the envelope has a NUL character in {where or 'a string'}"
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return f"the envelope's {where or 'string'} is not valid Unicode (lone surrogate)"
    return None


_HIDDEN_TEXT = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
"""The JSON escapes of NUL and of surrogates: valid JSON text holds neither raw."""


def _may_hide_bad_text(text: str) -> bool:
    """Whether JSON ``text`` could parse to a string with NUL or a lone surrogate, or nest
    deeper than :data:`MAX_ENVELOPE_DEPTH`: only then is the document walked (a real
    envelope is neither, and the walk costs more than reading the text)."""
    if text.count("{") + text.count("[") >= MAX_ENVELOPE_DEPTH:
        return True
    return _HIDDEN_TEXT.search(text) is not None


def envelope_problem(document: Any, text: str | None = None) -> str | None:
    """Why a parsed JSON body is not an Alexa envelope voicecart can handle, or ``None``.
    With the body's ``text``, the strings are only walked if the text could hide a
    problem."""
    request = document.get("request") if isinstance(document, dict) else None
    if not isinstance(request, dict) or not isinstance(request.get("type"), str):
        return "the JSON is not an Alexa request envelope (no request.type)"
    if not isinstance(document.get("context", {}), dict):
        return "the envelope's context is not an object"
    problem = _text_problem(document) if text is None or _may_hide_bad_text(text) else None
    if problem is not None:
        return problem
    for path, limit in ENVELOPE_ID_LIMITS:
        node: Any = document
        for step in path:
            node = node.get(step) if isinstance(node, dict) else None
        if node is None:
            continue
        name = ".".join(path)
        if not isinstance(node, str):
            return f"the envelope's {name} must be a string"
        if len(node) > limit:
            return f"the envelope's {name} is longer than {limit} characters"
    return None


class _SerializedOnce(DefaultSerializer):
    """The ask-sdk serializer, except that each answer is written once per request: the
    answer the exactly-once store wrote is reused for the reply."""

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
    """``SkillAdapter`` that checks requests cheapest-first, refuses with one 400 and one
    WARNING line (flask-ask-sdk logs every refusal as an ERROR with a traceback), and
    owns the turn's transaction."""

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
        skill.serializer = _SerializedOnce()
        super().__init__(skill=skill, skill_id=skill_id or "unset", verifiers=verifiers, app=app)

    def _checked_envelope(self, body: bytes) -> tuple[str, RequestEnvelope] | str:
        """The body's text and envelope, or why ``body`` is not an Alexa request envelope."""
        if not body:
            return "the request body is empty"
        if len(body) > MAX_BODY_BYTES:
            return f"the request body is larger than {MAX_BODY_BYTES} bytes"
        try:
            text = body.decode("utf-8")
            document = json.loads(text)
        except (UnicodeDecodeError, ValueError) as exc:
            return f"the request body is not valid JSON: {exc}"
        except RecursionError:
            return "the request body is not valid JSON: nested too deeply"
        problem = envelope_problem(document, text)
        if problem is not None:
            return problem
        try:
            envelope = self._skill.serializer.deserialize(payload=text, obj_type=RequestEnvelope)
        except Exception as exc:
            return f"the Alexa request envelope is malformed: {exc}"
        return text, envelope

    def dispatch_request(self) -> Response:
        checked = self._checked_envelope(flask_request.get_data(cache=True))
        if isinstance(checked, str):
            return _refuse("malformed_request", checked)
        text, envelope = checked
        headers = dict(flask_request.headers.items())
        try:
            for verifier in self._verifiers:
                verifier.verify(
                    headers=headers, serialized_request_env=text, deserialized_request_env=envelope
                )
        except VerificationException as exc:
            return _refuse("verification_failed", _reason(exc))
        try:
            with turn_scope(self._sessions, Channel.ALEXA):
                try:
                    answer = self._skill.invoke(request_envelope=envelope, context=None)
                    payload = self._skill.serializer.serialize(answer)
                except AskSdkException as exc:  # a fault of ours, not the caller's: keep it
                    log.exception("the Alexa skill could not handle a verified request")
                    raise InternalServerError("Exception occurred during skill dispatch") from exc
        except Exception as exc:
            trouble = unavailable(exc)
            if trouble is None:
                raise
            # Alexa reads a 5xx as "a problem with the skill": say what happened instead.
            log.warning("Alexa request answered 'try again': the database is %s",
                        trouble.trouble.value)  # fmt: skip
            payload = self._skill.serializer.serialize(_spoken(prompts.DATA_UNAVAILABLE))
        return jsonify(payload)


def _spoken(speech: str) -> ResponseEnvelope:
    """A response that says ``speech`` and ends the session (no handler ran)."""
    said = SsmlOutputSpeech(ssml=f"<speak>{escape(speech)}</speak>")
    return ResponseEnvelope(
        version="1.0", response=AlexaResponse(output_speech=said, should_end_session=True)
    )


def _refuse(error: str, reason: str) -> Response:
    """HTTP 400 with the JSON error, logged as one WARNING line (no traceback)."""
    message = one_line(reason)
    log.warning("refused /alexa request: %s", message)
    return json_error(400, error, message)
