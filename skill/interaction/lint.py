"""Interaction-model lint: what Alexa's model build would reject, and what would confuse.

``voicecart export-model --check`` runs :func:`lint_model` on the model built from the
live catalogue. Errors are what the Alexa developer console refuses (bad characters,
duplicate samples, undeclared slots, slot values over the limits); warnings are what
makes recognition worse (few samples, unused slots) or what the local parser would read
differently from the model (so local and Alexa channels would disagree).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from nlu.model import SLOT_REF, InteractionModel
from nlu.parser import IntentParser
from skill.interaction.model import (
    MAX_PRODUCT_SLOT_VALUES,
    MAX_SLOT_VALUE_CHARS,
    MIN_SAMPLES_PER_INTENT,
)

MIN_SAMPLES = MIN_SAMPLES_PER_INTENT
"""Fewer sample utterances than this for a custom intent: recognition is poor."""
CARRIER_WORDS = frozenset({"the", "a", "an", "some", "please", "my"})
"""Words that do not make a sample specific: ``the {item} please`` catches anything."""
MAX_SAMPLE_CHARS = 200
"""Alexa's limits: characters per sample and per slot value, values+synonyms per model."""
FORBIDDEN_INVOCATION_WORDS = {"alexa", "amazon", "echo", "skill", "app", "launch", "ask",
                              "open", "tell", "load", "begin", "enable"}  # fmt: skip
_SAMPLE_CHARS = re.compile(r"^[A-Za-z .'\-]*$")
_VALUE_CHARS = re.compile(r"^[A-Za-z0-9 .'\-]*$")
EXAMPLE_FILLERS = {"AMAZON.NUMBER": "two", "AMAZON.Ordinal": "first",
                   "AMAZON.FOUR_DIGIT_NUMBER": "four two seven one"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Finding:
    severity: str  # "error" or "warning"
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity.upper():7} {self.where}: {self.message}"


def _invocation(model: InteractionModel) -> list[Finding]:
    name, out = model.invocation_name, []
    if not re.fullmatch(r"[a-z][a-z .']*", name):
        rule = "only lower-case letters, spaces, periods, apostrophes"
        out.append(Finding("error", "invocation name", f"{name!r}: {rule}"))
    bad = FORBIDDEN_INVOCATION_WORDS & set(name.split())
    if bad:
        out.append(Finding("error", "invocation name", f"{name!r} may not use {sorted(bad)}"))
    if len(name.split()) < 2:
        out.append(Finding("warning", "invocation name",
                           f"{name!r}: one word is allowed only for a brand name"))  # fmt: skip
    return out


