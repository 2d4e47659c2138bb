"""Dialogue steps shared by several handlers: choosing a product, substitutes, offers.

Kept apart from the handlers so each handler stays a few lines, and the choice made in
a follow-up turn ("the second one") continues exactly where the first turn stopped.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Intent, Response, Slot
from ask_sdk_model.dialog import ElicitSlotDirective
from ask_sdk_model.ui import SimpleCard

from account_link import carts, orders, returns, voice_codes
from account_link.errors import (
    NoDeliveryAddress,
    NoOrders,
    NothingToReturn,
    NotInCart,
    OutOfStock,
    VoiceCodeNotSet,
    VoicePurchasingLocked,
)
from account_link.models import Customer, Order
from catalog.db import utcnow
from catalog.errors import ProductNotFound
from catalog.matching import Candidate, Decision, MatchResult, differences
from catalog.quantity import QuantityPhrase
from catalog.service import get_product, get_products
from skill import prompts
from skill.errors import spoken_error
from skill.speech import say
from skill.turn import Choice, Pending, Turn

log = logging.getLogger("voicecart.skill")

ADD = "AddToCartIntent"
REORDER = "ReorderIntent"
VOICE_CODE = "VoiceCodeIntent"
CHOOSE = "ChooseProductIntent"
SIZE_HINT_WINDOW = 10.0
UNIT_SIZE_WORDS = {"gal": {"gal", "gallon"}, "half gallon": {"half"}, "l": {"l", "liter"}}
"""Size words (as the catalogue writes sizes) for a spoken unit, where they differ."""
SUBSTITUTE_AT = 75.0
"""How well a substitute's words must fit the missing product's name (0-100)."""


def pick_size(result: MatchResult, phrase: QuantityPhrase) -> Candidate:
    """Among near-equal candidates, the one whose size matches a spoken pack ("6 pack")
    or unit ("a pound of", "half a gallon of")."""
    assert result.best is not None
    wanted: set[str] = set()
    if phrase.pack is not None:
        wanted |= {str(phrase.pack)} | ({"dozen"} if phrase.pack == 12 else set())
    if phrase.unit is not None:
        wanted |= UNIT_SIZE_WORDS.get(phrase.unit, {phrase.unit})
    if not wanted:
        return result.best
    for candidate in result.candidates:
        if result.best.rank_score - candidate.rank_score > SIZE_HINT_WINDOW:
            break
        if wanted & set(candidate.size.lower().replace("-", " ").split()):
            return candidate
    return result.best


def ask_to_choose(
    handler_input: HandlerInput, turn: Turn, result: MatchResult, intent: str, quantity: int
) -> Response:
    """Ambiguous words: name the close contenders and remember them for the answer."""
    options = tuple(
        (c.product_id, f"{c.display_name}, {c.size}" if c.size else c.display_name)
        for c in result.contenders
    )
    turn.set_choice(Choice(intent, options, quantity))
    # The answer ("the second one", "the organic") is heard with ChooseProductIntent's
    # slot samples: Alexa takes bare answers only while a slot is being elicited.
    asked = Intent(name=CHOOSE, slots={name: Slot(name=name) for name in ("item", "ordinal")})
    handler_input.response_builder.add_directive(
        ElicitSlotDirective(updated_intent=asked, slot_to_elicit="item")
    )
    return say(
        handler_input, prompts.which_of(*differences(result.contenders)), prompts.CHOICE_REPROMPT
    )


def proceed(
    handler_input: HandlerInput,
    turn: Turn,
    intent: str,
    product_id: int,
    quantity: int,
    usual: bool | None = None,
) -> Response:
    """Add or offer the chosen product; out of stock, offer the nearest substitute."""
    turn.clear_choice()
    turn.scope.product_id = product_id
    product = get_product(turn.session, product_id)
    carts.check_quantity(quantity, turn.max_quantity)
    substitute = None
    if product.stock < quantity:
        substitute = nearest_in_stock(turn, product_id, quantity)
        if substitute is None:
            raise OutOfStock(product_id, product.display_name, quantity, product.stock)
        turn.scope.product_id = substitute
    elif intent != REORDER:
        cart_line = carts.add_item(
            turn.session, turn.require_customer().id, product_id, quantity,
            channel=turn.channel, max_quantity=turn.max_quantity,
        )  # fmt: skip
        speech = prompts.added_to_cart(quantity, product.display_name, product.size,
                                       cart_line.quantity)  # fmt: skip
        return say(handler_input, speech, prompts.ANYTHING_ELSE)
    # an offer waiting for a yes: a reorder, or a substitute for an add or a reorder
    offer = orders.offer(turn.session, [(substitute or product_id, quantity)],
                         max_quantity=turn.max_quantity, charges=turn.charges)  # fmt: skip
    if intent == REORDER:
        check_can_buy(turn, offer.total_cents)
    kind = "reorder" if intent == REORDER else "add"
    turn.set_pending(Pending(kind, tuple(offer.items), offer.total_cents))
    line = offer.lines[0]
    phrase = prompts.item_phrase(quantity, line.name, line.size).removeprefix("1 ")
    if substitute is not None:
        price = price_of(turn, offer) if intent == REORDER else prompts.money(offer.subtotal_cents)
        speech = prompts.offer_substitute(product.spoken_name, phrase, price,
                                          reorder=intent == REORDER)  # fmt: skip
    else:
        if usual is None:  # picked from a question: the match's prior is not at hand
            usual = turn.customer is not None and product_id in _bought(turn)
        speech = prompts.confirm_reorder(phrase, price_of(turn, offer), usual=usual)
    return say(handler_input, speech, prompts.CONFIRM_REPROMPT)


def check_can_buy(turn: Turn, total_cents: int) -> None:
    """Before offering: refuse up front when this shopper cannot buy it by voice now
    (no delivery address, locked after wrong voice codes, or a code is required and
    none is set)."""
    customer = turn.require_customer()
    orders.check_deliverable(customer)
    voice_codes.code_required(customer, total_cents, turn.voice_code)


def ask_voice_code(handler_input: HandlerInput, speech: str) -> Response:
    """Ask for the four-digit code as the ``code`` slot of VoiceCodeIntent, so a bare
    "one two three four" fills it (on Alexa and in the local parser alike)."""
    handler_input.response_builder.add_directive(
        ElicitSlotDirective(
            updated_intent=Intent(name=VOICE_CODE, slots={"code": Slot(name="code")}),
            slot_to_elicit="code",
        )
    )
    return say(handler_input, speech, prompts.VOICE_CODE_REPROMPT)


def confirm_purchase(
    handler_input: HandlerInput, turn: Turn, customer: Customer, pending: Pending
) -> Response:
    """The shopper said yes: ask for the voice code when one is needed, else place."""
    if not pending.is_purchase:
        return say(handler_input, prompts.NOTHING_TO_CONFIRM, prompts.HELP_REPROMPT)
    if voice_codes.code_required(customer, pending.total_cents, turn.voice_code):
        turn.set_pending(replace(pending, code_asked=True))
        return ask_voice_code(handler_input, prompts.ASK_VOICE_CODE)
    turn.clear_pending()
    return place(handler_input, turn, customer, pending)


def offer_checkout(
    handler_input: HandlerInput, turn: Turn, customer: Customer, lead: str = ""
) -> Response:
    """Read the cart and its total and wait for the yes; a line that ran out since it
    went in the cart is named first, with the nearest substitute or its removal."""
    cart = carts.view_cart(turn.session, customer.id)
    if not cart.lines:
        return say(handler_input, f"{lead}{prompts.CART_EMPTY_CHECKOUT}", prompts.HELP_REPROMPT)
    items = [(ln.product_id, ln.quantity) for ln in cart.lines]
    priced = orders.quote(turn.session, items, max_quantity=turn.max_quantity,
                          charges=turn.charges)  # fmt: skip
    if priced.short_line is not None:
        orders.check_deliverable(customer)  # no fix to offer when nothing can be ordered
        return offer_fix(handler_input, turn, priced.short_line, lead)
    check_can_buy(turn, priced.total_cents)
    turn.set_pending(
        Pending("checkout", tuple(priced.items), priced.total_cents, cart_version=cart.version)
    )
    phrases = [prompts.item_phrase(ln.quantity, ln.name, ln.size) for ln in priced.lines]
    speech = prompts.confirm_checkout(phrases, price_of(turn, priced))
    return say(handler_input, f"{lead}{speech}", prompts.CONFIRM_REPROMPT)


def offer_fix(
    handler_input: HandlerInput, turn: Turn, short: orders.QuoteLine, lead: str = ""
) -> Response:
    """A cart line without enough stock: offer the nearest substitute, or taking it out."""
    substitute = nearest_in_stock(turn, short.product_id, short.quantity)
    turn.scope.product_id = substitute or short.product_id
    turn.set_pending(Pending("fix", ((short.product_id, short.quantity),), 0,
                             substitute_id=substitute))  # fmt: skip
    name = f"{short.name}, {short.size}" if short.size else short.name
    if substitute is None:
        speech = prompts.offer_removal(name, short.available)
    else:
        product = get_product(turn.session, substitute)
        phrase = prompts.item_phrase(short.quantity, product.display_name, product.size)
        speech = prompts.offer_swap(name, short.available, phrase,
                                    short.quantity * product.price_cents)  # fmt: skip
    return say(handler_input, f"{lead}{speech}", prompts.FIX_REPROMPT)


def fix_cart(
    handler_input: HandlerInput, turn: Turn, customer: Customer, pending: Pending
) -> Response:
    """Yes to the fix: swap in the substitute (or take the line out), then offer checkout."""
    (product_id, quantity), *_ = pending.items
    missing = get_product(turn.session, product_id)
    carts.remove_item(turn.session, customer.id, product_id, channel=turn.channel)
    if pending.substitute_id is None:
        lead = prompts.took_out(missing.display_name)
    else:
        carts.add_item(turn.session, customer.id, pending.substitute_id, quantity,
                       channel=turn.channel, max_quantity=turn.max_quantity)  # fmt: skip
        substitute = get_product(turn.session, pending.substitute_id)
        lead = prompts.swapped(missing.display_name, substitute.display_name)
    try:
        return offer_checkout(handler_input, turn, customer, lead=f"{lead} ")
    except (VoicePurchasingLocked, VoiceCodeNotSet, NoDeliveryAddress) as exc:  # change stands
        speech, reprompt, _ = spoken_error(exc)
        return say(handler_input, f"{lead} {speech}", reprompt)


def place(
    handler_input: HandlerInput, turn: Turn, customer: Customer, pending: Pending
) -> Response:
    """Place the confirmed offer (once per offer key) and say so, with a card."""
    key = f"offer:{pending.key}"  # the same offer confirmed twice places one order
    if pending.kind == "checkout":
        try:
            order, _ = orders.checkout_cart(
                turn.session, customer.id, channel=turn.channel, max_quantity=turn.max_quantity,
                expected_version=pending.cart_version, agreed_total_cents=pending.total_cents,
                idempotency_key=key, charges=turn.charges,
            )  # fmt: skip
        except orders.StockShort as short:  # ran out between the offer and the yes
            return offer_fix(handler_input, turn, short.line)
    else:
        order = orders.place_order(
            turn.session, customer.id, pending.items, channel=turn.channel,
            max_quantity=turn.max_quantity, agreed_total_cents=pending.total_cents,
            idempotency_key=key, charges=turn.charges,
        )  # fmt: skip
    log.info("order %s placed for customer %s via %s", order.id, customer.id, turn.channel)
    phrases = [prompts.item_phrase(ln.quantity, ln.product_name) for ln in order.lines]
    title, body = prompts.order_card(order.id, phrases, order.total_cents)
    handler_input.response_builder.set_card(SimpleCard(title=title, content=body))
    return say(handler_input, prompts.order_placed(order.id, phrases, order.total_cents), end=True)


def price_of(turn: Turn, offer: orders.Quote) -> str:
    """What the shopper will pay for an offer (tax and delivery when charged) and where it
    goes, as purchase confirmations must say before the yes."""
    text = prompts.price(offer.subtotal_cents, offer.tax_cents, offer.delivery_cents)
    customer = turn.customer
    return f"{text}, delivered to {customer.address}" if customer and customer.address else text


def _bought(turn: Turn) -> set[int]:
    customer = turn.customer
    return set(orders.purchase_history(turn.session, customer.id)) if customer else set()


def nearest_in_stock(turn: Turn, product_id: int, quantity: int) -> int | None:
    """An in-stock product of the same category that fits the missing one's name well."""
    missing = get_product(turn.session, product_id)
    result = turn.deps.matcher.match(turn.session, missing.name, limit=10)
    others = [
        c.product_id
        for c in result.candidates
        if c.product_id != product_id and c.text_score >= SUBSTITUTE_AT
    ]
    if not others:
        return None
    products = get_products(turn.session, others)
    return next(
        (
            pid
            for pid in others
            if products[pid].stock >= quantity and products[pid].category == missing.category
        ),
        None,
    )


