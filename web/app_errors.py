"""The app's last word on a failed request: every error no view answered itself.

Programs (the API, the Alexa endpoint, OAuth's back channel, the health check) get the
one JSON error shape (:func:`web.errors.json_error`); a browser asking for a page gets
the shop's error page. A database that is down or locked is a 503 that says nothing was
changed.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from catalog.dbstate import Unavailable, unavailable
from web.errors import json_error

log = logging.getLogger("voicecart")


def register_error_handlers(app: Flask) -> None:
    """Answer whatever no view handled: JSON for programs, a page for browsers, and a 503
    with ``Retry-After`` when the database is what failed."""
    from skill.webservice import verification_failure

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response | tuple[str, int]:
        status = exc.code or 500
        message = exc.description or exc.name
        if status == 400 and message == "Incoming request failed verification":
            return json_error(400, "verification_failed", verification_failure())
        if _wants_page():
            return _error_page(exc.name, _PAGE_MESSAGES.get(status, message)), status
        error = getattr(exc, "error_code", None) or exc.name.lower().replace(" ", "_")
        return json_error(status, error, message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response | tuple[str, int]:
        trouble = unavailable(exc)
        if trouble is not None:
            return _database_unavailable(trouble)
        log.exception("unhandled error", exc_info=exc)
        if _wants_page():
            return _error_page("Something went wrong", "Voice Cart hit an internal error. "
                               "Nothing was changed; please try again."), 500  # fmt: skip
        return json_error(500, "internal_error", "voicecart hit an internal error")


def _database_unavailable(trouble: Unavailable) -> Response:
    """503 with ``Retry-After`` (when waiting helps), logged as one line: the transaction
    rolled back, so nothing the request asked for happened."""
    log.warning("database %s: %s %s answered 503 (nothing was changed)",
                trouble.trouble.value, request.method, request.path)  # fmt: skip
    message = f"Voice Cart can't reach its data right now ({trouble.message}). Nothing was changed."
    if _wants_page():
        response = make_response(_error_page("Please try again in a moment", message), 503)
    else:
        response = json_error(503, "database_unavailable", message,
                              database=trouble.trouble.value)  # fmt: skip
    if trouble.retry_after_seconds:
        response.headers["Retry-After"] = str(trouble.retry_after_seconds)
    return response


_MACHINE_PATHS = ("/api/", "/alexa", "/oauth/token", "/oauth/revoke", "/healthz")
_PAGE_MESSAGES = {
    404: "There is no page at this address.",
    405: "This page can't be used that way.",
    400: "The request didn't make sense (an expired form, perhaps). Please try again.",
}


def _wants_page() -> bool:
    """A browser asking for a page gets an HTML error page; programs get JSON."""
    if request.path.startswith(_MACHINE_PATHS):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


def _error_page(title: str, message: str) -> str:
    return render_template("error.html", title=title, message=message, customer=None)
