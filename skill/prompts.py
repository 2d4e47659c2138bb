"""Everything the skill says, in one place.

Plain functions build speech from values so wording stays consistent between
handlers, and the Alexa dialog model reuses the elicitation prompts verbatim.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from account_link.voice_codes import spoken_length
from catalog.money import dollars

SKILL_NAME = "Voice Cart"
MAX_LISTED_LINES = 8

WELCOME = (
    "Welcome to Voice Cart. You can reorder something you buy often, add items to your "
    "cart, hear your cart, or check out. What would you like to do?"
)
WELCOME_REPROMPT = "Try saying: reorder paper towels, or: what's in my cart."
HELP = (
    "With Voice Cart you can say: reorder coffee, add two bananas to my cart, what's in "
    "my cart, remove milk, check out, repeat my last order, or where's my order. "
    "What would you like to do?"
)
HELP_REPROMPT = "What would you like to do? For example: add bread to my cart."
ANYTHING_ELSE = "Anything else?"
GOODBYE = "Goodbye."
FALLBACK = (
    "Sorry, I can't help with that here. You can reorder an item, add or remove items, "
    "hear your cart, or check out. What would you like?"
)
FALLBACK_REPROMPT = "You can say: help, to hear what I can do."
CLOSEST_HINTS = {
    "AddToCartIntent": ("add something to your cart", "add two bananas to my cart"),
    "RemoveFromCartIntent": ("take something out of your cart", "remove the milk"),
    "ReadCartIntent": ("hear your cart", "what's in my cart"),
    "ReorderIntent": ("reorder something you buy often", "reorder paper towels"),
    "ReorderLastOrderIntent": ("repeat your last order", "repeat my last order"),
    "CheckoutIntent": ("check out", "check out"),
    "CancelOrderIntent": ("cancel your last order", "cancel my last order"),
    "OrderStatusIntent": ("hear where your order is", "where's my order"),
}
"""For a request that fit nothing well: what the closest intent does, and how to say it."""


def fallback_offering(closest: str | None) -> tuple[str, str]:
    """The fallback's speech and reprompt, offering the closest intent when there is one."""
    hint = CLOSEST_HINTS.get(closest or "")
    if hint is None:
        return FALLBACK, FALLBACK_REPROMPT
    what, example = hint
    return (f"Sorry, I didn't quite get that. Did you want to {what}? "
            f"You can say, for example: {example}.", FALLBACK_REPROMPT)  # fmt: skip


ASK_ITEM_TO_ADD = "Which item would you like to add?"
ASK_ITEM_TO_REMOVE = "Which item should I remove from your cart?"
ASK_ITEM_TO_REORDER = "What would you like to reorder?"
ASK_ITEM_REPROMPT = "Tell me the item, for example: paper towels."

CONFIRM_REPROMPT = (
    "Should I place the order? Please say yes or no. If you don't answer, nothing is ordered."
)
NOTHING_TO_CONFIRM = (
    "There's nothing waiting for a yes right now. You can say: reorder paper towels, "
    "or: check out. What would you like?"
)
NOT_ORDERED = "Okay, I haven't ordered anything. What else can I do for you?"


def left_standing(kind: str, order_id: int | None = None) -> str:
    """What an offer the shopper walked away from leaves as it was: said on "no", "stop"
    and "cancel", and in every offer's reprompt for silence. Never "cancelled" about an
    order that stays placed."""
    if kind == "cancel":
        which = f"order number {order_id}" if order_id is not None else "your order"
        return f"I didn't cancel anything: {which} is still placed."
    if kind == "fix":
        return "I left your cart as it is, and nothing was ordered."
    if kind == "empty":
        return "I didn't empty your cart: everything is still in it."
    if kind == "add":
        return "I didn't add it, and your cart is as it was."
    if kind == "choice":
        return "I didn't change anything."
    if kind == "return":
        return "I didn't start a return, so nothing is refunded."
    return "Nothing was ordered, and your cart is as it was."


def walked_away(kind: str, order_id: int | None = None) -> str:
    """ "Stop" or "cancel" while an offer waits: the truth, then goodbye."""
    return f"Okay. {left_standing(kind, order_id)} Goodbye."


