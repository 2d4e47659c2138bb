"""Assemble the ask-sdk ``CustomSkill`` that every channel invokes."""

from __future__ import annotations

from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import SkillBuilder

from skill.errors import SkillExceptionHandler
from skill.handlers import REQUEST_HANDLERS
from skill.interceptors import RequestLogInterceptor, ResponseLogInterceptor, TurnInterceptor
from skill.turn import SkillDeps


def build_skill(deps: SkillDeps) -> CustomSkill:
    """The one skill: Alexa requests and local channels both invoke this object.

    It must be invoked inside :func:`skill.scope.turn_scope`, which owns the transaction.
    """
    builder = SkillBuilder()
    builder.add_global_request_interceptor(TurnInterceptor(deps))
    builder.add_global_request_interceptor(RequestLogInterceptor())
    builder.add_global_response_interceptor(ResponseLogInterceptor())
    for handler in REQUEST_HANDLERS:
        builder.add_request_handler(handler())
    builder.add_exception_handler(SkillExceptionHandler())
    skill: CustomSkill = builder.create()
    return skill
