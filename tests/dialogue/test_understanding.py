"""Understanding measured on words we did not write (the held-out sets), and the trained
parser's contract: trained once and loaded after, a fallback below its threshold."""

from __future__ import annotations

from pathlib import Path

import heldout
import pytest
from flask import Flask

from account_link.identity import demo_shopper
from app import wiring
from catalog.demo import read_demo_rows
from catalog.quantity import split_quantity
from nlu.engine import NluEngine
from nlu.grammar import expand
from nlu.parser import FALLBACK, IntentParser, Parse, normalize_utterance
from nlu.spelling import FrameSpeller
from nlu.trained import TrainedParser, frame_word_counts, training_data
from nlu.training import general_english
from skill.interaction.model import build_model
from skill.local import (
    as_product_reorder,
    as_reorder,
    with_pack_size,
    with_product_before,
    with_trailing_count,
)

TYPED_FLOOR = 0.90
"""Held-out typed requests fully right (intent, units, product) at the least: a floor
under the 91.8% measured on all 400 (95.0% on the 242 of the first six intents' sets,
86.7% on the 158 written for the cart-edit, price, last-order and return intents, which
met those intents fresh: their development sets were 83-88% before tuning), against
regressions; retraining after any model change moves it by a point either way. The
understanding issue's target is 97%; the gap is open (see README, "Performance")."""


def _said(text: str) -> str:
    return " ".join(normalize_utterance(text, keep_fillers=True).split())


@pytest.fixture(scope="module")
def values() -> dict[str, list[str]]:
    return {"PRODUCT": [n for r in read_demo_rows() for n in (r.name, *r.synonyms)]}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_heldout_typed_requests_are_understood(app: Flask) -> None:
    dialogue = wiring(app).dialogue
    with wiring(app).sessions() as db:
        shopper = demo_shopper(db)
        assert shopper is not None
        outcomes = []
        for case in heldout.load("heldout_text"):
            parse, matched = dialogue.understand(
                db, [case.text], expecting=case.expecting, customer_id=shopper.id
            )
            outcomes.append(heldout.judge(case, parse, matched))
    assert len(outcomes) >= 200
    assert {o.case.intent for o in outcomes} >= {i.name for i in build_model([]).intents} - {
        FALLBACK, "AMAZON.NavigateHomeIntent"}  # fmt: skip
    assert heldout.accuracy(outcomes) >= TYPED_FLOOR, heldout.report(outcomes)


def test_no_heldout_sentence_is_in_the_model_or_the_training_data(
    values: dict[str, list[str]],
) -> None:
    """The held-out sets stay unseen: no sample, template expansion (slots filled or not)
    or generated training sentence is one of them."""
    model = build_model([])
    heard = {_said(c.text) for name in ("heldout_text", "heldout_spoken")
             for c in heldout.load(name)}  # fmt: skip
    assert len(heard) >= 350
    phrasings = {_said(s) for i in model.intents for t in (*i.templates, *i.samples)
                 for s in expand(t)}  # fmt: skip
    assert not heard & phrasings
    trained_on = {_said(e.text) for e in training_data(model, values, general_english())}
    assert len(trained_on) > 5000
    assert not heard & trained_on
    dev = {_said(c.text) for name in heldout.DEVELOPMENT for c in heldout.load(name)}
    assert len(dev) >= 1200
    assert not heard & dev, "the development sets must not share sentences with the held-out"


def test_trained_parser_is_trained_once_then_loaded(
    tmp_path: Path, values: dict[str, list[str]]
) -> None:
    model = build_model([])
    first, report = TrainedParser.fit_or_load(model, values, tmp_path)
    assert not report.loaded and report.examples > 5000
    again, reloaded = TrainedParser.fit_or_load(model, values, tmp_path)
    assert reloaded.loaded and reloaded.key == report.key and reloaded.seconds < 2
    for text in ("grab me some oat milk for the weekend", "what's the damage in my basket"):
        assert again.parse(text) == first.parse(text)
    changed = {"PRODUCT": [*values["PRODUCT"], "dragon fruit"]}
    assert TrainedParser.fit_or_load(model, changed, tmp_path)[1].key != report.key


def test_words_that_fit_no_intent_are_the_fallback_with_the_closest_offered(
    tmp_path: Path, values: dict[str, list[str]]
) -> None:
    parser, _ = TrainedParser.fit_or_load(
        build_model([]), values, tmp_path, dictionary=general_english()
    )
    parse = parser.parse("zebra quantum saxophone")
    assert parse.intent == FALLBACK
    assert parse.alternatives == ()  # none of those words is ours: nothing to offer
    near = parser.parse("um it the for my the")  # our words, no request in them
    assert near.intent == FALLBACK, near
    assert near.alternatives and all(name != FALLBACK for name, _ in near.alternatives)
    sure = parser.parse("could you pop a jar of pickles into the basket")
    assert sure.intent == "AddToCartIntent" and sure.confidence >= parser.threshold
    assert sure.slots.get("item", "").endswith("pickles")


