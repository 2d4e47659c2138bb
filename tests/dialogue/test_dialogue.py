"""Dialogue tests: Alexa JSON through /alexa in-process, over the demo catalogue and shopper."""

from __future__ import annotations

import re

import alexa
import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker
from testkit import Conversation

from account_link import carts
from account_link.identity import demo_shopper
from account_link.models import Channel, Order, OrderLine
from catalog.models import Product


def _demo_id(session: Session) -> int:
    shopper = demo_shopper(session)
    assert shopper is not None
    return shopper.id


def _order_count(session: Session) -> int:
    return int(session.scalar(select(func.count(Order.id))) or 0)


def test_launch_welcomes_and_listens(conversation: Conversation) -> None:
    reply = conversation.send(alexa.launch())
    assert "Welcome to Voice Cart" in alexa.speech(reply)
    assert alexa.reprompt(reply)
    assert not alexa.ends_session(reply)


def test_reorder_confirm_and_status(conversation: Conversation, session: Session) -> None:
    before = _order_count(session)
    speech = conversation.say("ReorderIntent", item="paper towels")
    assert "Paper Towels" in speech
    assert re.search(r"\$\d+\.\d\d", speech)
    assert speech.startswith("Your usual")  # the demo shopper buys one paper towel product
    assert speech.endswith("Should I order it?")
    assert _order_count(session) == before  # nothing ordered before yes

    placed = conversation.say("AMAZON.YesIntent")
    number = re.search(r"Order number (\d+) is placed", placed)
    assert number, placed
    assert alexa.ends_session(conversation.last)
    assert conversation.last["response"]["card"]["title"] == f"Voice Cart order {number.group(1)}"
    session.expire_all()
    assert _order_count(session) == before + 1

    status = conversation.say("OrderStatusIntent")
    assert f"number {number.group(1)}" in status
    assert "placed today" in status
    assert "Paper Towels" in status


def test_reorder_uses_history(conversation: Conversation, session: Session) -> None:
    """Of the several paper towels on sale, the one the demo shopper bought is offered."""
    speech = conversation.say("ReorderIntent", item="paper towels")
    bought = session.execute(
        select(Product.brand, Product.name)
        .join(OrderLine, OrderLine.product_id == Product.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.customer_id == _demo_id(session), Product.name.ilike("%paper towel%"))
    ).first()
    assert bought is not None
    assert f"{bought.brand} {bought.name}" in speech


def test_add_then_read_cart(conversation: Conversation) -> None:
    added = conversation.say("AddToCartIntent", item="bananas", quantity="3")
    assert added.startswith("Added 3 ")
    assert "Banana" in added
    cart = conversation.say("ReadCartIntent")
    assert "3 " in cart
    assert "Banana" in cart
    assert "The total is $" in cart


def test_add_without_item_elicits_the_slot(conversation: Conversation) -> None:
    reply = conversation.send(alexa.intent("AddToCartIntent", {"item": None, "quantity": "2"}))
    assert alexa.speech(reply) == "Which item would you like to add?"
    assert not alexa.ends_session(reply)
    directive = reply["response"]["directives"][0]
    assert directive["type"] == "Dialog.ElicitSlot"
    assert directive["slotToElicit"] == "item"
    assert directive["updatedIntent"]["slots"]["quantity"]["value"] == "2"


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [("0", "at least one"), ("-2", "at least one"), ("500", "limit is 25"), ("?", "didn't catch")],
)
def test_bad_quantities_add_nothing(
    conversation: Conversation, session: Session, quantity: str, expected: str
) -> None:
    speech = conversation.say("AddToCartIntent", item="bananas", quantity=quantity)
    assert expected in speech
    assert not alexa.ends_session(conversation.last)
    assert carts.view_cart(session, _demo_id(session)).lines == ()


def test_unknown_product(conversation: Conversation, session: Session) -> None:
    speech = conversation.say("AddToCartIntent", item="plutonium rods")
    assert "I couldn't find plutonium rods" in speech
    assert "brand" in speech
    assert carts.view_cart(session, _demo_id(session)).lines == ()


def test_remove_from_cart(conversation: Conversation, session: Session) -> None:
    conversation.say("AddToCartIntent", item="bananas", quantity="2")
    speech = conversation.say("RemoveFromCartIntent", item="banana")
    assert speech.startswith("I removed")
    session.expire_all()
    assert carts.view_cart(session, _demo_id(session)).lines == ()
    assert "isn't in your cart" in conversation.say("RemoveFromCartIntent", item="bananas")


