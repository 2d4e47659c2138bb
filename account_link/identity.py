"""Who is speaking: map an Alexa user (or, later, an OAuth token) to a customer."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from account_link.models import AlexaLink, Customer
from account_link.tokens import check_access_token

DEMO_SHOPPER_EMAIL = "demo@voicecart.example"


def demo_shopper(session: Session) -> Customer | None:
    return session.scalar(_demo_query())


@cache
def _demo_query() -> Select[Customer]:
    """Built once (reused statements skip building and keying; see tokens)."""
    return select(Customer).where(Customer.email == DEMO_SHOPPER_EMAIL)


@cache
def _linked_query() -> Select[Customer]:
    """The customer behind an Alexa user id, link and customer in one query; built once."""
    return (
        select(Customer)
        .join(AlexaLink, AlexaLink.customer_id == Customer.id)
        .where(AlexaLink.alexa_user_id == bindparam("alexa_user_id"))
    )


def resolve_alexa_user(
    session: Session,
    *,
    alexa_user_id: str | None,
    access_token: str | None,
    demo_for_unlinked: bool,
) -> Customer | None:
    """The customer behind an Alexa request, or ``None`` when the account must be linked.

    A request's access token decides alone: unknown, expired or revoked means "link
    again", never the demo shopper.
    """
    if access_token:
        return check_access_token(session, access_token).customer
    if alexa_user_id:
        linked = session.scalar(_linked_query(), {"alexa_user_id": alexa_user_id})
        if linked is not None:
            return linked
    if demo_for_unlinked:
        return demo_shopper(session)
    return None