def test_damaged_parser_files_are_trained_again(
    tmp_path: Path, values: dict[str, list[str]]
) -> None:
    model = build_model([])
    _, report = TrainedParser.fit_or_load(model, values, tmp_path)
    (tmp_path / report.key / "classifier.pkl").write_bytes(b"")  # a crash mid-write
    repaired, again = TrainedParser.fit_or_load(model, values, tmp_path)
    assert not again.loaded and again.key == report.key
    assert repaired.parse("add two limes to my cart").intent == "AddToCartIntent"
    assert TrainedParser.fit_or_load(model, values, tmp_path)[1].loaded
    assert [p.name for p in tmp_path.iterdir()] == [report.key]  # no staging left behind
    assert TrainedParser.fit_or_load(model, values, tmp_path, dictionary=["zebra"])[1].key != (
        report.key)  # fmt: skip


def test_an_answer_that_names_nothing_keeps_the_question_open(
    tmp_path: Path, values: dict[str, list[str]]
) -> None:
    """'I'll go with the...' to "Did you mean A or B?" is no pick and no "neither"."""
    model = build_model([])
    trained, _ = TrainedParser.fit_or_load(model, values, tmp_path, dictionary=general_english())
    engine = NluEngine(IntentParser(model), trained, bare_intent=model.bare_answer_intent)

    def nothing_in_stock(words: str) -> float:  # no words name a product
        return 0.0

    vague = engine.parse("i'll go with the", expecting="ChooseProductIntent",
                         resolver=nothing_in_stock)  # fmt: skip
    assert vague.intent == FALLBACK or vague.slots, vague
    picked = engine.parse("i'll go with the 3rd", expecting="ChooseProductIntent",
                          resolver=nothing_in_stock)  # fmt: skip
    assert (picked.intent, picked.slots) == ("ChooseProductIntent", {"ordinal": "3"})


def test_a_product_then_words_about_it_is_a_request_for_it(
    tmp_path: Path, values: dict[str, list[str]]
) -> None:
    """Shoppers name the product first and then say which, or why: "milk, the oat one";
    "sour cream, we finished it yesterday". Words that name no product are no order."""
    model = build_model([])
    trained, _ = TrainedParser.fit_or_load(model, values, tmp_path, dictionary=general_english())
    engine = NluEngine(IntentParser(model), trained, bare_intent=model.bare_answer_intent)
    catalogue = {"sour cream": 100.0, "oat milk": 100.0, "milk": 100.0}

    def resolver(words: str) -> float:
        return catalogue.get(split_quantity(words).rest, 0.0)

    which = engine.parse("milk, the oat one", resolver=resolver)
    assert (which.intent, split_quantity(which.slots["item"]).rest) == ("AddToCartIntent",
                                                                         "oat milk")  # fmt: skip
    why = engine.parse("sour cream, we finished it yesterday", resolver=resolver)
    assert (why.intent, why.slots) == ("AddToCartIntent", {"item": "sour cream"})
    song = engine.parse("sing me a song about the sea", resolver=resolver)
    assert song.intent == FALLBACK, song
    asked = engine.parse("the oat one", expecting="ChooseProductIntent", resolver=resolver)
    assert asked.intent == "ChooseProductIntent"


def test_a_count_after_the_product_and_more_words_is_the_quantity() -> None:
    said = Parse("fabric softener again, two bottles", "ReorderIntent",
                 {"item": "fabric softener"}, 0.9)  # fmt: skip
    assert with_trailing_count(said).slots == {"item": "fabric softener", "quantity": "2"}
    plain = Parse("add fabric softener to my cart", "AddToCartIntent",
                  {"item": "fabric softener"}, 0.9)  # fmt: skip
    assert with_trailing_count(plain) == plain
    removed = Parse("lip balm, remove two of them", "RemoveFromCartIntent", {"item": "lip balm"}, 1)
    assert with_trailing_count(removed) == removed  # removing takes the whole line
    first = Parse("um tilapia, two packs", "AddToCartIntent", {"item": "two packs"}, 0.5)
    assert with_product_before(first).slots == {"item": "tilapia two packs"}
    assert with_product_before(plain) == plain