CART_EMPTY = "Your cart is empty. You can say: add milk to my cart. What would you like?"
CART_EMPTY_CHECKOUT = (
    "Your cart is empty, so there's nothing to check out. You can say: add bread to my "
    "cart, or: reorder coffee."
)
NO_ADDRESS = (
    "I don't have a delivery address for you yet, so I can't place an order. Add one on "
    "your Voice Cart account page, then ask me again. Nothing was ordered."
)
NO_ORDERS = "You haven't placed any orders with Voice Cart yet. Say: check out, to order your cart."
LINK_ACCOUNT = (
    "To shop with Voice Cart, please link your Voice Cart account. I've sent a card to "
    "the Alexa app to help you do that."
)
SOMETHING_WENT_WRONG = "Sorry, something went wrong on my side. Please try that again."
DATA_UNAVAILABLE = (
    "Sorry, I can't reach your cart right now, so nothing was changed. "
    "Please try again in a moment."
)
QUANTITY_NOT_UNDERSTOOD = (
    "Sorry, I didn't catch how many. Please say a number from one to {maximum}."
)
CART_CHANGED = (
    "Your cart changed since I read it to you, so I didn't place the order. Say: check "
    "out, to hear the new total."
)
PRICE_CHANGED = (
    "The price changed since I told you: the total is now {total}. I didn't place the "
    "order. Say the request again to hear it and confirm."
)


money = dollars
"""Dollars as Alexa reads them well: '$11.99'."""


def item_phrase(quantity: int, name: str, size: str = "") -> str:
    sized = f"{name}, {size}" if size else name
    return f"{quantity} {sized}"


