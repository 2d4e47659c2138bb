"""Property-based tests: odd input never crashes the importer, the quantity reader, the
matcher, the intent parser or the WAV reader with anything but their documented errors.

Every run is the same run (derandomized) and stores no examples (``database=None``); each
crash these found is kept as an ``@example``. Hypothesis itself still caches Unicode tables
and our sources' constants in ./.hypothesis (a folder that git-ignores itself), whatever
the settings: ``HYPOTHESIS_STORAGE_DIRECTORY`` moves it.
"""

from __future__ import annotations

import io
import struct
import unicodedata
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from catalog import importer
from catalog.demo import COLUMNS, read_demo_rows
from catalog.errors import CatalogError
from catalog.importer import (
    ImportFileError,
    ImportFormat,
    ImportReport,
    RowProblem,
    import_catalog,
    read_rows,
)
from catalog.index import IndexEntry, ProductIndex
from catalog.matching import (
    MAX_QUERY_CHARS,
    Candidate,
    CatalogMatcher,
    Decision,
    MatchResult,
    match_item,
    match_text,
    match_words,
    pick_option,
)
from catalog.models import Product
from catalog.quantity import (
    MAX_DIGITS,
    QuantityPhrase,
    inner_count,
    leading_count,
    only_quantity,
    pack_size,
    refined,
    split_quantity,
    strip_carriers,
    without_purpose,
)
from nlu.audio import AudioError, Pcm16k, read_wav, write_wav
from nlu.engine import NluEngine
from nlu.parser import (
    FALLBACK,
    MAX_UTTERANCE_CHARS,
    IntentParser,
    Parse,
    normalize_utterance,
    spoken_digits,
    spoken_number,
)
from nlu.spelling import FrameSpeller
from nlu.trained import TrainedParser, frame_word_counts
from nlu.training import general_english
from skill.interaction.model import PRODUCT_TYPE, build_model

T = TypeVar("T")
E = TypeVar("E", bound=Exception)

QUICK = settings(max_examples=200, deadline=None, database=None, derandomize=True)
SLOW = settings(max_examples=40, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])  # fmt: skip
"""For tests on a database: the app fixture is shared by the examples, each of which rolls
its transaction back."""


ODD = ["\x00", "\x1b", "\x07", "\t", "\r", "\n", "\x85", "\u202e", "\u2066", "\u200e", "\u200d",
       "\ufeff", "\u2028", "\xa0", "²", "\u0661\u0662", "\uff11\uff12", "1_000", "İ", "ß", "ǅ",
       "\U0001f34c", "\U000e0041", "\ue000", "\\", '"', "'", ",", "|", "-", ".", "x2",
       "2x"]  # fmt: skip
"""Characters and pieces that have broken parsers: controls, bidi and invisible marks,
digits of other scripts, case mappings that change length, quotes and separators."""
WORDS = ["add", "two", "a", "an", "couple", "of", "few", "bags", "pack", "packs", "count",
         "12", "6", "0", "zero", "twenty", "four", "hundred", "minus", "dozen", "half", "the",
         "oat", "one", "kind", "milk", "bananas", "paper", "towels", "please", "to", "my",
         "cart", "for", "taco", "night", "pound", "of them", "more", "remove", "reorder",
         "check", "out", "what's", "in", "yes", "no", "code", "it", "that", "i", "need",
         "1234567890", "999999999", "1" * 5000]  # fmt: skip
SAID = st.lists(st.sampled_from(WORDS + ODD), max_size=14).map(" ".join) | st.lists(
    st.sampled_from(WORDS + ODD), max_size=14
).map(", ".join)
"""Speech-like text: request words, numbers (some absurd), odd characters."""
LONG = st.builds(lambda piece, times: piece * times, st.sampled_from(WORDS + ODD + ["add milk, "]),
                 st.integers(50, 3000))  # fmt: skip
TEXT = st.one_of(st.text(max_size=200), SAID, LONG)
"""Any text (Hypothesis' default: every code point but surrogates), speech-like or long."""


