"""Held-out understanding sets and how a reading of them is judged.

``tests/data/heldout_text.jsonl`` and ``heldout_spoken.jsonl`` were written by someone
who never read the interaction model, as shoppers speak; nothing is generated from
them, trained on them or tuned on them. The development sets (``dev_text`` to
``dev8_text``: 171 + 392 + 395 + 393 + 347 + 345 + 131 + 40 requests, each written by a
new helper who had not read the model either, in other voices) are what tuning looks
at. A reading is *fully right* when the intent, the number of units and the product are
all right (for a quantity change, the new count, or the count taken off written
negative: "-1").
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.normalize import tokens
from catalog.quantity import split_quantity
from nlu.parser import Parse

DATA = Path(__file__).resolve().parents[1] / "data"
DEVELOPMENT = (
    "dev_text",
    "dev2_text",
    "dev3_text",
    "dev4_text",
    "dev5_text",
    "dev6_text",
    "dev7_text",
    "dev8_text",
)
EXPECTING = {"choice": "ChooseProductIntent", "code": "VoiceCodeIntent"}
"""The question a ``context`` answers, as the intent that asked it."""


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    intent: str
    quantity: str | None
    product: str | None
    context: str | None

    @property
    def expecting(self) -> str | None:
        return EXPECTING.get(self.context or "")


def load(name: str) -> list[Case]:
    """``heldout_text``, ``heldout_spoken`` or one of :data:`DEVELOPMENT`."""
    lines = (DATA / f"{name}.jsonl").read_text("utf-8").splitlines()
    return [Case(**json.loads(line)) for line in lines if line.strip()]


@dataclass(frozen=True, slots=True)
class Outcome:
    case: Case
    heard: str
    intent: str
    units: int | None
    product: str | None
    why: str
    """Empty when fully right; else what was wrong."""

    @property
    def right(self) -> bool:
        return not self.why


def judge(case: Case, parse: Parse, matched: dict[str, Any] | None, heard: str = "") -> Outcome:
    """Intent, units (what the cart gets: an unsaid number is one) and product."""
    item = parse.slots.get("item", "")
    phrase = split_quantity(item) if item else None
    said = parse.slots.get("quantity")
    fewer = parse.slots.get("fewer")  # "one less milk": a count taken off, written "-1"
    if fewer and fewer.isdigit() and not said:
        said = f"-{fewer}"
    units = int(said) if said and said.lstrip("-").isdigit() else (
        phrase.quantity if phrase else None)  # fmt: skip
    product = matched["name"] if matched else None
    why = []
    if parse.intent != case.intent:
        why.append(f"intent {parse.intent}")
    elif case.intent in ("AddToCartIntent", "RemoveFromCartIntent", "ReorderIntent"):
        if (units or 1) != int(case.quantity or 1):
            why.append(f"units {units or 1} (want {case.quantity or 1})")
        if case.product and (product is None or case.product.lower() not in product.lower()):
            why.append(f"product {product!r} from {item!r}")
    elif case.intent == "ChangeQuantityIntent":
        if units != (int(case.quantity) if case.quantity else None):
            why.append(f"count {units} (want {case.quantity})")
        if case.product and (product is None or case.product.lower() not in product.lower()):
            why.append(f"product {product!r} from {item!r}")
        if not case.product and item:
            why.append(f"product words {item!r} (it points back)")
    elif case.intent == "ReturnItemIntent":
        if case.quantity and units != int(case.quantity):
            why.append(f"units {units} (want {case.quantity})")
        if case.product and (product is None or case.product.lower() not in product.lower()):
            why.append(f"product {product!r} from {item!r}")
    elif case.intent == "PriceIntent":
        if case.product and (product is None or case.product.lower() not in product.lower()):
            why.append(f"product {product!r} from {item!r}")
    elif case.intent == "ChooseProductIntent" and case.product and not _names(item, case.product):
        why.append(f"choice {item!r}")
    return Outcome(case, heard or case.text, parse.intent, units, product, "; ".join(why))


def _names(words: str, product: str) -> bool:
    """A pick by name ("the diet one", "the size four ones") names the product when each
    of its words (number words as digits, plurals singular) is one of the product's."""
    said = set(tokens(words)) - {"one", "1"}
    return bool(said) and said <= set(tokens(product))


def accuracy(outcomes: Iterable[Outcome]) -> float:
    done = list(outcomes)
    return sum(o.right for o in done) / max(1, len(done))


def report(outcomes: list[Outcome]) -> str:
    """Per-intent accuracy, the intent confusions and every miss: printed on failure."""
    lines = [f"fully right: {accuracy(outcomes):.1%} of {len(outcomes)}"]
    by_intent: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_intent.setdefault(outcome.case.intent, []).append(outcome)
    for intent, group in sorted(by_intent.items()):
        lines.append(f"  {intent:28} {accuracy(group):6.1%} of {len(group)}")
    confusions = Counter((o.case.intent, o.intent) for o in outcomes if o.case.intent != o.intent)
    for (want, got), count in confusions.most_common():
        lines.append(f"  confused: {want} -> {got} x{count}")
    for outcome in outcomes:
        if not outcome.right:
            lines.append(f"  MISS {outcome.case.text!r} (heard {outcome.heard!r}): {outcome.why}")
    return "\n".join(lines)
