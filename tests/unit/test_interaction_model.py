"""The one interaction model and the committed skill-package/ must agree."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from catalog.demo import read_demo_rows
from nlu.errors import ModelError
from nlu.model import IntentDef, InteractionModel, SlotDef
from skill.interaction.export import render_package
from skill.interaction.model import (
    CUSTOM_INTENTS,
    INVOCATION_NAME,
    MAX_PRODUCT_SLOT_VALUES,
    CatalogEntry,
    build_model,
    product_slot_type,
    spoken_form,
)

ROOT = Path(__file__).resolve().parents[2]


def _demo_model() -> InteractionModel:
    return build_model(
        CatalogEntry(r.sku, r.name, r.brand, r.synonyms, r.popularity) for r in read_demo_rows()
    )


def test_committed_skill_package_matches_the_source() -> None:
    """Fails when intents, prompts or the demo catalogue change without `voicecart export-model`."""
    for relative, text in render_package(_demo_model()).items():
        committed = (ROOT / "skill-package" / relative).read_text("utf-8")
        assert committed == text, f"skill-package/{relative} is stale: run `voicecart export-model`"


def test_model_shape() -> None:
    files = render_package(_demo_model())
    document = json.loads(files[Path("interactionModels/custom/en-US.json")])
    language = document["interactionModel"]["languageModel"]
    assert language["invocationName"] == INVOCATION_NAME == "voice cart"
    names = {i["name"] for i in language["intents"]}
    required = {
        "AddToCartIntent", "RemoveFromCartIntent", "ReadCartIntent", "ReorderIntent",
        "ReorderLastOrderIntent", "CheckoutIntent", "OrderStatusIntent", "AMAZON.YesIntent",
        "AMAZON.NoIntent", "AMAZON.HelpIntent", "AMAZON.StopIntent", "AMAZON.CancelIntent",
        "AMAZON.FallbackIntent", "AMAZON.NavigateHomeIntent",
    }  # fmt: skip
    assert required <= names
    (product_type,) = language["types"]
    assert product_type["name"] == "PRODUCT"
    assert len(product_type["values"]) >= 300
    assert all(v["id"].startswith("VC-") for v in product_type["values"])


@pytest.mark.parametrize("intent", CUSTOM_INTENTS, ids=lambda i: i.name)
def test_custom_intents_have_enough_valid_samples(intent: IntentDef) -> None:
    assert len(intent.samples) >= 8
    assert len(set(intent.samples)) == len(intent.samples)
    for sample in intent.samples:
        # Alexa accepts letters, apostrophes, spaces and {slot} references in samples.
        assert re.fullmatch(r"[a-z' {}]+", sample), sample


def test_no_sample_is_claimed_by_two_intents() -> None:
    seen: dict[str, str] = {}
    for intent in CUSTOM_INTENTS:
        for sample in intent.samples:
            assert sample not in seen, f"{sample!r} in {seen.get(sample)} and {intent.name}"
            seen[sample] = intent.name


def test_undeclared_slot_reference_is_rejected() -> None:
    broken = InteractionModel("voice cart", (IntentDef("X", samples=("add {thing}",)),))
    with pytest.raises(ModelError, match="unknown"):
        broken.validate()
    untyped = InteractionModel("voice cart", (IntentDef("Y", slots=(SlotDef("a", "NOPE"),)),))
    with pytest.raises(ModelError, match="undeclared type"):
        untyped.validate()


def test_spoken_form_is_alexa_safe() -> None:
    assert spoken_form("2% Milk & Honey+") == "2 percent Milk and Honey plus"
    assert spoken_form("Crème brûlée (4 pk)") == "Cr me br l e 4 pk"


def test_product_slot_type_is_capped_most_popular_first() -> None:
    """A catalogue bigger than Alexa's 50,000 slot values keeps its best-known products."""
    entries = [
        CatalogEntry(f"S-{i:06d}", f"Thing {i}", "Acme", ("widget",) if i % 2 else (), i)
        for i in range(60_000)
    ]
    slot_type = product_slot_type(entries)
    used = sum(1 + len(v.synonyms) for v in slot_type.values)
    assert used <= MAX_PRODUCT_SLOT_VALUES
    kept = {v.id for v in slot_type.values}
    assert "S-059999" in kept  # the most popular
    assert "S-000000" not in kept  # the least popular goes first
    assert [v.id for v in slot_type.values] == sorted(kept)  # stable order in the file
