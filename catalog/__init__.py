"""Products, stock and fuzzy matching of spoken product names.

Imports no other voicecart package.
"""

from catalog.db import Base, UTCDateTime, utcnow
from catalog.errors import CatalogError, ProductNotFound, UnknownProduct
from catalog.matching import Candidate, CatalogMatcher, Decision, MatchResult
from catalog.models import Product

__all__ = [
    "Base",
    "Candidate",
    "CatalogError",
    "CatalogMatcher",
    "Decision",
    "MatchResult",
    "Product",
    "ProductNotFound",
    "UTCDateTime",
    "UnknownProduct",
    "utcnow",
]
