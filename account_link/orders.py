"""Placing orders from the cart or from history, and reading them back.

Stock is reserved with one conditional ``UPDATE`` per line, so two channels racing
for the last unit cannot both win; any failure raises before the caller commits,
which leaves neither an order nor a stock change behind.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from account_link.carts import add_item, cart_for_update, check_quantity, touch
from account_link.claims import claim
from account_link.errors import (
    CannotAdvance,
    CannotCancel,
    CartChanged,
    EmptyCart,
    NoDeliveryAddress,
    OrderNotFound,
    OutOfStock,
    PriceChanged,
    QuantityOutOfRange,
)
from account_link.models import (
    Channel,
    Customer,
    Order,
    OrderLine,
    OrderStatus,
    OutboxMessage,
)
from catalog.db import lock_row, utcnow
from catalog.models import Product
from catalog.money import dollars
from catalog.service import get_products

HISTORY_HALF_LIFE_DAYS = 60.0


@dataclass(frozen=True, slots=True)
class QuoteLine:
    product_id: int
    name: str
    size: str
    quantity: int
    unit_price_cents: int
    available: int

    @property
    def line_total_cents(self) -> int:
        return self.quantity * self.unit_price_cents


@dataclass(frozen=True, slots=True)
class Charges:
    """Tax and delivery on top of the items, and when a delivery arrives (configured by the
    deployment; every order keeps what it was charged and promised)."""

    tax_bps: int = 0
    """Sales tax in basis points of the item subtotal (825 = 8.25%), rounded half up."""
    delivery_fee_cents: int = 0
    free_delivery_from_cents: int = 0
    """Subtotal from which delivery is free; 0: never free."""
    delivery_days: int = 2
    """Days from placing to the promised delivery."""

    def tax(self, subtotal_cents: int) -> int:
        return (subtotal_cents * self.tax_bps + 5_000) // 10_000

    def delivery(self, subtotal_cents: int) -> int:
        free = self.free_delivery_from_cents and subtotal_cents >= self.free_delivery_from_cents
        return 0 if free or subtotal_cents == 0 else self.delivery_fee_cents


NO_CHARGES = Charges()


@dataclass(frozen=True, slots=True)
class Quote:
    """What an order of these items would cost now: spoken before the shopper says yes."""

    lines: tuple[QuoteLine, ...]
    charges: Charges = NO_CHARGES

    @property
    def subtotal_cents(self) -> int:
        return sum(line.line_total_cents for line in self.lines)

    @property
    def tax_cents(self) -> int:
        return self.charges.tax(self.subtotal_cents)

    @property
    def delivery_cents(self) -> int:
        return self.charges.delivery(self.subtotal_cents)

    @property
    def total_cents(self) -> int:
        """Everything the shopper pays: items, tax and delivery."""
        return self.subtotal_cents + self.tax_cents + self.delivery_cents

    @property
    def items(self) -> list[tuple[int, int]]:
        return [(line.product_id, line.quantity) for line in self.lines]

    @property
    def short_line(self) -> QuoteLine | None:
        """The first line with fewer units in stock than asked for."""
        return next((line for line in self.lines if line.available < line.quantity), None)


class StockShort(OutOfStock):
    """Found short while pricing, before anything was written: the caller may offer a fix
    and go on (unlike a reservation that lost a race, which must roll back)."""

    def __init__(self, line: QuoteLine) -> None:
        super().__init__(line.product_id, line.name, line.quantity, line.available)
        self.line = line


@dataclass(frozen=True, slots=True)
class PurchaseStat:
    orders: int
    units: int
    last_bought: datetime


def quote(
    session: Session,
    items: Sequence[tuple[int, int]],
    *,
    max_quantity: int,
    charges: Charges = NO_CHARGES,
) -> Quote:
    """Price ``(product_id, quantity)`` pairs at today's prices; refuses bad quantities."""
    merged: dict[int, int] = {}
    for product_id, quantity in items:
        merged[product_id] = merged.get(product_id, 0) + quantity
    for quantity in merged.values():
        check_quantity(quantity, max_quantity)
    products = get_products(session, merged)
    return Quote(
        tuple(
            QuoteLine(
                product_id=pid,
                name=products[pid].display_name,
                size=products[pid].size,
                quantity=qty,
                unit_price_cents=products[pid].price_cents,
                available=products[pid].stock,
            )
            for pid, qty in merged.items()
        ),
        charges,
    )


