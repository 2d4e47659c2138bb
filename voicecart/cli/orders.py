"""``voicecart orders list`` and ``orders advance``: the operator's view of orders."""

from __future__ import annotations

import logging

import click
from sqlalchemy import select

from voicecart.cli.common import prepare_database, settings_of
from voicecart.cli.output import echo

log = logging.getLogger("voicecart")


@click.group("orders")
def orders_group() -> None:
    """Look at orders and move them along (placed, packed, shipped, delivered)."""


@orders_group.command("list")
@click.option("--email", help="Only this shopper's orders.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.pass_context
def orders_list(ctx: click.Context, email: str | None, limit: int) -> None:
    """The latest orders: id, when, shopper, status, promised delivery, channel, total, lines."""
    from account_link.accounts import normalise_email
    from account_link.models import Customer, Order
    from catalog.money import dollars as money

    sessions = prepare_database(settings_of(ctx))
    with sessions() as db:
        query = select(Order).join(Customer).order_by(Order.placed_at.desc(), Order.id.desc())
        if email:
            query = query.where(Customer.email == normalise_email(email))
        found = list(db.scalars(query.limit(limit)))
        for order in found:
            lines = ", ".join(f"{ln.quantity} x {ln.product_name}" for ln in order.lines)
            due = f"due {order.expected_at:%Y-%m-%d}" if order.expected_at else "due -"
            echo(f"{order.id:>6}  {order.placed_at:%Y-%m-%d %H:%M}  {order.customer.email}  "
                 f"{order.status:<9} {due:<14} {order.channel:<11} "
                 f"{money(order.total_cents):>9}  {lines}")  # fmt: skip
    if not found:
        echo("no orders")


@orders_group.command("advance")
@click.argument("order_id", type=click.IntRange(1, 2**31 - 1))
@click.pass_context
def orders_advance(ctx: click.Context, order_id: int) -> None:
    """Move an order one step: placed -> packed -> shipped -> delivered."""
    from account_link.errors import AccountError
    from account_link.orders import advance_order

    sessions = prepare_database(settings_of(ctx))
    try:
        with sessions.begin() as db:
            order = advance_order(db, order_id)
            status = order.status
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    log.info("order %s is now %s", order_id, status)
    echo(f"order {order_id} is now {status}")
