"""The one exception handler: every failure becomes specific speech, and the turn rolls back."""

from __future__ import annotations

import logging
import math

from ask_sdk_core.dispatch_components import AbstractExceptionHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response
from ask_sdk_model.ui import LinkAccountCard

from account_link.errors import (
    CannotCancel,
    CannotReturn,
    CartChanged,
    EmptyCart,
    NoDeliveryAddress,
    NoOrders,
    NothingToReturn,
    NotInCart,
    NotLinked,
    OutOfStock,
    PriceChanged,
    QuantityOutOfRange,
    VoiceCodeNotSet,
    VoicePurchasingLocked,
)
from catalog.db import utcnow
from catalog.dbstate import unavailable
from catalog.errors import ProductNotFound
from skill import prompts
from skill.scope import current_scope
from skill.speech import QuantityNotUnderstood, say
from skill.turn import CHOICE_KEY, PENDING_KEY

log = logging.getLogger("voicecart.skill")


def spoken_error(exc: Exception) -> tuple[str, str | None, bool]:
    """(speech, reprompt, end_session) for a failure; unknown failures apologise."""
    match exc:
        case NotLinked():
            return prompts.LINK_ACCOUNT, None, True
        case QuantityNotUnderstood(maximum=m):
            return prompts.QUANTITY_NOT_UNDERSTOOD.format(maximum=m), prompts.HELP_REPROMPT, False
        case ProductNotFound(query=query):
            return prompts.product_not_found(query), prompts.HELP_REPROMPT, False
        case QuantityOutOfRange(quantity=q, maximum=m, already=a):
            return prompts.quantity_out_of_range(q, m, a), prompts.HELP_REPROMPT, False
        case OutOfStock(product_name=name, available=available):
            return prompts.out_of_stock(name, available), prompts.HELP_REPROMPT, False
        case NotInCart(product_name=name):
            return prompts.not_in_cart(name), prompts.HELP_REPROMPT, False
        case EmptyCart():
            return prompts.CART_EMPTY_CHECKOUT, prompts.HELP_REPROMPT, False
        case NoOrders():
            return prompts.NO_ORDERS, prompts.HELP_REPROMPT, False
        case CartChanged():
            return prompts.CART_CHANGED, prompts.HELP_REPROMPT, False
        case CannotCancel(order_id=order_id, reason=reason):
            return prompts.cannot_cancel(order_id, reason), prompts.HELP_REPROMPT, False
        case CannotReturn(order_id=order_id, reason=reason):
            return prompts.cannot_return(order_id, reason), prompts.HELP_REPROMPT, False
        case NothingToReturn(words=words):
            return prompts.nothing_to_return(words), prompts.HELP_REPROMPT, False
        case NoDeliveryAddress():
            return prompts.NO_ADDRESS, prompts.HELP_REPROMPT, False
        case VoicePurchasingLocked(until=until):
            minutes = max(1, math.ceil((until - utcnow()).total_seconds() / 60))
            return prompts.voice_purchasing_locked(minutes), prompts.HELP_REPROMPT, False
        case VoiceCodeNotSet(required_above_cents=above):
            return prompts.voice_code_needed(above), prompts.HELP_REPROMPT, False
        case PriceChanged(current_cents=current):
            speech = prompts.PRICE_CHANGED.format(total=prompts.money(current))
            return speech, prompts.HELP_REPROMPT, False
    if unavailable(exc) is not None:
        return prompts.DATA_UNAVAILABLE, None, True
    return prompts.SOMETHING_WENT_WRONG, prompts.HELP_REPROMPT, False


class SkillExceptionHandler(AbstractExceptionHandler):
    """Turns any exception into speech, marks the turn for rollback and drops pending orders."""

    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        return True

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        current_scope().fail()
        attributes = handler_input.attributes_manager.session_attributes or {}
        attributes.pop(PENDING_KEY, None)  # (response interceptors do not run after a failure)
        attributes.pop(CHOICE_KEY, None)
        speech, reprompt, end = spoken_error(exception)
        if speech == prompts.SOMETHING_WENT_WRONG:
            log.exception("skill handler failed", exc_info=exception)
        elif speech == prompts.DATA_UNAVAILABLE:
            log.warning("turn refused: the database is %s", unavailable(exception))
        else:
            log.info("turn refused: %s: %s", type(exception).__name__, exception)
        if isinstance(exception, NotLinked):
            handler_input.response_builder.set_card(LinkAccountCard())
        return say(handler_input, speech, reprompt, end=end)
