"""The shared cart: one per customer, edited by every channel through these functions.

Every change bumps ``Cart.version`` and records the channel, so any channel can see
what changed and where, and optimistic concurrency can detect stale edits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from account_link.errors import NotInCart, QuantityOutOfRange
from account_link.models import Cart, CartLine, Channel
from catalog.db import lock_row, utcnow
from catalog.service import get_product


@dataclass(frozen=True, slots=True)
class CartLineView:
    product_id: int
    sku: str
    name: str
    size: str
    quantity: int
    unit_price_cents: int
    added_via: str
    in_stock: bool
    updated_at: datetime

    @property
    def line_total_cents(self) -> int:
        return self.quantity * self.unit_price_cents


@dataclass(frozen=True, slots=True)
class CartView:
    """A read-only snapshot of a cart, priced at today's prices."""

    customer_id: int
    version: int
    updated_via: str
    lines: tuple[CartLineView, ...]

    @property
    def total_cents(self) -> int:
        return sum(line.line_total_cents for line in self.lines)

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    def touched_elsewhere(self, channel: Channel, since: datetime) -> list[CartLineView]:
        """Lines another channel added or changed since ``since`` ("on the web today")."""
        return [ln for ln in self.lines if ln.added_via != channel.value and ln.updated_at >= since]


def cart_for(session: Session, customer_id: int) -> Cart:
    """The customer's cart, created on first use (safe against a concurrent first use)."""
    cart = session.scalar(select(Cart).where(Cart.customer_id == customer_id))
    if cart is not None:
        return cart
    try:
        with session.begin_nested():
            cart = Cart(customer_id=customer_id)
            session.add(cart)
    except IntegrityError:
        cart = session.scalars(select(Cart).where(Cart.customer_id == customer_id)).one()
    return cart


def cart_for_update(session: Session, customer_id: int) -> Cart:
    """The cart, locked for this transaction: concurrent edits queue up, none is lost."""
    cart = lock_row(session, Cart, Cart.customer_id == customer_id)
    if cart is None:  # first use: create it (or meet a concurrent creator), then lock it
        cart_for(session, customer_id)
        session.flush()
        cart = lock_row(session, Cart, Cart.customer_id == customer_id)
        assert cart is not None
    return cart


@cache
def _cart_with_lines() -> Select[Cart]:
    """A cart, its lines and their products in one query, built once (see
    :func:`account_link.tokens.check_access_token`)."""
    return (
        select(Cart)
        .where(Cart.customer_id == bindparam("customer_id"))
        .options(joinedload(Cart.lines))
    )


def view_cart(session: Session, customer_id: int) -> CartView:
    """A snapshot; reading never writes (a shopper with no cart yet has an empty one).
    The cart, its lines and their products come in one query (a turn that reads the
    cart makes few others)."""
    found = session.execute(_cart_with_lines(), {"customer_id": customer_id})
    cart = found.unique().scalar_one_or_none()
    if cart is None:
        return CartView(customer_id, version=0, updated_via=Channel.SEED.value, lines=())
    return CartView(
        customer_id=customer_id,
        version=cart.version,
        updated_via=cart.updated_via,
        lines=tuple(
            CartLineView(
                product_id=line.product_id,
                sku=line.product.sku,
                name=line.product.display_name,
                size=line.product.size,
                quantity=line.quantity,
                unit_price_cents=line.product.price_cents,
                added_via=line.added_via,
                in_stock=line.product.stock >= line.quantity,
                updated_at=line.updated_at,
            )
            for line in cart.lines
        ),
    )


def check_quantity(quantity: int, maximum: int, already: int = 0) -> None:
    """Refuse quantities below one or lines above ``maximum`` units."""
    if quantity < 1 or already + quantity > maximum:
        raise QuantityOutOfRange(quantity, maximum, already)


def _line_of(cart: Cart, product_id: int) -> CartLine | None:
    return next((ln for ln in cart.lines if ln.product_id == product_id), None)


def touch(cart: Cart, channel: Channel) -> None:
    """Record a change: a new version, when, and which channel made it."""
    cart.version += 1
    cart.updated_at = utcnow()
    cart.updated_via = channel.value


def add_item(
    session: Session,
    customer_id: int,
    product_id: int,
    quantity: int,
    *,
    channel: Channel,
    max_quantity: int,
) -> CartLine:
    """Add ``quantity`` units; an existing line grows instead of duplicating."""
    product = get_product(session, product_id)
    cart = cart_for_update(session, customer_id)
    line = _line_of(cart, product.id)
    check_quantity(quantity, max_quantity, line.quantity if line else 0)
    now = utcnow()
    if line is None:
        line = CartLine(
            product=product, quantity=quantity, added_via=channel.value, added_at=now,
            updated_at=now,
        )  # fmt: skip
        cart.lines.append(line)
    else:
        line.quantity += quantity
        line.updated_at = now
        line.added_via = channel.value
    touch(cart, channel)
    session.flush()
    return line


def remove_item(session: Session, customer_id: int, product_id: int, *, channel: Channel) -> int:
    """Remove the product's line; returns how many units were removed."""
    cart = cart_for_update(session, customer_id)
    line = _line_of(cart, product_id)
    if line is None:
        raise NotInCart(product_id, get_product(session, product_id).display_name)
    cart.lines.remove(line)
    touch(cart, channel)
    session.flush()
    return line.quantity


def set_quantity(
    session: Session,
    customer_id: int,
    product_id: int,
    quantity: int,
    *,
    channel: Channel,
    max_quantity: int,
) -> CartLine:
    """Set a line's quantity outright (the web's quantity box); the line must exist."""
    cart = cart_for_update(session, customer_id)
    line = _line_of(cart, product_id)
    if line is None:
        raise NotInCart(product_id, get_product(session, product_id).display_name)
    check_quantity(quantity, max_quantity)
    line.quantity = quantity
    line.updated_at = utcnow()
    line.added_via = channel.value
    touch(cart, channel)
    session.flush()
    return line


def clear_cart(session: Session, customer_id: int, *, channel: Channel) -> None:
    cart = cart_for_update(session, customer_id)
    if cart.lines:
        cart.lines.clear()
        touch(cart, channel)
        session.flush()


def line_name(session: Session, customer_id: int, product_id: int) -> str:
    """The spoken name of a cart line's product (``NotInCart`` when it is not there)."""
    line = _line_of(cart_for(session, customer_id), product_id)
    if line is None:
        raise NotInCart(product_id, get_product(session, product_id).display_name)
    return str(line.product.display_name)