def offer(
    session: Session,
    items: Sequence[tuple[int, int]],
    *,
    max_quantity: int,
    charges: Charges = NO_CHARGES,
) -> Quote:
    """A quote the shopper can say yes to: refuses up front what could not be delivered."""
    if not items:
        raise EmptyCart()
    priced = quote(session, items, max_quantity=max_quantity, charges=charges)
    if priced.short_line is not None:
        raise StockShort(priced.short_line)
    return priced


def check_deliverable(customer: Customer) -> None:
    """An order is only offered to a shopper with a delivery address on file."""
    if not customer.address:
        raise NoDeliveryAddress()


def _reserve(session: Session, line: QuoteLine) -> None:
    reserved = session.execute(
        update(Product)
        .where(Product.id == line.product_id, Product.stock >= line.quantity)
        # keep updated_at: a stock move is not a catalogue edit (no index rebuild)
        .values(stock=Product.stock - line.quantity, updated_at=Product.updated_at)
        .execution_options(synchronize_session=False)
    )
    if reserved.rowcount != 1:  # type: ignore[attr-defined]
        available = session.scalar(select(Product.stock).where(Product.id == line.product_id))
        raise OutOfStock(line.product_id, line.name, line.quantity, int(available or 0))


def place_order(
    session: Session,
    customer_id: int,
    items: Sequence[tuple[int, int]],
    *,
    channel: Channel,
    max_quantity: int,
    agreed_total_cents: int | None = None,
    idempotency_key: str | None = None,
    charges: Charges = NO_CHARGES,
) -> Order:
    """Reserve stock and write the order with its lines, all in the caller's transaction.

    With ``idempotency_key``, placing again (a second "yes", a retried checkout, even
    concurrently) returns the order the key already placed and reserves nothing more.
    """
    if idempotency_key is not None:
        placed = placed_with_key(session, customer_id, idempotency_key)
        if placed is not None:
            return placed
    return _place_unless_claimed(session, customer_id, items, channel=channel,
                                 max_quantity=max_quantity, agreed_total_cents=agreed_total_cents,
                                 idempotency_key=idempotency_key, charges=charges)  # fmt: skip


def _place_unless_claimed(
    session: Session,
    customer_id: int,
    items: Sequence[tuple[int, int]],
    *,
    channel: Channel,
    max_quantity: int,
    agreed_total_cents: int | None,
    idempotency_key: str | None,
    charges: Charges,
) -> Order:
    """:func:`place_order` once the key was looked up and found unused."""
    if not items:
        raise EmptyCart()
    check_deliverable(session.get_one(Customer, customer_id))
    priced = quote(session, items, max_quantity=max_quantity, charges=charges)
    if priced.short_line is not None:
        raise StockShort(priced.short_line)
    if agreed_total_cents is not None and priced.total_cents != agreed_total_cents:
        raise PriceChanged(agreed_total_cents, priced.total_cents)
    stored = _stored_key(customer_id, idempotency_key)
    if idempotency_key is not None and not claim(session, f"order:{stored}"):
        # a concurrent twin placed it and committed while this one waited for the claim
        session.expire_all()
        placed = placed_with_key(session, customer_id, idempotency_key)
        if placed is None:
            raise RuntimeError(f"order key {idempotency_key!r} is claimed but has no order")
        return placed
    return _write_order(session, customer_id, priced, channel, stored)


def _stored_key(customer_id: int, key: str | None) -> str | None:
    """A key is the customer's own: another shopper's same key (a guessed form field, an
    app's "1") is a different order, never a replay of theirs or a collision."""
    return None if key is None else f"{customer_id}:{key}"


