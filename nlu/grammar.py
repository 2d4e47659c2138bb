"""Sample utterances generated from parts, not typed out one by one.

A template is words with ``{slot}`` references, ``(a|b|c)`` alternatives (an empty
alternative makes the group optional) and ``[optional words]``. ``expand`` lists
every sentence a template stands for; ``spread`` picks an even, deterministic share of
them when there are more than a model may carry. Both the Alexa model and the local
parser's training data come from these expansions, so there is one list of phrasings.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Sequence
from itertools import product

from nlu.errors import ModelError

_TOKEN = re.compile(r"\(|\)|\[|\]|\||[^()\[\]|]+")


def _parse(tokens: list[str], pos: int, closer: str | None) -> tuple[list[list[str]], int]:
    """Alternatives (each a list of sentence pieces) up to ``closer``."""
    alternatives: list[list[str]] = [[""]]
    while pos < len(tokens):
        token = tokens[pos]
        if token == closer:
            return alternatives, pos + 1
        if token in ")]":
            raise ModelError(f"unbalanced {token!r} in template")
        if token == "|":
            if closer is None:
                raise ModelError("'|' outside a group in template")
            alternatives.append([""])
            pos += 1
            continue
        if token in "([":
            inner, pos = _parse(tokens, pos + 1, ")" if token == "(" else "]")
            choices = [piece for alt in inner for piece in alt]
            if token == "[":
                choices = ["", *choices]
        else:
            choices, pos = [token], pos + 1
        current = alternatives[-1]
        alternatives[-1] = [a + c for a, c in product(current, choices)]
    if closer is not None:
        raise ModelError(f"missing {closer!r} in template")
    return alternatives, pos


def expand(template: str) -> list[str]:
    """Every sentence ``template`` stands for, white space tidied, in a stable order."""
    alternatives, _ = _parse(_TOKEN.findall(template), 0, None)
    sentences = (" ".join(s.split()) for alt in alternatives for s in alt)
    return list(dict.fromkeys(s for s in sentences if s))


def expand_all(templates: Iterable[str]) -> list[str]:
    """The expansions of several templates, de-duplicated, first template first."""
    return list(dict.fromkeys(s for t in templates for s in expand(t)))


def plainest(templates: Iterable[str], per_template: int = 3) -> list[str]:
    """Each template's first sentences: its first alternatives with the optional words
    left out, which is the commonest way to say it when templates list the usual words
    first. Every model keeps these (the exact matches; most of the recognition weight)."""
    return list(dict.fromkeys(s for t in templates for s in expand(t)[:per_template]))


def spread(sentences: Sequence[str], limit: int, *, seed: str = "") -> tuple[str, ...]:
    """At most ``limit`` of the sentences: a seeded (so stable) random choice, kept in
    their order, so every verb and ending is likely represented, not just the first
    template's first verbs."""
    if len(sentences) <= limit:
        return tuple(sentences)
    chosen = set(random.Random(seed).sample(range(len(sentences)), limit))
    return tuple(s for i, s in enumerate(sentences) if i in chosen)


_SLOT_WORD = re.compile(r"\{(\w+)\}")


def to_regex(template: str, slot_body: Callable[[str], str]) -> re.Pattern[str]:
    """One regular expression for every sentence ``template`` stands for.

    It matches normalised text with one space after every word (``"add two limes "``);
    ``{slot}`` becomes a named group whose body ``slot_body(name)`` gives. Groups must
    hold whole words, and a slot may appear once per template.
    """
    tokens = _TOKEN.findall(template)

    def sequence(pos: int, closer: str | None) -> tuple[str, int]:
        alternatives: list[list[str]] = [[]]
        while pos < len(tokens):
            token = tokens[pos]
            if token == closer:
                return "|".join("".join(a) for a in alternatives), pos + 1
            if token == "|":
                alternatives.append([])
                pos += 1
            elif token in "([":
                inner, pos = sequence(pos + 1, ")" if token == "(" else "]")
                alternatives[-1].append(f"(?:{inner})" + ("?" if token == "[" else ""))
            elif token in ")]":
                raise ModelError(f"unbalanced {token!r} in template {template!r}")
            else:
                before, after = tokens[pos - 1] if pos else " ", tokens[pos + 1 : pos + 2]
                glued = (before in ")]" and not token[0].isspace()) or (
                    after and after[0] in "([" and not token[-1].isspace()
                )
                if glued:
                    raise ModelError(f"template groups must hold whole words: {template!r}")
                for word in token.split():
                    slot = _SLOT_WORD.fullmatch(word)
                    alternatives[-1].append(
                        f"(?P<{slot.group(1)}>{slot_body(slot.group(1))}) "
                        if slot else re.escape(word) + " "
                    )  # fmt: skip
                pos += 1
        if closer is not None:
            raise ModelError(f"missing {closer!r} in template {template!r}")
        return "|".join("".join(a) for a in alternatives), pos

    body, _ = sequence(0, None)
    try:
        return re.compile(f"^(?:{body})$")
    except re.error as exc:
        raise ModelError(f"template {template!r}: {exc}") from exc