def resolve_and_proceed(
    handler_input: HandlerInput, turn: Turn, intent: str, words: str, quantity: int | None
) -> Response:
    """From spoken words to an action: ask when ambiguous, act when clear."""
    phrase, result = turn.match_item(words)
    units = quantity if quantity is not None else (phrase.quantity or 1)
    hinted = phrase.pack is not None or phrase.unit is not None
    if result.asks and not hinted:
        return ask_to_choose(handler_input, turn, result, intent, units)
    chosen = pick_size(result, phrase)
    return proceed(handler_input, turn, intent, chosen.product_id, units, usual=chosen.prior > 0)


def product_in_cart(turn: Turn, customer_id: int, words: str) -> Candidate:
    """The cart line the words mean: the best-fitting product that is in the cart."""
    in_cart = {line.product_id for line in carts.view_cart(turn.session, customer_id).lines}
    result = turn.match_item(words)[1] if words.strip() else turn.match(words)
    target = next((c for c in result.candidates if c.product_id in in_cart), None)
    if target is not None:
        return target
    best = result.best
    if best is None or result.decision is Decision.NO_MATCH:
        raise ProductNotFound(words)
    raise NotInCart(best.product_id, best.display_name)


def offer_empty(
    handler_input: HandlerInput, turn: Turn, customer: Customer, lead: str = ""
) -> Response:
    """Say what the cart holds and wait for the yes that empties it."""
    cart = carts.view_cart(turn.session, customer.id)
    if not cart.lines:
        return say(handler_input, f"{lead}{prompts.CART_ALREADY_EMPTY}", prompts.HELP_REPROMPT)
    turn.set_pending(Pending("empty", (), cart.total_cents, cart_version=cart.version))
    speech = prompts.confirm_empty(cart.item_count, cart.total_cents)
    return say(handler_input, f"{lead}{speech}", prompts.EMPTY_REPROMPT)


