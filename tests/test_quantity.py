"""Quantity phrases in spoken product requests."""

from __future__ import annotations

import pytest

from catalog.quantity import split_quantity


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
    ],
)
def test_split_quantity(spoken: str, quantity: int | None, pack: int | None, rest: str) -> None:
    phrase = split_quantity(spoken)
    assert (phrase.quantity, phrase.pack, phrase.rest) == (quantity, pack, rest)
