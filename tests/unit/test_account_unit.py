"""Unit tests of carts and orders: quantities, stock, versions, history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from account_link import carts, orders
from account_link.errors import (
    CartChanged,
    EmptyCart,
    NoDeliveryAddress,
    NotInCart,
    OutOfStock,
    PriceChanged,
    QuantityOutOfRange,
)
from account_link.models import Channel, Customer, Order
from catalog.db import utcnow
from catalog.models import Product

MAX = 25


@pytest.fixture
def shopper(session: Session) -> Customer:
    customer = Customer(email="unit@example.com", name="Unit Shopper", address="1 Unit Way")
    session.add(customer)
    session.flush()
    return customer


@pytest.fixture
def widget(session: Session) -> Product:
    product = Product(sku="U-1", name="Widget", brand="Acme", size="1 each", price_cents=250,
                      stock=5, category="test", synonyms=[], popularity=1)  # fmt: skip
    session.add(product)
    session.flush()
    return product


def test_add_merges_lines_and_bumps_version(
    session: Session, shopper: Customer, widget: Product
) -> None:
    before = carts.view_cart(session, shopper.id).version
    carts.add_item(session, shopper.id, widget.id, 2, channel=Channel.ALEXA, max_quantity=MAX)
    carts.add_item(session, shopper.id, widget.id, 3, channel=Channel.WEB, max_quantity=MAX)
    view = carts.view_cart(session, shopper.id)
    assert [(ln.product_id, ln.quantity, ln.added_via) for ln in view.lines] == [
        (widget.id, 5, "web")
    ]
    assert view.version == before + 2
    assert view.updated_via == "web"
    assert view.total_cents == 1250


@pytest.mark.parametrize("quantity", [0, -1, 26])
def test_quantity_limits(
    session: Session, shopper: Customer, widget: Product, quantity: int
) -> None:
    with pytest.raises(QuantityOutOfRange):
        carts.add_item(
            session, shopper.id, widget.id, quantity, channel=Channel.ALEXA, max_quantity=MAX
        )
    assert carts.view_cart(session, shopper.id).lines == ()


def test_line_cannot_grow_past_limit(session: Session, shopper: Customer, widget: Product) -> None:
    carts.add_item(session, shopper.id, widget.id, 20, channel=Channel.ALEXA, max_quantity=MAX)
    with pytest.raises(QuantityOutOfRange) as info:
        carts.add_item(session, shopper.id, widget.id, 6, channel=Channel.ALEXA, max_quantity=MAX)
    assert info.value.already == 20


def test_remove_missing_line(session: Session, shopper: Customer, widget: Product) -> None:
    with pytest.raises(NotInCart):
        carts.remove_item(session, shopper.id, widget.id, channel=Channel.ALEXA)


def test_place_order_reserves_stock_and_snapshots_price(
    session: Session, shopper: Customer, widget: Product
) -> None:
    order = orders.place_order(
        session, shopper.id, [(widget.id, 2)], channel=Channel.ALEXA, max_quantity=MAX
    )
    assert order.total_cents == 500
    assert [(ln.quantity, ln.unit_price_cents) for ln in order.lines] == [(2, 250)]
    assert session.scalar(select(Product.stock).where(Product.id == widget.id)) == 3


def test_out_of_stock_raises_and_reserves_nothing(
    session: Session, shopper: Customer, widget: Product
) -> None:
    with pytest.raises(OutOfStock) as info:
        orders.place_order(
            session, shopper.id, [(widget.id, 6)], channel=Channel.ALEXA, max_quantity=MAX
        )
    assert info.value.available == 5
    assert session.scalar(select(Product.stock).where(Product.id == widget.id)) == 5


def test_no_order_goes_nowhere(session: Session, shopper: Customer, widget: Product) -> None:
    """The rule lives in the service: every channel's order needs an address on file."""
    shopper.address = None
    with pytest.raises(NoDeliveryAddress):
        orders.place_order(
            session, shopper.id, [(widget.id, 1)], channel=Channel.WEB, max_quantity=MAX
        )
    assert session.scalar(select(Product.stock).where(Product.id == widget.id)) == 5
    assert session.scalar(select(func.count()).where(Order.customer_id == shopper.id)) == 0


def test_checkout_empties_cart(session: Session, shopper: Customer, widget: Product) -> None:
    carts.add_item(session, shopper.id, widget.id, 1, channel=Channel.WEB, max_quantity=MAX)
    version = carts.view_cart(session, shopper.id).version
    order, _ = orders.checkout_cart(
        session, shopper.id, channel=Channel.ALEXA, max_quantity=MAX, expected_version=version
    )
    assert order.channel == "alexa"
    assert carts.view_cart(session, shopper.id).lines == ()


def test_checkout_refuses_stale_confirmation(
    session: Session, shopper: Customer, widget: Product
) -> None:
    carts.add_item(session, shopper.id, widget.id, 1, channel=Channel.WEB, max_quantity=MAX)
    with pytest.raises(CartChanged):
        orders.checkout_cart(
            session, shopper.id, channel=Channel.ALEXA, max_quantity=MAX, expected_version=0
        )


def test_checkout_refuses_changed_price(
    session: Session, shopper: Customer, widget: Product
) -> None:
    carts.add_item(session, shopper.id, widget.id, 1, channel=Channel.WEB, max_quantity=MAX)
    with pytest.raises(PriceChanged):
        orders.checkout_cart(session, shopper.id, channel=Channel.ALEXA, max_quantity=MAX,
                             agreed_total_cents=1)  # fmt: skip


def test_checkout_of_empty_cart(session: Session, shopper: Customer) -> None:
    with pytest.raises(EmptyCart):
        orders.checkout_cart(session, shopper.id, channel=Channel.ALEXA, max_quantity=MAX)


def test_history_prior_prefers_frequent_and_recent(session: Session, shopper: Customer) -> None:
    a, b, c = (
        Product(sku=f"H-{i}", name=f"Thing {i}", brand="Acme", size="", price_cents=100, stock=50,
                category="test", synonyms=[], popularity=1)
        for i in range(3)
    )  # fmt: skip
    session.add_all([a, b, c])
    session.flush()
    now = utcnow()
    for days_ago, product in [(5, a), (12, a), (19, a), (200, b), (201, b), (202, b), (3, c)]:
        order = orders.place_order(session, shopper.id, [(product.id, 1)], channel=Channel.SEED,
                                   max_quantity=MAX)  # fmt: skip
        order.placed_at = now - timedelta(days=days_ago)
    session.flush()
    prior = orders.history_prior(orders.purchase_history(session, shopper.id), now)
    assert prior[a.id] == 1.0
    # Same frequency: the more recent wins. Bought thrice long ago beats bought once lately.
    assert prior[a.id] > prior[b.id] > prior[c.id]
    assert session.scalar(select(Order).where(Order.customer_id == shopper.id)) is not None
