"""The demo catalogue shipped with voicecart (written for the project, not a dataset copy)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.errors import DemoDataError
from catalog.models import Product

DEMO_FILE = "demo_catalogue.csv"
COLUMNS = ("sku", "name", "brand", "size", "price_cents", "stock", "category", "synonyms",
           "popularity")  # fmt: skip


@dataclass(frozen=True, slots=True)
class ProductRow:
    """One product as described by a catalogue file, before it touches the database."""

    sku: str
    name: str
    brand: str
    size: str
    price_cents: int
    stock: int
    category: str
    synonyms: tuple[str, ...]
    popularity: int


@dataclass(frozen=True, slots=True)
class SeedReport:
    created: int
    updated: int
    unchanged: int


def read_demo_rows() -> list[ProductRow]:
    """Parse the packaged demo CSV; a broken file is a bug, reported with its line."""
    text = resources.files("catalog").joinpath("demo_data", DEMO_FILE).read_text("utf-8")
    reader = csv.DictReader(text.splitlines())
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise DemoDataError(1, f"header must be {','.join(COLUMNS)}")
    rows = []
    for record in reader:
        try:
            rows.append(
                ProductRow(
                    sku=record["sku"].strip(),
                    name=record["name"].strip(),
                    brand=record["brand"].strip(),
                    size=record["size"].strip(),
                    price_cents=int(record["price_cents"]),
                    stock=int(record["stock"]),
                    category=record["category"].strip(),
                    synonyms=tuple(s.strip() for s in record["synonyms"].split("|") if s.strip()),
                    popularity=int(record["popularity"]),
                )
            )
        except (ValueError, AttributeError) as exc:
            raise DemoDataError(reader.line_num, str(exc)) from exc
    return rows


def upsert_products(
    session: Session, rows: list[ProductRow], existing: dict[str, Product] | None = None
) -> SeedReport:
    """Insert new SKUs and bring existing ones up to date; running it twice changes nothing.

    Stock is set for new products only: an upsert never undoes what was sold.
    """
    if existing is None:
        existing = {p.sku: p for p in session.scalars(select(Product))}
    created = updated = unchanged = 0
    for row in rows:
        product = existing.get(row.sku)
        values = {
            "name": row.name,
            "brand": row.brand,
            "size": row.size,
            "price_cents": row.price_cents,
            "category": row.category,
            "synonyms": list(row.synonyms),
            "popularity": row.popularity,
            "active": True,
        }
        if product is None:
            session.add(Product(sku=row.sku, stock=row.stock, **values))
            created += 1
        elif any(getattr(product, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(product, key, value)
            updated += 1
        else:
            unchanged += 1
    session.flush()
    return SeedReport(created, updated, unchanged)


def seed_demo_catalog(session: Session) -> SeedReport:
    """Load the shipped demo catalogue. Stock is set on first load only, never reset."""
    return upsert_products(session, read_demo_rows())
