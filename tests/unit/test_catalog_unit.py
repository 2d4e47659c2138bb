"""Unit tests of the catalogue: normalisation and the matcher's decisions."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from catalog.matching import Candidate, CatalogMatcher, Decision, differences
from catalog.models import Product
from catalog.normalize import normalize, singular


@pytest.mark.parametrize(
    ("word", "expected"),
    [("towels", "towel"), ("berries", "berry"), ("tomatoes", "tomato"), ("boxes", "box"),
     ("glass", "glass"), ("hummus", "hummus"), ("eggs", "egg"), ("peaches", "peach"), ("oz", "oz")],
)  # fmt: skip
def test_singular(word: str, expected: str) -> None:
    assert singular(word) == expected


@pytest.mark.parametrize(
    ("spoken", "expected"),
    [
        ("Some more of the Paper Towels, please", "paper towel"),
        ("two percent milk", "2 percent milk"),
        ("2% Milk", "2 percent milk"),
        ("Ben & Jerry's", "ben and jerry"),  # possessive and plural meet
        ("", ""),
        ("   ", ""),
        ("🍌🍌🍌", ""),
        ("the some of", ""),
    ],
)
def test_normalize(spoken: str, expected: str) -> None:
    assert normalize(spoken) == expected


def _product(session: Session, sku: str, name: str, brand: str, **kw: object) -> Product:
    product = Product(
        sku=sku, name=name, brand=brand, size=str(kw.get("size", "")),
        price_cents=int(kw.get("price", 299)),  # type: ignore[call-overload]
        stock=int(kw.get("stock", 10)),  # type: ignore[call-overload]
        category="test", synonyms=list(kw.get("synonyms", [])),  # type: ignore[call-overload]
        popularity=int(kw.get("popularity", 1)),  # type: ignore[call-overload]
    )  # fmt: skip
    session.add(product)
    session.flush()
    return product


@pytest.fixture
def isolated(session: Session) -> Session:
    """The demo catalogue switched off, so each test controls what can match."""
    for product in session.query(Product):
        product.active = False
    session.flush()
    return session


def test_synonym_finds_product(isolated: Session) -> None:
    towels = _product(isolated, "T-1", "Paper Towels", "Acme", synonyms=["kitchen roll"])
    _product(isolated, "T-2", "Toilet Paper", "Acme")
    result = CatalogMatcher().match(isolated, "kitchen roll")
    assert result.decision is Decision.CONFIDENT
    assert result.best is not None and result.best.product_id == towels.id


def test_history_prior_picks_the_usual(isolated: Session) -> None:
    whole = _product(isolated, "M-1", "Whole Milk", "Dairyco", popularity=50)
    oat = _product(isolated, "M-2", "Oat Milk", "Oatly Farms", popularity=90)
    matcher = CatalogMatcher()
    without = matcher.match(isolated, "milk")
    assert without.decision is Decision.AMBIGUOUS
    assert without.best is not None and without.best.product_id == oat.id  # most popular
    with_history = matcher.match(isolated, "milk", prior={whole.id: 1.0})
    assert with_history.decision is Decision.CONFIDENT
    assert with_history.best is not None and with_history.best.product_id == whole.id


def test_history_does_not_outvote_the_words_said(isolated: Session) -> None:
    """The usual Whole Wheat Bread sounds like "white" bread, but White Bread was said."""
    wheat = _product(isolated, "B-2", "Whole Wheat Bread", "Bakeco", popularity=90)
    white = _product(isolated, "B-3", "White Sandwich Bread", "Bakeco", popularity=10)
    matcher = CatalogMatcher()
    said = matcher.match(isolated, "white bread", prior={wheat.id: 1.0})
    assert said.best is not None and said.best.product_id == white.id
    usual = matcher.match(isolated, "bread", prior={wheat.id: 1.0})
    assert usual.best is not None and usual.best.product_id == wheat.id


@pytest.mark.parametrize(
    "query", ["", "   ", "x" * 10_000, "🍌🍌", "молоко", "牛奶", "@@@", "two", "4 2 7 1"]
)
def test_odd_input_is_a_clean_no_match(isolated: Session, query: str) -> None:
    _product(isolated, "B-1", "Bananas", "Fruitco")
    result = CatalogMatcher().match(isolated, query)
    assert result.decision is Decision.NO_MATCH
    assert result.best is None or result.best.score < 60


def test_index_follows_catalogue_changes(isolated: Session) -> None:
    matcher = CatalogMatcher()
    assert matcher.match(isolated, "kombucha").decision is Decision.NO_MATCH
    _product(isolated, "K-1", "Ginger Kombucha", "Brewco")
    result = matcher.match(isolated, "kombucha")
    assert result.best is not None and result.best.sku == "K-1"


def test_half_explained_words_are_no_match(isolated: Session) -> None:
    """Unknown words count: "dragonfruit kombucha" is not the ginger kombucha."""
    _product(isolated, "K-2", "Kombucha Ginger", "Brewco", synonyms=["kombucha"])
    matcher = CatalogMatcher()
    assert matcher.match(isolated, "dragonfruit kombucha").decision is Decision.NO_MATCH
    assert matcher.match(isolated, "ginger kombucha").decision is Decision.CONFIDENT


def test_sound_alikes_and_joined_words(isolated: Session) -> None:
    cereal = _product(isolated, "C-1", "Honey Oat Cereal", "Acme")
    free = _product(isolated, "G-1", "Gluten-Free Crackers", "Acme")
    matcher = CatalogMatcher()
    heard = matcher.match(isolated, "honey oat serial").best
    assert heard is not None
    assert heard.product_id == cereal.id
    joined = matcher.match(isolated, "glutenfree crackers").best
    assert joined is not None
    assert joined.product_id == free.id


def test_a_products_very_name_is_confident_over_longer_names(isolated: Session) -> None:
    """ "basmati rice" is the Basmati Rice, not a question with Organic Basmati Rice."""
    plain = _product(isolated, "R-1", "Basmati Rice", "")
    _product(isolated, "R-2", "Organic Basmati Rice", "", popularity=90)
    said = CatalogMatcher().match(isolated, "basmati rices")  # plural, as spoken
    assert said.decision is Decision.CONFIDENT
    assert said.best is not None and said.best.product_id == plain.id


def test_matches_are_remembered_per_catalogue_revision(isolated: Session) -> None:
    """The same words and history are matched once; a catalogue edit (a new revision,
    a new index) matches afresh, and another shopper's history is its own match."""
    oats = _product(isolated, "O-1", "Oat Milk", "Oatfield")
    other = _product(isolated, "O-2", "Oat Milk Barista", "Oatfield")
    matcher = CatalogMatcher()
    first = matcher.match_item(isolated, "oat milk")
    assert matcher.match_item(isolated, "oat milk") is first  # remembered
    usual = matcher.match_item(isolated, "oat milk", prior={other.id: 1.0})
    assert usual is not first and usual[1].best is not None
    assert first[1].best is not None and first[1].best.product_id == oats.id
    oats.name = "Oat Drink"  # a catalogue edit: a new revision
    isolated.flush()
    again = matcher.match_item(isolated, "oat milk")
    assert again is not first
    assert again[1].best is not None and again[1].best.product_id == other.id


