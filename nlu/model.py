"""The interaction-model contract shared by every front end.

The skill defines its intents, slots and sample utterances once with these types;
the Alexa model JSON, the local text parser and the speech-recognition grammar are
all derived from one :class:`InteractionModel` value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nlu.errors import ModelError

SLOT_REF = re.compile(r"\{(\w+)\}")
"""A ``{slot}`` reference in a sample utterance."""


@dataclass(frozen=True, slots=True)
class SlotDef:
    name: str
    type: str
    elicitation_prompt: str | None = None
    """Said when the slot is missing; also declared in the Alexa dialog model."""
    elicitation_samples: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IntentDef:
    name: str
    samples: tuple[str, ...] = ()
    """What the Alexa model carries: a spread of the templates' sentences."""
    slots: tuple[SlotDef, ...] = ()
    templates: tuple[str, ...] = ()
    """The phrasings the samples were generated from (see :mod:`nlu.grammar`); the local
    parser matches these whole, so it knows every sentence, not just the spread."""

    @property
    def is_builtin(self) -> bool:
        return self.name.startswith("AMAZON.")

    def slot(self, name: str) -> SlotDef | None:
        return next((s for s in self.slots if s.name == name), None)


@dataclass(frozen=True, slots=True)
class SlotValue:
    id: str
    value: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SlotTypeDef:
    name: str
    values: tuple[SlotValue, ...] = ()


@dataclass(frozen=True, slots=True)
class InteractionModel:
    invocation_name: str
    intents: tuple[IntentDef, ...]
    types: tuple[SlotTypeDef, ...] = field(default=())
    answer_intents: tuple[str, ...] = ()
    """Intents that only answer a question the skill asked ("the second one", a voice
    code): a reading as one of them when nothing was asked is discounted."""
    bare_answer_intent: str | None = None
    """What a bare slot answer ("two limes please") means when no question was asked:
    local channels only (Alexa never sends one), so it trains the local parser."""

    def intent(self, name: str) -> IntentDef | None:
        return next((i for i in self.intents if i.name == name), None)

    def validate(self) -> None:
        """Raise :class:`ModelError` for references a build would reject."""
        declared_types = {t.name for t in self.types}
        seen: set[str] = set()
        for intent in self.intents:
            if intent.name in seen:
                raise ModelError(f"intent {intent.name} is declared twice")
            seen.add(intent.name)
            slot_names = {s.name for s in intent.slots}
            for slot in intent.slots:
                if not slot.type.startswith("AMAZON.") and slot.type not in declared_types:
                    raise ModelError(f"{intent.name}.{slot.name}: undeclared type {slot.type}")
            for sample in (
                intent.samples
                + intent.templates
                + tuple(s for slot in intent.slots for s in slot.elicitation_samples)
            ):
                for ref in SLOT_REF.findall(sample):
                    if ref not in slot_names:
                        raise ModelError(f"{intent.name}: sample {sample!r} uses unknown {{{ref}}}")
