"""`voicecart export-model --check`: what Alexa's build would refuse, and what confuses."""

from __future__ import annotations

import re
from pathlib import Path

from testkit import voicecart

from nlu.model import IntentDef, InteractionModel, SlotDef, SlotTypeDef, SlotValue
from skill.interaction.lint import lint_model
from skill.interaction.model import build_model

ITEM = SlotDef("item", "PRODUCT")
VALUES = (SlotValue("A1", "bananas"), SlotValue("A2", "x" * 141),
          SlotValue("A3", "fish & chips"), SlotValue("A4", "bananas"))  # fmt: skip
PRODUCTS = SlotTypeDef("PRODUCT", VALUES)


def _messages(model: InteractionModel, **kwargs: object) -> list[str]:
    return [str(f) for f in lint_model(model, **kwargs)]  # type: ignore[arg-type]


def test_the_shipped_model_has_no_errors() -> None:
    found = lint_model(build_model([]), resolver=lambda words: 90.0)
    assert [f for f in found if f.severity == "error"] == []


def test_what_alexa_refuses_is_an_error() -> None:
    model = InteractionModel(
        invocation_name="Voice Cart skill",
        intents=(
            IntentDef("AddIntent", ("add {item}", "add {item}", "add 2 {item}", "add {item} & more",
                                    "add {thing}", "put {item} in"), (ITEM,)),
            IntentDef("BuyIntent", ("add {item}", "buy {item}", "get {item}"), (ITEM,)),
            IntentDef("OddIntent", ("odd one", "odd two", "odd three"),
                      (SlotDef("when", "UNDECLARED"),)),
        ),
        types=(PRODUCTS,),
    )  # fmt: skip
    messages = "\n".join(_messages(model))
    assert "ERROR   invocation name: 'Voice Cart skill': only lower-case letters" in messages
    assert "may not use ['skill']" in messages
    assert "AddIntent 'add {item}': the same sample twice in one list" in messages
    assert "AddIntent 'add 2 {item}': digits: spell numbers out as words" in messages
    assert "AddIntent 'add {item} & more': characters Alexa refuses: &" in messages
    assert "AddIntent 'add {thing}': slot {thing} is not declared" in messages
    assert "ERROR   'add {item}': sample in several intents: AddIntent, BuyIntent" in messages
    assert "OddIntent.when: slot type UNDECLARED is not declared" in messages
    assert "WARNING OddIntent.when: used in no sample" in messages
    assert (
        "PRODUCT A2: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'...: over 140 characters" in messages
    )
    assert "PRODUCT A3: 'fish & chips': characters Alexa refuses" in messages
    assert "WARNING PRODUCT A4: 'bananas' is the value of another id too" in messages


def test_few_samples_bare_slots_and_local_parser_disagreement_are_reported() -> None:
    model = InteractionModel(
        invocation_name="voice cart",
        intents=(
            IntentDef("AddToCartIntent", ("add {item}", "put {item} in my cart",
                                          "i need {item}"), (ITEM,)),
            IntentDef("WishIntent", ("i need {item} please",), (ITEM,)),
        ),
        types=(SlotTypeDef("PRODUCT", (SlotValue("A1", "bananas"),)),),
    )  # fmt: skip
    messages = _messages(model, resolver=lambda words: 90.0)
    assert "ERROR   WishIntent: only 1 sample utterances; 40 or more recognise better" in messages
    assert "ERROR   AddToCartIntent: only 3 sample utterances; 40 or more recognise better" in (
        messages)  # fmt: skip
    # The template parser reads the sample's own "please" too, so it agrees with the model.
    assert not [m for m in messages if "the local parser reads" in m]
    bare = InteractionModel(
        invocation_name="voice cart",
        intents=(IntentDef("ChooseIntent", ("{item}", "the {item} please", "i meant {item}"),
                           (ITEM,)),),
        types=(SlotTypeDef("PRODUCT", (SlotValue("A1", "bananas"),)),),
    )  # fmt: skip
    flagged = [m for m in _messages(bare) if "a bare slot catches any request" in m]
    assert len(flagged) == 2 and all(m.startswith("ERROR") for m in flagged)
    assert not any("i meant" in m for m in flagged)


def test_the_command_checks_without_writing(tmp_path: Path) -> None:
    env = {"VOICECART_DATABASE_URL": f"sqlite:///{tmp_path / 'lint.db'}"}
    assert voicecart("seed", "--demo", env=env).returncode == 0
    clean = voicecart("export-model", "--check", env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert re.fullmatch(r"\d+ intents, \d+ products: 0 errors, \d+ warnings",
                        clean.stdout.strip().splitlines()[-1])  # fmt: skip
    elsewhere = tmp_path / "package"
    stale = voicecart("export-model", "--check", "--out", str(elsewhere), env=env)
    assert stale.returncode == 0
    assert f"WARNING {elsewhere / 'skill.json'}: out of date" in stale.stdout
    assert not elsewhere.exists()