def test_word_order_twins_are_decided_without_asking(isolated: Session) -> None:
    """Twins (the same words, any order) cannot be told apart by voice: history first,
    then popularity, then stock, then price; never "Did you mean A or B?"."""
    berry = _product(isolated, "W-1", "Sparkling Water Berry", "", popularity=5)
    twin = _product(isolated, "W-2", "Berry Sparkling Water", "", popularity=40)
    matcher = CatalogMatcher()
    said = matcher.match(isolated, "sparkling water berry")
    assert said.decision is Decision.CONFIDENT
    assert said.best is not None and (said.best.product_id, said.best.twins) == (twin.id, 1)
    usual = matcher.match(isolated, "sparkling water berry", prior={berry.id: 1.0})
    assert usual.best is not None and usual.best.product_id == berry.id
    berry.popularity = twin.popularity = 7
    twin.stock = 0
    isolated.flush()
    # popularity and stock are not catalogue-revision edits: a new matcher indexes afresh
    stocked = CatalogMatcher().match(isolated, "berry sparkling water")
    assert stocked.best is not None and stocked.best.product_id == berry.id
    twin.stock, twin.price_cents = 10, 199
    isolated.flush()
    cheaper = CatalogMatcher().match(isolated, "berry sparkling water")
    assert cheaper.best is not None and cheaper.best.product_id == twin.id


