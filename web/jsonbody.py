"""Reading JSON request bodies so that no body, however odd, reaches a handler it breaks.

Valid JSON is not enough: a body of ten thousand nested brackets overflows the parser's
recursion, a lone surrogate (``"\\ud800"``) cannot be encoded for the database or the
reply, and PostgreSQL refuses NUL in text. Each is refused here, once, with a 400 whose
``error`` is ``malformed_json`` and whose message says what was wrong.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

MAX_DEPTH = 32
"""Deeper than any request this service reads (an Alexa envelope nests about 8 deep)."""


class MalformedJson(BadRequest):
    """A JSON body refused before any handler saw it; ``reason`` is for the sender."""

    error_code = "malformed_json"

    def __init__(self, reason: str) -> None:
        super().__init__(description=reason)
        self.reason = reason


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "a string contains a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "a string contains a lone surrogate (an unpaired \\ud800-\\udfff escape)"
    return None


def document_problem(document: Any, max_depth: int = MAX_DEPTH) -> str | None:
    """Why a parsed document cannot be handled, or ``None``; iterative, so never recurses."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            problem = _text_problem(value)
            if problem:
                return problem
        elif isinstance(value, dict | list):
            if depth > max_depth:
                return f"the JSON nests deeper than {max_depth} levels"
            if isinstance(value, dict):
                pending.extend((key, depth) for key in value)
                pending.extend((item, depth + 1) for item in value.values())
            else:
                pending.extend((item, depth + 1) for item in value)
    return None


_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89abAB][0-9a-fA-F]{2})")
"""``\\u0000`` and surrogate escapes: without one, the parsed strings hold neither NUL
(strict JSON refuses it raw) nor a lone surrogate (UTF-8 cannot carry one raw)."""


def _needs_walk(data: str | bytes, max_depth: int) -> bool:
    """Cheap tests on the raw body that clear most documents without walking them."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if isinstance(data, str) and raw != data.encode("utf-8", "replace"):
        return True  # a str already holding surrogates
    return raw.count(b"[") + raw.count(b"{") > max_depth or bool(_SUSPECT_ESCAPE.search(raw))


def load_json(data: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The document in ``data``, or :class:`MalformedJson` saying what is wrong with it."""
    try:
        document = json.loads(data)
    except RecursionError:
        raise MalformedJson(f"the JSON nests deeper than {max_depth} levels") from None
    except UnicodeDecodeError:
        raise MalformedJson("the body is not UTF-8 text") from None
    except ValueError as exc:
        raise MalformedJson(f"the body is not valid JSON: {exc}") from None
    problem = document_problem(document, max_depth) if _needs_walk(data, max_depth) else None
    if problem:
        raise MalformedJson(problem)
    return document


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, with ``request.get_json`` reading bodies through
    :func:`load_json` (its errors are 400s even when a view asked for ``silent``)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return load_json(s)
