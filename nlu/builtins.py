"""What shoppers say for Alexa's built-in intents.

Alexa recognises these without samples in the skill's model; the local parser has to be
told. Kept here, beside the parser, as data.
"""

from __future__ import annotations

BUILTIN_SAMPLES: dict[str, tuple[str, ...]] = {
    "AMAZON.YesIntent": (
        "yes", "yeah", "yep", "yup", "sure", "ok", "okay", "yes please", "please do",
        "go ahead", "do it", "correct", "that's right", "sounds good", "absolutely",
        "of course", "yes do it", "place it", "order it",
    ),
    "AMAZON.NoIntent": (
        "no", "nope", "nah", "no thanks", "no thank you", "don't", "do not",
        "not now", "no don't", "i don't want it", "that's all", "nothing else",
    ),
    "AMAZON.HelpIntent": (
        "help", "help me", "what can i say", "what can you do", "how does this work",
        "i need help", "what are my options",
    ),
    "AMAZON.StopIntent": ("stop", "quit", "exit", "goodbye", "bye", "good bye", "i'm done"),
    "AMAZON.CancelIntent": ("cancel", "never mind", "nevermind", "forget it", "cancel that"),
    "AMAZON.NavigateHomeIntent": ("go home", "home"),
}  # fmt: skip
