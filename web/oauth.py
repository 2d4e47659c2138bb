"""The account-linking web channel: sign-in / sign-up / consent pages and OAuth endpoints.

Each view opens the request's one transaction (``with sessions.begin()``) and hands
the session to Authlib's hooks through ``flask.g.db``.

Signed-in browsers (here and in the shop) hold a server-side session: Flask's cookie
carries only its random id (:data:`SESSION_KEY`), so signing out ends it for every copy
of the cookie, not just the browser's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Flask, Response, g, redirect, render_template, request, session
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session, sessionmaker

from account_link.accounts import (
    end_web_session,
    sign_in,
    sign_up,
    start_web_session,
    web_session_customer,
)
from account_link.errors import BadCredentials, EmailTaken, InvalidSignUp, TooManyAttempts
from account_link.models import Customer
from account_link.oauth import OAuthSettings, build_server, reused_family, revoke_family

SESSION_KEY = "web_session"
"""The cookie's key for the id of the browser's server-side session (accounts.WebSession)."""


def signed_in_customer(db: Session) -> Customer | None:
    """The shopper this browser's session is signed in as, if it is still live."""
    customer = web_session_customer(db, session.get(SESSION_KEY))
    if customer is None and SESSION_KEY in session:
        session.pop(SESSION_KEY)  # ended elsewhere (sign-out, new password, age)
    return customer


def begin_signed_in(db: Session, customer: Customer) -> None:
    """Sign this browser in: a fresh cookie (no fixation) naming a new server session."""
    session.clear()
    session[SESSION_KEY] = start_web_session(db, customer)


def sign_out(db: Session) -> None:
    """End this browser's session on the server too: a saved copy of the cookie is dead."""
    end_web_session(db, session.get(SESSION_KEY))
    session.clear()


class _Refused(Exception):
    """Carries an error reply out of the transaction so the transaction rolls back."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def create_blueprint(
    app: Flask, sessions: sessionmaker[Session], settings: OAuthSettings
) -> Blueprint:
    """Blueprint serving ``/oauth/authorize``, ``/oauth/token`` and ``/oauth/revoke``."""
    server = build_server(app, settings)
    bp = Blueprint("oauth", __name__, url_prefix="/oauth", template_folder="templates")

    @contextmanager
    def transaction() -> Iterator[Session]:
        with sessions.begin() as db:
            g.db = db
            try:
                yield db
            finally:
                g.pop("db", None)

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
        with transaction() as db:
            customer = signed_in_customer(db)
            try:
                grant = server.get_consent_grant(end_user=customer)
            except OAuth2Error as error:  # unknown client or unlisted redirect: never redirect
                return page("error", 400, message=error.description or error.error)
            if request.method == "GET":
                return page("consent", customer=customer) if customer else page("signin", email="")
            action = request.form.get("action", "")
            if action in ("signin", "signup"):
                return _sign_in_or_up(db, action)
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

    def _sign_in_or_up(db: Session, action: str) -> ResponseReturnValue:
        email = request.form.get("email", "")
        password = request.form.get("password", "")
        try:
            if action == "signin":
                customer = sign_in(db, email, password, remote_addr=request.remote_addr or "")
            else:
                customer = sign_up(db, email, request.form.get("name", ""), password,
                                   request.form.get("address", ""))  # fmt: skip
        except BadCredentials:
            return page("signin", 401, email=email, error="That e-mail and password don't match.")
        except TooManyAttempts as exc:
            minutes = max(1, round(exc.retry_after_seconds / 60))
            message = f"Too many failed sign-ins. Try again in {minutes} minutes."
            return page("signin", 429, email=email, error=message)
        except EmailTaken:
            return page("signin", 409, email=email,
                        error="An account with that e-mail exists. Sign in instead.")  # fmt: skip
        except InvalidSignUp as exc:
            return page("signin", 422, email=email, error=exc.message)
        begin_signed_in(db, customer)
        return redirect(request.full_path.rstrip("?"), code=303)

    @bp.post("/token")
    def issue_token() -> Response:
        try:
            with transaction():
                response: Response = server.create_token_response()
                if response.status_code >= 400:
                    raise _Refused(response)  # an error reply keeps nothing it wrote
        except _Refused as refused:
            reused = reused_family()
            if reused is not None:  # ...but a replayed code or refresh token costs its grant
                with sessions.begin() as db:
                    revoke_family(db, *reused)
            return refused.response
        return response

    @bp.post("/revoke")
    def revoke() -> Response:
        with transaction():
            response: Response = server.create_endpoint_response("revocation")
            return response

    return bp
