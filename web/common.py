"""The request's one database transaction, opened the same way by every view.

A view opens it once, at its edge, around everything it does: the transaction commits
when the view's block ends (with a page, a redirect or a reply, refusals included, so a
counted failed sign-in stays counted) and rolls back when anything raises out of it, so
a request never leaves half its writes behind. Services inside take the session and
never commit. The local channels are the exception that proves the rule: their one
transaction is the skill's turn (``skill.scope.turn_scope``), opened by the dialogue.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import abort, redirect, url_for
from sqlalchemy.orm import Session, sessionmaker

from account_link.models import Customer
from web.auth import bearer_customer, bearer_token, signed_in_customer

MAX_ID = 2**31 - 1
"""Ids and quantities beyond this are not numbers any database row can have (the
schema's integer columns; PostgreSQL refuses larger ones with an error, not a miss)."""

SIGN_IN_ENDPOINT = "shop.sign_in_page"
"""Where a page that needs a signed-in shopper sends a browser that is not."""


class RequestScope:
    """Opens a request's transaction, alone or with its authenticated customer."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """The request's one transaction (see the module's docstring)."""
        with self._sessions.begin() as db:
            yield db

    @contextmanager
    def bearer(self) -> Iterator[tuple[Session, Customer]]:
        """The transaction and the customer of the request's bearer token; a request
        without a token is a 401 before the database is touched, a bad token a 401."""
        token = bearer_token()
        with self.transaction() as db:
            yield db, bearer_customer(db, token)

    @contextmanager
    def signed_in(self, back: str) -> Iterator[tuple[Session, Customer]]:
        """The transaction and the browser's signed-in shopper; a browser that is not
        signed in goes to sign in, and comes back to ``back`` afterwards."""
        with self.transaction() as db:
            customer = signed_in_customer(db)
            if customer is None:
                abort(redirect(url_for(SIGN_IN_ENDPOINT, next=back)))
            yield db, customer
