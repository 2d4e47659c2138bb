"""Product look-ups used by the dialogue and the web channel."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.errors import UnknownProduct
from catalog.models import Product


def get_product(session: Session, product_id: int) -> Product:
    """The product with this id, or :class:`UnknownProduct`."""
    product = session.get(Product, product_id)
    if product is None:
        raise UnknownProduct(product_id)
    return product


def get_products(session: Session, product_ids: Iterable[int]) -> dict[int, Product]:
    """Several products by id in one query; unknown ids raise :class:`UnknownProduct`."""
    wanted = set(product_ids)
    found = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(wanted)))}
    missing = wanted - found.keys()
    if missing:
        raise UnknownProduct(min(missing))
    return found


def active_products(session: Session) -> list[Product]:
    """Every active product, in SKU order (the order the interaction model lists them)."""
    return list(session.scalars(select(Product).where(Product.active).order_by(Product.sku)))