def empty_cart(
    handler_input: HandlerInput, turn: Turn, customer: Customer, pending: Pending
) -> Response:
    """Yes to emptying: only the cart that was read out (an edit since asks again)."""
    cart = carts.view_cart(turn.session, customer.id)
    if pending.cart_version is not None and cart.version != pending.cart_version:
        return offer_empty(handler_input, turn, customer, lead=prompts.CART_CHANGED_SINCE)
    carts.clear_cart(turn.session, customer.id, channel=turn.channel)
    log.info("cart of customer %s emptied by voice", customer.id)
    return say(handler_input, prompts.CART_EMPTIED, prompts.HELP_REPROMPT)


def change_quantity(
    handler_input: HandlerInput, turn: Turn, customer: Customer, product_id: int,
    quantity: int, *, fewer: bool,
) -> Response:  # fmt: skip
    """Set a cart line to ``quantity`` (or take ``quantity`` off it, ``fewer``); none
    left takes the line out."""
    cart = carts.view_cart(turn.session, customer.id)
    line = next((ln for ln in cart.lines if ln.product_id == product_id), None)
    if line is None:
        raise NotInCart(product_id, get_product(turn.session, product_id).display_name)
    turn.scope.product_id = product_id
    wanted = line.quantity - quantity if fewer else quantity
    if wanted <= 0:
        carts.remove_item(turn.session, customer.id, product_id, channel=turn.channel)
        return say(handler_input, prompts.quantity_to_zero(line.name), prompts.HELP_REPROMPT)
    carts.set_quantity(turn.session, customer.id, product_id, wanted, channel=turn.channel,
                       max_quantity=turn.max_quantity)  # fmt: skip
    return say(handler_input, prompts.quantity_set(wanted, line.name, line.size),
               prompts.HELP_REPROMPT)  # fmt: skip


