"""HTTP for the local channels: ``POST /api/v1/text`` (typed or already transcribed)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.orm import Session, sessionmaker

from account_link.api import ApiError, api_error_response, bearer_token, require_valid
from account_link.models import Channel
from skill.local import LocalDialogue

MAX_TEXT_CHARS = 500


def create_local_api(sessions: sessionmaker[Session], dialogue: LocalDialogue) -> Blueprint:
    bp = Blueprint("local", __name__, url_prefix="/api/v1")
    bp.register_error_handler(ApiError, api_error_response)

    @bp.post("/text")
    def text_turn() -> Response:
        token = bearer_token()
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ApiError(
                400, "malformed_json", 'send a JSON object like {"text": "reorder coffee"}'
            )
        text, session_id = data.get("text"), data.get("sessionId")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "missing_text", "'text' must be a non-empty string")
        if len(text) > MAX_TEXT_CHARS:
            raise ApiError(
                413, "text_too_long", f"'text' is limited to {MAX_TEXT_CHARS} characters"
            )
        if session_id is not None and not isinstance(session_id, str):
            raise ApiError(400, "malformed_json", "'sessionId' must be a string")
        with sessions.begin() as db:
            require_valid(db, token)
        reply = dialogue.handle_text(text, access_token=token, session_id=session_id,
                                     channel=Channel.TEXT)  # fmt: skip
        return jsonify(reply.to_json())

    return bp
