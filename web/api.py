"""The web and app channel: a JSON API on the shared cart and the orders, under /api/v1.

Authenticated by the same bearer tokens Alexa uses. Every change is recorded with its
channel; the cart's ``ETag`` is its version, and ``If-Match`` with a stale one gets
412 instead of silently overwriting what another channel did meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from account_link import carts, orders, voice_codes
from account_link.accounts import set_address
from account_link.carts import CartView
from account_link.errors import (
    AccountError,
    CannotCancel,
    EmptyCart,
    InvalidAddress,
    InvalidVoiceCode,
    NoDeliveryAddress,
    NotInCart,
    OrderNotFound,
    OutOfStock,
    QuantityOutOfRange,
)
from account_link.models import Channel, Customer, Order
from account_link.wire import account_json, cart_json, order_json
from catalog.errors import CatalogError, UnknownProduct
from catalog.models import Product
from web.common import MAX_ID, RequestScope
from web.errors import ApiError, answers_in_json

MAX_IDEMPOTENCY_KEY = 64


def checked_id(value: int) -> int:
    """A path id, or 404 when it could not be any row's (so the database never overflows)."""
    if not 0 < value <= MAX_ID:
        raise ApiError(404, "not_found", f"no such id {value}")
    return value


def etag(view: CartView) -> str:
    return f'"cart-{view.customer_id}-{view.version}"'