def test_an_add_that_says_again_is_a_reorder() -> None:
    again = Parse("buy 3 packs of baby wipes again", "AddToCartIntent",
                  {"item": "3 packs of baby wipes again"}, 0.7)  # fmt: skip
    assert as_reorder(again).intent == "ReorderIntent"
    same = Parse("order the same paper towels as last time", "AddToCartIntent",
                 {"item": "the same paper towels as last time"}, 0.7)  # fmt: skip
    assert as_reorder(same).intent == "ReorderIntent"
    plain = Parse("add gain detergent", "AddToCartIntent", {"item": "gain detergent"}, 0.7)
    assert as_reorder(plain) == plain


def test_misspelt_frame_words_are_put_right_and_real_words_left_alone(
    values: dict[str, list[str]],
) -> None:
    """Typed requests carry typos of our own words; product words are the matcher's job,
    and an English word that happens to be one edit from ours is meant as typed."""
    model = build_model([])
    speller = FrameSpeller(frame_word_counts(model),
                           (w for n in values["PRODUCT"] for w in _said(n).split()))  # fmt: skip
    assert speller.correct("chekout") == "checkout"
    assert speller.correct("cancle my ovder") == "cancel my order"  # "order", not "over"
    assert speller.correct("reorder my ususal dog food") == "reorder my usual dog food"
    assert speller.correct("whats in my baskit") == "whats in my basket"
    for meant in ("what's the weather", "add the tv remotes", "three cans of beans",
                  "remove the chedder", "add milc"):  # fmt: skip
        assert speller.correct(meant) == meant
    engine = NluEngine(IntentParser(model), speller=speller)
    fixed = engine.parse("Cancle my ordr, please!")
    assert (fixed.intent, fixed.text) == ("CancelOrderIntent", "Cancle my ordr, please!")
    assert NluEngine(IntentParser(model)).parse("cancle my ordr").intent == FALLBACK


def test_a_last_clause_that_points_back_or_only_counts_completes_the_request(
    tmp_path: Path, values: dict[str, list[str]]
) -> None:
    """Typed requests put the product first and the verb or the count last: "kids won't
    eat the edamame, get rid of it"; "reorder allergy pills, 2"."""
    model = build_model([])
    trained, _ = TrainedParser.fit_or_load(model, values, tmp_path, dictionary=general_english())
    engine = NluEngine(IntentParser(model), trained, bare_intent=model.bare_answer_intent)
    catalogue = {"edamame": 100.0, "cola": 100.0, "allergy pills": 100.0, "bananas": 100.0}

    def resolver(words: str) -> float:
        return catalogue.get(split_quantity(words).rest, 0.0)

    pointed = engine.parse("kids won't eat the edamame, get rid of it", resolver=resolver)
    assert pointed.intent == "RemoveFromCartIntent"
    assert split_quantity(pointed.slots["item"]).rest == "edamame"
    counted = engine.parse("too much cola, take away two of them", resolver=resolver)
    assert (counted.intent, counted.slots) == ("ChangeQuantityIntent",
                                               {"item": "cola", "fewer": "2"})  # fmt: skip
    again = engine.parse("reorder allergy pills, 2", resolver=resolver)
    assert (again.intent, again.slots) == ("ReorderIntent",
                                           {"item": "allergy pills", "quantity": "2"})  # fmt: skip
    assert engine.parse("bananas. two.", resolver=resolver).slots == {"item": "bananas",
                                                                       "quantity": "2"}  # fmt: skip
    unpunctuated = engine.parse("reorder allergy pills 2", resolver=resolver)
    assert "quantity" not in unpunctuated.slots  # "vitamin b 12": without a comma, a name


def test_a_pack_size_heard_as_a_count_and_a_product_bought_before() -> None:
    sized = Parse("i wish to add eight pack of sports drink", "AddToCartIntent",
                  {"quantity": "8", "item": "pack of sports drink"}, 0.9)  # fmt: skip
    assert with_pack_size(sized).slots == {"item": "eight pack of sports drink"}
    counted = Parse("add eight bananas", "AddToCartIntent", {"quantity": "8", "item": "bananas"}, 1)
    assert with_pack_size(counted) == counted
    known = {"fish flakes": 100.0}

    def fit(words: str) -> float:
        return known.get(words, 0.0)

    named = Parse("the fish flakes i bought last time, get them again", "ReorderLastOrderIntent",
                  {}, 0.6)  # fmt: skip
    reordered = as_product_reorder(named, fit)
    assert (reordered.intent, reordered.slots) == ("ReorderIntent", {"item": "fish flakes"})
    whole = Parse("order everything i bought last time", "ReorderLastOrderIntent", {}, 1)
    assert as_product_reorder(whole, fit) == whole
