"""The web page on the shared cart: a signed-in shopper sees and edits what Alexa sees."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session, sessionmaker

from account_link import carts, voice_codes
from account_link.accounts import set_address, sign_in
from account_link.api import MAX_ID
from account_link.errors import (
    BadCredentials,
    InvalidAddress,
    InvalidVoiceCode,
    NotInCart,
    QuantityOutOfRange,
    TooManyAttempts,
)
from account_link.models import Channel, Customer
from account_link.web import SESSION_KEY
from catalog.errors import UnknownProduct
from catalog.money import dollars


def safe_next(target: str) -> str:
    """A same-site path to go back to after sign-in; anything else becomes /cart."""
    if (
        not target.startswith("/")
        or target.startswith("//")
        or any(ord(ch) < 32 or ch == "\\" for ch in target)
        or urlsplit(target).netloc
    ):
        return "/cart"
    return target


def create_shop(
    sessions: sessionmaker[Session],
    *,
    max_quantity: int,
    voice_code: voice_codes.VoiceCodePolicy = voice_codes.DEFAULT_POLICY,
) -> Blueprint:
    bp = Blueprint("shop", __name__, template_folder="templates")

    def current(db: Session) -> Customer | None:
        customer_id = session.get(SESSION_KEY)
        return db.get(Customer, customer_id) if isinstance(customer_id, int) else None

    @contextmanager
    def signed_in(back: str) -> Iterator[tuple[Session, Customer]]:
        """The request's transaction and its signed-in shopper; else off to sign in."""
        with sessions.begin() as db:
            customer = current(db)
            if customer is None:
                abort(redirect(url_for("shop.sign_in_page", next=back)))
            yield db, customer

    def show(
        db: Session, customer: Customer, message: str = "", status: int = 200
    ) -> ResponseReturnValue:
        view = carts.view_cart(db, customer.id)
        page = render_template("cart.html", customer=customer, cart=view, message=message,
                               money=dollars)  # fmt: skip
        return page, status, {"Cache-Control": "no-store"}

    @bp.get("/cart")
    def cart_page() -> ResponseReturnValue:
        with signed_in("/cart") as (db, customer):
            return show(db, customer)

    @bp.post("/cart/lines/<int:product_id>")
    def cart_line(product_id: int) -> ResponseReturnValue:
        message, status = "", 200
        if not 0 < product_id <= MAX_ID:
            product_id = 0  # no such row: answered like any line that is gone
        try:
            with signed_in("/cart") as (db, customer):  # the change commits whole, or not at all
                if request.form.get("action") == "remove":
                    carts.remove_item(db, customer.id, product_id, channel=Channel.WEB)
                else:
                    raw = request.form.get("quantity", "").strip()
                    quantity = int(raw) if re.fullmatch(r"-?[0-9]{1,6}", raw) else 0
                    carts.set_quantity(db, customer.id, product_id, quantity,
                                       channel=Channel.WEB, max_quantity=max_quantity)  # fmt: skip
        except QuantityOutOfRange as exc:
            message, status = f"Quantities go from 1 to {exc.maximum}.", 422
        except (NotInCart, UnknownProduct):
            message, status = "That item is no longer in your cart.", 409
        if not message:
            return redirect(url_for("shop.cart_page"), code=303)
        with signed_in("/cart") as (db, customer):
            return show(db, customer, message, status)

    def show_account(
        customer: Customer, message: str = "", status: int = 200
    ) -> ResponseReturnValue:
        page = render_template("account.html", customer=customer, message=message,
                               status=status, money=dollars,
                               locked_until=voice_codes.locked_until(customer),
                               required_above=voice_code.required_above_cents)  # fmt: skip
        return page, status, {"Cache-Control": "no-store"}

    @bp.get("/account")
    def account_page() -> ResponseReturnValue:
        with signed_in("/account") as (_db, customer):
            return show_account(customer)

    @bp.post("/account/address")
    def account_address() -> ResponseReturnValue:
        with signed_in("/account") as (db, customer):
            try:
                set_address(db, customer, request.form.get("address", ""))
            except InvalidAddress as exc:
                return show_account(customer, exc.message, 422)
            return show_account(customer, "Address saved.")

    @bp.post("/account/voice-code")
    def account_voice_code() -> ResponseReturnValue:
        with signed_in("/account") as (db, customer):
            if request.form.get("action") == "remove":
                voice_codes.clear_voice_code(db, customer)
                return show_account(customer, "Voice code removed.")
            try:
                voice_codes.set_voice_code(db, customer, request.form.get("code", "").strip())
            except InvalidVoiceCode:
                return show_account(customer, "A voice code is exactly four digits.", 422)
            return show_account(customer, "Voice code set. Alexa will ask for it before orders.")

    @bp.route("/account/signin", methods=["GET", "POST"])
    def sign_in_page() -> ResponseReturnValue:
        target = safe_next(request.args.get("next", "/cart"))
        if request.method == "GET":
            return render_template("signin.html", email="", error="")
        email = request.form.get("email", "")
        with sessions.begin() as db:
            try:
                customer = sign_in(db, email, request.form.get("password", ""),
                                   remote_addr=request.remote_addr or "")  # fmt: skip
            except BadCredentials:
                error, status = "That e-mail and password don't match.", 401
            except TooManyAttempts:
                error, status = "Too many failed sign-ins. Try again later.", 429
            else:
                session.clear()
                session[SESSION_KEY] = customer.id
                return redirect(target, code=303)
        return render_template("signin.html", email=email, error=error), status

    @bp.post("/account/signout")
    def sign_out() -> ResponseReturnValue:
        session.clear()
        return redirect(url_for("shop.sign_in_page"), code=303)

    return bp
