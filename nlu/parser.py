"""The local intent parser: the interaction model's sample utterances, compiled.

Every sample becomes an anchored regular expression: literal words must appear (after
normalisation), ``{slot}`` captures words, ``AMAZON.NUMBER`` accepts digits or number
words. Among matching samples the most specific wins (most literal words); a product
slot is checked with the caller's resolver, so "add bananas" beats "add nonsense" and
an utterance no sample explains becomes ``AMAZON.FallbackIntent``. Imports no other
voicecart package: products arrive through :class:`ProductResolver`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from nlu.builtins import BUILTIN_TEMPLATES
from nlu.grammar import to_regex
from nlu.model import IntentDef, InteractionModel

FALLBACK = "AMAZON.FallbackIntent"
_UNITS = {"zero": 0, "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5,
          "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
          "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
          "eighteen": 18, "nineteen": 19}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}  # fmt: skip
_SMALL = r"(?:" + "|".join(k for k in _UNITS if k not in ("an", "zero")) + r")"
_NUMBER = (  # longest readings first: a regex alternation takes the first that fits
    r"(?:minus |negative )?(?:a couple(?: of)?|\d+|"
    + _SMALL
    + r" hundred(?:(?: and)? (?:(?:"
    + "|".join(_TENS)
    + r")(?:[ -]"
    + _SMALL
    + r")?|"
    + _SMALL
    + r"))?|(?:"
    + "|".join(_TENS)
    + r")(?:[ -](?:"
    + "|".join(k for k in _UNITS if k not in ("a", "an", "zero"))
    + r"))?|"
    + "|".join(sorted((k for k in _UNITS if k not in ("a", "an")), key=len, reverse=True))
    + r")"
)
_DIGIT_WORD = (r"(?:\d+|oh|double|hundred|"
               + "|".join(sorted((k for k in (*_UNITS, *_TENS) if k not in ("a", "an")),
                                 key=len, reverse=True)) + r")")  # fmt: skip
_DIGITS = _DIGIT_WORD + r"(?:\s+" + _DIGIT_WORD + r")*"
"""``AMAZON.FOUR_DIGIT_NUMBER``: digits said one by one or in pairs, any length (the
skill checks the length, so a short code is asked again rather than misheard)."""
ORDINALS = {"first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5",
             "1st": "1", "2nd": "2", "3rd": "3", "4th": "4", "5th": "5",
             "last": "last"}  # fmt: skip
_ORDINAL = r"(?:" + "|".join(ORDINALS) + r")"
_FILLER_PREFIX = re.compile(
    r"^(?:(?:alexa|hey|hi there|hi|hello|ok|okay|um|uh|so|and|oh|also|please|can you|could you"
    r"|would you"
    r"|ask voice cart to|ask voicecart to|tell voice cart to|tell voicecart to)\s+)+"
)
_FILLER_SUFFIX = re.compile(r"(?:\s+(?:please|thanks|thank you|now))+$")

ARTICLES = frozenset({"the", "a", "an", "some", "my"})
"""Words that explain nothing by themselves: not counted for or against a reading."""
UNASKED_ANSWER = 0.8
"""Confidence factor for an answer intent (``InteractionModel.answer_intents``) when its
question was not asked."""
UNFIT_SLOT = 0.3
"""Confidence factor for a product slot the catalogue does not recognise."""
MAX_UTTERANCE_CHARS = 1_000
"""Longer text is no request (twice the typed channel's own limit) and is the fallback at
once: matching every template against it would take seconds."""
ProductResolver = Callable[[str], float]
"""Given the words of a product slot, how well (0-100) they name a catalogue product."""


_CONTRACTIONS = {"whats": "what's", "wheres": "where's", "whens": "when's", "hows": "how's",
                 "lets": "let's", "im": "i'm", "ive": "i've", "id": "i'd", "ill": "i'll",
                 "dont": "don't", "didnt": "didn't", "doesnt": "doesn't", "cant": "can't",
                 "wont": "won't", "isnt": "isn't", "hasnt": "hasn't", "havent": "haven't",
                 "theyre": "they're", "thats": "that's", "whatve": "what've",
                 "weve": "we've", "youre": "you're", "its": "it's", "pls": "please",
                 "plz": "please", "thx": "thanks", "ty": "thank you", "nvm": "never mind",
                 "rn": "right now", "teh": "the"}  # fmt: skip
"""Contractions typed (or transcribed) without their apostrophe, and chat shorthand."""
_TIMES_AFTER = re.compile(r"\bx(\d{1,2})\b")
_TIMES_BEFORE = re.compile(r"\b(\d{1,2})x\b")
_WERE = re.compile(r"\bwere (?=(?:all |almost |totally |completely )?(?:out|running|low|gonna"
                   r"|going|done|good|finished|ready|set)\b)")  # fmt: skip
""""were out of eggs" is "we're out of eggs"."""
_ENDEARMENT = r"(?:dear|love|luv|hon|hun|sweetie|darling|mate|bro|bruh|dude|buddy|pal|y'all)"
_ASIDES = (
    (re.compile(r"\bbe (?:a|an) (?:dear|love|doll|darling|sweetheart|star|angel) and "), ""),
    (re.compile(r"^(?:yo|oi|bro|bruh|dude|mate)\s+"), ""),
    (re.compile(r"(?:\s+(?:" + _ENDEARMENT + r"|cheers|ta|ta ra|ta ta))+$"), ""),
)
"""Addressing the speaker ("be a dear and ...", "..., love", "cheers", "yo"): no request."""
_REPEATED = re.compile(r"\b([a-z']+)(?: \1\b)+")
"""A stammer ("the, the yogurt", "when's, when's it coming"); numbers are left alone."""


def _unstammer(match: re.Match[str]) -> str:
    word = match.group(1)
    return match.group(0) if word in _UNITS or word in _TENS or word in ("oh", "double") else word


def normalize_utterance(text: str, *, keep_fillers: bool = False) -> str:
    """Lower case, no punctuation except apostrophes, contractions with their apostrophe,
    no stammers or endearments, and (unless ``keep_fillers``) no polite or wake-word
    padding."""
    lowered = text.lower().replace("\u2019", "'").replace("-", " ")
    lowered = re.sub(r"[^a-z0-9' ]+", " ", lowered)
    lowered = " ".join(_CONTRACTIONS.get(w, w) for w in lowered.split() if w != "voicecart")
    lowered = _TIMES_AFTER.sub(r"x \1", _TIMES_BEFORE.sub(r"\1 x", lowered))  # "eggs x2", "2x eggs"
    lowered = _WERE.sub("we're ", lowered)
    lowered = _REPEATED.sub(_unstammer, lowered)
    for aside, instead in _ASIDES:
        lowered = aside.sub(instead, lowered)
    return lowered if keep_fillers else _strip_fillers(lowered)


MAX_NUMBER_DIGITS = 9
"""Longer digit runs are no number anyone says (and ``int()`` refuses very long ones)."""


def spoken_number(words: str) -> int | None:
    """'twenty four' -> 24, '3' -> 3, 'a couple of' -> 2; ``None`` when not a number
    (nor for more than :data:`MAX_NUMBER_DIGITS` digits)."""
    words = words.strip().replace("-", " ")
    negative = words.startswith(("minus ", "negative "))
    if negative:
        words = words.split(" ", 1)[1]
    if words.isdigit():  # ASCII only: '²' passes isdigit() but not int()
        if not words.isascii() or len(words) > MAX_NUMBER_DIGITS:
            return None
        value = int(words)
    elif words.startswith("a couple"):
        value = 2
    elif words in ("a dozen", "dozen"):
        value = 12
    else:
        parts = [p for p in words.split() if p != "and"]
        value = 0
        for part in parts:
            if part in _TENS:
                value += _TENS[part]
            elif part in _UNITS:
                value += _UNITS[part]
            elif part == "hundred" and 0 < value < 10:
                value *= 100
            else:
                return None
    return -value if negative else value


def spoken_digits(words: str) -> str | None:
    """'one two three four' -> '1234', 'twelve thirty four' -> '1234', 'oh seven double
    five' -> '0755'; ``None`` when a word is not a digit."""
    tokens = words.split()
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token, following = tokens[i], tokens[i + 1] if i + 1 < len(tokens) else ""
        if token.isascii() and token.isdigit():
            out.append(token)
        elif token in ("oh", "zero"):
            out.append("0")
        elif token == "double" and following in _UNITS and 0 <= _UNITS[following] <= 9:
            out.append(str(_UNITS[following]) * 2)
            i += 1
        elif token in _TENS:
            unit = _UNITS.get(following, 0) if following not in ("a", "an") else 0
            out.append(str(_TENS[token] + unit) if 1 <= unit <= 9 else str(_TENS[token]))
            i += 1 if 1 <= unit <= 9 else 0
        elif token == "hundred" and out:
            out.append("00")
        elif token in _UNITS and token not in ("a", "an"):
            out.append(str(_UNITS[token]))
        else:
            return None
        i += 1
    return "".join(out) or None


@dataclass(frozen=True, slots=True)
class Parse:
    """The parser's reading of one utterance."""

    text: str
    intent: str
    slots: dict[str, str] = field(default_factory=dict)
    confidence: float = 0.0
    sample: str | None = None
    alternatives: tuple[tuple[str, float], ...] = ()
    elicited: bool = False
    """Read with a slot-elicitation sample: the answer to a question the skill asked."""
    source: str = "template"
    """Which parser read it: ``template`` (exact samples) or ``trained``."""


@dataclass(frozen=True, slots=True)
class _Pattern:
    intent: str
    sample: str
    """The template (or sample) it was compiled from."""
    regex: re.Pattern[str]
    slot_types: dict[str, str]
    elicited: bool = False


@dataclass(frozen=True, slots=True)
class _Fit:
    pattern: _Pattern
    slots: dict[str, str]
    literal_words: int
    """Words of the utterance the template's own words explain (not slot values)."""
    score: float


def _slot_body(kind: str) -> str:
    if kind == "AMAZON.NUMBER":
        return _NUMBER + r"(?! percent\b)"  # "two percent milk" is a product
    if kind == "AMAZON.FOUR_DIGIT_NUMBER":
        return _DIGITS
    if kind == "AMAZON.Ordinal":
        return _ORDINAL
    return r"\S+(?: \S+)*?"


def _compile(intent: IntentDef, template: str, *, elicited: bool = False) -> _Pattern:
    types = {slot.name: slot.type for slot in intent.slots}
    said = re.sub(r"(?<![{\w'])[a-z']+(?![}\w'])",  # its words as utterances are normalised
                  lambda w: _CONTRACTIONS.get(w.group(0), w.group(0)),
                  template.lower().replace("-", " "))  # fmt: skip
    regex = to_regex(said, lambda name: _slot_body(types[name]))
    return _Pattern(intent.name, template, regex, types, elicited)


def _strip_fillers(clean: str) -> str:
    stripped = _FILLER_PREFIX.sub("", clean)
    return _FILLER_SUFFIX.sub("", stripped).strip()


class IntentParser:
    """Compiled from one :class:`InteractionModel`; parses typed or transcribed text.

    Each intent's templates (every phrasing the model knows, not only the samples Alexa
    gets) become one regular expression; so does each built-in intent's and each slot's
    elicitation samples (tried only when that intent asked for the slot)."""

    def __init__(self, model: InteractionModel, resolver: ProductResolver | None = None) -> None:
        self.resolver = resolver
        self.answer_intents = frozenset(model.answer_intents)
        self.item_intents = frozenset(
            i.name for i in model.intents
            if i.name not in self.answer_intents and any(s.name == "item" for s in i.slots)
        )  # fmt: skip
        """Requests about a product (its words in the ``item`` slot)."""
        self.patterns: list[_Pattern] = []
        self.answers: dict[str, list[_Pattern]] = {}
        for intent in model.intents:
            phrasings = (intent.templates or intent.samples
                         or BUILTIN_TEMPLATES.get(intent.name, ()))  # fmt: skip
            self.patterns += [_compile(intent, t) for t in phrasings]
            answers = dict.fromkeys(s for slot in intent.slots for s in slot.elicitation_samples)
            self.answers[intent.name] = [_compile(intent, s, elicited=True) for s in answers]

    def parse(
        self,
        text: str,
        *,
        expecting: str | None = None,
        resolver: ProductResolver | None = None,
    ) -> Parse:
        """Read ``text``; ``expecting`` names an intent whose slot was just asked for."""
        if len(text) > MAX_UTTERANCE_CHARS:
            return Parse(text, FALLBACK)
        resolve = resolver or self.resolver
        full = normalize_utterance(text, keep_fillers=True)
        readings = dict.fromkeys((full, _strip_fillers(full)))  # "please do" and "add x please"
        fits: list[_Fit] = []
        for clean in readings:
            if not clean:
                continue
            words = len(clean.split())
            for pattern in (*self.patterns, *self.answers.get(expecting or "", ())):
                found = pattern.regex.match(clean + " ")
                if found is None:
                    continue
                slots = {k: v.strip() for k, v in found.groupdict().items() if v and v.strip()}
                # Numbers, codes and ordinals are the sentence's grammar; only product
                # words are what the template leaves unexplained; articles count for
                # neither ("i mean the x" explains no more than "i need x").
                product_words = [w for k, v in slots.items()
                                 if not pattern.slot_types[k].startswith("AMAZON.")
                                 for w in v.split()]  # fmt: skip
                unexplained = sum(w not in ARTICLES for w in product_words)
                weighed = sum(w not in ARTICLES for w in clean.split())
                score = self._score(pattern, slots, weighed - unexplained, weighed, expecting,
                                    resolve)  # fmt: skip
                if pattern.intent in self.answer_intents and expecting != pattern.intent:
                    score *= UNASKED_ANSWER
                literal = words - len(product_words)
                if score > 0:
                    fits.append(_Fit(pattern, slots, literal, score))
        if not fits:
            return Parse(text, FALLBACK, confidence=0.0 if full else 1.0)
        # Best score, then more of the template's own words, then more slots filled (a
        # number read as "quantity" rather than left inside the product words).
        fits.sort(key=lambda f: (-round(f.score, 3), -f.literal_words, -len(f.slots),
                                 f.pattern.sample))  # fmt: skip
        best = fits[0]
        alternatives: dict[str, float] = {}
        for fit in fits[1:]:
            if fit.pattern.intent != best.pattern.intent:
                alternatives.setdefault(fit.pattern.intent, round(fit.score, 3))
        return Parse(
            text=text,
            intent=best.pattern.intent,
            slots=self._canonical(best.pattern, best.slots),
            confidence=round(best.score, 3),
            sample=best.pattern.sample,
            alternatives=tuple(alternatives.items())[:3],
            elicited=best.pattern.elicited,
        )

    @staticmethod
    def _score(
        pattern: _Pattern,
        slots: dict[str, str],
        literal: int,
        words: int,
        expecting: str | None,
        resolve: ProductResolver | None,
    ) -> float:
        """0-1: how much of the utterance the template's own words explain, and slot fit."""
        score = 0.55 + 0.45 * literal / max(1, words)
        for name, value in slots.items():
            kind = pattern.slot_types.get(name, "")
            if kind.startswith("AMAZON."):
                continue
            fit = min(1.0, resolve(value) / 100.0) if resolve else 0.7
            if fit < 0.6:
                if literal == 0:
                    return 0.0  # a bare "unicorn" answers nothing
                # "add a unicorn saddle" is still a request to add: kept, but weak, so
                # the skill can say it has no such thing unless a reading that fits wins.
                score *= UNFIT_SLOT
                continue
            score *= 0.6 + 0.4 * fit
        if literal == 0:
            # A bare slot ("bananas") only answers a question that was asked.
            score *= 0.95 if expecting else 0.5
        if expecting and pattern.intent == expecting:
            score = min(1.0, score + 0.05)
        return score

    @staticmethod
    def _canonical(pattern: _Pattern, slots: dict[str, str]) -> dict[str, str]:
        """Slot values as Alexa sends them: numbers, codes and ordinals as digits."""
        out = {}
        for name, value in slots.items():
            kind = pattern.slot_types.get(name, "")
            if kind == "AMAZON.NUMBER":
                number = spoken_number(value)
                out[name] = str(number) if number is not None else "?"
            elif kind == "AMAZON.FOUR_DIGIT_NUMBER":
                out[name] = spoken_digits(value) or "?"
            elif kind == "AMAZON.Ordinal":
                out[name] = ORDINALS.get(value, value)
            else:
                out[name] = value
        return out