def test_checkout_speaks_items_and_total_then_orders(
    conversation: Conversation, session: Session
) -> None:
    conversation.say("AddToCartIntent", item="bananas", quantity="2")
    summary = conversation.say("CheckoutIntent")
    assert "Banana" in summary
    assert "The total is $" in summary
    assert summary.endswith("Should I place the order?")
    placed = conversation.say("AMAZON.YesIntent")
    assert "is placed" in placed
    session.expire_all()
    assert carts.view_cart(session, _demo_id(session)).lines == ()


def test_checkout_refuses_when_cart_changed_meanwhile(
    conversation: Conversation, session: Session, sessions: sessionmaker[Session]
) -> None:
    conversation.say("AddToCartIntent", item="bananas", quantity="1")
    conversation.say("CheckoutIntent")
    with sessions.begin() as web:  # the web adds something between summary and yes
        milk = web.scalars(select(Product).where(Product.name.ilike("%milk%"))).first()
        assert milk is not None
        carts.add_item(web, _demo_id(web), milk.id, 1, channel=Channel.WEB, max_quantity=25)
    before = _order_count(session)
    speech = conversation.say("AMAZON.YesIntent")
    assert "changed" in speech
    assert _order_count(session) == before


def test_no_declines_pending_order(conversation: Conversation, session: Session) -> None:
    before = _order_count(session)
    conversation.say("ReorderIntent", item="paper towels")
    assert "haven't ordered" in conversation.say("AMAZON.NoIntent")
    assert "nothing waiting for a yes" in conversation.say("AMAZON.YesIntent")
    assert _order_count(session) == before


def test_reorder_last_order(conversation: Conversation, session: Session) -> None:
    speech = conversation.say("ReorderLastOrderIntent")
    assert speech.startswith("Your last order, placed")
    assert speech.endswith("Should I place the order?")
    before = _order_count(session)
    conversation.say("AMAZON.YesIntent")
    assert _order_count(session) == before + 1


def test_yes_with_nothing_pending(conversation: Conversation) -> None:
    speech = conversation.say("AMAZON.YesIntent")
    assert "nothing waiting for a yes" in speech
    assert not alexa.ends_session(conversation.last)


@pytest.mark.parametrize(
    "intent", ["AMAZON.StopIntent", "AMAZON.CancelIntent", "AMAZON.NavigateHomeIntent"]
)
def test_stop_ends_session(conversation: Conversation, intent: str) -> None:
    assert conversation.say(intent) == "Goodbye."
    assert alexa.ends_session(conversation.last)


def test_cancel_drops_pending_order(conversation: Conversation, session: Session) -> None:
    before = _order_count(session)
    conversation.say("ReorderIntent", item="paper towels")
    assert "Nothing was ordered" in conversation.say("AMAZON.CancelIntent")
    assert _order_count(session) == before


def test_help_and_fallback_and_unknown_intent(conversation: Conversation) -> None:
    assert "reorder coffee" in conversation.say("AMAZON.HelpIntent")
    assert "can't help with that" in conversation.say("AMAZON.FallbackIntent")
    assert "can't help with that" in conversation.say("OrderPizzaIntent")
    assert not alexa.ends_session(conversation.last)


def test_session_ended_request(client: FlaskClient) -> None:
    reply = client.post("/alexa", json=alexa.session_ended())
    assert reply.status_code == 200
    assert "outputSpeech" not in reply.get_json()["response"]


def test_order_status_without_orders(
    conversation: Conversation, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as arrange:
        arrange.execute(delete(OrderLine))
        arrange.execute(delete(Order))
    assert "haven't placed any orders" in conversation.say("OrderStatusIntent")


def _sell_out_paper_towels(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as arrange:
        arrange.execute(update(Product).where(Product.name.ilike("%paper towel%")).values(stock=0))


def test_out_of_stock_is_said_before_asking(
    conversation: Conversation, sessions: sessionmaker[Session]
) -> None:
    _sell_out_paper_towels(sessions)
    speech = conversation.say("ReorderIntent", item="paper towels")
    assert "out of stock" in speech
    assert "pending" not in conversation.attributes
    assert "nothing waiting for a yes" in conversation.say("AMAZON.YesIntent")


def test_stock_gone_between_offer_and_yes_orders_nothing(
    conversation: Conversation, session: Session, sessions: sessionmaker[Session]
) -> None:
    before = _order_count(session)
    assert conversation.say("ReorderIntent", item="paper towels").endswith("Should I order it?")
    _sell_out_paper_towels(sessions)  # another channel bought the last ones meanwhile
    speech = conversation.say("AMAZON.YesIntent")
    assert "out of stock" in speech
    assert _order_count(session) == before
