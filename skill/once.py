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
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ask_sdk_core.skill import CustomSkill
from ask_sdk_model import RequestEnvelope, ResponseEnvelope

from account_link.claims import claim, claimed_response, hashed_key, keep_response
from skill.scope import current_scope

log = logging.getLogger("voicecart.alexa")


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
        key = request_key(request_envelope)
        if key is None:
            return super().invoke(request_envelope=request_envelope, context=context)
        scope = current_scope()
        if not claim(scope.session, key):
            stored = claimed_response(scope.session, key) or {}
            request_id = getattr(request_envelope.request, "request_id", None)
            log.info("request %s was answered before: replaying that answer", request_id)
            replay: ResponseEnvelope = self.serializer.deserialize(
                payload=json.dumps(stored), obj_type=ResponseEnvelope
            )
            return replay
        response: ResponseEnvelope = super().invoke(
            request_envelope=request_envelope, context=context
        )
        answer = self.serializer.serialize(response)
        if not scope.failed and isinstance(answer, dict):  # a failed turn's claim rolls back
            keep_response(scope.session, key, answer)
        return response
