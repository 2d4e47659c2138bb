"""OAuth 2.0 authorization server for Alexa account linking, on Authlib.

Authorization code grant (with optional PKCE S256) and refresh-token grant with
rotation, client authentication by HTTP Basic or POST body, RFC 7009 revocation.
Codes and tokens are stored as SHA-256 hashes only. Authlib's storage hooks reach the
database through the session the web view opened and lent them (:func:`hooks_using`):
the view owns the transaction, the hooks never commit. Nothing here is HTTP: the
Flask server, its configuration and the endpoints are ``web/oauth.py``'s.

Every token belongs to a grant ("family": the code it came from, kept through
rotation). A second use of a spent code or of a rotated-away refresh token means a copy
is in someone else's hands, and nobody can tell whose is the legitimate one: the whole
family is revoked (RFC 6749 4.1.2, RFC 9700 4.14.2). The refused request rolls back,
so the hooks only flag the family (on the :class:`GrantStore`) and the view revokes it in
a transaction of its own (:func:`revoke_family`). Refresh tokens expire a fixed time after
the grant and after a spell unused.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    UnsupportedResponseTypeError,
)
from authlib.oauth2.rfc6749.grants.base import AuthorizationEndpointMixin
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from account_link.models import Customer, OAuthCode, OAuthToken
from account_link.tokens import expires_at, new_family_id, token_hash
from catalog.db import lock_row, utcnow

CODE_TTL = timedelta(minutes=5)
MIN_ACCESS_TOKEN_TTL = 360
MAX_SCOPE = 200
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*")
"""RFC 6749 3.3: space-separated scope tokens of printable ASCII but ``"`` and ``\\``."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OAuthSettings:
    """The one registered client (the Alexa skill) and token lifetimes."""

    client_id: str
    client_secret: str | None
    redirect_uris: tuple[str, ...]
    access_token_ttl: int = 3600
    refresh_token_lifetime_days: int = 90
    """A refresh token stops working this long after the grant (the account linking),
    however often it was rotated since: Alexa then asks the shopper to link again."""
    refresh_token_idle_days: int = 30
    """A refresh token unused (not rotated) for this long stops working."""

    @property
    def enabled(self) -> bool:
        return bool(self.client_secret)


def refresh_token_expired(row: OAuthToken, settings: OAuthSettings, now: datetime) -> bool:
    """Whether the row's refresh token is past its grant's lifetime or has lain idle.

    The token is rotated on every use, so its ``issued_at`` is when it was last used."""
    lifetime = timedelta(days=settings.refresh_token_lifetime_days)
    idle = timedelta(days=settings.refresh_token_idle_days)
    return now - row.family_started_at > lifetime or now - row.issued_at > idle


def revoke_family(session: Session, customer_id: int, family_id: str) -> int:
    """Revoke every token of a grant; how many were still live.

    Under the customer's row lock, which issuing a token takes too: a rotation of this
    family that is under way either commits first (and its new token is seen and
    revoked here) or waits and then finds its refresh token revoked."""
    lock_row(session, Customer, Customer.id == customer_id)
    revoked = session.execute(
        update(OAuthToken)
        .where(
            OAuthToken.family_id == family_id,
            or_(OAuthToken.access_revoked.is_(False), OAuthToken.refresh_revoked.is_(False)),
        )
        .values(access_revoked=True, refresh_revoked=True)
        .execution_options(synchronize_session=False)
    )
    return int(revoked.rowcount)  # type: ignore[attr-defined]


@dataclass
class GrantStore:
    """What Authlib's hooks reach during one request: the session of the view's
    transaction, and a grant they found reused (to revoke after the refusal rolls back)."""

    session: Session
    reused: tuple[int, str] | None = None
    """(customer id, family id) of a grant whose code or refresh token came back."""


_store: ContextVar[GrantStore] = ContextVar("voicecart_oauth_store")


@contextmanager
def hooks_using(session: Session) -> Iterator[GrantStore]:
    """Lend ``session`` to Authlib's hooks for the block (they are called with no way
    to pass it); the store it yields tells the view afterwards what they found."""
    store = GrantStore(session)
    reset = _store.set(store)
    try:
        yield store
    finally:
        _store.reset(reset)


def _flag_reused(what: str, customer_id: int, family_id: str) -> None:
    """Note a grant to revoke: the request is refused, so its own transaction rolls back."""
    log.warning("%s used again: revoking grant %s of customer %s", what, family_id, customer_id)
    _store.get().reused = (customer_id, family_id)


def _db() -> Session:
    return _store.get().session