def test_a_question_names_only_what_differs(isolated: Session) -> None:
    _product(isolated, "A-1", "Granny Smith Apples", "Orchard", size="3 lb bag")
    _product(isolated, "A-2", "Honeycrisp Apples", "Orchard", size="3 lb bag")
    _product(isolated, "M-1", "Whole Milk", "Dairyco", size="1 gal")
    _product(isolated, "M-2", "Whole Milk", "Dairyco", size="half gallon")
    matcher = CatalogMatcher()
    apples = matcher.match(isolated, "apples")
    assert apples.decision is Decision.AMBIGUOUS
    kind, labels = differences(apples.contenders)
    assert (kind, sorted(labels)) == ("orchard apples", ["Granny Smith", "Honeycrisp"])
    milk = matcher.match(isolated, "whole milk")
    kind, labels = differences(milk.contenders)
    assert (kind, sorted(labels)) == ("dairyco whole milk", ["1 gal", "half gallon"])
    rices = ((1, "Basmati Rice"), (2, "Organic Basmati Rice"))
    plain, organic = (Candidate(n, f"R-{n}", name, "", 299, True, 90.0, 90.0, 0.0)
                      for n, name in rices)  # fmt: skip
    kind, labels = differences([plain, organic])  # one has no words of its own: full names
    assert (kind, labels) == ("", ["Basmati Rice", "Organic Basmati Rice"])


@pytest.mark.parametrize(
    ("heard", "sku"),
    [("tooth paste", "P-1"), ("blue berries", "B-1"), ("mozza rella", "M-1"),
     ("apple sauce", "A-1"), ("peanutbutter", "N-1"), ("catsup", "K-1"), ("flower", "F-1"),
     ("muscles", "S-1")],
)  # fmt: skip
def test_words_the_recogniser_split_joined_or_heard_alike(
    isolated: Session, heard: str, sku: str
) -> None:
    """Split and joined words are read against the catalogue's own words; sound-alikes
    come from the pronouncing dictionary (no synonym lists: none of these has one)."""
    for code, name in (("P-1", "Toothpaste"), ("P-2", "Tomato Paste"), ("B-1", "Blueberries"),
                       ("B-2", "Blue Corn Chips"), ("M-1", "Shredded Mozzarella"),
                       ("A-1", "Applesauce"), ("A-2", "Apple Juice"), ("N-1", "Peanut Butter"),
                       ("K-1", "Tomato Ketchup"), ("F-1", "All Purpose Flour"),
                       ("F-2", "Sunflower Seeds"), ("S-1", "Fresh Mussels")):  # fmt: skip
        _product(isolated, code, name, "Acme")
    result = CatalogMatcher().match(isolated, heard)
    assert result.best is not None and result.best.sku == sku, result
    assert result.contenders == (result.best,)  # nothing to ask about


def test_a_number_in_a_products_name_is_no_count(isolated: Session) -> None:
    """ "four cheese tortellini" is one Four Cheese Tortellini; "two bananas" is two."""
    tortellini = _product(isolated, "T-4", "Four Cheese Tortellini", "Pastaco")
    _product(isolated, "T-1", "Cheese Tortellini", "Pastaco")
    _product(isolated, "B-1", "Bananas", "Fruitco")
    matcher = CatalogMatcher()
    phrase, result = matcher.match_item(isolated, "four cheese tortellini please")
    assert phrase.quantity is None
    assert result.best is not None and result.best.product_id == tortellini.id
    phrase, result = matcher.match_item(isolated, "two bananas")
    assert (phrase.quantity, result.best.sku if result.best else None) == (2, "B-1")


@pytest.mark.parametrize(
    ("said", "written"),
    [("twenty two ounces", "22 oz"), ("five hundred milligrams", "500 mg"),
     ("one thousand count", "1000 ct"), ("two pounds", "2 lb"), ("ninety nine", "99")],
)  # fmt: skip
def test_units_and_numbers_said_in_words_meet_how_catalogues_write_them(
    said: str, written: str
) -> None:
    assert normalize(said) == normalize(written)


