"""Exactly-once Alexa requests: a retried request (same ``requestId``) gets the answer
the first one got, and changes nothing a second time.

The request id is claimed (:mod:`account_link.claims`) in the turn's own transaction
before the skill runs: a concurrent duplicate waits until the first commits, then
replays its stored answer. A turn that failed rolls its claim back, so its retry is
handled afresh.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ask_sdk_core.skill import CustomSkill
from ask_sdk_model import RequestEnvelope, ResponseEnvelope

from account_link.claims import claim, claimed_response, keep_response
from skill.scope import current_scope

log = logging.getLogger("voicecart.alexa")


class OnceSkill(CustomSkill):
    """The skill behind ``/alexa``: each ``requestId`` is acted on at most once."""

    def invoke(self, request_envelope: RequestEnvelope, context: Any = None) -> ResponseEnvelope:
        request_id = getattr(request_envelope.request, "request_id", None)
        if not request_id:
            return super().invoke(request_envelope=request_envelope, context=context)
        scope, key = current_scope(), f"alexa:{request_id}"
        if not claim(scope.session, key):
            stored = claimed_response(scope.session, key) or {}
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