class ConfiguredClient(ClientMixin):  # type: ignore[misc]
    """The client from settings; redirect URIs must match the allowlist exactly."""

    def __init__(self, settings: OAuthSettings) -> None:
        self.settings = settings
        self.client_id = settings.client_id

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.settings.redirect_uris[0] if self.settings.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """Any well-formed scope (voicecart defines none); ``None`` refuses one that
        RFC 6749 3.3 does not allow or that would not fit the database."""
        if not scope:
            return ""
        return scope if len(scope) <= MAX_SCOPE and _SCOPE.fullmatch(scope) else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.settings.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        secret = self.settings.client_secret or ""
        return bool(secret) and hmac.compare_digest(secret.encode(), client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class CodeRecord(AuthorizationCodeMixin):  # type: ignore[misc]
    row: OAuthCode

    @property
    def code_challenge(self) -> str | None:
        return self.row.code_challenge

    @property
    def code_challenge_method(self) -> str | None:
        return self.row.code_challenge_method

    def get_redirect_uri(self) -> str | None:
        """The URI the token request must repeat: none if the authorization request named
        none (RFC 6749 4.1.3; the code went to the client's default)."""
        return self.row.redirect_uri if self.row.redirect_uri_named else None

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> None:
        return None

    def get_auth_time(self) -> None:
        return None


@dataclass
class TokenRecord(TokenMixin):  # type: ignore[misc]
    row: OAuthToken

    def check_client(self, client: ConfiguredClient) -> bool:
        return self.row.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return self.row.expires_in

    def is_expired(self) -> bool:
        return expires_at(self.row) <= utcnow()

    def is_revoked(self) -> bool:
        return self.row.access_revoked

    def get_user(self) -> Customer:
        return self.row.customer

    def get_client(self) -> None:
        return None


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

    @staticmethod
    def validate_authorization_redirect_uri(request: Any, client: ConfiguredClient) -> str:
        """Authlib's check, without quoting the refused URI in the error: it may hold
        characters an OAuth error cannot carry (``"``, ``\\``, controls, non-ASCII),
        and Authlib then fails with a 500 instead of refusing."""
        named = request.payload.redirect_uri
        if named and not client.check_redirect_uri(named):
            raise InvalidRequestError("The redirect URI is not registered for this client.")
        uri: str = AuthorizationEndpointMixin.validate_authorization_redirect_uri(request, client)
        return uri

    def save_authorization_code(self, code: str, request: Any) -> None:
        payload = request.payload
        _db().add(
            OAuthCode(
                code_hash=token_hash(code),
                client_id=request.client.get_client_id(),
                customer_id=request.user.id,
                redirect_uri=payload.redirect_uri or request.client.get_default_redirect_uri(),
                redirect_uri_named=bool(payload.redirect_uri),
                family_id=new_family_id(),
                scope=request.scope or "",
                code_challenge=payload.data.get("code_challenge"),
                # A challenge without a method is S256 here: Authlib would treat it as
                # "plain", which protects nothing.
                code_challenge_method=(
                    payload.data.get("code_challenge_method") or "S256"
                    if payload.data.get("code_challenge")
                    else None
                ),
                expires_at=utcnow() + CODE_TTL,
            )
        )
        _db().flush()

    def query_authorization_code(self, code: str, client: ConfiguredClient) -> CodeRecord | None:
        row = _db().scalar(
            select(OAuthCode).where(
                OAuthCode.code_hash == token_hash(code),
                OAuthCode.client_id == client.get_client_id(),
            )
        )
        if row is None:
            return None
        if row.used_at is not None:  # expired or not: a spent code came back
            _flag_reused("authorization code", row.customer_id, row.family_id)
            return None
        if row.expires_at <= utcnow():
            return None
        named = self.request.payload.redirect_uri
        if not row.redirect_uri_named and named and named != row.redirect_uri:
            # none was needed, but one that names somewhere else the code never went is wrong
            raise InvalidGrantError("Invalid 'redirect_uri' in request.")
        return CodeRecord(row)

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        """Spend the code exactly once, keeping it to recognise a second use: of
        concurrent uses, one marks it used and the others find it already marked."""
        row = authorization_code.row
        spent = _db().execute(
            update(OAuthCode)
            .where(OAuthCode.id == row.id, OAuthCode.used_at.is_(None))
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            _flag_reused("authorization code", row.customer_id, row.family_id)
            raise InvalidGrantError("The authorization code was already used.")

    def authenticate_user(self, authorization_code: CodeRecord) -> Customer | None:
        return _db().get(Customer, authorization_code.row.customer_id)


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]
    INCLUDE_NEW_REFRESH_TOKEN = True  # refresh tokens rotate
    settings: ClassVar[OAuthSettings]
    """Set on the subclass :func:`build_server` registers."""

    def authenticate_refresh_token(self, refresh_token: str) -> TokenRecord | None:
        row = _db().scalar(
            select(OAuthToken).where(OAuthToken.refresh_token_hash == token_hash(refresh_token))
        )
        if row is None:
            return None
        if row.refresh_revoked:  # rotated away or revoked: a copy is being replayed
            _flag_reused("refresh token", row.customer_id, row.family_id)
            return None
        if refresh_token_expired(row, self.settings, utcnow()):
            return None
        return TokenRecord(row)

    def authenticate_user(self, refresh_token: TokenRecord) -> Customer:
        return refresh_token.row.customer

    def revoke_old_credential(self, refresh_token: TokenRecord) -> None:
        """Rotate exactly once: a concurrent second use of the same refresh token fails."""
        rotated = _db().execute(
            update(OAuthToken)
            .where(OAuthToken.id == refresh_token.row.id, OAuthToken.refresh_revoked.is_(False))
            .values(refresh_revoked=True, access_revoked=True)
            .execution_options(synchronize_session=False)
        )
        if rotated.rowcount != 1:  # type: ignore[attr-defined]
            # A concurrent use rotated it first. A client resending a refresh it got no
            # answer to looks exactly like a thief racing it: reuse, the family goes.
            row = refresh_token.row
            _flag_reused("refresh token", row.customer_id, row.family_id)
            raise InvalidGrantError("The refresh token was already used.")


class PkceS256(CodeChallenge):  # type: ignore[misc]
    """PKCE with S256 only ("plain" protects nothing once the request is seen)."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenRecord | None:
        digest = token_hash(token_string)
        columns = [OAuthToken.access_token_hash, OAuthToken.refresh_token_hash]
        if token_type_hint == "refresh_token":
            columns.reverse()
        for column in columns:
            row = _db().scalar(select(OAuthToken).where(column == digest))
            if row is not None:
                return TokenRecord(row)
        return None

    def revoke_token(self, token: TokenRecord, request: Any) -> None:
        token.row.access_revoked = True
        token.row.refresh_revoked = True
        _db().flush()


class CodeResponsesOnly(AuthorizationServer):  # type: ignore[misc]
    """Mixed into the web's server: refuses an unknown ``response_type`` without quoting
    it (it may hold characters an OAuth error cannot carry; Authlib would fail with a
    500)."""

    def get_authorization_grant(self, request: Any) -> Any:
        if request.payload.response_type != "code":
            raise UnsupportedResponseTypeError(
                response_type="", description="The response type is not supported."
            )
        return super().get_authorization_grant(request)


def _family(request: Any, now: datetime) -> tuple[str, datetime]:
    """The grant a new token joins: its code's, or the one of the refresh token it
    rotates (with the grant's start, which rotation does not move)."""
    rotated = getattr(request, "refresh_token", None)
    if isinstance(rotated, TokenRecord):
        return rotated.row.family_id, rotated.row.family_started_at
    code = getattr(request, "authorization_code", None)
    if isinstance(code, CodeRecord):
        return code.row.family_id, now
    raise InvalidGrantError("No grant to issue a token for.")


def client_lookup(settings: OAuthSettings) -> Callable[[str], ConfiguredClient | None]:
    """Authlib's ``query_client``: the one configured client, when linking is enabled."""
    client = ConfiguredClient(settings)

    def query_client(client_id: str) -> ConfiguredClient | None:
        return client if settings.enabled and client_id == settings.client_id else None

    return query_client


def save_token(token: dict[str, Any], request: Any) -> None:
    """Authlib's ``save_token``: keep the new token's hashes in its grant's family."""
    now = utcnow()
    family_id, started = _family(request, now)
    # Serialises with revoke_family: see there.
    lock_row(_db(), Customer, Customer.id == request.user.id)
    _db().add(
        OAuthToken(
            client_id=request.client.get_client_id(),
            customer_id=request.user.id,
            access_token_hash=token_hash(token["access_token"]),
            refresh_token_hash=(
                token_hash(token["refresh_token"]) if token.get("refresh_token") else None
            ),
            scope=token.get("scope", "") or "",
            issued_at=now,
            expires_in=int(token["expires_in"]),
            family_id=family_id,
            family_started_at=started,
        )
    )
    _db().flush()


def register_grants(server: AuthorizationServer, settings: OAuthSettings) -> None:
    """The grants and endpoints voicecart serves: authorization code (optional PKCE
    S256), refresh tokens rotated under ``settings``' lifetimes, RFC 7009 revocation."""

    class Refresh(RefreshTokenGrant):
        pass

    Refresh.settings = settings
    server.register_grant(AuthorizationCodeGrant, [PkceS256(required=False)])
    server.register_grant(Refresh)
    server.register_endpoint(Revocation)
