"""HTTP for the local channels: ``POST /api/v1/text``, ``/voice`` and ``/request``.

Authenticated like the JSON API (a bearer token, checked once, inside the turn's one
transaction, which the dialogue opens: ``LocalDialogue.opened``); errors in its shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.orm import Session, sessionmaker

from account_link.models import Channel, Customer
from nlu.asr import ModelMissing
from nlu.audio import AudioError
from nlu.errors import NluError
from skill.local import REQUEST_TYPES, LocalDialogue, LocalReply
from web.auth import bearer_customer, bearer_token
from web.errors import ApiError, answers_in_json

MAX_TEXT_CHARS = 500
MAX_AUDIO_BYTES = 4 * 1024 * 1024
WAV_TYPES = {"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "application/octet-stream"}
AUDIO_STATUS = {"not_wav": 415, "unsupported_encoding": 415, "unsupported_channels": 415,
                "unsupported_rate": 415, "too_long": 413, "silence": 422,
                "too_short": 422}  # fmt: skip


INTENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,99}")


def _reply(reply: LocalReply) -> Response:
    """The turn as JSON; ``?trace=1`` adds the Alexa request and response (for simulators)."""
    body = reply.to_json()
    if request.args.get("trace") in ("1", "true", "yes"):
        body["alexa"] = reply.alexa_trace()
    return jsonify(body)


def _json_turn(example: str) -> tuple[dict[str, Any], str | None]:
    """The JSON object of a turn and its optional ``sessionId``, or a named 400."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", f"send a JSON object like {example}")
    session_id = data.get("sessionId")
    if session_id is not None and not isinstance(session_id, str):
        raise ApiError(400, "malformed_json", "'sessionId' must be a string")
    return data, session_id


def _valid(token: str) -> Callable[[Session], Customer]:
    """The API's check of a bearer token (a 401 naming why it does not count)."""
    return lambda db: bearer_customer(db, token)


def _upload() -> tuple[bytes, str | None]:
    """The WAV of a voice turn and its optional session id, or a named 4xx."""
    kind = (request.mimetype or "").lower()
    if kind == "multipart/form-data":
        upload = request.files.get("audio")
        if upload is None:
            raise ApiError(400, "missing_audio", "send the WAV in the multipart field 'audio'")
        wav = upload.read(MAX_AUDIO_BYTES + 1)
        session_id = request.form.get("sessionId") or None
    elif kind in WAV_TYPES:
        wav = request.get_data()
        session_id = request.args.get("sessionId") or None
    else:
        sent = kind or "nothing"
        message = f"send audio/wav (or multipart field 'audio'), not {sent}"
        raise ApiError(415, "unsupported_media_type", message)
    if len(wav) > MAX_AUDIO_BYTES:
        raise ApiError(413, "too_long", f"audio bodies are limited to {MAX_AUDIO_BYTES} bytes")
    return wav, session_id


def create_local_api(sessions: sessionmaker[Session], dialogue: LocalDialogue) -> Blueprint:
    bp = answers_in_json(Blueprint("local", __name__, url_prefix="/api/v1"))

    @bp.post("/text")
    def text_turn() -> Response:
        token = bearer_token()
        data, session_id = _json_turn('{"text": "reorder coffee"}')
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "missing_text", "'text' must be a non-empty string")
        if len(text) > MAX_TEXT_CHARS:
            raise ApiError(
                413, "text_too_long", f"'text' is limited to {MAX_TEXT_CHARS} characters"
            )
        with dialogue.opened(Channel.TEXT, access_token=token, require=_valid(token)) as turn:
            reply = turn.text(text, session_id)
        return _reply(reply)

    @bp.post("/request")
    def request_turn() -> Response:
        """A launch, an intent given outright, or the end of a session (simulators, tests)."""
        token = bearer_token()
        data, session_id = _json_turn('{"type": "LaunchRequest"}')
        kind = data.get("type")
        if kind not in REQUEST_TYPES:
            raise ApiError(400, "unknown_request_type", f"'type' must be one of {REQUEST_TYPES}")
        intent, slots = data.get("intent"), data.get("slots") or {}
        if kind == "IntentRequest" and (
            not isinstance(intent, str) or not INTENT_NAME.fullmatch(intent)
            or intent in REQUEST_TYPES
        ):  # fmt: skip
            raise ApiError(400, "missing_intent", "an IntentRequest needs 'intent' (a name)")
        if not isinstance(slots, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in slots.items()
        ):
            raise ApiError(400, "malformed_json", "'slots' must map slot names to strings")
        if sum(len(v) for v in slots.values()) > MAX_TEXT_CHARS:
            raise ApiError(
                413, "text_too_long", f"slot values are limited to {MAX_TEXT_CHARS} characters"
            )
        with dialogue.opened(Channel.TEXT, access_token=token, require=_valid(token)) as turn:
            reply = turn.request(kind, session_id,
                                 intent=intent if kind == "IntentRequest" else None,
                                 slots=slots)  # fmt: skip
        return _reply(reply)

    @bp.post("/voice")
    def voice_turn() -> Response:
        token = bearer_token()
        # the token is checked (once, in the turn's transaction) before the body is read
        with dialogue.opened(Channel.LOCAL_VOICE, access_token=token,
                             require=_valid(token)) as turn:  # fmt: skip
            wav, session_id = _upload()
            try:
                reply = turn.audio(wav, session_id)
            except AudioError as exc:
                raise ApiError(AUDIO_STATUS.get(exc.code, 400), exc.code, str(exc)) from exc
            except ModelMissing as exc:
                raise ApiError(503, "speech_model_missing", str(exc)) from exc
            except NluError as exc:  # the recogniser cannot run here (a server-side problem)
                raise ApiError(503, "speech_unavailable", str(exc)) from exc
        return _reply(reply)

    return bp
