"""Cross-cutting work done around every request: the turn context and logging."""

from __future__ import annotations

import logging

from ask_sdk_core.dispatch_components import AbstractRequestInterceptor, AbstractResponseInterceptor
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import IntentRequest, Response

from skill.scope import current_scope
from skill.turn import CHOICE_KEY, LAST_PRODUCT_KEY, PENDING_KEY, TURN_KEY, SkillDeps, Turn

log = logging.getLogger("voicecart.skill")
SECRET_SLOTS = frozenset({"code"})
"""Slots never written to the log (the voice code)."""


class TurnInterceptor(AbstractRequestInterceptor):
    """Attach the turn's :class:`Turn` (session, shopper, settings) to the request."""

    def __init__(self, deps: SkillDeps) -> None:
        self._deps = deps

    def process(self, handler_input: HandlerInput) -> None:
        turn = Turn(handler_input, current_scope(), self._deps)
        handler_input.attributes_manager.request_attributes[TURN_KEY] = turn


class RequestLogInterceptor(AbstractRequestInterceptor):
    def process(self, handler_input: HandlerInput) -> None:
        request = handler_input.request_envelope.request
        if isinstance(request, IntentRequest) and request.intent is not None:
            intent = request.intent
            attributes = handler_input.attributes_manager.session_attributes or {}
            pending = attributes.get(PENDING_KEY)
            # while a code is asked for, any slot may hold it (misheard into another intent)
            secret = isinstance(pending, dict) and pending.get("codeAsked") is True
            slots = {name: "****" if secret or name in SECRET_SLOTS else slot.value
                     for name, slot in (intent.slots or {}).items() if slot.value}  # fmt: skip
            log.info("request %s intent=%s slots=%s", request.request_id, intent.name, slots)
        else:
            log.info(
                "request %s type=%s",
                getattr(request, "request_id", None),
                getattr(request, "object_type", None),
            )


class ResponseLogInterceptor(AbstractResponseInterceptor):
    def process(self, handler_input: HandlerInput, response: Response) -> None:
        speech = getattr(response.output_speech, "ssml", None) if response else None
        log.info(
            "response end_session=%s speech=%s",
            getattr(response, "should_end_session", None),
            speech,
        )


class DialogueStateInterceptor(AbstractResponseInterceptor):
    """An offer, and a "Did you mean" question, wait for the very next answer only. After
    a turn that neither made them nor re-asked them (say "what's in my cart" after
    "Should I order it?") they are dropped, so a later "yes" to "Anything else?" orders
    nothing and a new offer replaces an unanswered question."""

    def process(self, handler_input: HandlerInput, response: Response) -> None:
        turn = handler_input.attributes_manager.request_attributes.get(TURN_KEY)
        if not isinstance(turn, Turn):
            return
        attributes = turn.attributes  # the session's own dict, even while it is empty
        if not turn.pending_fresh:
            attributes.pop(PENDING_KEY, None)
        if not turn.choice_fresh:
            attributes.pop(CHOICE_KEY, None)
        if turn.scope.product_id is not None and not response.should_end_session:
            attributes[LAST_PRODUCT_KEY] = turn.scope.product_id
