"""Building responses: every spoken reply goes through :func:`say`."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, unescape

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response


class QuantityNotUnderstood(Exception):
    """The number slot held something that is not a number (Alexa sends "?")."""

    def __init__(self, heard: str, maximum: int) -> None:
        super().__init__(f"quantity {heard!r} is not a number")
        self.maximum = maximum


_TAG = re.compile(r"<[^>]*>")


def plain_text(ssml: str) -> str:
    """What an SSML reply says, as text for a screen: tags gone, ``&amp;`` back to ``&``."""
    return unescape(_TAG.sub("", ssml), {"&quot;": '"', "&apos;": "'"}).strip()


def say(
    handler_input: HandlerInput, speech: str, reprompt: str | None = None, *, end: bool = False
) -> Response:
    """Speak (SSML-escaped) and either keep listening with ``reprompt`` or end the session."""
    builder = handler_input.response_builder.speak(escape(speech))
    if reprompt is not None and not end:
        builder.ask(escape(reprompt))
    builder.set_should_end_session(end)
    return builder.response
