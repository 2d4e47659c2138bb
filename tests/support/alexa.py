"""Build Alexa request envelopes the way the Alexa service sends them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000042"
USER_ID = "amzn1.ask.account.TESTUSER"


def _now(offset_seconds: float = 0) -> str:
    moment = datetime.now(UTC) + timedelta(seconds=offset_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(
    request: dict[str, Any],
    *,
    attributes: dict[str, Any] | None = None,
    new: bool = False,
    session_id: str = "amzn1.echo-api.session.TEST",
    user_id: str = USER_ID,
    access_token: str | None = None,
    skill_id: str = SKILL_ID,
    timestamp_offset: float = 0,
) -> dict[str, Any]:
    user: dict[str, Any] = {"userId": user_id}
    if access_token is not None:
        user["accessToken"] = access_token
    request = {
        "requestId": f"amzn1.echo-api.request.{uuid.uuid4()}",
        "timestamp": _now(timestamp_offset),
        "locale": "en-US",
        **request,
    }
    return {
        "version": "1.0",
        "session": {
            "new": new,
            "sessionId": session_id,
            "application": {"applicationId": skill_id},
            "attributes": attributes or {},
            "user": user,
        },
        "context": {
            "System": {
                "application": {"applicationId": skill_id},
                "user": user,
                "device": {"deviceId": "amzn1.ask.device.TEST", "supportedInterfaces": {}},
                "apiEndpoint": "https://api.amazonalexa.com",
            }
        },
        "request": request,
    }


def launch(**kw: Any) -> dict[str, Any]:
    return envelope({"type": "LaunchRequest"}, new=True, **kw)


def intent(name: str, slots: Mapping[str, str | None] | None = None, **kw: Any) -> dict[str, Any]:
    slot_objs = {
        slot: ({"name": slot, "value": value} if value is not None else {"name": slot})
        for slot, value in (slots or {}).items()
    }
    body = {
        "type": "IntentRequest",
        "dialogState": "STARTED",
        "intent": {"name": name, "confirmationStatus": "NONE", "slots": slot_objs},
    }
    return envelope(body, **kw)


def session_ended(reason: str = "USER_INITIATED", **kw: Any) -> dict[str, Any]:
    return envelope({"type": "SessionEndedRequest", "reason": reason}, **kw)


def speech(response: dict[str, Any]) -> str:
    """The plain words of a response's output speech (SSML tags removed)."""
    ssml = str(response["response"].get("outputSpeech", {}).get("ssml", ""))
    text = ssml.removeprefix("<speak>").removesuffix("</speak>")
    return text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


def reprompt(response: dict[str, Any]) -> str | None:
    prompt = response["response"].get("reprompt")
    if not prompt:
        return None
    ssml = str(prompt["outputSpeech"]["ssml"])
    return ssml.removeprefix("<speak>").removesuffix("</speak>")


def ends_session(response: dict[str, Any]) -> bool:
    return bool(response["response"].get("shouldEndSession"))


def attributes(response: dict[str, Any]) -> dict[str, Any]:
    return dict(response.get("sessionAttributes") or {})
