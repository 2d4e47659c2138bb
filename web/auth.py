"""Who is asking: a bearer token or a signed-in browser; and the one sign-in form.

Programs (the ``/api/v1`` JSON API and the local channels) send the bearer tokens
account linking issues, the same ones Alexa sends. Browsers (the shop and the account
linking pages) hold a server-side session: Flask's cookie carries only its random id
(:data:`SESSION_KEY`), so signing out ends it for every copy of the cookie, not just
the browser's own. Both sign-in pages post to :func:`sign_in_from_form`, so their
credentials, lock-outs and messages are the same; they differ only in where they go next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import request, session
from sqlalchemy.orm import Session

from account_link.accounts import (
    end_web_session,
    sign_in,
    sign_up,
    start_web_session,
    web_session_customer,
)
from account_link.errors import BadCredentials, EmailTaken, InvalidSignUp, TooManyAttempts
from account_link.models import Customer
from account_link.tokens import TokenState, check_access_token
from account_link.voice_codes import spoken_length
from web.errors import ApiError

SESSION_KEY = "web_session"
"""The cookie's key for the id of the browser's server-side session (accounts.WebSession)."""

# ------------------------------------------------------------------ bearer tokens


def _bearer_challenge(error: str | None = None, description: str | None = None) -> dict[str, str]:
    value = 'Bearer realm="voicecart"'
    if error:
        value += f', error="{error}", error_description="{description}"'
    return {"WWW-Authenticate": value}


def bearer_token() -> str:
    """The request's bearer token, or a 401 that says how to send one (asked before any
    transaction opens: a request without one never reaches the database)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send Authorization: Bearer <access token>",
                       _bearer_challenge())  # fmt: skip
    return token.strip()


def bearer_customer(db: Session, token: str) -> Customer:
    """The customer of a valid access token, or a 401 naming why the token does not count."""
    check = check_access_token(db, token)
    if check.state is not TokenState.VALID or check.customer is None:
        description = f"the access token is {check.state.value}"
        raise ApiError(401, "invalid_token", description,
                       _bearer_challenge("invalid_token", description))  # fmt: skip
    return check.customer


# ------------------------------------------------------------------ browser sessions


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


# ------------------------------------------------------------------ the sign-in form


@dataclass(frozen=True, slots=True)
class SignInRefused:
    """Why the form did not sign anyone in: the page's status and its one-line error."""

    status: int
    message: str


def sign_in_from_form(db: Session, *, new_account: bool = False) -> Customer | SignInRefused:
    """Sign in (or, with ``new_account``, sign up) with the posted form's ``email``,
    ``password`` (and ``name``, ``address``), and start this browser's session.

    Call it in a transaction that commits even when it refuses: a failed attempt is
    counted towards the lock-out."""
    form = request.form
    email, password = form.get("email", ""), form.get("password", "")
    try:
        if new_account:
            customer = sign_up(db, email, form.get("name", ""), password, form.get("address", ""))
        else:
            customer = sign_in(db, email, password, remote_addr=request.remote_addr or "")
    except BadCredentials:
        return SignInRefused(401, "That e-mail and password don't match.")
    except TooManyAttempts as exc:
        wait = spoken_length(timedelta(minutes=max(1, round(exc.retry_after_seconds / 60))))
        return SignInRefused(429, f"Too many failed sign-ins. Try again in {wait}.")
    except EmailTaken:
        return SignInRefused(409, "An account with that e-mail exists. Sign in instead.")
    except InvalidSignUp as exc:
        return SignInRefused(422, exc.message)
    begin_signed_in(db, customer)
    return customer
