"""The account-linking web channel: the sign-in and consent page and the OAuth endpoints.

Authlib's Flask server answers the protocol; its grants and storage are
``account_link.oauth``'s. Each view opens the request's one transaction and lends its
session to Authlib's hooks (``account_link.oauth.hooks_using``).
"""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Flask, Response, redirect, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session, sessionmaker

from account_link.oauth import (
    CodeResponsesOnly,
    OAuthSettings,
    client_lookup,
    hooks_using,
    register_grants,
    revoke_family,
    save_token,
)
from web.auth import SignInRefused, sign_in_from_form, sign_out, signed_in_customer
from web.common import RequestScope


class Server(CodeResponsesOnly, AuthorizationServer):  # type: ignore[misc]
    """Authlib's Flask authorization server, with voicecart's refusals."""


def build_server(app: Flask, settings: OAuthSettings) -> Server:
    """An Authlib server for ``app``, issuing bearer tokens with refresh tokens."""
    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {
        "authorization_code": settings.access_token_ttl,
        "refresh_token": settings.access_token_ttl,
    }
    server = Server(app, query_client=client_lookup(settings), save_token=save_token)
    register_grants(server, settings)
    return server


class _Refused(Exception):
    """Carries an error reply out of the transaction so the transaction rolls back, with
    the grant the request found reused (revoked afterwards, in a transaction of its own)."""

    def __init__(self, response: Response, reused: tuple[int, str] | None) -> None:
        super().__init__(response.status)
        self.response = response
        self.reused = reused


def create_blueprint(
    app: Flask, sessions: sessionmaker[Session], settings: OAuthSettings
) -> Blueprint:
    """Blueprint serving ``/oauth/authorize``, ``/oauth/token`` and ``/oauth/revoke``."""
    server = build_server(app, settings)
    scope = RequestScope(sessions)
    bp = Blueprint("oauth", __name__, url_prefix="/oauth", template_folder="templates")

    def page(template: str, status: int = 200, **context: object) -> tuple[str, int]:
        action = request.path + (
            "?" + request.query_string.decode() if request.query_string else ""
        )
        return render_template(f"oauth/{template}.html", action=action, **context), status

    @bp.route("/authorize", methods=["GET", "POST"])
    def authorize() -> ResponseReturnValue:
        if not settings.enabled:
            return page("error", 503, message="Account linking is not configured on this server "
                        "(VOICECART_OAUTH_CLIENT_SECRET is not set).")  # fmt: skip
        with scope.transaction() as db, hooks_using(db):
            customer = signed_in_customer(db)
            try:
                grant = server.get_consent_grant(end_user=customer)
            except OAuth2Error as error:  # unknown client or unlisted redirect: never redirect
                return page("error", 400, message=error.description or error.error)
            if request.method == "GET":
                return page("consent", customer=customer) if customer else page("signin", email="")
            action = request.form.get("action", "")
            if action in ("signin", "signup"):
                signed_in = sign_in_from_form(db, new_account=action == "signup")
                if isinstance(signed_in, SignInRefused):
                    return page("signin", signed_in.status, email=request.form.get("email", ""),
                                error=signed_in.message)  # fmt: skip
                return redirect(request.full_path.rstrip("?"), code=303)  # on to consent
            if customer is None:
                return page("signin", 401, email="", error="Please sign in first.")
            if action == "signout":
                sign_out(db)
                return page("signin", email="")
            grant_user = customer if action == "allow" else None
            response: Response = server.create_authorization_response(
                grant_user=grant_user, grant=grant
            )
            return response

    @bp.post("/token")
    def issue_token() -> Response:
        try:
            with scope.transaction() as db, hooks_using(db) as store:
                response: Response = server.create_token_response()
                if response.status_code >= 400:  # an error reply keeps nothing it wrote...
                    raise _Refused(response, store.reused)
        except _Refused as refused:
            if refused.reused is not None:  # ...but a replayed code or refresh token costs
                with scope.transaction() as db:  # its whole grant
                    revoke_family(db, *refused.reused)
            return refused.response
        return response

    @bp.post("/revoke")
    def revoke() -> Response:
        with scope.transaction() as db, hooks_using(db):
            response: Response = server.create_endpoint_response("revocation")
            return response

    return bp