def placed_with_key(session: Session, customer_id: int, key: str) -> Order | None:
    """The customer's order placed under ``key``, if any."""
    return session.scalar(
        select(Order).where(
            Order.idempotency_key == _stored_key(customer_id, key),
            Order.customer_id == customer_id,
        )
    )


def _charge_lines(order: Order) -> list[str]:
    if not order.tax_cents and not order.delivery_cents:
        return []
    return [f"Items: {dollars(order.subtotal_cents)}", f"Tax: {dollars(order.tax_cents)}",
            f"Delivery: {dollars(order.delivery_cents)}"]  # fmt: skip


def _confirmation_message(session: Session, order: Order) -> OutboxMessage:
    """The order confirmation e-mail, in the order's own transaction (the outbox)."""
    customer = session.get_one(Customer, order.customer_id)
    lines = [f"{ln.quantity} x {ln.product_name}  {dollars(ln.line_total_cents)}"
             for ln in order.lines]  # fmt: skip
    arrives = order.expected_at
    when = [f"Expected delivery: {arrives:%A, %B} {arrives.day}"] if arrives else []
    body = "\n".join([f"Hello {customer.name},", "", f"Your order {order.id} is placed:", *lines,
                      *_charge_lines(order), f"Total: {dollars(order.total_cents)}", *when, "",
                      "Changed your mind? Say: cancel my order."])  # fmt: skip
    message = OutboxMessage(customer_id=customer.id, order_id=order.id, kind="order_confirmation",
                            recipient=customer.email, subject=f"Voice Cart order {order.id}",
                            body=body[:4000])  # fmt: skip
    session.add(message)
    return message


PAUSE_INSIDE_ORDER: Callable[[Order], None] | None = None
"""Test hook: called after an order is written and before its transaction commits
(the crash test kills a worker there). Set only by ``create_app`` from a test setting."""


def _write_order(
    session: Session, customer_id: int, priced: Quote, channel: Channel, key: str | None
) -> Order:
    for line in priced.lines:
        _reserve(session, line)
    placed_at = utcnow()
    order = Order(
        idempotency_key=key,
        customer_id=customer_id,
        status=OrderStatus.PLACED.value,
        channel=channel.value,
        subtotal_cents=priced.subtotal_cents,
        tax_cents=priced.tax_cents,
        delivery_cents=priced.delivery_cents,
        total_cents=priced.total_cents,
        placed_at=placed_at,
        expected_at=placed_at + timedelta(days=priced.charges.delivery_days),
        lines=[
            OrderLine(
                product_id=line.product_id,
                product_name=f"{line.name}, {line.size}" if line.size else line.name,
                quantity=line.quantity,
                unit_price_cents=line.unit_price_cents,
            )
            for line in priced.lines
        ],
    )
    session.add(order)
    session.flush()
    _confirmation_message(session, order)
    if PAUSE_INSIDE_ORDER is not None:
        PAUSE_INSIDE_ORDER(order)
    expire_products(session)
    return order


def expire_products(session: Session) -> None:
    """Stock was changed behind the identity map: reload products when next read (only
    them: the order, its lines, the cart and the customer are current)."""
    for instance in list(session.identity_map.values()):
        if isinstance(instance, Product):
            session.expire(instance)


class Checkout(NamedTuple):
    order: Order
    replayed: bool
    """The key had placed this order already (a retry): nothing new was written."""


def checkout_cart(
    session: Session,
    customer_id: int,
    *,
    channel: Channel,
    max_quantity: int,
    expected_version: int | None = None,
    agreed_total_cents: int | None = None,
    idempotency_key: str | None = None,
    charges: Charges = NO_CHARGES,
) -> Checkout:
    """Turn the whole cart into an order and empty the cart (once per ``idempotency_key``:
    a repeat, even one that waited on the cart lock, gets that order back as a replay)."""
    cart = cart_for_update(session, customer_id)  # the lock also queues concurrent twins
    if idempotency_key is not None:
        placed = placed_with_key(session, customer_id, idempotency_key)
        if placed is not None:
            return Checkout(placed, replayed=True)
    if not cart.lines:
        raise EmptyCart()
    if expected_version is not None and cart.version != expected_version:
        raise CartChanged(expected_version, cart.version)
    items = [(line.product_id, line.quantity) for line in cart.lines]
    order = _place_unless_claimed(
        session, customer_id, items, channel=channel, max_quantity=max_quantity,
        agreed_total_cents=agreed_total_cents, idempotency_key=idempotency_key, charges=charges,
    )  # fmt: skip
    cart.lines.clear()
    touch(cart, channel)
    session.flush()
    return Checkout(order, replayed=False)