# -- the importer -------------------------------------------------------------------------

FIELD = st.one_of(
    st.lists(st.sampled_from(list("ab1 -_.+é") + ODD), max_size=10).map("".join),
    st.text(max_size=8),
    st.integers(-5, 10**7).map(str),
    st.sampled_from(["", " ", '"', '""', '"a"', '"a', 'a"', '"a""b"', '"6\\"" x"', "x" * 140_000]),
)
ROW = st.lists(FIELD, max_size=12).map(",".join)
HEADERS = st.sampled_from([",".join(COLUMNS), ",".join(importer.INSTACART_COLUMNS),
                           ",".join(COLUMNS) + ',extra,"x', "sku,name"]) | ROW  # fmt: skip
ENDS = st.sampled_from(["\n", "\r\n", "\r", ""])
CSVISH = st.builds(
    lambda header, rows, end: end.join([header, *rows]) + end,
    HEADERS, st.lists(ROW, max_size=10), ENDS,
)  # fmt: skip
"""Mostly a real header, then rows of fields with quotes, separators and odd characters."""


def _outcome(call: Callable[[], T], error: type[E]) -> T | E:
    """What ``call`` returns, or the documented error it raised (any other propagates)."""
    try:
        return call()
    except error as exc:
        return exc


REFUSED = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs"})
LIMITS = {"sku": importer.MAX_SKU, "name": importer.MAX_NAME, "brand": importer.MAX_BRAND,
          "size": importer.MAX_SIZE, "category": importer.MAX_CATEGORY}  # fmt: skip


def _storable(text: str) -> bool:
    return not any(unicodedata.category(c) in REFUSED and c not in "\u200c\u200d" for c in text)


def _check_rows(lines: list[str], fmt: ImportFormat) -> None:
    items = _outcome(lambda: list(read_rows(lines, fmt, Path("p.csv"))), ImportFileError)
    if isinstance(items, ImportFileError):
        assert str(items).isprintable() and len(str(items)) < 600  # one short line for the CLI
        return
    numbers = [line for line, _ in items]
    assert numbers == sorted(set(numbers)) and all(n >= 2 for n in numbers)
    for line, item in items:
        if isinstance(item, RowProblem):
            assert item.line == line
            assert item.reason.isprintable() and 0 < len(item.reason) < 300
            continue
        for column, limit in LIMITS.items():
            value = getattr(item, column)
            assert _storable(value) and len(value) <= limit and value == value.strip()
        assert all(_storable(s) and s for s in item.synonyms)
        assert 0 <= item.price_cents <= importer.MAX_PRICE_CENTS
        assert 0 <= item.stock <= importer.MAX_STOCK
        assert 0 <= item.popularity <= importer.MAX_POPULARITY


@settings(QUICK, max_examples=120)
@given(text=CSVISH | st.text(), fmt=st.sampled_from(ImportFormat))
@example(text=",".join(COLUMNS) + "\nT-1,Cold\x00Brew,,,1,1,,,1\n", fmt=ImportFormat.CSV)
@example(text=",".join(COLUMNS) + ',x"\n1,"2\n', fmt=ImportFormat.CSV)
@example(text=",".join(COLUMNS) + ',"\x1b' + "y" * 500 + '"\n' + "1," * 9 + '"\n',
         fmt=ImportFormat.CSV)  # fmt: skip
def test_read_rows_gives_rows_problems_or_the_file_error(text: str, fmt: ImportFormat) -> None:
    _check_rows(text.splitlines(keepends=True), fmt)
    _check_rows(text.split("\n"), fmt)  # pieces need not be lines


@QUICK
@given(data=st.binary(max_size=300) | CSVISH.map(lambda t: t.encode("utf-8", "surrogatepass")))
@example(data=b"sku,name\n\xff")
@example(data=b"\xef\xbb\xbf" + ",".join(COLUMNS).encode() + b"\n" + b"x" * 600_000 + b"\n")
def test_decoding_reads_lines_or_refuses_the_file(data: bytes) -> None:
    seen: list[int] = []
    lines = importer._decoded_lines(io.BytesIO(data), Path("p.csv"), seen.append)
    got = _outcome(lambda: list(lines), ImportFileError)
    if isinstance(got, ImportFileError):
        assert "not valid UTF-8" in str(got)
        return
    assert sum(seen) == len(data)
    assert len(got) == data.count(b"\n") + (bool(data) and not data.endswith(b"\n"))
    _check_rows(got, ImportFormat.CSV)


