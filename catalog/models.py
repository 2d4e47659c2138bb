"""Catalogue tables: what can be bought, its price and its stock."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from catalog.db import Base, utcnow


class Product(Base):
    """One sellable item. Prices are integer cents; stock is units on hand."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_non_negative"),
        CheckConstraint("stock >= 0", name="stock_non_negative"),
        Index("ix_products_active_category", "active", "category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[str] = mapped_column(String(60), default="")
    price_cents: Mapped[int]
    stock: Mapped[int] = mapped_column(default=0)
    category: Mapped[str] = mapped_column(String(60), default="")
    synonyms: Mapped[list[str]] = mapped_column(JSON, default=list)
    popularity: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def display_name(self) -> str:
        """Brand and name, the way the skill says a product out loud."""
        return f"{self.brand} {self.name}".strip()

    @property
    def spoken_name(self) -> str:
        """Brand, name and size: precise enough to confirm an order by voice."""
        return f"{self.display_name}, {self.size}" if self.size else self.display_name

    def __repr__(self) -> str:
        return f"<Product {self.sku} {self.display_name!r}>"


class CatalogRevision(Base):
    """One row whose ``revision`` moves whenever products change (not on stock moves).

    Every worker compares it with the revision its in-memory index was built from, a
    primary-key read per match, and rebuilds when it moved.
    """

    __tablename__ = "catalog_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(default=0)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