def tell_price(handler_input: HandlerInput, turn: Turn, words: str) -> Response:
    """The price of the product the shopper would get for these words (their usual one
    first); in stock, offer to add one. Close contenders: each one's price."""
    phrase, result = turn.match_item(words)
    if result.asks and phrase.pack is None and phrase.unit is None:
        kind, labels = differences(result.contenders)
        named = [(label, c.price_cents, c.in_stock)
                 for label, c in zip(labels, result.contenders, strict=True)]  # fmt: skip
        return say(handler_input, prompts.prices_of(kind, named), prompts.HELP_REPROMPT)
    chosen = pick_size(result, phrase)
    turn.scope.product_id = chosen.product_id
    product = get_product(turn.session, chosen.product_id)
    speech = prompts.price_of_item(product.display_name, product.size, product.price_cents,
                                   product.stock > 0, usual=chosen.prior > 0)  # fmt: skip
    if product.stock <= 0:
        return say(handler_input, speech, prompts.HELP_REPROMPT)
    turn.set_pending(Pending("add", ((product.id, 1),), product.price_cents))
    return say(handler_input, speech, prompts.ADD_IT_REPROMPT)


def offer_return(
    handler_input: HandlerInput, turn: Turn, customer: Customer, words: str, quantity: int | None
) -> Response:
    """ "Return the eggs": the newest delivered order in the window holding the product
    the words mean (best match first), its units and refund, then wait for the yes."""
    phrase, result = turn.match_item(words)
    found = returns.returnable_line(turn.session, customer.id,
                                    [c.product_id for c in result.candidates],
                                    window=turn.return_window)  # fmt: skip
    if found is None:
        raise NothingToReturn(phrase.rest or words)
    order, line = found
    left = returns.returnable_units(turn.session, line)
    units = min(quantity or phrase.quantity or left, left)
    refund = returns.refund_for(order, line, units)
    turn.scope.product_id = line.product_id
    turn.set_pending(Pending("return", ((line.id, units),), refund, order_id=order.id))
    delivered = order.delivered_at or order.expected_at or order.placed_at
    when = prompts.spoken_date(delivered, utcnow())
    phrase_said = prompts.item_phrase(units, line.product_name)
    speech = prompts.confirm_return(order.id, when, phrase_said, refund)
    return say(handler_input, speech, prompts.RETURN_REPROMPT)


def start_return(
    handler_input: HandlerInput, turn: Turn, customer: Customer, pending: Pending
) -> Response:
    """Yes to the return: the record, the refund and the outbox message, in this turn."""
    (line_id, units), *_ = pending.items
    assert pending.order_id is not None
    made = returns.start_return(turn.session, customer.id, pending.order_id, line_id, units,
                                channel=turn.channel, window=turn.return_window)  # fmt: skip
    log.info("return %s started by voice for order %s", made.id, pending.order_id)
    return say(handler_input, prompts.return_started(made.id, made.refund_cents),
               prompts.HELP_REPROMPT)  # fmt: skip


def latest_order_said(turn: Turn) -> tuple[Order, list[str], str]:
    """The shopper's latest order (:class:`NoOrders` without one), its lines as spoken
    phrases, and when it was placed, as said."""
    last = orders.latest_order(turn.session, turn.require_customer().id)
    if last is None:
        raise NoOrders()
    phrases = [prompts.item_phrase(ln.quantity, ln.product_name) for ln in last.lines]
    return last, phrases, prompts.spoken_date(last.placed_at, utcnow())
