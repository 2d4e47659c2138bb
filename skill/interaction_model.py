"""The interaction model, defined once: intents, slots and sample utterances.

``build_model(products)`` adds the ``PRODUCT`` slot values from the active catalogue;
the Alexa JSON export, the local parser and the recognition grammar all start here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from nlu.model import IntentDef, InteractionModel, SlotDef, SlotTypeDef, SlotValue
from skill import prompts

INVOCATION_NAME = "voice cart"
PRODUCT_TYPE = "PRODUCT"
MAX_PRODUCT_SLOT_VALUES = 50_000
"""Alexa accepts at most 50,000 custom slot values per model; the best-known go first."""
MAX_SLOT_VALUE_CHARS = 140

_ITEM_SAMPLES = ("{item}", "the {item}", "some {item}")


def _item(prompt: str) -> SlotDef:
    return SlotDef(
        "item", PRODUCT_TYPE, elicitation_prompt=prompt, elicitation_samples=_ITEM_SAMPLES
    )


QUANTITY = SlotDef("quantity", "AMAZON.NUMBER")

CUSTOM_INTENTS: tuple[IntentDef, ...] = (
    IntentDef(
        "AddToCartIntent",
        slots=(_item(prompts.ASK_ITEM_TO_ADD), QUANTITY),
        samples=(
            "add {item}",
            "add {item} to my cart",
            "add {item} to the cart",
            "add {quantity} {item}",
            "add {quantity} {item} to my cart",
            "put {item} in my cart",
            "put {quantity} {item} in my cart",
            "i need {item}",
            "i need {quantity} {item}",
            "get me {quantity} {item}",
            "we need {item}",
            "add {item} to my basket",
            "add something to my cart",
            "i want to add something",
        ),
    ),
    IntentDef(
        "RemoveFromCartIntent",
        slots=(_item(prompts.ASK_ITEM_TO_REMOVE),),
        samples=(
            "remove {item}",
            "remove {item} from my cart",
            "remove the {item}",
            "take {item} out of my cart",
            "take out the {item}",
            "delete {item} from my cart",
            "drop {item} from my cart",
            "i don't need {item} anymore",
            "take {item} off my cart",
            "remove something from my cart",
        ),
    ),
    IntentDef(
        "ReadCartIntent",
        samples=(
            "what's in my cart",
            "what is in my cart",
            "read my cart",
            "read me my cart",
            "what do i have in my cart",
            "list my cart",
            "check my cart",
            "what's in my basket",
            "tell me what's in my cart",
            "what have i added",
        ),
    ),
    IntentDef(
        "ReorderIntent",
        slots=(_item(prompts.ASK_ITEM_TO_REORDER),),
        samples=(
            "reorder {item}",
            "reorder my {item}",
            "reorder the {item}",
            "order {item} again",
            "buy {item} again",
            "get {item} again",
            "order more {item}",
            "i need more {item}",
            "we're out of {item}",
            "order my usual {item}",
            "restock {item}",
            "reorder",
            "reorder something",
            "i want to reorder something",
        ),
    ),
    IntentDef(
        "ReorderLastOrderIntent",
        samples=(
            "reorder my last order",
            "repeat my last order",
            "order the same as last time",
            "same as last time",
            "buy my last order again",
            "reorder everything from last time",
            "order what i ordered last time",
            "repeat my previous order",
            "place my last order again",
        ),
    ),
    IntentDef(
        "CheckoutIntent",
        samples=(
            "check out",
            "checkout",
            "place my order",
            "place the order",
            "buy what's in my cart",
            "order my cart",
            "complete my order",
            "i'm ready to check out",
            "finish my order",
            "order everything in my cart",
        ),
    ),
    IntentDef(
        "CancelOrderIntent",
        samples=(
            "cancel my order",
            "cancel my last order",
            "cancel the order",
            "cancel that order",
            "cancel order",
            "i want to cancel my order",
            "please cancel my order",
            "stop my order",
        ),
    ),
    IntentDef(
        "ChooseProductIntent",
        slots=(_item(prompts.ASK_ITEM_TO_CHOOSE), SlotDef("ordinal", "AMAZON.Ordinal")),
        samples=(
            "{item}",
            "the {item}",
            "the {item} one",
            "i meant {item}",
            "i meant the {item}",
            "{ordinal}",
            "the {ordinal}",
            "the {ordinal} one",
            "the {ordinal} option",
            "neither",
            "neither of them",
            "none of them",
            "neither one",
        ),
    ),
    IntentDef(
        "VoiceCodeIntent",
        slots=(
            SlotDef(
                "code",
                "AMAZON.FOUR_DIGIT_NUMBER",
                elicitation_prompt=prompts.ASK_VOICE_CODE,
                elicitation_samples=("{code}", "it's {code}", "my code is {code}"),
            ),
        ),
        samples=(
            "{code}",
            "my code is {code}",
            "my voice code is {code}",
            "the code is {code}",
            "it's {code}",
            "code {code}",
            "voice code {code}",
            "my pin is {code}",
            "the voice code is {code}",
        ),
    ),
    IntentDef(
        "OrderStatusIntent",
        samples=(
            "where's my order",
            "where is my order",
            "what's the status of my order",
            "order status",
            "track my order",
            "when will my order arrive",
            "has my order shipped",
            "check on my order",
            "what's happening with my order",
            "when is my delivery coming",
        ),
    ),
)

BUILTIN_INTENTS: tuple[IntentDef, ...] = tuple(
    IntentDef(name)
    for name in (
        "AMAZON.YesIntent",
        "AMAZON.NoIntent",
        "AMAZON.HelpIntent",
        "AMAZON.StopIntent",
        "AMAZON.CancelIntent",
        "AMAZON.FallbackIntent",
        "AMAZON.NavigateHomeIntent",
    )
)


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """What the model needs to know of a product: its id and the ways to say it."""

    sku: str
    name: str
    brand: str
    synonyms: tuple[str, ...]
    popularity: int = 0


_UNSPEAKABLE = re.compile(r"[^A-Za-z0-9' .]+")


def spoken_form(text: str) -> str:
    """Make a phrase valid as an Alexa slot value: words, digits, apostrophes, periods."""
    text = text.replace("&", " and ").replace("%", " percent ").replace("+", " plus ")
    return " ".join(_UNSPEAKABLE.sub(" ", text).split())[:MAX_SLOT_VALUE_CHARS]


def product_slot_type(entries: Iterable[CatalogEntry]) -> SlotTypeDef:
    """``PRODUCT`` values: one per SKU, brand+name as value, name and synonyms as synonyms.

    When the catalogue exceeds Alexa's limit the most popular products are kept;
    matching stays server-side on the raw spoken words, so nothing becomes unorderable.
    """
    ranked = sorted(entries, key=lambda e: (-e.popularity, e.sku))
    values: list[SlotValue] = []
    budget = MAX_PRODUCT_SLOT_VALUES
    for entry in ranked:
        value = spoken_form(f"{entry.brand} {entry.name}")
        synonyms: list[str] = []
        for phrase in (entry.name, *entry.synonyms):
            spoken = spoken_form(phrase)
            if (
                spoken
                and spoken.lower() != value.lower()
                and spoken.lower() not in {s.lower() for s in synonyms}
            ):
                synonyms.append(spoken)
        cost = 1 + len(synonyms)
        if not value or cost > budget:
            continue
        budget -= cost
        values.append(SlotValue(entry.sku, value, tuple(synonyms)))
    values.sort(key=lambda v: v.id)
    return SlotTypeDef(PRODUCT_TYPE, tuple(values))


def build_model(entries: Iterable[CatalogEntry]) -> InteractionModel:
    model = InteractionModel(
        invocation_name=INVOCATION_NAME,
        intents=CUSTOM_INTENTS + BUILTIN_INTENTS,
        types=(product_slot_type(entries),),
    )
    model.validate()
    return model
