"""Stream a catalogue file into the database: validate every row, upsert the good ones.

Bad rows are skipped and reported with their line number and reason; a file that is
not what it claims to be (wrong header, not text) is refused whole. Everything is
written in the caller's transaction, so an import either lands completely or not at all.

A row is one line: a quote left open, a line break, a control or bidi character, an
overlong line or a number not in ASCII digits costs that row only, never the file (and
never reaches the database, where PostgreSQL would refuse a NUL and with it the import).
"""

from __future__ import annotations

import csv
import logging
import re
import unicodedata
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.demo import COLUMNS, ProductRow, upsert_products
from catalog.errors import CatalogError
from catalog.models import Product

log = logging.getLogger("voicecart.catalog")

BATCH = 2_000
MAX_SKU = 64
MAX_NAME = 200
MAX_BRAND = 100
MAX_SIZE = 60
MAX_CATEGORY = 60
"""Text limits: the products table's column lengths (characters on both databases; a
longer value would be cut by SQLite and refused, with the whole import, by PostgreSQL)."""
MAX_PRICE_CENTS = 1_000_000
MAX_STOCK = 10_000_000
MAX_POPULARITY = 1_000_000_000
"""Below PostgreSQL's integer limit, where the column lives."""
MAX_ID = 10**12
INSTACART_COLUMNS = ("product_id", "product_name", "aisle_id", "department_id")
DEPARTMENT_COLUMNS = ("department_id", "department")
MAX_LINE_CHARS = 131_072
"""A longer line is refused as a row: no field comes near it (a name has at most 200
characters), so a huge line is a broken file. It is also the csv module's own field limit,
which therefore can never be reached (that refused the whole file)."""
MAX_RECORD_LINES = 20
"""How far past a quote left open the importer looks for its closing quote, to report a
record whose field holds line breaks as one problem instead of one per line."""
_READ_BYTES = 4 * MAX_LINE_CHARS + 1
"""Bytes read at most per line: a UTF-8 character has at most 4, so a line cut here is
already too long, and a file of one endless line never fills memory."""
_NUMBER = re.compile(r"-?[0-9]+")
"""Whole numbers as a catalogue file writes them: ASCII digits, no '+', '_', exponent,
or other scripts' digits (all of which ``int()`` would read)."""
_MAX_DIGITS = 15
"""Digits beyond this are out of every range here; ``int()`` is not even tried."""
_REFUSED_KINDS = {
    "Cc": "a control character",
    "Cf": "an invisible formatting character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Co": "a private-use character",
    "Cs": "a lone surrogate",
}
"""Unicode categories refused in stored text: controls (ESC sequences, BEL, NUL, which
PostgreSQL cannot store, tabs and line breaks), bidi overrides and isolates, invisible
marks and tag characters. In a name they hide, reorder or garble what pages, e-mails,
terminals and Alexa show or say. A row with one is refused, not cleaned: a tab or a line
break in a name means the file's columns are broken, and a silent fix would hide that."""
_CONTROL_NAMES = {"\0": "NUL", "\a": "BEL", "\t": "TAB", "\n": "LF", "\r": "CR", "\x1b": "ESC",
                  "\x7f": "DEL"}  # fmt: skip
"""Control characters have no Unicode name; the ones people know by a short one."""
_JOINERS = frozenset("\u200c\u200d")
"""ZWNJ and ZWJ (format characters too) are how some scripts and emoji are written."""


class ImportFormat(StrEnum):
    CSV = "csv"
    """voicecart's own columns (the demo catalogue's): sku,name,brand,size,price_cents,..."""
    INSTACART = "instacart"
    """Instacart 2017 products.csv; departments.csv beside it names the categories, and
    the order history beside it (:data:`HISTORY_FILES`) sets each product's popularity."""


