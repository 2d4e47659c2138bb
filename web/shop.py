"""The shop on the web: a front door, accounts, the shared cart, checkout and orders.

A signed-in shopper sees and edits what Alexa sees: the same cart, the same totals
(``orders.quote``, what voice reads out), the same checkout and cancellation rules.
Every form posts, then redirects (post/redirect/get) with a one-line message.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session, sessionmaker

from account_link import carts, orders, returns, voice_codes
from account_link.accounts import change_password, set_address
from account_link.errors import (
    AccountError,
    BadCredentials,
    CannotCancel,
    CannotReturn,
    CartChanged,
    EmptyCart,
    InvalidAddress,
    InvalidPassword,
    InvalidVoiceCode,
    NoDeliveryAddress,
    NotInCart,
    OrderNotFound,
    OutOfStock,
    PriceChanged,
    QuantityOutOfRange,
    TooManyAttempts,
)
from account_link.models import Channel, Customer, Order, OrderStatus
from catalog.db import utcnow
from catalog.errors import CatalogError, UnknownProduct
from catalog.matching import CatalogMatcher, Decision
from catalog.money import dollars
from web.auth import SignInRefused, begin_signed_in, sign_in_from_form, signed_in_customer
from web.auth import sign_out as end_browser_session
from web.common import MAX_ID, RequestScope

SEARCH_RESULTS = 6
MAX_SEARCH_CHARS = 100
CHANNEL_LABELS = {"alexa": "Alexa", "local-voice": "voice", "text": "text", "web": "the web",
                  "app": "the app", "seed": "the demo"}  # fmt: skip


def safe_next(target: str, default: str = "/cart") -> str:
    """A same-site path to go back to; anything else becomes ``default``."""
    if (
        not target.startswith("/")
        or target.startswith("//")
        or any(ord(ch) < 32 or ch == "\\" for ch in target)
        or urlsplit(target).netloc
    ):
        return default
    return target


def web_message(exc: AccountError | CatalogError) -> str:
    """What a shop page says about a refused action (one place, like speech for voice)."""
    if isinstance(exc, QuantityOutOfRange):
        return f"Quantities go from 1 to {exc.maximum}."
    if isinstance(exc, NotInCart | UnknownProduct):
        return "That item is no longer in your cart."
    if isinstance(exc, OutOfStock):
        return (f"Only {exc.available} of {exc.product_name} left: change the quantity, "
                "then check out again. Nothing was ordered.")  # fmt: skip
    if isinstance(exc, EmptyCart):
        return "Your cart is empty: nothing to check out."
    if isinstance(exc, CartChanged | PriceChanged):
        return ("Your cart changed since this page was shown (another channel edits it "
                "too). Check it, then check out again. Nothing was ordered.")  # fmt: skip
    if isinstance(exc, NoDeliveryAddress):
        return "Add a delivery address on your account page first. Nothing was ordered."
    if isinstance(exc, CannotCancel):
        return f"Order {exc.order_id} can't be cancelled: {exc.reason}."
    if isinstance(exc, CannotReturn):
        return f"That can't be returned: {exc.reason}."
    if isinstance(exc, OrderNotFound):
        return "There is no such order on your account."
    return "That didn't work. Nothing was changed."


@dataclass(frozen=True, slots=True)
class ShopSettings:
    """What the shop pages need from the deployment."""

    max_quantity: int
    charges: orders.Charges = orders.NO_CHARGES
    cancel_window: timedelta = orders.DEFAULT_CANCEL_WINDOW
    return_window: timedelta = returns.DEFAULT_RETURN_WINDOW
    voice_code: voice_codes.VoiceCodePolicy = voice_codes.DEFAULT_POLICY
    oauth_client_id: str = "alexa-skill"
    oauth_redirect_uris: tuple[str, ...] = ()


def create_shop(
    sessions: sessionmaker[Session], matcher: CatalogMatcher, settings: ShopSettings
) -> Blueprint:
    bp = Blueprint("shop", __name__, template_folder="templates")
    scope = RequestScope(sessions)

    def page(template: str, status: int = 200, **context: object) -> ResponseReturnValue:
        html = render_template(template, money=dollars, channel_label=CHANNEL_LABELS,
                               **context)  # fmt: skip
        return html, status, {"Cache-Control": "no-store"}

    def done(message: str, to: str, *, error: bool = False) -> ResponseReturnValue:
        flash(message, "error" if error else "notice")
        return redirect(to, code=303)

    # ------------------------------------------------------------------ front door

    @bp.get("/")
    def home() -> ResponseReturnValue:
        with scope.transaction() as db:
            customer = signed_in_customer(db)
            view = carts.view_cart(db, customer.id) if customer else None
            last = orders.latest_order(db, customer.id) if customer else None
            return page("home.html", customer=customer, cart=view, last=last)

    @bp.get("/developers")
    def developers() -> ResponseReturnValue:
        return page("developers.html", customer=None)

    @bp.get("/linked")
    def linked() -> ResponseReturnValue:
        """Where a development redirect URI lands: the code and how to exchange it."""
        here = request.base_url
        if here not in settings.oauth_redirect_uris:
            abort(404)
        code, state = request.args.get("code", ""), request.args.get("state", "")
        error = request.args.get("error", "")
        return page("linked.html", customer=None, code=code, state=state, error=error,
                    redirect_uri=here, client_id=settings.oauth_client_id)  # fmt: skip

    # ------------------------------------------------------------------ accounts

    @bp.route("/account/signin", methods=["GET", "POST"])
    def sign_in_page() -> ResponseReturnValue:
        target = safe_next(request.args.get("next", "/cart"))
        if request.method == "GET":
            return page("signin.html", customer=None, email="", error="", target=target)
        with scope.transaction() as db:  # commits a refusal too: failures count
            outcome = sign_in_from_form(db)
            if isinstance(outcome, SignInRefused):
                return page("signin.html", outcome.status, customer=None,
                            email=request.form.get("email", ""), error=outcome.message,
                            target=target)  # fmt: skip
        return redirect(target, code=303)

    @bp.route("/account/signup", methods=["GET", "POST"])
    def sign_up_page() -> ResponseReturnValue:
        target = safe_next(request.args.get("next", "/cart"))
        form = {k: request.form.get(k, "") for k in ("name", "email", "address")}
        if request.method == "GET":
            return page("signup.html", customer=None, form=form, error="", target=target)
        with scope.transaction() as db:
            outcome = sign_in_from_form(db, new_account=True)
            if isinstance(outcome, SignInRefused):
                return page("signup.html", outcome.status, customer=None, form=form,
                            error=outcome.message, target=target)  # fmt: skip
            flash(f"Welcome, {outcome.name}. Your account is ready.", "notice")
        return redirect(target, code=303)

    @bp.post("/account/signout")
    def sign_out() -> ResponseReturnValue:
        with scope.transaction() as db:
            end_browser_session(db)
        return redirect(url_for("shop.home"), code=303)

    @bp.get("/account")
    def account_page() -> ResponseReturnValue:
        with scope.signed_in("/account") as (_db, customer):
            return page("account.html", customer=customer,
                        locked_until=voice_codes.locked_until(customer),
                        required_above=settings.voice_code.required_above_cents)  # fmt: skip

    @bp.post("/account/password")
    def account_password() -> ResponseReturnValue:
        """Change the password: every other browser signed in as this shopper is signed
        out, and this one gets a new session (its old cookie, if copied, is dead too)."""
        back = url_for("shop.account_page")
        with scope.signed_in("/account") as (db, customer):
            try:
                change_password(db, customer, request.form.get("current_password", ""),
                                request.form.get("new_password", ""),
                                remote_addr=request.remote_addr or "")  # fmt: skip
            except BadCredentials:
                return done("Your current password is not right. Nothing was changed.", back,
                            error=True)  # fmt: skip
            except TooManyAttempts:
                return done("Too many failed attempts. Try again later. Nothing was changed.",
                            back, error=True)  # fmt: skip
            except InvalidPassword as exc:
                return done(f"{exc.message} Nothing was changed.", back, error=True)
            begin_signed_in(db, customer)
            return done("Password changed. Every other browser signed in to your account "
                        "is now signed out.", back)  # fmt: skip

    @bp.post("/account/address")
    def account_address() -> ResponseReturnValue:
        with scope.signed_in("/account") as (db, customer):
            try:
                set_address(db, customer, request.form.get("address", ""))
            except InvalidAddress as exc:
                return done(str(exc), url_for("shop.account_page"), error=True)
            return done("Address saved.", url_for("shop.account_page"))

    @bp.post("/account/voice-code")
    def account_voice_code() -> ResponseReturnValue:
        back = url_for("shop.account_page")
        with scope.signed_in("/account") as (db, customer):
            if request.form.get("action") == "remove":
                voice_codes.clear_voice_code(db, customer)
                return done("Voice code removed.", back)
            try:
                voice_codes.set_voice_code(db, customer, request.form.get("code", "").strip())
            except InvalidVoiceCode:
                return done("A voice code is exactly four digits.", back, error=True)
            return done("Voice code set. Alexa will ask for it before orders.", back)

    # ------------------------------------------------------------------ cart

    @bp.get("/cart")
    def cart_page() -> ResponseReturnValue:
        query = request.args.get("q", "").strip()[:MAX_SEARCH_CHARS]
        with scope.signed_in(request.full_path.rstrip("?")) as (db, customer):
            view = carts.view_cart(db, customer.id)
            items = [(ln.product_id, ln.quantity) for ln in view.lines]
            priced = orders.quote(db, items, max_quantity=settings.max_quantity,
                                  charges=settings.charges)  # fmt: skip
            found = []
            if query:
                prior = orders.history_prior(orders.purchase_history(db, customer.id))
                result = matcher.match(db, query, prior=prior, limit=SEARCH_RESULTS)
                if result.decision is not Decision.NO_MATCH:
                    found = list(result.candidates)
            usual = orders.buy_again(db, customer.id)
            return page("cart.html", customer=customer, cart=view, quote=priced,
                        query=query, found=found, usual=usual,
                        checkout_key=uuid.uuid4().hex)  # fmt: skip

    @bp.post("/cart/add")
    def cart_add() -> ResponseReturnValue:
        back = safe_next(request.form.get("back", "/cart"))
        raw = request.form.get("product_id", "")
        product_id = int(raw) if re.fullmatch(r"[0-9]{1,9}", raw) else 0
        with scope.signed_in("/cart") as (db, customer):
            try:
                line = carts.add_item(db, customer.id, product_id if 0 < product_id <= MAX_ID
                                      else 0, 1, channel=Channel.WEB,
                                      max_quantity=settings.max_quantity)  # fmt: skip
            except (QuantityOutOfRange, UnknownProduct) as exc:
                return done(web_message(exc), back, error=True)
            name = line.product.display_name
            return done(f"Added {name}. You have {line.quantity} in your cart.", back)

    @bp.post("/cart/lines/<int:product_id>")
    def cart_line(product_id: int) -> ResponseReturnValue:
        if not 0 < product_id <= MAX_ID:
            product_id = 0  # no such row: answered like any line that is gone
        back = url_for("shop.cart_page")
        action = request.form.get("action", "update")
        try:
            with scope.signed_in("/cart") as (db, customer):  # commits whole, or not at all
                if action == "remove":
                    carts.remove_item(db, customer.id, product_id, channel=Channel.WEB)
                    return done("Removed from your cart.", back)
                view = carts.view_cart(db, customer.id)
                line = next((ln for ln in view.lines if ln.product_id == product_id), None)
                if line is None:
                    raise NotInCart(product_id, "")
                if action in ("more", "less"):
                    quantity = line.quantity + (1 if action == "more" else -1)
                else:
                    raw = request.form.get("quantity", "").strip()
                    quantity = int(raw) if re.fullmatch(r"-?[0-9]{1,6}", raw) else -1
                if quantity == 0:
                    carts.remove_item(db, customer.id, product_id, channel=Channel.WEB)
                    return done(f"Removed {line.name} from your cart.", back)
                carts.set_quantity(db, customer.id, product_id, quantity, channel=Channel.WEB,
                                   max_quantity=settings.max_quantity)  # fmt: skip
                return done(f"{line.name}: {quantity} in your cart.", back)
        except (QuantityOutOfRange, NotInCart, UnknownProduct) as exc:
            return done(web_message(exc), back, error=True)

    @bp.post("/cart/checkout")
    def checkout() -> ResponseReturnValue:
        """One order per checkout form, however often it is posted (a double click, a
        retried request): the form's key names the order."""
        key = request.form.get("key", "")
        raw = request.form.get("version", "")
        version = int(raw) if re.fullmatch(r"[0-9]{1,9}", raw) else None
        back = url_for("shop.cart_page")
        if not re.fullmatch(r"[0-9a-f]{32}", key):
            return done("That form is out of date: check your cart, then check out again.",
                        back, error=True)  # fmt: skip
        try:
            with scope.signed_in("/cart") as (db, customer):
                order, replayed = orders.checkout_cart(
                    db, customer.id, channel=Channel.WEB, max_quantity=settings.max_quantity,
                    expected_version=version, idempotency_key=f"web:{key}",
                    charges=settings.charges,
                )  # fmt: skip
                order_id = order.id
        except (EmptyCart, CartChanged, PriceChanged, NoDeliveryAddress, OutOfStock,
                QuantityOutOfRange, UnknownProduct) as exc:  # fmt: skip
            return done(web_message(exc), back, error=True)
        said = "was already placed" if replayed else "is placed"
        return done(f"Order {order_id} {said}. The confirmation is in your e-mail.",
                    url_for("shop.order_page", order_id=order_id))  # fmt: skip

    # ------------------------------------------------------------------ orders

    @bp.get("/orders")
    def orders_page() -> ResponseReturnValue:
        with scope.signed_in("/orders") as (db, customer):
            found = orders.customer_orders(db, customer.id)
            return page("orders.html", customer=customer, orders=found)

    def _known(order_id: int) -> int:
        """An id that could be a row (larger ones overflow PostgreSQL's integer): else 404."""
        if not 0 < order_id <= MAX_ID:
            abort(404)
        return order_id

    def _order(db: Session, customer: Customer, order_id: int) -> Order:
        try:
            return orders.customer_order(db, customer.id, _known(order_id))
        except OrderNotFound:
            abort(404)

    @bp.get("/orders/<int:order_id>")
    def order_page(order_id: int) -> ResponseReturnValue:
        with scope.signed_in(f"/orders/{order_id}") as (db, customer):
            order = _order(db, customer, order_id)
            cancellable = orders.is_cancellable(order, window=settings.cancel_window)
            deadline = order.placed_at + settings.cancel_window
            try:
                returns.check_returnable(order, window=settings.return_window)
                left = {ln.id: returns.returnable_units(db, ln) for ln in order.lines}
            except CannotReturn:
                left = {}
            made = returns.returns_of(db, customer.id, order.id)
            return page("order.html", customer=customer, order=order, cancellable=cancellable,
                        cancel_until=deadline, now=utcnow(), returnable=left, returns=made,
                        cancelled=order.status == OrderStatus.CANCELLED.value)  # fmt: skip

    @bp.post("/orders/<int:order_id>/cancel")
    def cancel(order_id: int) -> ResponseReturnValue:
        back = url_for("shop.order_page", order_id=_known(order_id))
        try:
            with scope.signed_in(back) as (db, customer):
                orders.cancel_order(db, customer.id, order_id, window=settings.cancel_window,
                                    channel=Channel.WEB)  # fmt: skip
        except OrderNotFound:
            abort(404)
        except CannotCancel as exc:
            return done(web_message(exc), back, error=True)
        return done(f"Order {order_id} is cancelled. You won't be charged.", back)

    @bp.post("/orders/<int:order_id>/lines/<int:line_id>/return")
    def return_line(order_id: int, line_id: int) -> ResponseReturnValue:
        """Start returning units of a delivered line (whatever channel bought it)."""
        back = url_for("shop.order_page", order_id=_known(order_id))
        raw = request.form.get("quantity", "")
        quantity = int(raw) if re.fullmatch(r"[0-9]{1,4}", raw) else 0
        try:
            with scope.signed_in(back) as (db, customer):
                made = returns.start_return(db, customer.id, order_id,
                                            line_id if 0 < line_id <= MAX_ID else 0, quantity,
                                            channel=Channel.WEB,
                                            window=settings.return_window)  # fmt: skip
                said = (f"Return {made.id} is started: {made.quantity} x "
                        f"{made.line.product_name}. {dollars(made.refund_cents)} comes back "
                        "to you when the items reach us.")  # fmt: skip
        except OrderNotFound:
            abort(404)
        except (CannotReturn, QuantityOutOfRange) as exc:
            return done(web_message(exc), back, error=True)
        return done(said, back)

    @bp.post("/orders/<int:order_id>/reorder")
    def reorder(order_id: int) -> ResponseReturnValue:
        try:
            with scope.signed_in("/orders") as (db, customer):
                copied = orders.copy_order_to_cart(db, customer.id, _known(order_id),
                                                   channel=Channel.WEB,
                                                   max_quantity=settings.max_quantity)  # fmt: skip
        except OrderNotFound:
            abort(404)
        if not copied.added:
            return done("None of those items can be ordered right now.",
                        url_for("shop.order_page", order_id=order_id), error=True)  # fmt: skip
        skipped = f" Not available now: {', '.join(copied.skipped)}." if copied.skipped else ""
        return done(f"Order {order_id}'s items are in your cart: check out when ready."
                    f"{skipped}", url_for("shop.cart_page"))  # fmt: skip

    return bp