def _samples(model: InteractionModel) -> list[Finding]:
    out: list[Finding] = []
    declared_types = {t.name for t in model.types}
    owners: dict[str, list[str]] = defaultdict(list)
    for intent in model.intents:
        slot_names = {s.name for s in intent.slots}
        for slot in intent.slots:
            if not slot.type.startswith("AMAZON.") and slot.type not in declared_types:
                out.append(Finding("error", f"{intent.name}.{slot.name}",
                                   f"slot type {slot.type} is not declared"))  # fmt: skip
        if intent.is_builtin:
            if intent.samples:
                extra = ", ".join(intent.samples[:3])
                out.append(Finding("warning", intent.name, f"built-in with samples: {extra}"))
            continue
        if len(intent.samples) < MIN_SAMPLES:
            out.append(Finding("error", intent.name, f"only {len(intent.samples)} sample "
                               f"utterances; {MIN_SAMPLES} or more recognise better"))  # fmt: skip
        used: set[str] = set()
        lists = [intent.samples, *(slot.elicitation_samples for slot in intent.slots)]
        every = [(sample, i) for i, samples in enumerate(lists) for sample in samples]
        seen: set[tuple[str, int]] = set()
        for sample, which in every:
            where = f"{intent.name} {sample!r}"
            key = " ".join(sample.lower().split())
            if (key, which) in seen:  # intent samples and slot samples are separate lists
                out.append(Finding("error", where, "the same sample twice in one list"))
            seen.add((key, which))
            refs = SLOT_REF.findall(sample)
            used.update(refs)
            for ref in refs:
                if ref not in slot_names:
                    out.append(Finding("error", where, f"slot {{{ref}}} is not declared"))
            words = SLOT_REF.sub(" ", sample)
            if re.search(r"\d", words):
                out.append(Finding("error", where, "digits: spell numbers out as words"))
            elif not _SAMPLE_CHARS.match(words):
                odd = sorted(set(re.sub(r"[A-Za-z .'\-]", "", words)))
                out.append(Finding("error", where, f"characters Alexa refuses: {''.join(odd)}"))
            if len(sample) > MAX_SAMPLE_CHARS:
                out.append(Finding("error", where, f"longer than {MAX_SAMPLE_CHARS} characters"))
            if sample in intent.samples:
                owners[key].append(intent.name)
                if refs and not set(SLOT_REF.sub(" ", key).split()) - CARRIER_WORDS:
                    out.append(Finding("error", where, "a bare slot catches any request: "
                                       "keep it in the slot's elicitation samples"))  # fmt: skip
        for unused in sorted(slot_names - used):
            out.append(Finding("warning", f"{intent.name}.{unused}", "used in no sample"))
    for sample, intents in sorted(owners.items()):
        if len(set(intents)) > 1:
            names = ", ".join(sorted(set(intents)))
            out.append(Finding("error", repr(sample), f"sample in several intents: {names}"))
    return out


def _slot_values(model: InteractionModel) -> list[Finding]:
    out: list[Finding] = []
    total = 0
    for slot_type in model.types:
        seen: set[str] = set()
        for value in slot_type.values:
            for phrase in (value.value, *value.synonyms):
                total += 1
                where = f"{slot_type.name} {value.id}"
                if len(phrase) > MAX_SLOT_VALUE_CHARS:
                    out.append(Finding("error", where, f"{phrase[:40]!r}...: over "
                                       f"{MAX_SLOT_VALUE_CHARS} characters"))  # fmt: skip
                if not _VALUE_CHARS.match(phrase):
                    out.append(Finding("error", where, f"{phrase!r}: characters Alexa refuses"))
            key = value.value.lower()
            if key in seen:
                out.append(Finding("warning", f"{slot_type.name} {value.id}",
                                   f"{value.value!r} is the value of another id too"))  # fmt: skip
            seen.add(key)
    if total > MAX_PRODUCT_SLOT_VALUES:
        limit = f"{total} values and synonyms; Alexa takes {MAX_PRODUCT_SLOT_VALUES}"
        out.append(Finding("error", "slot values", limit))
    return out


def _routing(model: InteractionModel, parser: IntentParser,
             resolver: Callable[[str], float], example_item: str) -> list[Finding]:  # fmt: skip
    """Samples, filled with example values, that the local parser reads as another intent."""
    out: list[Finding] = []
    for intent in model.intents:
        fill = {f"{{{slot.name}}}": EXAMPLE_FILLERS.get(slot.type, example_item)
                for slot in intent.slots}  # fmt: skip
        for sample in intent.samples:
            text = sample
            for ref, value in fill.items():
                text = text.replace(ref, value)
            read = parser.parse(text, resolver=resolver)
            if read.intent != intent.name:
                said = f"the local parser reads {text!r} as {read.intent}"
                out.append(Finding("warning", f"{intent.name} {sample!r}", said))
    return out


def lint_model(
    model: InteractionModel,
    *,
    resolver: Callable[[str], float] | None = None,
    example_item: str = "bananas",
) -> list[Finding]:
    """Everything worth reporting, errors first."""
    findings = _invocation(model) + _samples(model) + _slot_values(model)
    if resolver is not None:
        findings += _routing(model, IntentParser(model), resolver, example_item)
    return sorted(findings, key=lambda f: (f.severity != "error", f.where))