class ImportFileError(CatalogError):
    """The file as a whole cannot be imported (nothing was written)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    reason: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[RowProblem] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged


def _shown(text: str, limit: int = 60) -> str:
    """``text`` safe to print in one terminal line (controls escaped) and cut short:
    reasons and errors quote what the file holds."""
    cut = text if len(text) <= limit else text[:limit] + "..."
    return repr(cut)[1:-1]


def _quoted(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _decoded_lines(raw: IO[bytes], path: Path, progress: Callable[[int], None]) -> Iterator[str]:
    """UTF-8 lines of ``raw``, one at a time, reporting bytes read (for a progress bar).

    Decoding per line keeps memory flat and names the exact line of a bad byte. A line too
    long to be a row is read in pieces and only its beginning given (longer than
    :data:`MAX_LINE_CHARS`, so :func:`read_rows` reports it).
    """
    number = 0
    while chunk := raw.readline(_READ_BYTES):
        number += 1
        progress(len(chunk))
        if len(chunk) == _READ_BYTES and not chunk.endswith(b"\n"):
            while rest := raw.readline(_READ_BYTES):
                progress(len(rest))
                if rest.endswith(b"\n"):
                    break
            yield chunk.decode("utf-8", "replace")
            continue
        try:
            line = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFileError(path, f"line {number}: not valid UTF-8 ({exc.reason})") from exc
        yield line.removeprefix("\ufeff") if number == 1 else line


def _refused_character(text: str) -> str | None:
    """Why ``text`` cannot be stored (a character of :data:`_REFUSED_KINDS`), or None."""
    if text.isprintable():  # the usual case, and fast; spaces such as U+00A0 are fine
        return None
    for at, char in enumerate(text, start=1):
        kind = _REFUSED_KINDS.get(unicodedata.category(char))
        if kind is not None and char not in _JOINERS:
            name = _CONTROL_NAMES.get(char) or unicodedata.name(char, "")
            named = f"U+{ord(char):04X} {name}".rstrip()
            return f"{named}, {kind}, at character {at}"
    return None


def _int(value: str, what: str, low: int, high: int) -> int:
    """A whole number in ``low..high`` written with ASCII digits (spaces around it are fine)."""
    digits = value.strip(" ")
    if not _NUMBER.fullmatch(digits):
        raise ValueError(f"{what} {_quoted(value)} is not a whole number (digits 0-9 only)")
    if len(digits.lstrip("-0")) > _MAX_DIGITS:
        raise ValueError(f"{what} {_quoted(digits)} is outside {low}..{high}")
    number = int(digits)
    if not low <= number <= high:
        raise ValueError(f"{what} {number} is outside {low}..{high}")
    return number


def _id(value: str | None, what: str) -> str:
    """An optional id column that is only compared, never stored: digits or nothing."""
    text = (value or "").strip(" ")
    if text:
        _int(text, what, 0, MAX_ID)
    return text


def _text(value: str | None, what: str, *, required: bool, limit: int) -> str:
    text = (value or "").strip().replace('\\"', '"')
    if required and not text:
        raise ValueError(f"{what} is empty")
    if (refused := _refused_character(text)) is not None:
        raise ValueError(f"{what} contains {refused}")
    if len(text) > limit:
        raise ValueError(f"{what} is longer than {limit} characters")
    return text


def _synonyms(value: str | None) -> tuple[str, ...]:
    said = (value or "").split("|")
    return tuple(t for s in said if (t := _text(s, "synonym", required=False, limit=MAX_NAME)))


def _voicecart_row(record: dict[str, str]) -> ProductRow:
    return ProductRow(
        sku=_text(record["sku"], "sku", required=True, limit=MAX_SKU),
        name=_text(record["name"], "name", required=True, limit=MAX_NAME),
        brand=_text(record["brand"], "brand", required=False, limit=MAX_BRAND),
        size=_text(record["size"], "size", required=False, limit=MAX_SIZE),
        price_cents=_int(record["price_cents"], "price_cents", 0, MAX_PRICE_CENTS),
        stock=_int(record["stock"], "stock", 0, MAX_STOCK),
        category=_text(record["category"], "category", required=False, limit=MAX_CATEGORY),
        synonyms=_synonyms(record["synonyms"]),
        popularity=_int(record["popularity"] or "0", "popularity", 0, MAX_POPULARITY),
    )


def _instacart_parser(
    departments: dict[str, str], price_cents: int, stock: int, bought: Mapping[int, int]
) -> Callable[[dict[str, str]], ProductRow]:
    def parse(record: dict[str, str]) -> ProductRow:
        product_id = _int(record["product_id"], "product_id", 1, MAX_ID)
        _id(record["aisle_id"], "aisle_id")
        department = _id(record["department_id"], "department_id")
        return ProductRow(
            sku=f"IC-{product_id}",
            name=_text(record["product_name"], "product_name", required=True, limit=MAX_NAME),
            brand="",
            size="",
            price_cents=price_cents,
            stock=stock,
            category=departments.get(department, ""),
            synonyms=(),
            popularity=min(bought.get(product_id, 0), MAX_POPULARITY),
        )

    return parse


HISTORY_FILES = ("user_prior_histories.csv", "order_products__prior.csv")
"""Order lines beside an Instacart products.csv (the Kaggle release's name, or the
shoppers' histories file): how often each product was bought is its popularity."""


def _purchases(path: Path) -> dict[int, int]:
    """Times each product id was bought, from the first history file beside ``path``.

    Only its header must be right (and the file UTF-8); a line without a product id in
    ASCII digits is not counted.
    """
    for name in HISTORY_FILES:
        beside = path.with_name(name)
        if beside.is_file():
            counts: Counter[int] = Counter()
            with beside.open("rb") as raw:
                lines = _decoded_lines(raw, beside, lambda _n: None)
                header = _header(_records(islice(lines, 1)), beside)
                if "product_id" not in header:
                    shown = _shown(",".join(header)) or "empty"
                    raise ImportFileError(beside, f"header is {shown}; needs product_id")
                at = header.index("product_id")
                for line in lines:
                    row = _one_line(line)
                    value = row[at].strip(" ") if not isinstance(row, str) and len(row) > at else ""
                    if value.isascii() and value.isdigit() and len(value) <= _MAX_DIGITS:
                        counts[int(value)] += 1
            log.info("popularity: %d purchases of %d products from %s",
                     sum(counts.values()), len(counts), beside)  # fmt: skip
            return dict(counts)
    return {}


def _departments(path: Path) -> dict[str, str]:
    """Department names by id from departments.csv beside ``path``; a broken file is
    refused whole (its names become every product's category)."""
    beside = path.with_name("departments.csv")
    if not beside.exists():
        return {}
    names: dict[str, str] = {}
    with beside.open("rb") as raw:
        records = _records(_decoded_lines(raw, beside, lambda _n: None))
        header = _header(records, beside)
        if header[: len(DEPARTMENT_COLUMNS)] != DEPARTMENT_COLUMNS:
            shown = _shown(",".join(header)) or "empty"
            raise ImportFileError(
                beside, f"header is {shown}; needs {','.join(DEPARTMENT_COLUMNS)}"
            )
        for line, fields in records:
            try:
                if isinstance(fields, str):
                    raise ValueError(fields)
                if not fields:
                    continue
                if len(fields) != len(header):
                    raise ValueError(f"expected {len(header)} fields, found {len(fields)}")
                key = _id(fields[0], "department_id")
                names[key] = _text(fields[1], "department", required=True, limit=MAX_CATEGORY)
            except ValueError as exc:
                raise ImportFileError(beside, f"line {line}: {exc}") from None
    return names


def _one_line(line: str) -> list[str] | str:
    """The fields of one physical line, or why it cannot be read."""
    if len(line) > MAX_LINE_CHARS:
        return f"row is longer than {MAX_LINE_CHARS:,} characters"
    body = _body(line)
    if "\r" in body or "\n" in body:
        return "row contains a line break (U+000D or U+000A) inside it"
    try:
        return next(csv.reader((body + "\n",)), [])
    except csv.Error as exc:  # not expected with these checks, but never a crash
        return f"row is unreadable ({exc})"


def _body(line: str) -> str:
    return line.removesuffix("\n").removesuffix("\r")


def _records(lines: Iterable[str]) -> Iterator[tuple[int, list[str] | str]]:
    """(line, fields or why not) for each physical line: a row is one line.

    A quote left open at the end of a line is reported at that line. When it closes within
    :data:`MAX_RECORD_LINES` lines and the record then has the header's field count, those
    lines were one record with a line break in a field: one problem for all of them.
    Otherwise the next line is read as a row of its own, so a missing quote swallows
    nothing. The first line is the header.
    """
    columns: tuple[str, ...] | None = None
    source = enumerate(lines, start=1)
    pending: deque[tuple[int, str]] = deque()

    def take() -> tuple[int, str] | None:
        return pending.popleft() if pending else next(source, None)

    while (item := take()) is not None:
        number, line = item
        fields = _one_line(line)
        if isinstance(fields, str) or not fields or not fields[-1].endswith("\n"):
            if columns is None and not isinstance(fields, str):
                columns = tuple(fields)
            yield number, fields
            continue
        if columns is None:
            yield number, "a quoted field is not closed (its closing quote is missing)"
            continue
        column = _shown(columns[len(fields) - 1], 40) if len(fields) <= len(columns) else "field"
        ahead: list[tuple[int, str]] = []
        group = [_body(line)]
        last = None
        while len(group) < MAX_RECORD_LINES and (following := take()) is not None:
            ahead.append(following)
            if isinstance(_one_line(following[1]), str):
                break
            group.append(_body(following[1]))
            if '"' not in following[1]:
                continue  # the field is still open
            reader = csv.reader([*(g + "\n" for g in group), "\n"], strict=True)
            try:
                record = next(reader)
            except csv.Error:
                continue  # still open, or no proper record: look one line further
            if len(record) == len(columns):
                last = following[0]
            break
        if last is None:
            pending.extendleft(reversed(ahead))
            yield number, f"quoted {column} is not closed (its closing quote is missing)"
        else:
            yield number, (f"quoted {column} holds a line break (lines {number}-{last}); "
                           "a field cannot span lines")  # fmt: skip


def _header(records: Iterator[tuple[int, list[str] | str]], path: Path) -> tuple[str, ...]:
    """The first line's column names; an unreadable header refuses the file."""
    first = next(records, None)
    if first is None:
        return ()
    line, fields = first
    if isinstance(fields, str):
        raise ImportFileError(path, f"line {line}: header: {fields}")
    return tuple(fields)


def read_rows(
    stream: Iterable[str],
    fmt: ImportFormat,
    path: Path,
    *,
    parse: Callable[[dict[str, str]], ProductRow] | None = None,
) -> Iterator[tuple[int, ProductRow | RowProblem]]:
    """Yield (line, row or problem) for every record; a bad header refuses the file.

    ``stream`` gives the file's lines with their line ends (as iterating a file does).
    """
    expected = COLUMNS if fmt is ImportFormat.CSV else INSTACART_COLUMNS
    records = _records(stream)
    header = _header(records, path)
    if header[: len(expected)] != expected:
        raise ImportFileError(
            path,
            f"header is {_shown(','.join(header), 200) or 'empty'}; --format {fmt} needs "
            f"{','.join(expected)}",
        )
    parse = parse or _voicecart_row
    for line, fields in records:
        if isinstance(fields, str):
            yield line, RowProblem(line, fields)
            continue
        if not fields:  # a blank line
            continue
        if len(fields) != len(header):
            yield line, RowProblem(line, f"expected {len(header)} fields, found {len(fields)}")
            continue
        try:
            yield line, parse(dict(zip(header, fields, strict=True)))
        except ValueError as exc:
            yield line, RowProblem(line, str(exc))


def import_catalog(
    session: Session,
    path: Path,
    fmt: ImportFormat,
    *,
    progress: Callable[[int], None] = lambda _n: None,
    default_price_cents: int = 399,
    default_stock: int = 100,
) -> ImportReport:
    """Import ``path`` into ``session``'s transaction and report what happened row by row."""
    if not path.is_file():
        raise ImportFileError(path, "no such file")
    parse = None
    if fmt is ImportFormat.INSTACART:
        parse = _instacart_parser(
            _departments(path), default_price_cents, default_stock, _purchases(path)
        )
    report = ImportReport()
    seen: dict[str, int] = {}
    batch: list[ProductRow] = []
    with path.open("rb") as raw:
        for line, item in read_rows(_decoded_lines(raw, path, progress), fmt, path, parse=parse):
            if isinstance(item, RowProblem):
                report.skipped.append(item)
                continue
            if item.sku in seen:
                report.skipped.append(
                    RowProblem(line, f"sku {item.sku} repeats line {seen[item.sku]}")
                )
                continue
            seen[item.sku] = line
            batch.append(item)
            if len(batch) >= BATCH:
                _flush(session, batch, report)
    _flush(session, batch, report)
    return report


def _flush(session: Session, batch: list[ProductRow], report: ImportReport) -> None:
    if not batch:
        return
    result = upsert_products(session, batch, existing=_existing(session, (r.sku for r in batch)))
    report.created += result.created
    report.updated += result.updated
    report.unchanged += result.unchanged
    batch.clear()
    session.expunge_all()  # keep memory flat on large files


def _existing(session: Session, skus: Iterable[str]) -> dict[str, Product]:
    wanted = list(skus)
    return {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_(wanted)))}