@SLOW
@given(
    products=st.binary(max_size=300) | CSVISH.map(str.encode),
    departments=st.none() | st.binary(max_size=60) | CSVISH.map(str.encode),
    fmt=st.sampled_from(ImportFormat),
)
@example(products=(",".join(COLUMNS) + "\nT-1,Cold\x00Brew,,,1,1,,,1\n").encode(),
         departments=None, fmt=ImportFormat.CSV)  # fmt: skip
@example(products=b"product_id,product_name,aisle_id,department_id\n1,x,1,7\n",
         departments=b"department_id,department\n7," + b"b" * 61 + b"\n",
         fmt=ImportFormat.INSTACART)  # fmt: skip
def test_import_gives_a_report_or_a_catalog_error(
    tmp_path: Path, sessions: sessionmaker[Session], products: bytes,
    departments: bytes | None, fmt: ImportFormat,
) -> None:  # fmt: skip
    """On both databases: PostgreSQL refused a NUL in the middle of the import. Nothing
    is committed: each example's transaction is rolled back."""
    path = tmp_path / "products.csv"
    path.write_bytes(products)
    (tmp_path / "departments.csv").unlink(missing_ok=True)
    if departments is not None:
        (tmp_path / "departments.csv").write_bytes(departments)
    with sessions() as session:
        report = _outcome(lambda: import_catalog(session, path, fmt), CatalogError)
        if isinstance(report, CatalogError):
            assert isinstance(report, ImportFileError) and str(report).isprintable()
            return
        assert isinstance(report, ImportReport)
        assert all(p.reason.isprintable() for p in report.skipped)
        stored = session.scalars(select(Product)).all()
        assert all(_storable(p.name) and _storable(p.category) for p in stored)
        session.rollback()


# -- the quantity reader ------------------------------------------------------------------

UNITS = {"lb", "oz", "gal", "half gallon", "l", "qt", "pt", "kg"}


def _count(value: int | None) -> bool:
    return value is None or (type(value) is int and 0 <= value < 10**MAX_DIGITS)


@QUICK
@given(TEXT)
@example("² bananas")  # str.isdigit() but not int()
@example("1" * 5000 + " bananas")  # beyond int()'s 4300 digits
@example("bananas " + "1" * 5000 + " bags")
@example("1" * 5000 + " pack")
@example("milk " * 5000)  # inner_count was quadratic in the words
def test_quantity_reader_never_raises(text: str) -> None:
    phrase = split_quantity(text)
    assert isinstance(phrase, QuantityPhrase) and isinstance(phrase.rest, str)
    assert _count(phrase.quantity) and _count(phrase.pack)
    assert phrase.unit is None or phrase.unit in UNITS
    for reader in (leading_count, pack_size, inner_count):
        assert _count(reader(text))
    assert isinstance(only_quantity(text), bool)
    assert isinstance(strip_carriers(text), str) and isinstance(refined(text), str)
    shorter = without_purpose(text)
    assert shorter is None or (shorter and shorter != text)


# -- the matcher --------------------------------------------------------------------------


@cache
def demo_index() -> ProductIndex:
    """The demo catalogue's index, as the matcher builds it (without a database)."""
    rows = read_demo_rows()
    return ProductIndex(IndexEntry(i, r.sku, r.name, r.brand, r.size, r.synonyms, r.popularity)
                        for i, r in enumerate(rows))  # fmt: skip


