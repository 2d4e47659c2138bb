"""Stream a catalogue file into the database: validate every row, upsert the good ones.

Bad rows are skipped and reported with their line number and reason; a file that is
not what it claims to be (wrong header, not text) is refused whole. Everything is
written in the caller's transaction, so an import either lands completely or not at all.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.demo import COLUMNS, ProductRow, upsert_products
from catalog.errors import CatalogError
from catalog.models import Product

log = logging.getLogger("voicecart.catalog")

BATCH = 2_000
MAX_NAME = 200
MAX_PRICE_CENTS = 1_000_000
MAX_STOCK = 10_000_000
INSTACART_COLUMNS = ("product_id", "product_name", "aisle_id", "department_id")


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


def _decoded_lines(raw: IO[bytes], path: Path, progress: Callable[[int], None]) -> Iterator[str]:
    """UTF-8 lines of ``raw``, one at a time, reporting bytes read (for a progress bar).

    Decoding per line keeps memory flat and names the exact line of a bad byte.
    """
    for number, chunk in enumerate(raw, start=1):
        progress(len(chunk))
        try:
            line = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFileError(path, f"line {number}: not valid UTF-8 ({exc.reason})") from exc
        yield line.removeprefix("\ufeff") if number == 1 else line


def _int(value: str, what: str, low: int, high: int) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a whole number") from None
    if not low <= number <= high:
        raise ValueError(f"{what} {number} is outside {low}..{high}")
    return number


def _text(value: str | None, what: str, *, required: bool, limit: int) -> str:
    text = (value or "").strip().replace('\\"', '"')
    if required and not text:
        raise ValueError(f"{what} is empty")
    if len(text) > limit:
        raise ValueError(f"{what} is longer than {limit} characters")
    return text


def _voicecart_row(record: dict[str, str]) -> ProductRow:
    return ProductRow(
        sku=_text(record["sku"], "sku", required=True, limit=64),
        name=_text(record["name"], "name", required=True, limit=MAX_NAME),
        brand=_text(record["brand"], "brand", required=False, limit=100),
        size=_text(record["size"], "size", required=False, limit=60),
        price_cents=_int(record["price_cents"], "price_cents", 0, MAX_PRICE_CENTS),
        stock=_int(record["stock"], "stock", 0, MAX_STOCK),
        category=_text(record["category"], "category", required=False, limit=60),
        synonyms=tuple(s.strip() for s in (record["synonyms"] or "").split("|") if s.strip()),
        popularity=_int(record["popularity"] or "0", "popularity", 0, 1_000_000_000),
    )


def _instacart_parser(
    departments: dict[str, str], price_cents: int, stock: int, bought: Mapping[int, int]
) -> Callable[[dict[str, str]], ProductRow]:
    def parse(record: dict[str, str]) -> ProductRow:
        product_id = _int(record["product_id"], "product_id", 1, 10**12)
        return ProductRow(
            sku=f"IC-{product_id}",
            name=_text(record["product_name"], "product_name", required=True, limit=MAX_NAME),
            brand="",
            size="",
            price_cents=price_cents,
            stock=stock,
            category=departments.get((record["department_id"] or "").strip(), ""),
            synonyms=(),
            popularity=bought.get(product_id, 0),
        )

    return parse


HISTORY_FILES = ("user_prior_histories.csv", "order_products__prior.csv")
"""Order lines beside an Instacart products.csv (the Kaggle release's name, or the
shoppers' histories file): how often each product was bought is its popularity."""


def _purchases(path: Path) -> dict[int, int]:
    """Times each product id was bought, from the first history file beside ``path``."""
    for name in HISTORY_FILES:
        beside = path.with_name(name)
        if beside.is_file():
            counts: Counter[int] = Counter()
            with beside.open(encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f):
                    if (value := (row.get("product_id") or "").strip()).isdigit():
                        counts[int(value)] += 1
            log.info("popularity: %d purchases of %d products from %s",
                     sum(counts.values()), len(counts), beside)  # fmt: skip
            return dict(counts)
    return {}


def _departments(path: Path) -> dict[str, str]:
    beside = path.with_name("departments.csv")
    if not beside.exists():
        return {}
    with beside.open(encoding="utf-8", newline="") as f:
        return {r["department_id"]: r["department"] for r in csv.DictReader(f)}


def read_rows(
    stream: Iterable[str],
    fmt: ImportFormat,
    path: Path,
    *,
    parse: Callable[[dict[str, str]], ProductRow] | None = None,
) -> Iterator[tuple[int, ProductRow | RowProblem]]:
    """Yield (line, row or problem) for every record; a bad header refuses the file."""
    reader = csv.DictReader(stream)
    try:
        header = tuple(reader.fieldnames or ())
    except csv.Error as exc:
        raise ImportFileError(path, f"not a readable CSV file ({exc})") from exc
    expected = COLUMNS if fmt is ImportFormat.CSV else INSTACART_COLUMNS
    if header[: len(expected)] != expected:
        raise ImportFileError(
            path,
            f"header is {','.join(header) or 'empty'}; --format {fmt} needs {','.join(expected)}",
        )
    parse = parse or _voicecart_row
    line = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(path, f"line {reader.line_num + 1}: unreadable ({exc})") from exc
        line = reader.line_num
        if None in record or any(value is None for value in record.values()):
            yield line, RowProblem(line, f"expected {len(header)} fields")
            continue
        try:
            yield line, parse(record)
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
