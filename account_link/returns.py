"""Returns of delivered order lines, whatever channel the order came from.

A return is started by the shopper (web or voice) within the return window after
delivery: a record with the refund, and a confirmation message in the outbox, in one
transaction. When the items arrive back (``voicecart returns receive``), the stock
comes back and the refund is issued.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from account_link.errors import CannotReturn, OrderNotFound, QuantityOutOfRange, ReturnNotFound
from account_link.models import (
    Channel,
    Customer,
    Order,
    OrderLine,
    OrderStatus,
    OutboxMessage,
    ReturnRequest,
    ReturnStatus,
)
from account_link.orders import expire_products
from catalog.db import lock_row, utcnow
from catalog.models import Product
from catalog.money import dollars

DEFAULT_RETURN_WINDOW = timedelta(days=30)


def returned_units(session: Session, line_id: int) -> int:
    """Units of the line already being returned or returned."""
    total = session.scalar(
        select(func.coalesce(func.sum(ReturnRequest.quantity), 0)).where(
            ReturnRequest.order_line_id == line_id
        )
    )
    return int(total or 0)


def returnable_units(session: Session, line: OrderLine) -> int:
    return max(0, line.quantity - returned_units(session, line.id))


def check_returnable(
    order: Order, *, window: timedelta = DEFAULT_RETURN_WINDOW, now: datetime | None = None
) -> None:
    """Raise :class:`CannotReturn` saying why, unless the order's lines can be returned."""
    if order.status != OrderStatus.DELIVERED.value:
        raise CannotReturn(order.id, f"it is {order.status}, not delivered yet")
    delivered = order.delivered_at or order.expected_at or order.placed_at
    if (now or utcnow()) - delivered > window:
        raise CannotReturn(order.id, f"returns are accepted for {window.days} days after delivery")


def refund_for(order: Order, line: OrderLine, quantity: int) -> int:
    """The units' price plus their share of the order's tax (rounded half up)."""
    items = quantity * line.unit_price_cents
    if not order.subtotal_cents:
        return items
    share = (items * order.tax_cents * 2 + order.subtotal_cents) // (2 * order.subtotal_cents)
    return items + share


def start_return(
    session: Session,
    customer_id: int,
    order_id: int,
    line_id: int,
    quantity: int,
    *,
    channel: Channel,
    window: timedelta = DEFAULT_RETURN_WINDOW,
    now: datetime | None = None,
) -> ReturnRequest:
    """Start returning ``quantity`` units of a delivered line; the confirmation goes to
    the outbox in the same transaction."""
    order = lock_row(session, Order, Order.id == order_id)  # one return at a time per order
    if order is None or order.customer_id != customer_id:
        raise OrderNotFound(order_id)
    check_returnable(order, window=window, now=now)
    line = next((ln for ln in order.lines if ln.id == line_id), None)
    if line is None:
        raise CannotReturn(order_id, "that item is not in this order")
    left = returnable_units(session, line)
    if left == 0:
        raise CannotReturn(order_id, f"{line.product_name} is already being returned")
    if not 0 < quantity <= left:
        raise QuantityOutOfRange(quantity, left)
    made = ReturnRequest(customer_id=customer_id, order_id=order.id, order_line_id=line.id,
                         quantity=quantity, refund_cents=refund_for(order, line, quantity),
                         channel=channel.value, created_at=now or utcnow())  # fmt: skip
    session.add(made)
    session.flush()
    _tell(session, made, order, "return_started", f"Voice Cart return {made.id}",
          [f"Your return {made.id} for order {order.id} is started:",
           f"{quantity} x {line.product_name}",
           f"Refund: {dollars(made.refund_cents)}, issued when the items reach us."])  # fmt: skip
    return made


def receive_return(session: Session, return_id: int) -> ReturnRequest:
    """The items arrived back (the warehouse's side): stock back, refund issued, once."""
    found = lock_row(session, ReturnRequest, ReturnRequest.id == return_id)
    if found is None:
        raise ReturnNotFound(return_id)
    if found.status == ReturnStatus.RECEIVED.value:
        return found
    session.execute(
        update(Product)
        .where(Product.id == found.line.product_id)
        .values(stock=Product.stock + found.quantity, updated_at=Product.updated_at)
        .execution_options(synchronize_session=False)
    )
    found.status = ReturnStatus.RECEIVED.value
    found.received_at = utcnow()
    order = session.get_one(Order, found.order_id)
    _tell(session, found, order, "refund_issued", f"Voice Cart refund for return {found.id}",
          [f"We received your return {found.id} ({found.quantity} x {found.line.product_name}).",
           f"Your refund of {dollars(found.refund_cents)} is on its way."])  # fmt: skip
    session.flush()
    expire_products(session)
    return found


def _tell(session: Session, made: ReturnRequest, order: Order, kind: str, subject: str,
          lines: Sequence[str]) -> None:  # fmt: skip
    customer = session.get_one(Customer, made.customer_id)
    body = "\n".join([f"Hello {customer.name},", "", *lines])
    session.add(OutboxMessage(customer_id=customer.id, order_id=order.id, kind=kind,
                              recipient=customer.email, subject=subject,
                              body=body[:4000]))  # fmt: skip


def returns_of(
    session: Session, customer_id: int, order_id: int | None = None
) -> list[ReturnRequest]:
    """The shopper's returns (of one order), oldest first."""
    query = select(ReturnRequest).where(ReturnRequest.customer_id == customer_id)
    if order_id is not None:
        query = query.where(ReturnRequest.order_id == order_id)
    return list(session.scalars(query.order_by(ReturnRequest.created_at, ReturnRequest.id)))


def all_returns(session: Session, *, status: str | None = None) -> list[ReturnRequest]:
    """Every return (the warehouse's list), oldest first."""
    query = select(ReturnRequest)
    if status is not None:
        query = query.where(ReturnRequest.status == status)
    return list(session.scalars(query.order_by(ReturnRequest.id)))


def returnable_line(
    session: Session,
    customer_id: int,
    product_ids: Collection[int],
    *,
    window: timedelta = DEFAULT_RETURN_WINDOW,
    now: datetime | None = None,
) -> tuple[Order, OrderLine] | None:
    """The newest delivered order within the window with units left to return of one of
    ``product_ids`` (the best-matching first): what "return the eggs" means."""
    delivered = session.scalars(
        select(Order)
        .where(Order.customer_id == customer_id, Order.status == OrderStatus.DELIVERED.value)
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .options(selectinload(Order.lines))
    )
    for order in delivered:
        try:
            check_returnable(order, window=window, now=now)
        except CannotReturn:
            continue
        for product_id in product_ids:
            for line in order.lines:
                if line.product_id == product_id and returnable_units(session, line) > 0:
                    return order, line
    return None
