"""Typed requests' misspelt frame words ("chekout", "cancle my oder"), put right before
parsing.

A noisy-channel choice, as spelling correctors make it: a word neither the model nor the
catalogue uses is replaced by the nearest model word (one edit away, two for long words;
among equals the one most phrasings use, so "oder" is "order", not "over") when that word
is far more common in English (wordfreq's Zipf scale) than the word as typed, so
"weather" stays itself. Product words are left to the catalogue's fuzzy matcher: a word
as close to one of them as to a frame word is not touched. Recognisers only emit words
they know, so this matters to typed text alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from nlu.parser import normalize_utterance

MIN_LENGTH = 4
"""Shorter words are too often something else one edit away ("ad", "pls")."""
LONG_WORD = 7
"""From this length two edits are allowed ("chekkout"), below it one."""
COMMONER = 1.5
"""How much more common (Zipf points: 1.5 is about thirty times) the correction must be
than the word as typed."""
OWN_WORD = 2.0
"""A word English uses this often (Zipf: once in ten million words) is meant as typed."""
RIVAL = 3
"""Among words as near, the likeliest must be used this many times as often as the next."""
_WORD = re.compile(r"[a-z]+")
_TOKEN = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


@lru_cache(maxsize=4096)
def _zipf(word: str) -> float:
    from wordfreq import zipf_frequency  # its word lists load on first use

    return float(zipf_frequency(word, "en"))


class FrameSpeller:
    """:meth:`correct` puts misspelt frame words right; built once per model+catalogue."""

    def __init__(self, frame_words: Mapping[str, int], value_words: Iterable[str]) -> None:
        """``frame_words``: the model's words, each with how many phrasings use it."""
        self.uses = {w: n for w, n in frame_words.items() if _WORD.fullmatch(w) and len(w) >= 3}
        self.frame = sorted(self.uses)
        self.values = sorted({w for w in value_words if _WORD.fullmatch(w)} - set(self.frame))
        self._known = frozenset(self.frame) | frozenset(self.values)
        self._cache: dict[str, str] = {}

    def correct(self, text: str) -> str:
        """``text`` with each misspelt frame word replaced (in lower case; everything
        else, punctuation too, as it was)."""
        return _TOKEN.sub(lambda found: self.word(found.group(0)), text)

    def word(self, word: str) -> str:
        """The frame word ``word`` was meant to be, or ``word`` itself."""
        lowered = word.lower()
        if len(lowered) < MIN_LENGTH or lowered in self._known or not _WORD.fullmatch(lowered):
            return word
        if normalize_utterance(lowered, keep_fillers=True) != lowered:
            return word  # shorthand the parser reads as words already ("whats", "thx")
        if lowered not in self._cache:
            self._cache[lowered] = self._nearest(lowered) or word
        return self._cache[lowered]

    def _nearest(self, word: str) -> str | None:
        limit = 2 if len(word) >= LONG_WORD else 1
        near = process.extract(word, self.frame, scorer=DamerauLevenshtein.distance,
                               score_cutoff=limit, limit=None)  # fmt: skip
        if not near:
            return None
        best = min(distance for _, distance, _ in near)
        candidates = sorted((w for w, distance, _ in near if distance == best),
                            key=lambda w: self.uses[w])  # fmt: skip
        choice = candidates[-1]
        if len(candidates) > 1 and self.uses[candidates[-2]] * RIVAL > self.uses[choice]:
            return None  # two frame words fit about as well: no guess
        if _zipf(word) >= OWN_WORD or _zipf(word) + COMMONER > _zipf(choice):
            return None  # a word of its own ("remotes" is no "remove")
        product = process.extractOne(word, self.values, scorer=DamerauLevenshtein.distance,
                                     score_cutoff=best)  # fmt: skip
        return None if product is not None else choice
