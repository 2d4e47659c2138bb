"""Dialogue around matching: disambiguation, substitutes for missing stock, quantity phrases."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from testkit import Conversation

from account_link import carts
from account_link.identity import demo_shopper
from catalog.models import Product

WATER = "Which spring water: the Clearbrook, or the Voicecart Basics?"


def _cart(session: Session) -> list[tuple[str, int]]:
    shopper = demo_shopper(session)
    assert shopper is not None
    session.expire_all()
    return [(line.name, line.quantity) for line in carts.view_cart(session, shopper.id).lines]


def test_ambiguous_words_ask_which_one(conversation: Conversation) -> None:
    assert conversation.say("ReorderIntent", item="water") == WATER
    assert "choice" in conversation.attributes
    assert "pending" not in conversation.attributes


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"ordinal": "second"}, "Voicecart Basics Spring Water"),
        ({"ordinal": "1st"}, "Clearbrook Spring Water"),
        ({"item": "the first one"}, "Clearbrook Spring Water"),
        ({"item": "clearbrook"}, "Clearbrook Spring Water"),
        ({"item": "voicecart basics"}, "Voicecart Basics Spring Water"),
    ],
)
def test_answer_picks_the_product_and_continues(
    conversation: Conversation, answer: dict[str, str], expected: str
) -> None:
    conversation.say("ReorderIntent", item="water")
    offer = conversation.say("ChooseProductIntent", **answer)
    assert offer == f"I found {expected}, 24 pack, for $" + offer.split("$")[1]
    assert offer.endswith("Should I order it?")
    assert "choice" not in conversation.attributes
    assert "is placed" in conversation.say("AMAZON.YesIntent")


def test_unclear_answer_and_yes_ask_again(conversation: Conversation) -> None:
    conversation.say("ReorderIntent", item="water")
    assert conversation.say("ChooseProductIntent", item="spring water").startswith(
        "Sorry, which one: Clearbrook"
    )
    assert conversation.say("AMAZON.YesIntent").startswith("Sorry, which one")
    assert "choice" in conversation.attributes


@pytest.mark.parametrize("neither", ["ChooseProductIntent", "AMAZON.NoIntent"])
def test_neither(conversation: Conversation, session: Session, neither: str) -> None:
    conversation.say("AddToCartIntent", item="water")
    speech = conversation.say(neither)
    assert speech.startswith("Okay, neither of those. Try saying the brand or the size")
    assert not conversation.last["response"]["shouldEndSession"]
    assert "choice" not in conversation.attributes
    assert _cart(session) == []


def test_choice_without_question(conversation: Conversation) -> None:
    assert "You can say: add bananas" in conversation.say("ChooseProductIntent", ordinal="second")


def test_add_with_choice_uses_the_spoken_quantity(
    conversation: Conversation, session: Session
) -> None:
    assert conversation.say("AddToCartIntent", item="water", quantity="3") == WATER
    conversation.say("ChooseProductIntent", ordinal="first")
    assert _cart(session) == [("Clearbrook Spring Water", 3)]


def test_out_of_stock_choice_offers_the_nearest_substitute(
    conversation: Conversation, session: Session
) -> None:
    """Blue Harbor oat milk is sold out in the demo catalogue; Oatfield's is on the shelf."""
    conversation.say("AddToCartIntent", item="oat milk")
    offer = conversation.say("ChooseProductIntent", item="blue harbor")
    assert offer.startswith("Sorry, Blue Harbor Original Oat Milk, half gallon is out of stock.")
    assert "The nearest I have is Oatfield Original Oat Milk, half gallon" in offer
    assert offer.endswith("Should I add that to your cart instead?")
    assert _cart(session) == []
    conversation.say("AMAZON.YesIntent")
    assert _cart(session) == [("Oatfield Original Oat Milk", 1)]


def test_substitute_declined_changes_nothing(
    conversation: Conversation, session: Session, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as arrange:
        arrange.execute(update(Product).where(Product.name == "Bananas").values(stock=0))
    offer = conversation.say("ReorderIntent", item="bananas")
    assert "The nearest I have is Green Meadow Organic Bananas" in offer
    assert "haven't ordered" in conversation.say("AMAZON.NoIntent")
    assert _cart(session) == []


def test_no_fitting_substitute_says_out_of_stock(
    conversation: Conversation, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as arrange:
        arrange.execute(update(Product).where(Product.name.like("%Bananas%")).values(stock=0))
    speech = conversation.say("ReorderIntent", item="bananas")
    assert "out of stock right now" in speech
    assert "pending" not in conversation.attributes


@pytest.mark.parametrize(
    ("item", "quantity", "expected"),
    [
        ("a couple of limes", None, ("Limes", 2)),
        ("three bags of carrots", None, ("Carrots", 3)),
        ("a dozen eggs", None, ("Large White Eggs", 1)),
        ("two 12 packs of sparkling water", None, ("Sparkling Water Lime", 2)),
        ("bananas", "4", ("Bananas", 4)),
    ],
)
def test_quantity_phrases(
    conversation: Conversation,
    session: Session,
    item: str,
    quantity: str | None,
    expected: tuple[str, int],
) -> None:
    conversation.say("AddToCartIntent", item=item, quantity=quantity)
    ((name, units),) = _cart(session)
    assert (name.split(" ", 1)[1] if name.startswith("Meadowvale") else name).endswith(expected[0])
    assert units == expected[1]


def test_granny_yes_is_granny_smith(conversation: Conversation) -> None:
    assert "Granny Smith Apples" in conversation.say("ReorderIntent", item="granny yes apples")