def _order_reply(order: Order, status: int, *, replayed: bool) -> Response:
    response = jsonify(order_json(order))
    response.status_code = status
    response.headers["Location"] = f"/api/v1/orders/{order.id}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def create_api(
    sessions: sessionmaker[Session],
    *,
    max_quantity: int,
    cancel_window: timedelta = orders.DEFAULT_CANCEL_WINDOW,
    charges: orders.Charges = orders.NO_CHARGES,
) -> Blueprint:
    bp = answers_in_json(Blueprint("api", __name__, url_prefix="/api/v1"))
    scope = RequestScope(sessions)

    @contextmanager
    def shopper() -> Iterator[tuple[Session, Customer]]:
        """The request's transaction and its bearer's customer; what the services refuse
        becomes the API's named errors (the transaction rolls back)."""
        with scope.bearer() as (db, customer):
            try:
                yield db, customer
            except (UnknownProduct, NotInCart) as exc:
                raise ApiError(404, "not_found", str(exc)) from exc
            except QuantityOutOfRange as exc:
                message = f"quantity must be 1 to {exc.maximum} per line"
                raise ApiError(422, "quantity_out_of_range", message) from exc
            except (AccountError, CatalogError) as exc:
                raise ApiError(409, "conflict", str(exc)) from exc

    def channel() -> Channel:
        name = request.headers.get("X-Voicecart-Channel", "web").lower()
        return Channel.APP if name == "app" else Channel.WEB

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ApiError(400, "malformed_json", "the body must be a JSON object")
        return data

    def int_field(data: dict[str, Any], name: str) -> int:
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_ID:
            raise ApiError(400, "malformed_json", f"'{name}' must be a whole number")
        return value

    def reply(view: CartView, status: int = 200) -> Response:
        response = jsonify(cart_json(view))
        response.status_code = status
        response.headers["ETag"] = etag(view)
        return response

    def precondition(db: Session, customer: Customer) -> None:
        """Honour If-Match: a change based on an old version of the cart is refused."""
        wanted = request.headers.get("If-Match")
        if wanted is None or wanted.strip() == "*":
            return
        carts.cart_for_update(db, customer.id)  # hold the lock while comparing
        current = etag(carts.view_cart(db, customer.id))
        if current not in {tag.strip() for tag in wanted.split(",")}:
            raise ApiError(412, "precondition_failed",
                           f"the cart changed since you read it; it is now {current}",
                           {"ETag": current})  # fmt: skip

    def product_ref(db: Session, data: dict[str, Any]) -> int:
        if "sku" in data and isinstance(data["sku"], str):
            found = db.scalar(select(Product.id).where(Product.sku == data["sku"]))
            if found is None:
                raise UnknownProduct(data["sku"])
            return found
        product_id = int_field(data, "productId")
        if product_id < 1 or db.get(Product, product_id) is None:
            raise UnknownProduct(product_id)
        return product_id

    @bp.get("/cart")
    def get_cart() -> Response:
        with shopper() as (db, customer):
            return reply(carts.view_cart(db, customer.id))

    @bp.post("/cart/lines")
    def add_line() -> Response:
        data = body()
        with shopper() as (db, customer):
            precondition(db, customer)
            quantity = int_field(data, "quantity") if "quantity" in data else 1
            carts.add_item(db, customer.id, product_ref(db, data), quantity,
                           channel=channel(), max_quantity=max_quantity)  # fmt: skip
            return reply(carts.view_cart(db, customer.id), 201)

    @bp.patch("/cart/lines/<int:product_id>")
    def change_line(product_id: int) -> Response:
        data = body()
        with shopper() as (db, customer):
            precondition(db, customer)
            carts.set_quantity(db, customer.id, checked_id(product_id), int_field(data, "quantity"),
                               channel=channel(), max_quantity=max_quantity)  # fmt: skip
            return reply(carts.view_cart(db, customer.id))

    @bp.delete("/cart/lines/<int:product_id>")
    def remove_line(product_id: int) -> Response:
        with shopper() as (db, customer):
            precondition(db, customer)
            carts.remove_item(db, customer.id, checked_id(product_id), channel=channel())
            return reply(carts.view_cart(db, customer.id))

    @bp.delete("/cart")
    def clear() -> Response:
        with shopper() as (db, customer):
            precondition(db, customer)
            carts.clear_cart(db, customer.id, channel=channel())
            return reply(carts.view_cart(db, customer.id))

    @bp.get("/account")
    def get_account() -> Response:
        with shopper() as (_db, customer):
            return jsonify(account_json(customer))

    @bp.put("/account/address")
    def put_address() -> Response:
        """The delivery address every order confirmation names before the yes."""
        address = body().get("address")
        if not isinstance(address, str):
            raise ApiError(400, "bad_address", "'address' must be a string")
        with shopper() as (db, customer):
            try:
                set_address(db, customer, address)
            except InvalidAddress as exc:
                raise ApiError(400, "bad_address", exc.message) from exc
            return jsonify(account_json(customer))

    @bp.put("/account/voice-code")
    def set_code() -> Response:
        """Set or change the four-digit code asked before purchases by voice (stored
        hashed; setting it also lifts a lock after wrong codes)."""
        code = body().get("code")
        with shopper() as (db, customer):
            try:
                voice_codes.set_voice_code(db, customer, code if isinstance(code, str) else "")
            except InvalidVoiceCode as exc:
                raise ApiError(400, "bad_voice_code",
                               "'code' must be a string of exactly 4 digits") from exc  # fmt: skip
            return jsonify(account_json(customer))

    @bp.delete("/account/voice-code")
    def clear_code() -> Response:
        with shopper() as (db, customer):
            voice_codes.clear_voice_code(db, customer)
            return jsonify(account_json(customer))

    @bp.post("/checkout")
    def checkout() -> Response:
        """Order the whole cart. With ``Idempotency-Key`` a retry (even a concurrent one)
        returns the order the first placed; ``If-Match`` ties it to the cart version seen."""
        key = (request.headers.get("Idempotency-Key") or "").strip() or None
        if key is not None and (len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable()):
            raise ApiError(400, "bad_idempotency_key",
                           f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable "
                           "characters")  # fmt: skip
        with shopper() as (db, customer):
            scoped = f"api:{key}" if key else None  # orders scope keys by customer
            earlier = orders.placed_with_key(db, customer.id, scoped) if scoped else None
            if earlier is not None:
                if carts.view_cart(db, customer.id).lines:
                    # The key's order emptied the cart; lines now are a new request, and
                    # replaying the old order would silently drop them (the IETF
                    # Idempotency-Key draft: a key reused for another request is a 422).
                    message = (f"this Idempotency-Key placed order {earlier.id}, and the cart "
                               "has changed since: send a new key to order it")  # fmt: skip
                    raise ApiError(422, "idempotency_key_reused", message)
                return _order_reply(earlier, 200, replayed=True)
            precondition(db, customer)
            try:
                order, replayed = orders.checkout_cart(
                    db, customer.id, channel=channel(), max_quantity=max_quantity,
                    idempotency_key=scoped, charges=charges,
                )  # fmt: skip
            except EmptyCart as exc:
                raise ApiError(409, "empty_cart", "the cart is empty: nothing to order") from exc
            except NoDeliveryAddress as exc:
                raise ApiError(409, "no_address", "no delivery address on file: set one with "
                               "PUT /api/v1/account/address first") from exc  # fmt: skip
            except OutOfStock as exc:
                short = f"{exc.product_name}: {exc.available} left, {exc.wanted} in the cart"
                raise ApiError(409, "out_of_stock", f"{short}; nothing was ordered") from exc
            return _order_reply(order, 200 if replayed else 201, replayed=replayed)

    @bp.get("/orders")
    def list_orders() -> Response:
        with shopper() as (db, customer):
            found = db.scalars(
                select(Order)
                .where(Order.customer_id == customer.id)
                .order_by(Order.placed_at.desc(), Order.id.desc())
                .options(selectinload(Order.lines))
            )
            return jsonify({"orders": [order_json(o) for o in found]})

    @bp.post("/orders/<int:order_id>/cancel")
    def cancel(order_id: int) -> Response:
        """Cancel within the window after placing (stock goes back); others' orders 404."""
        with shopper() as (db, customer):
            try:
                order = orders.cancel_order(db, customer.id, checked_id(order_id),
                                            window=cancel_window, channel=channel())  # fmt: skip
            except OrderNotFound as exc:
                raise ApiError(404, "not_found", str(exc)) from exc
            except CannotCancel as exc:
                raise ApiError(409, "cannot_cancel", str(exc)) from exc
            return jsonify(order_json(order))

    @bp.get("/orders/<int:order_id>")
    def get_order(order_id: int) -> Response:
        with shopper() as (db, customer):
            try:
                order = orders.customer_order(db, customer.id, checked_id(order_id))
            except OrderNotFound as exc:
                raise ApiError(404, "not_found", str(exc)) from exc
            return jsonify(order_json(order))

    return bp
