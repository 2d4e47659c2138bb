"""OAuth 2.0 authorization server for Alexa account linking, on Authlib.

Authorization code grant (with optional PKCE S256) and refresh-token grant with
rotation, client authentication by HTTP Basic or POST body, RFC 7009 revocation.
Codes and tokens are stored as SHA-256 hashes only. Authlib's storage hooks reach the
database through the session the web view opened (``flask.g.db``): the view owns the
transaction, the hooks never commit.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, g
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from account_link.models import Customer, OAuthCode, OAuthToken
from account_link.tokens import expires_at, token_hash
from catalog.db import utcnow

CODE_TTL = timedelta(minutes=5)
MIN_ACCESS_TOKEN_TTL = 360


@dataclass(frozen=True)
class OAuthSettings:
    """The one registered client (the Alexa skill) and token lifetimes."""

    client_id: str
    client_secret: str | None
    redirect_uris: tuple[str, ...]
    access_token_ttl: int = 3600

    @property
    def enabled(self) -> bool:
        return bool(self.client_secret)


def _db() -> Session:
    session: Session = g.db
    return session


class ConfiguredClient(ClientMixin):  # type: ignore[misc]
    """The client from settings; redirect URIs must match the allowlist exactly."""

    def __init__(self, settings: OAuthSettings) -> None:
        self.settings = settings
        self.client_id = settings.client_id

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.settings.redirect_uris[0] if self.settings.redirect_uris else None

    def get_allowed_scope(self, scope: str) -> str:
        return scope or ""

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

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

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

    def save_authorization_code(self, code: str, request: Any) -> None:
        payload = request.payload
        _db().add(
            OAuthCode(
                code_hash=token_hash(code),
                client_id=request.client.get_client_id(),
                customer_id=request.user.id,
                redirect_uri=payload.redirect_uri or request.client.get_default_redirect_uri(),
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
        if row is None or row.expires_at <= utcnow():
            return None
        return CodeRecord(row)

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        """Spend the code exactly once: a concurrent second use finds nothing to delete."""
        spent = _db().execute(delete(OAuthCode).where(OAuthCode.id == authorization_code.row.id))
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidGrantError("The authorization code was already used.")

    def authenticate_user(self, authorization_code: CodeRecord) -> Customer | None:
        return _db().get(Customer, authorization_code.row.customer_id)


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]
    INCLUDE_NEW_REFRESH_TOKEN = True  # refresh tokens rotate

    def authenticate_refresh_token(self, refresh_token: str) -> TokenRecord | None:
        row = _db().scalar(
            select(OAuthToken).where(OAuthToken.refresh_token_hash == token_hash(refresh_token))
        )
        if row is None or row.refresh_revoked:
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


def build_server(app: Flask, settings: OAuthSettings) -> AuthorizationServer:
    """An Authlib server for ``app``, issuing bearer tokens with refresh tokens."""
    client = ConfiguredClient(settings)

    def query_client(client_id: str) -> ConfiguredClient | None:
        return client if settings.enabled and client_id == settings.client_id else None

    def save_token(token: dict[str, Any], request: Any) -> None:
        _db().add(
            OAuthToken(
                client_id=request.client.get_client_id(),
                customer_id=request.user.id,
                access_token_hash=token_hash(token["access_token"]),
                refresh_token_hash=(
                    token_hash(token["refresh_token"]) if token.get("refresh_token") else None
                ),
                scope=token.get("scope", "") or "",
                issued_at=utcnow(),
                expires_in=int(token["expires_in"]),
            )
        )
        _db().flush()

    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {
        "authorization_code": settings.access_token_ttl,
        "refresh_token": settings.access_token_ttl,
    }
    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(AuthorizationCodeGrant, [PkceS256(required=False)])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(Revocation)
    return server
