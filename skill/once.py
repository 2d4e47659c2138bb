"""Exactly-once Alexa requests: a retried request (same ``requestId`` from the same
speaker) gets the answer the first one got, and changes nothing a second time.

The claim key is a hash of the request id, the Alexa user id and the access token
(:func:`account_link.claims.hashed_key`; neither id nor token is stored): a retry is
the same envelope, so it matches, while the same request id from anyone else (possible
only with verification off, or a forged request) is handled afresh as their own
request and is never handed the first speaker's answer. Refusing it instead would let
whoever sent an id first block everyone else's request with that id.

The key is claimed (:mod:`account_link.claims`) in the turn's own transaction before
the skill runs: a concurrent duplicate waits until the first commits, then replays its
stored answer. A turn that failed rolls its claim back, so its retry is handled afresh.

Requests that change nothing (:func:`reads_only`: a launch, help, reading the cart or
an order, a price, an offer waiting for a yes) claim nothing: they write no row, take
no write lock and end with a rollback (:mod:`skill.scope`), and a retry simply reads
again. Should such a turn write after all (a handler changed since it was listed), it
is claimed after the skill ran, still in its transaction and before it commits: a
concurrent copy that committed first wins, this one rolls back and replays its answer.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ask_sdk_core.skill import CustomSkill
from ask_sdk_model import IntentRequest, RequestEnvelope, ResponseEnvelope

from account_link.claims import claim, claimed_response, hashed_key, keep_response
from skill.scope import TurnScope, current_scope

log = logging.getLogger("voicecart.alexa")

READ_ONLY_REQUESTS = frozenset({"LaunchRequest", "SessionEndedRequest"})
"""Request types (other than intents) whose handlers change nothing in the database."""
READ_ONLY_INTENTS = frozenset({
    "AMAZON.HelpIntent", "AMAZON.FallbackIntent", "AMAZON.NoIntent", "AMAZON.StopIntent",
    "AMAZON.CancelIntent", "AMAZON.NavigateHomeIntent",
    "ReadCartIntent", "OrderStatusIntent", "LastOrderIntent", "PriceIntent",
    # offers: they read and wait for a yes (the yes writes, and is claimed)
    "ReorderIntent", "ReorderLastOrderIntent", "CheckoutIntent", "EmptyCartIntent",
    "CancelOrderIntent", "ReturnItemIntent",
})  # fmt: skip
"""Intents whose handlers only read: what they remember goes in the session attributes
(the reply), never the database. Adding to the cart, removing, changing a quantity,
choosing from a list (it may add), a yes and a voice code write; so does any intent
not named here."""


def reads_only(envelope: RequestEnvelope) -> bool:
    """Whether the request changes nothing, by its type and intent alone (no side
    effects, no database): the one place read-only turns are decided."""
    request = envelope.request
    if isinstance(request, IntentRequest):
        intent = request.intent
        return intent is not None and intent.name in READ_ONLY_INTENTS
    return getattr(request, "object_type", None) in READ_ONLY_REQUESTS


def request_key(envelope: RequestEnvelope) -> str | None:
    """The claim key of an Alexa request, or ``None`` if it has no request id.

    The speaker is the user the turn resolves the shopper from
    (``context.System.user``; the session's user when there is no context).
    """
    request_id = getattr(envelope.request, "request_id", None)
    if not request_id:
        return None
    system = getattr(envelope.context, "system", None)
    user = getattr(system, "user", None) or getattr(envelope.session, "user", None)
    user_id = getattr(user, "user_id", None)
    token = getattr(user, "access_token", None)
    return hashed_key("alexa", str(request_id), user_id, token)


class OnceSkill(CustomSkill):
    """The skill behind ``/alexa``: each request is acted on at most once per speaker."""

    def invoke(self, request_envelope: RequestEnvelope, context: Any = None) -> ResponseEnvelope:
        scope = current_scope()
        if reads_only(request_envelope):
            scope.mark_read_only()
            response: ResponseEnvelope = super().invoke(
                request_envelope=request_envelope, context=context
            )
            wrote = not scope.failed and scope.settled_writes()
            key = request_key(request_envelope) if wrote else None
            if key is None:
                return response  # nothing claimed, nothing committed: a retry reads again
            log.warning("read-only request %s wrote after all: claimed after the fact",
                        getattr(request_envelope.request, "request_id", None))  # fmt: skip
            if claim(scope.session, key):
                self._keep(scope, key, response)
                return response
            scope.fail()  # a concurrent copy committed first: undo ours, say what it said
            return self._replay(scope, key, request_envelope)
        key = request_key(request_envelope)
        if key is None:
            return super().invoke(request_envelope=request_envelope, context=context)
        if not claim(scope.session, key):
            return self._replay(scope, key, request_envelope)
        response = super().invoke(request_envelope=request_envelope, context=context)
        if not scope.failed:  # a failed turn's claim rolls back
            self._keep(scope, key, response)
        return response

    def _keep(self, scope: TurnScope, key: str, response: ResponseEnvelope) -> None:
        answer = self.serializer.serialize(response)
        if isinstance(answer, dict):
            keep_response(scope.session, key, answer)

    def _replay(self, scope: TurnScope, key: str, envelope: RequestEnvelope) -> ResponseEnvelope:
        stored = claimed_response(scope.session, key) or {}
        request_id = getattr(envelope.request, "request_id", None)
        log.info("request %s was answered before: replaying that answer", request_id)
        replay: ResponseEnvelope = self.serializer.deserialize(
            payload=json.dumps(stored), obj_type=ResponseEnvelope
        )
        return replay
