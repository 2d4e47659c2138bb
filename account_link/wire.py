"""The cart, an order and the account as JSON documents (camelCase, money in cents).

What the ``/api/v1`` replies carry, and what the simulator shows of the cart beside each
turn: one shape wherever a program reads them, kept apart from any HTTP.
"""

from __future__ import annotations

from typing import Any

from account_link import voice_codes
from account_link.carts import CartView
from account_link.models import Customer, Order


def cart_json(view: CartView) -> dict[str, Any]:
    """The shared cart, with who changed it last and where each line came from."""
    return {
        "version": view.version,
        "updatedVia": view.updated_via,
        "itemCount": view.item_count,
        "totalCents": view.total_cents,
        "lines": [
            {
                "productId": line.product_id,
                "sku": line.sku,
                "name": line.name,
                "size": line.size,
                "quantity": line.quantity,
                "unitPriceCents": line.unit_price_cents,
                "lineTotalCents": line.line_total_cents,
                "addedVia": line.added_via,
                "inStock": line.in_stock,
            }
            for line in view.lines
        ],
    }


def account_json(customer: Customer) -> dict[str, Any]:
    """The shopper's account as the web and the app see it (never the code's hash)."""
    locked = voice_codes.locked_until(customer)
    return {
        "email": customer.email,
        "name": customer.name,
        "address": customer.address,
        "voiceCode": customer.voice_code_hash is not None,
        "voicePurchasingLockedUntil": locked.isoformat() if locked else None,
    }


def order_json(order: Order) -> dict[str, Any]:
    """An order as placed: its lines and charges keep the prices of that moment."""
    return {
        "id": order.id,
        "status": order.status,
        "channel": order.channel,
        "placedAt": order.placed_at.isoformat(),
        "expectedAt": order.expected_at.isoformat() if order.expected_at else None,
        "subtotalCents": order.subtotal_cents,
        "taxCents": order.tax_cents,
        "deliveryCents": order.delivery_cents,
        "totalCents": order.total_cents,
        "lines": [
            {
                "productId": line.product_id,
                "name": line.product_name,
                "quantity": line.quantity,
                "unitPriceCents": line.unit_price_cents,
                "lineTotalCents": line.line_total_cents,
            }
            for line in order.lines
        ],
    }
