"""Quantity phrases in spoken product requests."""

from __future__ import annotations

import pytest

from catalog.quantity import (
    inner_count,
    leading_count,
    only_quantity,
    pack_size,
    split_quantity,
    without_purpose,
)


@pytest.mark.parametrize(
    ("spoken", "quantity", "pack", "rest"),
    [
        ("bananas", None, None, "bananas"),
        ("two bananas", 2, None, "bananas"),
        ("2 bananas", 2, None, "bananas"),
        ("a couple of limes", 2, None, "limes"),
        ("a few lemons", 3, None, "lemons"),
        ("an avocado", 1, None, "avocado"),
        ("three bags of apples", 3, None, "apples"),
        ("twenty four cans of soda", 24, None, "soda"),
        ("6 pack of cola", None, 6, "cola"),
        ("a 12-pack of sparkling water", 1, 12, "sparkling water"),
        ("two twelve packs of water", 2, 12, "water"),
        ("a dozen eggs", 1, 12, "eggs"),
        ("half a dozen eggs", None, 6, "eggs"),
        ("some more milk", None, None, "more milk"),
        ("bananas, three please", 3, None, "bananas"),
        ("spaghetti, 3 boxes", 3, None, "spaghetti"),
        ("limes to my shopping cart please", None, None, "limes"),
        ("three cartons of oat milk", 3, None, "oat milk"),
        ("toothpaste, two tubes", 2, None, "toothpaste"),
        ("floss, like 3", 3, None, "floss"),
        ("pull ups, a couple packs", 2, None, "pull ups"),
        ("root beer, 2 twelve packs for the weekend", 2, 12, "root beer"),
        ("two more packs of paper towels", 2, None, "paper towels"),
        ("a couple more wipes", 2, None, "wipes"),
        ("a big bag of white rice", 1, None, "white rice"),
        ("eggs as last time, two cartons", 2, None, "eggs"),
        ("body wash, the usual", None, None, "body wash"),
        ("baby diapers size 4", None, None, "baby diapers size 4"),
        ("sunscreen spf 50", None, None, "sunscreen spf 50"),
        ("milk, the oat one", None, None, "oat milk"),
        ("popcorn, the microwave kind", None, None, "microwave popcorn"),
        ("sourdough please, the nice crusty one", None, None, "crusty sourdough"),
        ("root beer, a twelve pack", None, 12, "root beer"),
        ("the 5 lb bag of white rice", None, None, "white rice"),
        ("2 lbs of chicken thighs", 2, None, "chicken thighs"),
        ("strawberries x 2", 2, None, "strawberries"),
        ("2 x the 18 count eggs", 2, 18, "eggs"),
        ("garlic bread, two of those", 2, None, "garlic bread"),
        ("razors disposable kind", None, None, "disposable razors"),
        ("eight pack of fruit punch sports drink", None, 8, "fruit punch sports drink"),
        ("the 24 count k cups", None, 24, "k cups"),
        ("tonic water, six pack", None, 6, "tonic water"),
        ("three rolls of paper towels", 3, None, "paper towels"),
        ("one pack of hot dog buns", 1, None, "hot dog buns"),
        ("a fifteen pound bag of dog food", 1, None, "dog food"),
        ("x the 18 count eggs", None, 18, "eggs"),
    ],
)
def test_split_quantity(spoken: str, quantity: int | None, pack: int | None, rest: str) -> None:
    phrase = split_quantity(spoken)
    assert (phrase.quantity, phrase.pack, phrase.rest) == (quantity, pack, rest)


@pytest.mark.parametrize(
    ("spoken", "shorter"),
    [("pork chops for dinner tomorrow", "pork chops"), ("graham crackers for s'mores",
     "graham crackers"), ("garlic bread to go with dinner", "garlic bread"),
     ("grape juice for the kids", "grape juice"), ("baby food pouches", "baby food"),
     ("bananas", None)],
)  # fmt: skip
def test_without_purpose(spoken: str, shorter: str | None) -> None:
    """What is tried when the whole phrase names nothing: no purpose, time or container."""
    assert without_purpose(spoken) == shorter


def test_counts_said_around_other_words() -> None:
    assert leading_count("three bags, actually") == 3
    assert leading_count("like a couple of those") == 2
    assert leading_count("the big dog's been good") is None
    assert inner_count("dog treats two bags the big dogs been good") == 2
    assert inner_count("baby diapers size 4") is None


@pytest.mark.parametrize(
    ("words", "nothing_else"),
    [("two packs", True), ("a couple of bags", True), ("the chicken flavor", True),
     ("disposable kind", True), ("oat milk", False), ("two packs of oat milk", False)],
)  # fmt: skip
def test_only_quantity(words: str, nothing_else: bool) -> None:
    """Words that still need the product said before them."""
    assert only_quantity(words) is nothing_else


def test_a_number_before_a_singular_pack_word_is_the_pack_size() -> None:
    """ "six pack", "24 count": the size of one package; "six packs": how many."""
    said = ("eight pack", "24 count", "twelve roll", "six packs", "one pack", "three bags")
    assert [pack_size(w) for w in said] == [8, 24, 12, None, None, None]
    assert leading_count("six pack") is None
    assert leading_count("two packs") == 2