def _valid(result: MatchResult, limit: int = 5) -> None:
    assert isinstance(result, MatchResult) and isinstance(result.decision, Decision)
    assert len(result.query) <= MAX_QUERY_CHARS and len(result.candidates) <= limit
    assert all(isinstance(c, Candidate) and 0 <= c.score <= 100 for c in result.candidates)
    assert (result.best is None) == (not result.candidates)
    if result.decision is not Decision.NO_MATCH:
        assert result.best is not None
    assert len(result.contenders) <= 3 and isinstance(result.asks, bool)


@QUICK
@given(text=TEXT, prior=st.dictionaries(st.integers(-2, 400), st.floats(0, 1), max_size=4))
@example(text="", prior={})
@example(text="\U0001f34c" * 300, prior={})
@example(text="1" * 5000, prior={})
@example(text="x" * 100_000, prior={10**9: 1.0})
def test_matcher_never_raises(text: str, prior: dict[int, float]) -> None:
    index = demo_index()
    _valid(match_text(index, text, prior=prior))
    _valid(match_words(index, text, prior=prior, limit=3), limit=3)
    phrase, result = match_item(index, text, prior=prior)
    assert isinstance(phrase, QuantityPhrase)
    _valid(result)
    choice = pick_option(["Whole Milk", "Oat Milk", "2% Milk"], text, text[:10])
    assert choice is None or choice in range(3)


@pytest.fixture
def matcher() -> CatalogMatcher:
    return CatalogMatcher()


@SLOW
@given(text=TEXT)
@example(text="\x00 milk")
def test_catalog_matcher_on_the_database_never_raises(
    session: Session, matcher: CatalogMatcher, text: str
) -> None:
    """As the dialogue calls it (the demo catalogue, on both databases)."""
    _valid(matcher.match(session, text))
    phrase, result = matcher.match_item(session, text)
    assert isinstance(phrase, QuantityPhrase)
    _valid(result)
    assert 0 <= matcher.fit(session, text) <= 100


# -- the intent parser --------------------------------------------------------------------

MODEL = build_model([])
INTENTS = frozenset(intent.name for intent in MODEL.intents) | {FALLBACK}


def _fit(words: str) -> float:
    """The product-slot check the local channels give the parser (0-100)."""
    result = match_item(demo_index(), words)[1]
    best = result.best
    return 0.0 if best is None or result.decision is Decision.NO_MATCH else best.text_score


@pytest.fixture(scope="module")
def engine(nlu_dir: Path) -> NluEngine:
    """The engine every local channel uses: templates, trained parser, speller."""
    rows = sorted(read_demo_rows(), key=lambda r: r.sku)  # as the server trains it: one copy
    values = {PRODUCT_TYPE: [n for r in rows for n in (r.name, *r.synonyms)]}
    trained, _ = TrainedParser.fit_or_load(MODEL, values, nlu_dir, dictionary=general_english())
    words = (w for n in values[PRODUCT_TYPE] for w in normalize_utterance(n).split())
    speller = FrameSpeller(frame_word_counts(MODEL), words)
    return NluEngine(IntentParser(MODEL), trained, bare_intent=MODEL.bare_answer_intent,
                     speller=speller)  # fmt: skip


def _sound(parse: Parse) -> None:
    assert isinstance(parse, Parse) and parse.intent in INTENTS
    assert 0.0 <= parse.confidence <= 1.0
    assert all(isinstance(v, str) for v in parse.slots.values())


@settings(QUICK, max_examples=120)
@given(text=TEXT, expecting=st.none() | st.sampled_from(sorted(INTENTS)))
@example(text="add " + "1" * 5000 + " bananas", expecting=None)  # beyond int()'s digits
@example(text="add ² bananas", expecting=None)
@example(text="add milk, " * 100, expecting=None)  # was seconds (regex backtracking)
@example(text="add milk, " * 1000, expecting=None)  # was minutes: over the limit now
@example(text="my code is " + "1 " * 400, expecting="VoiceCodeIntent")
def test_intent_parser_never_raises(engine: NluEngine, text: str, expecting: str | None) -> None:
    _sound(engine.templates.parse(text, expecting=expecting, resolver=_fit))
    _sound(engine.parse(text, expecting=expecting, resolver=_fit))
    _sound(engine.parse_best([text, text[::-1], ""], expecting=expecting, resolver=_fit))
    if len(text) > MAX_UTTERANCE_CHARS:
        assert engine.parse(text).intent == FALLBACK
    number = spoken_number(text)
    assert number is None or abs(number) < 10**9
    digits = spoken_digits(normalize_utterance(text))
    assert digits is None or (digits.isascii() and digits.isdigit())


