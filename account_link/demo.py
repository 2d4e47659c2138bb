"""The demo shopper and their order history, so reorder works out of the box."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from account_link.identity import DEMO_SHOPPER_EMAIL, demo_shopper
from account_link.models import Channel, Customer, Order, OrderLine, OrderStatus
from account_link.orders import NO_CHARGES
from catalog.db import utcnow
from catalog.errors import UnknownProduct
from catalog.models import Product

DEMO_SHOPPER_NAME = "Alex Demo"
DEMO_ADDRESS = "12 Market Street"

# (days ago, [(words in the product name, quantity), ...]) — twelve weekly-ish shops.
DEMO_ORDERS: tuple[tuple[int, tuple[tuple[str, int], ...]], ...] = (
    (84, (("paper towels", 1), ("whole milk", 1), ("bananas", 1), ("eggs", 1), ("coffee", 1))),
    (77, (("whole milk", 1), ("bananas", 1), ("whole wheat bread", 1), ("greek yogurt", 2))),
    (70, (("paper towels", 1), ("almond milk", 1), ("toilet paper", 1), ("dish soap", 1))),
    (63, (("whole milk", 1), ("bananas", 1), ("eggs", 1), ("coffee", 1), ("cheddar", 1))),
    (56, (("orange juice", 1), ("bananas", 1), ("chicken breast", 2), ("spinach", 1))),
    (49, (("paper towels", 1), ("whole milk", 1), ("eggs", 1), ("honeycrisp", 3))),
    (42, (("coffee", 1), ("almond milk", 1), ("peanut butter", 1), ("spaghetti", 2))),
    (35, (("whole milk", 1), ("bananas", 1), ("whole wheat bread", 1), ("dish soap", 1))),
    (28, (("paper towels", 1), ("eggs", 1), ("greek yogurt", 2), ("toilet paper", 1))),
    (21, (("whole milk", 1), ("bananas", 1), ("coffee", 1), ("orange juice", 1))),
    (14, (("almond milk", 1), ("chicken breast", 2), ("spinach", 1), ("cheddar", 1))),
    (6, (("paper towels", 1), ("whole milk", 1), ("bananas", 1), ("eggs", 1))),
)


def _product_named(session: Session, words: str) -> Product:
    """The lowest-SKU active product whose name contains ``words`` (deterministic)."""
    product = session.scalar(
        select(Product)
        .where(Product.active, func.lower(Product.name).contains(words.lower()))
        .order_by(Product.sku)
        .limit(1)
    )
    if product is None:
        raise UnknownProduct(words)
    return product


def record_past_order(
    session: Session,
    customer: Customer,
    items: Sequence[tuple[Product, int]],
    *,
    placed_at: datetime,
    status: OrderStatus = OrderStatus.DELIVERED,
) -> Order:
    """An order from the shopper's past (demo data, dialogue-test fixtures): priced at
    today's prices, stock untouched, so purchase history and "my last order" have data."""
    lines = [OrderLine(product_id=product.id, product_name=product.spoken_name,
                       quantity=quantity, unit_price_cents=product.price_cents)
             for product, quantity in items]  # fmt: skip
    subtotal = sum(line.line_total_cents for line in lines)
    order = Order(customer=customer, status=status.value, channel=Channel.SEED.value,
                  subtotal_cents=subtotal, total_cents=subtotal, placed_at=placed_at,
                  expected_at=placed_at + timedelta(days=NO_CHARGES.delivery_days),
                  lines=lines)  # fmt: skip
    if status is OrderStatus.DELIVERED:
        order.delivered_at = min(placed_at + timedelta(days=1), utcnow())
    session.add(order)
    session.flush()
    return order


def seed_demo_shopper(session: Session) -> str:
    """Create the demo shopper with a dozen past orders, once; later runs change nothing."""
    shopper = demo_shopper(session)
    if shopper is not None:
        return "already present"
    shopper = Customer(email=DEMO_SHOPPER_EMAIL, name=DEMO_SHOPPER_NAME, address=DEMO_ADDRESS)
    session.add(shopper)
    session.flush()
    now = utcnow()
    for days_ago, lines in DEMO_ORDERS:
        items = [(_product_named(session, words), quantity) for words, quantity in lines]
        placed_at = now - timedelta(days=days_ago, hours=2)
        record_past_order(session, shopper, items, placed_at=placed_at)
    session.flush()
    return f"created with {len(DEMO_ORDERS)} past orders"