@cache
def _latest_with_lines() -> Select[Order]:
    """The newest order and its lines in one query, built once (a statement reused with
    new parameters is not built and keyed again: more than the query costs on SQLite)."""
    return (
        select(Order)
        .where(Order.customer_id == bindparam("customer_id"))
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .options(joinedload(Order.lines))
        .limit(1)
    )


def latest_order(session: Session, customer_id: int) -> Order | None:
    found = session.scalars(_latest_with_lines(), {"customer_id": customer_id})
    return found.unique().first()


@cache
def _history_query() -> Select[int, int, int, datetime]:
    """Per product bought: orders, units, last time; built once (see above)."""
    return (
        select(
            OrderLine.product_id,
            func.count(func.distinct(Order.id)),
            func.sum(OrderLine.quantity),
            func.max(Order.placed_at),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.customer_id == bindparam("customer_id"),
            Order.status != OrderStatus.CANCELLED.value,
        )
        .group_by(OrderLine.product_id)
    )


def purchase_history(session: Session, customer_id: int) -> dict[int, PurchaseStat]:
    """Per product: in how many orders the customer bought it, units, and when last."""
    rows = session.execute(_history_query(), {"customer_id": customer_id})
    stats = {}
    for product_id, orders, units, last in rows:
        last_bought = last if isinstance(last, datetime) else datetime.fromisoformat(str(last))
        if last_bought.tzinfo is None:  # aggregates bypass the column type on SQLite
            last_bought = last_bought.replace(tzinfo=utcnow().tzinfo)
        stats[int(product_id)] = PurchaseStat(int(orders), int(units), last_bought)
    return stats


def history_prior(stats: dict[int, PurchaseStat], now: datetime | None = None) -> dict[int, float]:
    """0..1 preference per product: how often it was bought, then how recently.

    Frequency dominates (the usual is what one buys most); recency, halving every
    ``HISTORY_HALF_LIFE_DAYS``, can take away at most half, so it mostly breaks ties.
    """
    if not stats:
        return {}
    now = now or utcnow()
    raw = {}
    for pid, stat in stats.items():
        age_days = max(0.0, (now - stat.last_bought).total_seconds()) / 86400.0
        raw[pid] = stat.orders * (0.5 + 0.5 * math.pow(0.5, age_days / HISTORY_HALF_LIFE_DAYS))
    top = max(raw.values())
    # To a thousandth: finer says nothing about what one buys, and the same history
    # then gives the same prior all day long, so its matches can be remembered.
    return {pid: round(value / top, 3) for pid, value in raw.items()} if top > 0 else {}


