"""The one shape of a JSON error: ``{"error": <code>, "message": <sentence>}``.

``web/openapi.yaml`` documents it (``components/schemas/Error``) and the fuzz tests hold
every reply to it: ``error`` is a ``snake_case`` code for programs, ``message`` a
sentence for people. Extra fields are added only where the description names them (the
``database`` of a 503). OAuth's own endpoints answer RFC 6749's shape instead
(``error`` and ``error_description``, made by Authlib), as clients of them expect.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, Response, jsonify


class ApiError(Exception):
    """An error reply a view raises: HTTP status, a code, a sentence, extra headers."""

    def __init__(
        self, status: int, error: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.headers = dict(headers or {})


def json_error(
    status: int,
    error: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: object,
) -> Response:
    """The JSON error reply; every JSON error voicecart sends is made here."""
    response = jsonify({"error": error, "message": message, **extra})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def api_error_response(exc: ApiError) -> Response:
    """The reply for an :class:`ApiError` a view raised."""
    return json_error(exc.status, exc.error, exc.message, headers=exc.headers)


def answers_in_json(bp: Blueprint) -> Blueprint:
    """Have ``bp``'s views answer :class:`ApiError` as JSON errors; returns ``bp``."""
    bp.register_error_handler(ApiError, api_error_response)
    return bp
