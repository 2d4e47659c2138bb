"""One small handler per intent. Handlers call services and speak; they hold no rules.

Failures are raised as the services' own errors and turned into speech by the single
:class:`skill.errors.SkillExceptionHandler`.
"""

from __future__ import annotations

import logging

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import get_slot, is_intent_name, is_request_type
from ask_sdk_model import Intent, IntentRequest, Response
from ask_sdk_model.dialog import ElicitSlotDirective

from account_link import carts, orders, voice_codes
from account_link.errors import NoOrders
from account_link.voice_codes import CodeOutcome
from catalog.db import utcnow
from catalog.matching import pick_option
from skill import flows, prompts
from skill.speech import QuantityNotUnderstood, say
from skill.turn import CHOICE_KEY, CLOSEST_KEY, LAST_PRODUCT_KEY, PENDING_KEY, Pending, turn_of

log = logging.getLogger("voicecart.skill")


def slot_text(handler_input: HandlerInput, name: str) -> str | None:
    """The raw words heard for a slot (matching is done on these, not Alexa's resolution)."""
    slot = get_slot(handler_input, name)
    value = getattr(slot, "value", None)
    return value.strip() if isinstance(value, str) and value.strip() else None


def slot_quantity(handler_input: HandlerInput, maximum: int, name: str = "quantity") -> int | None:
    """``AMAZON.NUMBER`` as an int; ``None`` when not said, gibberish is refused."""
    raw = slot_text(handler_input, name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise QuantityNotUnderstood(raw, maximum) from None


def elicit_slot(handler_input: HandlerInput, slot: str, prompt: str, reprompt: str) -> Response:
    """Ask for a missing slot and keep the session (and the intent) open."""
    request = handler_input.request_envelope.request
    assert isinstance(request, IntentRequest)
    intent: Intent | None = request.intent
    handler_input.response_builder.add_directive(
        ElicitSlotDirective(updated_intent=intent, slot_to_elicit=slot)
    )
    return say(handler_input, prompt, reprompt)


def elicit_item(handler_input: HandlerInput, prompt: str) -> Response:
    """Ask for the missing ``item`` slot and keep the session (and the intent) open."""
    return elicit_slot(handler_input, "item", prompt, prompts.ASK_ITEM_REPROMPT)


class LaunchRequestHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("LaunchRequest")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        return say(handler_input, prompts.WELCOME, prompts.WELCOME_REPROMPT)


class AddToCartIntentHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("AddToCartIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        turn = turn_of(handler_input)
        turn.require_customer()
        words = slot_text(handler_input, "item")
        if words is None:
            return elicit_item(handler_input, prompts.ASK_ITEM_TO_ADD)
        quantity = slot_quantity(handler_input, turn.max_quantity)
        return flows.resolve_and_proceed(handler_input, turn, flows.ADD, words, quantity)


class RemoveFromCartIntentHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("RemoveFromCartIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        turn = turn_of(handler_input)
        customer = turn.require_customer()
        words = slot_text(handler_input, "item")
        if words is None:
            return elicit_item(handler_input, prompts.ASK_ITEM_TO_REMOVE)
        target = flows.product_in_cart(turn, customer.id, words)
        turn.scope.product_id = target.product_id
        carts.remove_item(turn.session, customer.id, target.product_id, channel=turn.channel)
        return say(
            handler_input, prompts.removed_from_cart(target.display_name), prompts.ANYTHING_ELSE
        )


class ReadCartIntentHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("ReadCartIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        turn = turn_of(handler_input)
        cart = carts.view_cart(turn.session, turn.require_customer().id)
        if not cart.lines:
            return say(handler_input, prompts.CART_EMPTY, prompts.HELP_REPROMPT)
        phrases = [prompts.item_phrase(ln.quantity, ln.name, ln.size) for ln in cart.lines]
        speech = prompts.cart_contents(phrases, cart.total_cents, cart.item_count)
        midnight = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        elsewhere: dict[str, list[str]] = {}
        for line in cart.touched_elsewhere(turn.channel, since=midnight):
            elsewhere.setdefault(line.added_via, []).append(line.name)
        if elsewhere:
            speech = f"{prompts.touched_elsewhere(elsewhere)} {speech}"
        return say(handler_input, speech, prompts.ANYTHING_ELSE)


class ReorderIntentHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("ReorderIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        turn = turn_of(handler_input)
        turn.require_customer()
        words = slot_text(handler_input, "item")
        if words is None:
            return elicit_item(handler_input, prompts.ASK_ITEM_TO_REORDER)
        quantity = slot_quantity(handler_input, turn.max_quantity)
        return flows.resolve_and_proceed(handler_input, turn, flows.REORDER, words, quantity)


class ReorderLastOrderIntentHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("ReorderLastOrderIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        turn = turn_of(handler_input)
        last = orders.latest_order(turn.session, turn.require_customer().id)
        if last is None:
            raise NoOrders()
        items = [(line.product_id, line.quantity) for line in last.lines]
        offer = orders.offer(
            turn.session, items, max_quantity=turn.max_quantity, charges=turn.charges
        )
        flows.check_can_buy(turn, offer.total_cents)
        turn.set_pending(Pending("reorder_last", tuple(offer.items), offer.total_cents))
        phrases = [prompts.item_phrase(ln.quantity, ln.name, ln.size) for ln in offer.lines]
        when = prompts.spoken_date(last.placed_at, utcnow())
        speech = prompts.confirm_last_order(phrases, flows.price_of(turn, offer), when)
        return say(handler_input, speech, prompts.CONFIRM_REPROMPT)


class CheckoutIntentHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("CheckoutIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        turn = turn_of(handler_input)
        return flows.offer_checkout(handler_input, turn, turn.require_customer())


class OrderStatusIntentHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("OrderStatusIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        turn = turn_of(handler_input)
        last, phrases, when = flows.latest_order_said(turn)
        arrives = prompts.arrival(last.status, last.expected_at, utcnow())
        speech = prompts.order_status(last.id, last.status, when, phrases, last.total_cents,
                                      arrives)  # fmt: skip
        if last.cancelled_via and last.cancelled_via != turn.channel.value:
            speech = f"{prompts.cancelled_elsewhere(last.id, last.cancelled_via)} {speech}"
        return say(handler_input, speech, prompts.ANYTHING_ELSE)


class CancelOrderIntentHandler(AbstractRequestHandler):
    """ "Cancel my order": the latest order, if it can still be cancelled, after a yes."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("CancelOrderIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        turn = turn_of(handler_input)
        last, phrases, when = flows.latest_order_said(turn)
        orders.check_cancellable(last, window=turn.cancel_window)
        turn.set_pending(Pending("cancel", (), last.total_cents, order_id=last.id))
        speech = prompts.confirm_cancel(last.id, when, phrases, last.total_cents)
        return say(handler_input, speech, prompts.CANCEL_REPROMPT)


class EmptyCartIntentHandler(AbstractRequestHandler):
    """ "Clear out my cart": read what it holds, empty it after a yes."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("EmptyCartIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        turn = turn_of(handler_input)
        return flows.offer_empty(handler_input, turn, turn.require_customer())


class ChangeQuantityIntentHandler(AbstractRequestHandler):
    """ "Set the limes to four", "make it two" (the product last talked about), "one less
    milk"."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("ChangeQuantityIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        turn = turn_of(handler_input)
        customer = turn.require_customer()
        words = slot_text(handler_input, "item")
        last = turn.attributes.get(LAST_PRODUCT_KEY)
        if words is not None:
            product_id = flows.product_in_cart(turn, customer.id, words).product_id
        elif isinstance(last, int) and not isinstance(last, bool):
            product_id = last
        else:
            return elicit_item(handler_input, prompts.ASK_ITEM_TO_CHANGE)
        quantity = slot_quantity(handler_input, turn.max_quantity)
        taken_off = slot_quantity(handler_input, turn.max_quantity, "fewer")  # "one less"
        if quantity is None and taken_off is not None:
            return flows.change_quantity(handler_input, turn, customer, product_id, taken_off,
                                         fewer=True)  # fmt: skip
        if quantity is None:
            turn.scope.product_id = product_id
            name = carts.line_name(turn.session, customer.id, product_id)
            return elicit_slot(handler_input, "quantity", prompts.ask_how_many(name),
                               prompts.ASK_HOW_MANY_REPROMPT)  # fmt: skip
        return flows.change_quantity(handler_input, turn, customer, product_id, quantity,
                                     fewer=False)  # fmt: skip


class PriceIntentHandler(AbstractRequestHandler):
    """ "What does the oat milk cost": the price of what the shopper would get."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("PriceIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        turn = turn_of(handler_input)
        words = slot_text(handler_input, "item")
        if words is None:
            return elicit_item(handler_input, prompts.ASK_ITEM_TO_PRICE)
        return flows.tell_price(handler_input, turn, words)


class LastOrderIntentHandler(AbstractRequestHandler):
    """ "What did I order last time": the last order's lines."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("LastOrderIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        turn = turn_of(handler_input)
        last, phrases, when = flows.latest_order_said(turn)
        speech = prompts.last_order_lines(last.id, when, phrases, last.total_cents)
        return say(handler_input, speech, prompts.HELP_REPROMPT)


class ReturnItemIntentHandler(AbstractRequestHandler):
    """ "I want to return the eggs from my last order": offered with the refund, started
    after a yes."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("ReturnItemIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        turn = turn_of(handler_input)
        customer = turn.require_customer()
        words = slot_text(handler_input, "item")
        if words is None:
            return elicit_item(handler_input, prompts.ASK_ITEM_TO_RETURN)
        quantity = slot_quantity(handler_input, turn.max_quantity)
        return flows.offer_return(handler_input, turn, customer, words, quantity)


class YesIntentHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("AMAZON.YesIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        turn = turn_of(handler_input)
        pending, choice = turn.pending, turn.choice
        if choice is not None:  # "yes" to "Did you mean A, or B?" does not say which
            turn.keep()
            names = [name for _, name in choice.options]
            return say(handler_input, prompts.which_one(names), prompts.CHOICE_REPROMPT)
        if pending is None:
            return say(handler_input, prompts.NOTHING_TO_CONFIRM, prompts.HELP_REPROMPT)
        customer = turn.require_customer()
        if pending.kind == "cancel" and pending.order_id is not None:
            turn.clear_pending()
            cancelled = orders.cancel_order(turn.session, customer.id, pending.order_id,
                                            window=turn.cancel_window,
                                            channel=turn.channel)  # fmt: skip
            log.info("order %s cancelled by customer %s", cancelled.id, customer.id)
            speech = prompts.order_cancelled(cancelled.id, cancelled.total_cents)
            return say(handler_input, speech, prompts.ANYTHING_ELSE)
        if pending.kind == "fix":
            turn.clear_pending()
            return flows.fix_cart(handler_input, turn, customer, pending)
        if pending.kind == "empty":
            turn.clear_pending()
            return flows.empty_cart(handler_input, turn, customer, pending)
        if pending.kind == "return":
            turn.clear_pending()
            return flows.start_return(handler_input, turn, customer, pending)
        if pending.kind == "add":
            turn.clear_pending()
            (product_id, quantity), *_ = pending.items
            return flows.proceed(handler_input, turn, flows.ADD, product_id, quantity)
        return flows.confirm_purchase(handler_input, turn, customer, pending)


class VoiceCodeIntentHandler(AbstractRequestHandler):
    """The four-digit code asked for after a yes: right places the order, wrong asks again,
    the last allowed wrong one locks voice purchasing."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name(flows.VOICE_CODE)(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        turn = turn_of(handler_input)
        pending = turn.pending
        if pending is None or not pending.code_asked:
            turn.keep()  # a number that was not asked for: whatever waits, keeps waiting
            return say(handler_input, prompts.NOT_ASKING_CODE, prompts.HELP_REPROMPT)
        customer = turn.require_customer()
        policy = turn.voice_code
        if not voice_codes.code_required(customer, pending.total_cents, policy):
            turn.clear_pending()  # the code was removed (on the web) since it was asked for
            return flows.place(handler_input, turn, customer, pending)
        check = voice_codes.check_code(turn.session, customer.id, slot_text(handler_input, "code"),
                                       policy)  # fmt: skip
        if check.outcome in (CodeOutcome.MALFORMED, CodeOutcome.WRONG):
            turn.keep()  # the offer still waits for its code
        if check.outcome is CodeOutcome.MALFORMED:
            return flows.ask_voice_code(handler_input, prompts.VOICE_CODE_MALFORMED)
        if check.outcome is CodeOutcome.WRONG:
            log.info("wrong voice code for customer %s (%s left)", customer.id,
                     check.attempts_left)  # fmt: skip
            speech = prompts.wrong_voice_code(check.attempts_left)
            return flows.ask_voice_code(handler_input, speech)
        turn.clear_pending()
        if check.outcome is CodeOutcome.LOCKED:
            log.warning("voice purchasing locked for customer %s until %s", customer.id,
                        check.locked_until)  # fmt: skip
            speech = prompts.voice_code_locked(policy.max_attempts, check.lock_minutes)
            return say(handler_input, speech, prompts.HELP_REPROMPT)
        return flows.place(handler_input, turn, customer, pending)


class AwaitingVoiceCodeHandler(AbstractRequestHandler):
    """While the code is asked for, anything that is not a code, a no or a stop (a "yes"
    again, words the parser could not place) asks for the code again."""

    ANSWERS_NOT_A_CODE = ("AMAZON.YesIntent", "AMAZON.FallbackIntent", "ChooseProductIntent")

    def can_handle(self, handler_input: HandlerInput) -> bool:
        if not any(is_intent_name(n)(handler_input) for n in self.ANSWERS_NOT_A_CODE):
            return False
        attributes = handler_input.attributes_manager.session_attributes or {}
        if CHOICE_KEY in attributes:  # "Did you mean A, or B?" is answered first
            return False
        pending = Pending.from_json(attributes.get(PENDING_KEY))
        return pending is not None and pending.code_asked

    def handle(self, handler_input: HandlerInput) -> Response:
        turn_of(handler_input).keep()
        return flows.ask_voice_code(handler_input, prompts.VOICE_CODE_NOT_HEARD)


class NoIntentHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("AMAZON.NoIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        turn = turn_of(handler_input)
        if turn.choice is not None:
            turn.clear_choice()
            return say(handler_input, prompts.NEITHER, prompts.HELP_REPROMPT)
        pending = turn.pending
        if pending is None:
            return say(handler_input, prompts.GOODBYE, end=True)
        turn.clear_pending()
        if pending.kind == "cancel" and pending.order_id is not None:
            return say(handler_input, prompts.order_kept(pending.order_id), prompts.HELP_REPROMPT)
        if pending.kind == "fix":
            return say(handler_input, prompts.CART_LEFT_AS_IS, prompts.HELP_REPROMPT)
        if pending.kind in ("empty", "add", "return"):
            speech = f"Okay. {prompts.left_standing(pending.kind)} {prompts.ANYTHING_ELSE}"
            return say(handler_input, speech, prompts.HELP_REPROMPT)
        return say(handler_input, prompts.NOT_ORDERED, prompts.HELP_REPROMPT)


class ChooseProductIntentHandler(AbstractRequestHandler):
    """The answer to "Did you mean A, or B?": a name fragment, a brand, an ordinal, or neither."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("ChooseProductIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        turn = turn_of(handler_input)
        choice = turn.choice
        if choice is None:
            turn.keep()  # a bare product name answers nothing: an offer still waits
            return say(handler_input, prompts.NOTHING_TO_CHOOSE, prompts.HELP_REPROMPT)
        words = slot_text(handler_input, "item")
        ordinal = slot_text(handler_input, "ordinal") or slot_text(handler_input, "position")
        if words is None and ordinal is None:  # "neither", "none of them"
            turn.clear_choice()
            return say(handler_input, prompts.NEITHER, prompts.HELP_REPROMPT)
        names = [name for _, name in choice.options]
        picked = pick_option(names, words, ordinal)
        if picked is None:
            turn.keep()
            return say(handler_input, prompts.which_one(names), prompts.CHOICE_REPROMPT)
        product_id = choice.options[picked][0]
        return flows.proceed(handler_input, turn, choice.intent, product_id, choice.quantity)


class HelpIntentHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_intent_name("AMAZON.HelpIntent")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        turn_of(handler_input).keep()  # help mid-question: the question still stands
        return say(handler_input, prompts.HELP, prompts.HELP_REPROMPT)


class StopOrCancelIntentHandler(AbstractRequestHandler):
    """Stop, Cancel and NavigateHome all end the session; a waiting offer is dropped, and
    the goodbye says what stands ("cancel" to "Should I cancel it?" cancels nothing)."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return any(
            is_intent_name(name)(handler_input)
            for name in ("AMAZON.StopIntent", "AMAZON.CancelIntent", "AMAZON.NavigateHomeIntent")
        )

    def handle(self, handler_input: HandlerInput) -> Response:
        turn = turn_of(handler_input)
        pending, choice = turn.pending, turn.choice
        turn.clear_pending()
        turn.clear_choice()
        if pending is not None:
            speech = prompts.walked_away(pending.kind, pending.order_id)
        elif choice is not None:
            speech = prompts.walked_away("choice")
        else:
            speech = prompts.GOODBYE
        return say(handler_input, speech, end=True)


class FallbackIntentHandler(AbstractRequestHandler):
    """Alexa's fallback, and any intent this skill does not know (the catch-all)."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("IntentRequest")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        name = getattr(getattr(request, "intent", None), "name", None)
        if name != "AMAZON.FallbackIntent":
            log.warning("unknown intent %r answered with the fallback", name)
        turn = turn_of(handler_input)
        turn.keep()  # words that fit nothing do not cancel the question
        closest = turn.attributes.pop(CLOSEST_KEY, None)
        speech, reprompt = prompts.fallback_offering(closest if isinstance(closest, str) else None)
        return say(handler_input, speech, reprompt)


class SessionEndedRequestHandler(AbstractRequestHandler):
    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("SessionEndedRequest")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        log.info(
            "session ended: reason=%s error=%s",
            getattr(request, "reason", None),
            getattr(request, "error", None),
        )
        return handler_input.response_builder.response


class UnhandledRequestHandler(AbstractRequestHandler):
    """Any other request type (e.g. a display event): answer politely, never a 500."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return True

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        log.warning("unhandled request type %s", getattr(request, "object_type", None))
        turn_of(handler_input).keep()
        return say(handler_input, prompts.FALLBACK, prompts.FALLBACK_REPROMPT)


# Order matters: the catch-alls come last.
REQUEST_HANDLERS: tuple[type[AbstractRequestHandler], ...] = (
    LaunchRequestHandler,
    AddToCartIntentHandler,
    RemoveFromCartIntentHandler,
    ReadCartIntentHandler,
    ReorderIntentHandler,
    ReorderLastOrderIntentHandler,
    CheckoutIntentHandler,
    OrderStatusIntentHandler,
    CancelOrderIntentHandler,
    EmptyCartIntentHandler,
    ChangeQuantityIntentHandler,
    PriceIntentHandler,
    LastOrderIntentHandler,
    ReturnItemIntentHandler,
    AwaitingVoiceCodeHandler,
    VoiceCodeIntentHandler,
    ChooseProductIntentHandler,
    YesIntentHandler,
    NoIntentHandler,
    HelpIntentHandler,
    StopOrCancelIntentHandler,
    SessionEndedRequestHandler,
    FallbackIntentHandler,
    UnhandledRequestHandler,
)
