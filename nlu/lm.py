"""A small bigram language model in ARPA format, built from the domain's own sentences.

It biases an open-vocabulary recogniser (PocketSphinx) toward what shoppers say to
voicecart: the interaction model's samples with products, numbers and ordinals filled in.
Witten-Bell discounting, add-one unigrams; tiny and built in well under a second.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import pairwise

START, END = "<s>", "</s>"


def bigram_arpa(sentences: Iterable[str]) -> str:
    """ARPA text for the bigram model of ``sentences`` (words separated by spaces)."""
    unigrams: Counter[str] = Counter()
    bigrams: Counter[tuple[str, str]] = Counter()
    for sentence in sentences:
        words = [START, *sentence.split(), END]
        unigrams.update(words)
        bigrams.update(pairwise(words))
    if not bigrams:
        raise ValueError("no sentences to build a language model from")
    total, vocabulary = sum(unigrams.values()), len(unigrams)
    p_uni = {w: (c + 1) / (total + vocabulary) for w, c in unigrams.items()}
    following: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for (first, second), count in bigrams.items():
        following[first].append((second, count))
    p_bi: dict[tuple[str, str], float] = {}
    backoff: dict[str, float] = {}
    for first, items in following.items():
        seen = sum(count for _, count in items)
        kinds = len(items)
        for second, count in items:
            p_bi[(first, second)] = count / (seen + kinds)
        left = kinds / (seen + kinds)
        backoff[first] = left / max(1e-12, 1.0 - sum(p_uni[s] for s, _ in items))
    lines = ["\\data\\", f"ngram 1={len(unigrams)}", f"ngram 2={len(p_bi)}", "", "\\1-grams:"]
    for word in sorted(unigrams):
        prob = -99.0 if word == START else math.log10(p_uni[word])
        lines.append(f"{prob:.5f} {word} {math.log10(backoff.get(word, 1.0)):.5f}")
    lines += ["", "\\2-grams:"]
    lines += [f"{math.log10(p):.5f} {a} {b}" for (a, b), p in sorted(p_bi.items())]
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)