def test_the_usual_product_the_words_head_beats_a_strangers_very_name(isolated: Session) -> None:
    """ "beef jerky" from a shopper who always buys Original Beef Jerky is theirs, though
    a product is called just Beef Jerky; one word ("butter") is taken as said."""
    usual = _product(isolated, "J-1", "Original Beef Jerky", "Snackco")
    _product(isolated, "J-2", "Beef Jerky", "Snackco", popularity=90)
    peanut = _product(isolated, "P-1", "Creamy Peanut Butter", "Nutco")
    butter = _product(isolated, "B-1", "Salted Butter", "Dairyco", synonyms=["butter"])
    matcher = CatalogMatcher()
    jerky = matcher.match(isolated, "beef jerky", prior={usual.id: 1.0})
    assert jerky.decision is Decision.CONFIDENT
    assert jerky.best is not None and jerky.best.product_id == usual.id
    stranger = matcher.match(isolated, "beef jerky")
    assert stranger.best is not None and stranger.best.sku == "J-2"
    said = matcher.match(isolated, "butter", prior={peanut.id: 1.0})
    assert said.best is not None and said.best.product_id == butter.id


def test_a_variant_of_the_best_fit_is_no_rival(isolated: Session) -> None:
    """The plain product that holds every word said is what was asked for; the same
    words plus more ("Organic ...", "Three-Cheese") name a variant, not a question."""
    plain = _product(isolated, "K-1", "Whole Milk Plain Kefir", "")
    _product(isolated, "K-2", "Organic Whole Milk Plain Kefir", "", popularity=80)
    granny = _product(isolated, "A-1", "Granny Smith Apples", "")
    crisp = _product(isolated, "A-2", "Honeycrisp Apples", "")
    matcher = CatalogMatcher()
    kefir = matcher.match(isolated, "whole milk kefir")
    assert kefir.decision is Decision.CONFIDENT
    assert kefir.best is not None and kefir.best.product_id == plain.id
    apples = matcher.match(isolated, "apples")  # different words each: a real question
    assert apples.asks and {c.product_id for c in apples.contenders} == {granny.id, crisp.id}


def test_a_question_about_apples_is_about_apples(isolated: Session) -> None:
    """Products the last word said only describes (Apple Juice, Applesauce after "apples")
    are not offered beside the ones it names, even when they score in between."""
    granny = _product(isolated, "A-1", "Granny Smith Apples", "Orchard", popularity=9)
    _product(isolated, "A-3", "Applesauce Cups", "Orchard", popularity=8)
    _product(isolated, "A-4", "Apple Juice", "Orchard", popularity=8)
    crisp = _product(isolated, "A-2", "Honeycrisp Apples", "Orchard", popularity=1)
    apples = CatalogMatcher().match(isolated, "apples")
    assert apples.asks, apples
    assert {c.product_id for c in apples.contenders} == {granny.id, crisp.id}, apples


def test_a_common_word_is_not_read_as_rarer_sound_alikes(isolated: Session) -> None:
    """ "lime" said, Lime sold: more than a candidate list of products with rarer words
    spelled like it (limea, limeb, ...) must not crowd the lime itself out."""
    lime = _product(isolated, "L-0", "Lime", "")
    for n in range(80):
        _product(isolated, f"L-{n + 1}", f"Lime Soda Flavour {n}", "Fizz")
    for letter in "abcdef":
        for n in range(12):
            _product(isolated, f"X-{letter}{n}", f"Lime{letter} Tonic {n}", "Other")
    result = CatalogMatcher().match(isolated, "lime")
    assert result.decision is Decision.CONFIDENT
    assert result.best is not None and result.best.product_id == lime.id


@pytest.mark.parametrize(
    ("said", "sku"),
    [("black pepper corn grinder", "G-1"), ("panko breadcrumbs", "C-1"),
     ("yellow popcorn", "Y-2"), ("yellow pop corn", "Y-1")],
)  # fmt: skip
def test_spellings_said_alike(isolated: Session, said: str, sku: str) -> None:
    """A said word left over may be half of a catalogue word (pepper corn: peppercorn),
    a known word may be two of them (breadcrumbs: Bread Crumbs), and products spelled
    apart but said alike (Pop Corn, Popcorn) are twins: picked, never asked about."""
    for code, name in (("G-1", "Black Peppercorn Grinder"), ("G-2", "Black Pepper Grinder"),
                       ("C-1", "Panko Bread Crumbs"), ("C-2", "Panko Breadcrumbs Original"),
                       ("C-3", "Gluten Free Panko Breadcrumbs"), ("Y-1", "Yellow Pop Corn"),
                       ("Y-2", "Yellow Popcorn")):  # fmt: skip
        _product(isolated, code, name, "")
    result = CatalogMatcher().match(isolated, said)
    assert result.decision is Decision.CONFIDENT, result
    assert result.best is not None and result.best.sku == sku