def listing(phrases: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b, and c'; long lists are cut with a count of the rest."""
    shown = list(phrases[:MAX_LISTED_LINES])
    rest = len(phrases) - len(shown)
    if rest > 0:
        shown.append(f"{rest} more item{'s' if rest != 1 else ''}")
    if len(shown) <= 1:
        return "".join(shown)
    if len(shown) == 2:
        return f"{shown[0]} and {shown[1]}"
    return ", ".join(shown[:-1]) + f", and {shown[-1]}"


def spoken_date(when: datetime, now: datetime) -> str:
    days = (now.date() - when.date()).days
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    return f"on {when.strftime('%B')} {when.day}"


def added_to_cart(quantity: int, name: str, size: str, in_cart: int) -> str:
    now_have = f" You now have {in_cart} in your cart." if in_cart != quantity else ""
    return f"Added {item_phrase(quantity, name, size)} to your cart.{now_have} {ANYTHING_ELSE}"


def removed_from_cart(name: str) -> str:
    return f"I removed {name} from your cart. {ANYTHING_ELSE}"


def cart_contents(phrases: Sequence[str], total_cents: int, item_count: int) -> str:
    noun = "item" if item_count == 1 else "items"
    return (
        f"You have {item_count} {noun} in your cart: {listing(phrases)}. "
        f"The total is {money(total_cents)}. {ANYTHING_ELSE}"
    )


def price(subtotal_cents: int, tax_cents: int, delivery_cents: int) -> str:
    """The total, and what it is made of when tax or delivery are charged."""
    total = money(subtotal_cents + tax_cents + delivery_cents)
    extras = [f"{money(c)} {what}" for c, what in ((tax_cents, "tax"), (delivery_cents,
              "delivery")) if c]  # fmt: skip
    if not extras:
        return total
    return f"{total}, that's {money(subtotal_cents)} for the items plus {' and '.join(extras)}"


def confirm_reorder(phrase: str, price_text: str, usual: bool) -> str:
    lead = "Your usual" if usual else "I found"
    return f"{lead} {phrase}, for {price_text}. Should I order it?"


def confirm_last_order(phrases: Sequence[str], price_text: str, when: str) -> str:
    return (
        f"Your last order, placed {when}, had {listing(phrases)}. Ordering it again comes to "
        f"{price_text}. Should I place the order?"
    )


def confirm_checkout(phrases: Sequence[str], price_text: str) -> str:
    return f"Your cart has {listing(phrases)}. The total is {price_text}. Should I place the order?"


def order_placed(order_id: int, phrases: Sequence[str], total_cents: int) -> str:
    return (
        f"Done. Order number {order_id} is placed: {listing(phrases)}, for "
        f"{money(total_cents)}. You can ask me where your order is at any time."
    )


def order_card(order_id: int, lines: Sequence[str], total_cents: int) -> tuple[str, str]:
    title = f"{SKILL_NAME} order {order_id}"
    body = "\n".join(lines) + f"\nTotal: {money(total_cents)}"
    return title, body


def spoken_day(when: datetime, now: datetime) -> str:
    """A day to come: 'today', 'tomorrow', 'on Thursday, November 27'."""
    days = (when.date() - now.date()).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    return f"on {when.strftime('%A, %B')} {when.day}"


def arrival(status: str, expected: datetime | None, now: datetime) -> str:
    """When the order comes, as far as its status allows ('' when there is nothing to say)."""
    if status == "delivered":
        return "It has been delivered."
    if status == "cancelled" or expected is None:
        return ""
    if expected.date() < now.date():
        return f"It was due {spoken_date(expected, now)}; sorry it's late."
    return f"It should arrive {spoken_day(expected, now)}."


def order_status(
    order_id: int, status: str, when: str, phrases: Sequence[str], total: int, arrives: str
) -> str:
    arrives = f" {arrives}" if arrives else ""
    return (
        f"Your latest order, number {order_id}, placed {when}, is {status}.{arrives} It has "
        f"{listing(phrases)}, for {money(total)}. {ANYTHING_ELSE}"
    )


def product_not_found(heard: str) -> str:
    return (
        f"I couldn't find {heard} in the shop. Try saying the brand or a simpler name, "
        "like: paper towels. What would you like?"
    )


def not_in_cart(name: str) -> str:
    return f"{name} isn't in your cart. Say: what's in my cart, to hear what is."


def out_of_stock(name: str, available: int) -> str:
    if available > 0:
        return f"Sorry, there are only {available} of {name} left. Nothing was ordered."
    return f"Sorry, {name} is out of stock right now, so I didn't order it. Anything else?"


def quantity_out_of_range(quantity: int, maximum: int, already: int) -> str:
    if quantity < 1:
        return (
            f"The quantity has to be at least one, and at most {maximum}. How many would you like?"
        )
    if already:
        return (
            f"You already have {already} in your cart, and the most I can put on one line is "
            f"{maximum}. Nothing was added. Anything else?"
        )
    return (
        f"{quantity} is more than I can add at once: the limit is {maximum} of an item. "
        "Nothing was added. How many would you like?"
    )


CHOICE_REPROMPT = "Say the first one, the second one, or neither."
NEITHER = (
    "Okay, neither of those. Try saying the brand or the size, for example: "
    "Meadowvale whole milk, one gallon."
)
NOTHING_TO_CHOOSE = (
    "You can say: add bananas to my cart, or: reorder coffee. What would you like to do?"
)
ASK_ITEM_TO_CHOOSE = "Which one did you mean?"


def did_you_mean(names: Sequence[str]) -> str:
    if len(names) == 2:
        return f"Did you mean {names[0]}, or {names[1]}?"
    return f"Did you mean {', '.join(names[:-1])}, or {names[-1]}?"


def which_of(kind: str, labels: Sequence[str]) -> str:
    """ "Which apples: the Granny Smith, or the Honeycrisp?" when they share a kind; else
    the full names."""
    if not kind:
        return did_you_mean(labels)
    named = [f"the {label}" for label in labels]
    return f"Which {kind}: {', '.join(named[:-1])}, or {named[-1]}?"


def which_one(names: Sequence[str]) -> str:
    return f"Sorry, which one: {', '.join(names[:-1])}, or {names[-1]}?"


def offer_substitute(missing: str, phrase: str, price_text: str, reorder: bool) -> str:
    action = "order that instead" if reorder else "add that to your cart instead"
    return (
        f"Sorry, {missing} is out of stock. The nearest I have is {phrase}, for "
        f"{price_text}. Should I {action}?"
    )


def confirm_add(phrase: str, total_cents: int) -> str:
    return f"Should I add {phrase}, for {money(total_cents)}, to your cart?"


CHANNEL_NAMES = {"web": "on the web", "app": "in the app", "alexa": "with Alexa",
                 "local-voice": "by voice", "text": "by text"}  # fmt: skip


def cancelled_elsewhere(order_id: int, channel: str) -> str:
    """'You cancelled order 12 on the web.' when another channel cancelled it."""
    return f"You cancelled order {order_id} {CHANNEL_NAMES.get(channel, 'elsewhere')}."


def touched_elsewhere(names_by_channel: dict[str, list[str]]) -> str:
    """'You added Bananas on the web today.' for changes other channels made today."""
    parts = [
        f"{listing(names)} {CHANNEL_NAMES.get(channel, 'elsewhere')}"
        for channel, names in names_by_channel.items()
    ]
    return f"You added {listing(parts)} today." if parts else ""


CANCEL_REPROMPT = (
    "Should I cancel that order? Please say yes or no. If you don't answer, it stays placed."
)


def confirm_cancel(order_id: int, when: str, phrases: Sequence[str], total_cents: int) -> str:
    return (
        f"Your latest order, number {order_id}, placed {when}, has {listing(phrases)}, for "
        f"{money(total_cents)}. Should I cancel it?"
    )


def order_cancelled(order_id: int, total_cents: int) -> str:
    return (
        f"Order number {order_id} is cancelled, and the {money(total_cents)} will not be "
        "charged. Anything else?"
    )


def order_kept(order_id: int) -> str:
    return f"Okay, order number {order_id} stays as it is: I didn't cancel it. Anything else?"


def cannot_cancel(order_id: int, reason: str) -> str:
    return f"I can't cancel order number {order_id}: {reason}. Anything else?"


ASK_VOICE_CODE = "Please say your four-digit voice code."
VOICE_CODE_REPROMPT = "Say your four-digit voice code, one digit at a time, or say cancel."
VOICE_CODE_MALFORMED = "A voice code has four digits. Please say your four-digit voice code."
VOICE_CODE_NOT_HEARD = (
    "I need your four-digit voice code to place this order. Please say it, or say cancel."
)
NOT_ASKING_CODE = (
    "I'm not waiting for a voice code right now. You can say: check out, or: reorder coffee. "
    "What would you like?"
)


def _minutes(count: int) -> str:
    """A length as people say it: "15 minutes", "24 hours" (not "1440 minutes")."""
    return spoken_length(timedelta(minutes=count))


def wrong_voice_code(attempts_left: int) -> str:
    tries = "try" if attempts_left == 1 else "tries"
    return (
        f"That voice code isn't right. You have {attempts_left} more {tries}. "
        "Please say your four-digit voice code."
    )


def voice_code_locked(attempts: int, lock_minutes: int) -> str:
    return (
        f"That's {attempts} wrong voice codes, so I've locked purchasing by voice for "
        f"{_minutes(lock_minutes)}. Nothing was ordered. You can change your voice code in the "
        "Voice Cart app. Anything else?"
    )


def voice_purchasing_locked(minutes_left: int) -> str:
    return (
        f"Purchasing by voice is locked for another {_minutes(minutes_left)}, after too many "
        "wrong voice codes. Nothing was ordered. You can still add items to your cart."
    )


def voice_code_needed(above_cents: int) -> str:
    return (
        f"Orders over {money(above_cents)} need a voice code, and you haven't set one yet. "
        "Set one in the Voice Cart app, then try again. Nothing was ordered."
    )


FIX_REPROMPT = (
    "Should I change your cart like that? Please say yes or no. If you don't answer, your "
    "cart stays as it is."
)
CART_LEFT_AS_IS = "Okay, I left your cart as it is, and nothing was ordered. What else can I do?"


def _ran_out(name: str, available: int) -> str:
    left = f"there's only {available} left" if available else "it's out of stock"
    return f"Sorry, {name} ran short since it went in your cart: {left}."


def offer_swap(missing: str, available: int, phrase: str, cents: int) -> str:
    return (
        f"{_ran_out(missing, available)} The nearest I have is {phrase}, for {money(cents)}. "
        "Should I put that in your cart instead?"
    )


def offer_removal(missing: str, available: int) -> str:
    return (
        f"{_ran_out(missing, available)} I have nothing close to it. Should I take it out "
        "of your cart?"
    )


def swapped(missing: str, substitute: str) -> str:
    return f"Okay, {substitute} is in your cart instead of {missing}."


def took_out(missing: str) -> str:
    return f"Okay, I took {missing} out of your cart."


# --------------------------------------------------------------- cart edits and prices

EMPTY_REPROMPT = (
    "Should I empty your cart? Please say yes or no. If you don't answer, everything stays in it."
)
CART_ALREADY_EMPTY = "Your cart is already empty. What would you like to add?"
CART_EMPTIED = "Done: your cart is empty. What would you like to add?"
CART_CHANGED_SINCE = "Your cart changed since I asked, so I left it as it is. "


def confirm_empty(item_count: int, total_cents: int) -> str:
    noun = "item" if item_count == 1 else "items"
    return (
        f"Your cart has {item_count} {noun}, for {money(total_cents)}. Should I take "
        "everything out?"
    )


ASK_ITEM_TO_CHANGE = "Which item should I change?"
ASK_HOW_MANY = "How many would you like?"
ASK_HOW_MANY_REPROMPT = "Say a number, for example: three."


def ask_how_many(name: str) -> str:
    return f"How many {name} would you like?"


def quantity_set(quantity: int, name: str, size: str) -> str:
    return f"Okay, you now have {item_phrase(quantity, name, size)} in your cart. {ANYTHING_ELSE}"


def quantity_to_zero(name: str) -> str:
    return f"That leaves none, so I took {name} out of your cart. {ANYTHING_ELSE}"


ASK_ITEM_TO_PRICE = "Which item would you like the price of?"
ADD_IT_REPROMPT = (
    "Should I add it to your cart? Please say yes or no. If you don't answer, I won't add it."
)


def price_of_item(name: str, size: str, price_cents: int, in_stock: bool, usual: bool) -> str:
    yours = "Your usual " if usual else ""
    sized = f"{name}, {size}," if size else name
    if not in_stock:
        return (
            f"{yours}{sized} costs {money(price_cents)}, but it's out of stock right now. "
            f"{ANYTHING_ELSE}"
        )
    return f"{yours}{sized} costs {money(price_cents)}. Should I add one to your cart?"


def prices_of(kind: str, named: Sequence[tuple[str, int, bool]]) -> str:
    """'Sunny acres apples: the Granny Smith $3.99, and the Honeycrisp $4.49.' for close
    contenders (labelled by what tells them apart), saying which are out of stock."""
    said = [f"the {name} {money(cents)}" for name, cents, _ in named]
    head = f"{kind[:1].upper()}{kind[1:]}: " if kind else ""
    gone = listing([f"the {name}" for name, _, stocked in named if not stocked])
    verb = "are" if " and " in gone else "is"
    out = f" {gone[:1].upper()}{gone[1:]} {verb} out of stock right now." if gone else ""
    return (f"{head}{listing(said)}.{out} Which would you like? Say, for example: add "
            f"{kind or 'it'}.")  # fmt: skip


def last_order_lines(order_id: int, when: str, phrases: Sequence[str], total: int) -> str:
    return (
        f"Your last order, number {order_id}, placed {when}, had {listing(phrases)}, for "
        f"{money(total)}. To order the same again, say: reorder my last order. {ANYTHING_ELSE}"
    )


# --------------------------------------------------------------------------- returns

ASK_ITEM_TO_RETURN = "Which item would you like to return?"
RETURN_REPROMPT = (
    "Should I start the return? Please say yes or no. If you don't answer, nothing is returned."
)


def confirm_return(order_id: int, delivered: str, phrase: str, refund_cents: int) -> str:
    return (
        f"Order number {order_id}, delivered {delivered}, had {phrase}. Should I start a "
        f"return for it? You'd get {money(refund_cents)} back once it reaches us."
    )


def return_started(return_id: int, refund_cents: int) -> str:
    return (
        f"Okay, return number {return_id} is started. Please send the items back; "
        f"{money(refund_cents)} comes back to you once they arrive. {ANYTHING_ELSE}"
    )


def cannot_return(order_id: int, reason: str) -> str:
    return f"I can't start a return on order number {order_id}: {reason}. {ANYTHING_ELSE}"


def nothing_to_return(words: str) -> str:
    return (
        f"I couldn't find {words} in a delivered order I can still take returns for. "
        f"{ANYTHING_ELSE}"
    )
