"""``voicecart returns list`` and ``returns receive``: returns, and their arrival back."""

from __future__ import annotations

import logging

import click

from voicecart.cli.common import prepare_database, settings_of
from voicecart.cli.output import echo

log = logging.getLogger("voicecart")


@click.group("returns")
def returns_group() -> None:
    """Returns of delivered orders: list them, and mark them received (stock back,
    refund issued)."""


@returns_group.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only returns not yet received.")
@click.pass_context
def returns_list(ctx: click.Context, open_only: bool) -> None:
    """Every return: id, when, shopper, order, units, refund, status, channel."""
    from account_link.models import Customer, ReturnStatus
    from account_link.returns import all_returns
    from catalog.money import dollars as money

    sessions = prepare_database(settings_of(ctx))
    with sessions() as db:
        found = all_returns(db, status=ReturnStatus.REQUESTED.value if open_only else None)
        for made in found:
            email = db.get_one(Customer, made.customer_id).email
            what = f"{made.quantity} x {made.line.product_name}"
            echo(f"{made.id:>6}  {made.created_at:%Y-%m-%d %H:%M}  {email}  order "
                 f"{made.order_id:<6} {what}  {money(made.refund_cents):>9}  "
                 f"{made.status:<9} {made.channel}")  # fmt: skip
    if not found:
        echo("no returns")


@returns_group.command("receive")
@click.argument("return_id", type=click.IntRange(1, 2**31 - 1))
@click.pass_context
def returns_receive(ctx: click.Context, return_id: int) -> None:
    """The items of a return arrived back: stock restored, refund issued (once)."""
    from account_link.errors import AccountError
    from account_link.returns import receive_return
    from catalog.money import dollars as money

    sessions = prepare_database(settings_of(ctx))
    try:
        with sessions.begin() as db:
            made = receive_return(db, return_id)
            said = (
                f"return {return_id} received: {made.quantity} back in stock, "
                f"{money(made.refund_cents)} refunded"
            )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    log.info("%s", said)
    echo(said)