# -- the WAV reader -----------------------------------------------------------------------

AUDIO_CODES = {"empty_audio", "not_wav", "corrupt_wav", "unsupported_encoding",
               "unsupported_channels", "unsupported_rate", "truncated_wav", "too_long",
               "too_short", "silence"}  # fmt: skip


def _tone(rate: int, frames: int, channels: int) -> bytes:
    wave = (8000 * np.sin(np.arange(frames * channels) / 5)).astype(np.int16)
    return write_wav(wave, rate, channels)


WAVS = [_tone(16000, 16000, 1), _tone(8000, 4000, 2), _tone(44100, 6000, 1)]
SIZE_FIELDS = [4, 16, 20, 22, 24, 28, 32, 34, 40]
"""Offsets of the RIFF, fmt and data sizes, format, channels, rate and widths."""


def _mutated(
    wav: int, cut: int | None, flips: list[tuple[int, int]], sizes: list[tuple[int, int]],
    chunk: bytes | None,
) -> bytes:  # fmt: skip
    data = bytearray(WAVS[wav][:cut])
    for at, value in flips:
        if at < len(data):
            data[at] = value
    for at, value in sizes:
        data[at : at + 4] = struct.pack("<I", value)
    if chunk is not None:
        data[36:36] = chunk  # a chunk between fmt and data
    return bytes(data)


MUTATED = st.builds(
    _mutated,
    st.integers(0, len(WAVS) - 1),
    st.none() | st.integers(0, 3000),
    st.lists(st.tuples(st.integers(0, 63), st.integers(0, 255)), max_size=6),
    st.lists(st.tuples(st.sampled_from(SIZE_FIELDS),
                       st.sampled_from([0, 1, 3, 7, 16, 18, 40, 65535, 2**31, 2**32 - 1])),
             max_size=2),
    st.none() | st.sampled_from([b"LIST\x04\x00\x00\x00abcd", b"LIST\xff\x00\x00\x00",
                                 b"data", b"fmt \x02\x00\x00\x00\x01\x00"]),
)  # fmt: skip
"""Valid WAV files cut short, with bytes of their header changed, sizes set to odd
values, or an extra chunk put in."""
CHUNK_PAST_RIFF = (struct.pack("<4sI4s4sIHHIIHH", b"RIFF", 40, b"WAVE", b"fmt ", 16, 1, 1,
                               16000, 32000, 2, 16) + b"LIST" + struct.pack("<I", 1000)
                   + b"x" * 2000)  # fmt: skip
"""A chunk that claims to run past its RIFF chunk: wave raised a bare RuntimeError."""


@QUICK
@given(
    data=st.binary(max_size=200)
    | st.binary(max_size=200).map(lambda b: b"RIFF" + b[:4] + b"WAVE" + b[4:])
    | MUTATED
)
@example(data=CHUNK_PAST_RIFF)
@example(data=b"RIFF$}\x00\x00WAVEfmt \x10\x00\x00\x91\x01\x00\x01\x00\x80>\x00\x00\x00}\x00"
         b"\x00\xc9\x00\x10\x00d\xffta\x00}\x00\x00\x00\x005\x06")  # fmt: skip
def test_wav_reader_raises_only_audio_error(data: bytes) -> None:
    pcm = _outcome(lambda: read_wav(data), AudioError)
    if isinstance(pcm, AudioError):
        assert pcm.code in AUDIO_CODES and str(pcm)
        return
    assert isinstance(pcm, Pcm16k) and pcm.samples.dtype == np.int16
    assert 0.09 <= pcm.seconds <= 15.01 and pcm.source_channels in (1, 2)