LIFE_CYCLE = (OrderStatus.PLACED, OrderStatus.PACKED, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
DEFAULT_CANCEL_WINDOW = timedelta(minutes=30)


def order_for(session: Session, customer_id: int | None, order_id: int) -> Order:
    """The order, locked for this transaction; ``customer_id`` ``None`` is the admin."""
    order = lock_row(session, Order, Order.id == order_id)
    if order is None or (customer_id is not None and order.customer_id != customer_id):
        raise OrderNotFound(order_id)
    return order


def advance_order(session: Session, order_id: int) -> Order:
    """placed -> packed -> shipped -> delivered (the warehouse's side; an admin command)."""
    order = order_for(session, None, order_id)
    stages = [s.value for s in LIFE_CYCLE]
    if order.status not in stages[:-1]:
        raise CannotAdvance(order_id, order.status)
    order.status = stages[stages.index(order.status) + 1]
    if order.status == OrderStatus.DELIVERED.value:
        order.delivered_at = utcnow()
    session.flush()
    return order


def check_cancellable(
    order: Order, *, window: timedelta = DEFAULT_CANCEL_WINDOW, now: datetime | None = None
) -> None:
    """Raise :class:`CannotCancel` saying why, unless the order can still be cancelled."""
    if order.status != OrderStatus.PLACED.value:
        raise CannotCancel(order.id, f"it is already {order.status}")
    if (now or utcnow()) - order.placed_at > window:
        minutes = int(window.total_seconds() // 60)
        raise CannotCancel(order.id, f"orders can be cancelled for {minutes} minutes after "
                                     "they are placed")  # fmt: skip


def cancel_order(
    session: Session,
    customer_id: int | None,
    order_id: int,
    *,
    window: timedelta = DEFAULT_CANCEL_WINDOW,
    now: datetime | None = None,
    channel: Channel | None = None,
) -> Order:
    """Cancel within ``window`` of placing, before packing; the stock goes back. The
    channel it was cancelled on is kept, for the other channels to tell."""
    order = order_for(session, customer_id, order_id)
    if order.status == OrderStatus.CANCELLED.value:
        return order  # cancelling twice is still one cancellation
    check_cancellable(order, window=window, now=now)
    for line in order.lines:
        session.execute(
            update(Product)
            .where(Product.id == line.product_id)
            .values(stock=Product.stock + line.quantity, updated_at=Product.updated_at)
            .execution_options(synchronize_session=False)
        )
    order.status = OrderStatus.CANCELLED.value
    order.cancelled_via = channel.value if channel is not None else None
    order.cancelled_at = now or utcnow()
    session.flush()
    expire_products(session)
    return order


def customer_orders(session: Session, customer_id: int) -> list[Order]:
    """Every order of the shopper, newest first, whatever channel placed it."""
    return list(
        session.scalars(
            select(Order)
            .where(Order.customer_id == customer_id)
            .order_by(Order.placed_at.desc(), Order.id.desc())
            .options(selectinload(Order.lines))
        )
    )


def customer_order(session: Session, customer_id: int, order_id: int) -> Order:
    """One of the shopper's orders (:class:`OrderNotFound` for anyone else's)."""
    order = session.get(Order, order_id)
    if order is None or order.customer_id != customer_id:
        raise OrderNotFound(order_id)
    return order


def is_cancellable(order: Order, *, window: timedelta = DEFAULT_CANCEL_WINDOW) -> bool:
    try:
        check_cancellable(order, window=window)
    except CannotCancel:
        return False
    return True


@dataclass(frozen=True, slots=True)
class CopiedOrder:
    """What "reorder this order" put in the cart, and what it could not."""

    added: tuple[str, ...]
    skipped: tuple[str, ...]


def copy_order_to_cart(
    session: Session, customer_id: int, order_id: int, *, channel: Channel, max_quantity: int
) -> CopiedOrder:
    """Put an order's lines in the cart (to check out later): lines no longer sold, out of
    stock, or already at the line limit are skipped and named."""
    order = customer_order(session, customer_id, order_id)
    products = get_products(session, [line.product_id for line in order.lines])
    added, skipped = [], []
    for line in order.lines:
        product = products[line.product_id]
        if not product.active or product.stock <= 0:
            skipped.append(line.product_name)
            continue
        try:
            add_item(session, customer_id, product.id, line.quantity, channel=channel,
                     max_quantity=max_quantity)  # fmt: skip
        except QuantityOutOfRange:
            skipped.append(line.product_name)
            continue
        added.append(line.product_name)
    return CopiedOrder(tuple(added), tuple(skipped))


def buy_again(session: Session, customer_id: int, limit: int = 8) -> list[Product]:
    """The shopper's usual products, ranked as voice reorder ranks them (how often, then
    how recently bought); only what is sold and in stock now."""
    prior = history_prior(purchase_history(session, customer_id))
    ranked = sorted(prior, key=lambda pid: (-prior[pid], pid))
    products = get_products(session, ranked) if ranked else {}
    found = [products[pid] for pid in ranked if pid in products]
    return [p for p in found if p.active and p.stock > 0][:limit]
