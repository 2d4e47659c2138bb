"""Assemble the ask-sdk ``CustomSkill`` that every channel invokes."""

from __future__ import annotations

from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import SkillBuilder

from skill.errors import SkillExceptionHandler
from skill.handlers import REQUEST_HANDLERS
from skill.interceptors import (
    DialogueStateInterceptor,
    RequestLogInterceptor,
    ResponseLogInterceptor,
    TurnInterceptor,
)
from skill.once import OnceSkill
from skill.turn import SkillDeps


def build_skill(deps: SkillDeps, *, exactly_once: bool = False) -> CustomSkill:
    """The one skill: Alexa requests and local channels both invoke these handlers.

    It must be invoked inside :func:`skill.scope.turn_scope`, which owns the transaction.
    ``exactly_once`` (the ``/alexa`` endpoint) answers a retried request (the same
    ``requestId`` from the same user and access token) from the first answer instead of
    acting again (:mod:`skill.once`).
    """
    builder = SkillBuilder()
    builder.add_global_request_interceptor(TurnInterceptor(deps))
    builder.add_global_request_interceptor(RequestLogInterceptor())
    builder.add_global_response_interceptor(DialogueStateInterceptor())
    builder.add_global_response_interceptor(ResponseLogInterceptor())
    for handler in REQUEST_HANDLERS:
        builder.add_request_handler(handler())
    builder.add_exception_handler(SkillExceptionHandler())
    if exactly_once:
        return OnceSkill(skill_configuration=builder.skill_configuration)
    skill: CustomSkill = builder.create()
    return skill
