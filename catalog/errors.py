"""Errors raised by the catalogue; each carries the context a caller needs to explain it."""

from __future__ import annotations


class CatalogError(Exception):
    """Base class of every error the ``catalog`` package raises."""


class ProductNotFound(CatalogError):
    """No active product fits what the shopper said."""

    def __init__(self, query: str) -> None:
        super().__init__(f"no product matches {query!r}")
        self.query = query


class UnknownProduct(CatalogError):
    """A product id or SKU that is not in the catalogue."""

    def __init__(self, ref: int | str) -> None:
        super().__init__(f"unknown product {ref!r}")
        self.ref = ref


class DemoDataError(CatalogError):
    """The shipped demo catalogue file is unreadable or inconsistent."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"demo catalogue line {line}: {reason}")
        self.line = line
        self.reason = reason
