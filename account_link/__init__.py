"""Customers, account linking, the shared cart and orders.

May import ``catalog``; nothing else.
"""

from account_link.errors import AccountError
from account_link.models import Cart, CartLine, Channel, Customer, Order, OrderLine, OrderStatus

__all__ = [
    "AccountError",
    "Cart",
    "CartLine",
    "Channel",
    "Customer",
    "Order",
    "OrderLine",
    "OrderStatus",
]
