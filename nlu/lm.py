"""A small trigram language model in ARPA format, built from weighted domain sentences.

It biases an open-vocabulary recogniser (PocketSphinx) toward what shoppers say to
voicecart. Sentences carry weights so that every sample utterance gets its own share of
probability however many products fill its slot: "place my order" is one sentence,
"reorder my {item}" is hundreds, and without weights the product-filled samples drown
the fixed ones ("place my lager"). Witten-Bell backoff over (fractional) counts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

START, END = "<s>", "</s>"
Gram = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Bias:
    """Domain sentences, each with a weight (its share of the probability mass).

    The one form of domain biasing every engine takes: Vosk uses the sentences as a
    grammar, PocketSphinx builds a trigram model from sentences and weights.
    """

    sentences: tuple[str, ...]
    weights: tuple[float, ...]

    @classmethod
    def of(cls, phrases: Iterable[str] | Bias) -> Bias:
        """Plain phrases count equally."""
        if isinstance(phrases, Bias):
            return phrases
        unique = tuple(dict.fromkeys(p for p in phrases if p.strip()))
        return cls(unique, (1.0,) * len(unique))

    def __len__(self) -> int:
        return len(self.sentences)


@dataclass(frozen=True, slots=True)
class Background:
    """A general language model to interpolate with the domain's, so words outside the
    domain come out as themselves instead of as the nearest domain word.

    ``logprob(gram)`` is the general model's log10 probability of the gram's last word
    after the others; ``words`` are the general words the mixture may produce beyond
    the domain's; ``weight`` is the general model's share (the domain gets the rest).
    """

    logprob: Callable[[tuple[str, ...]], float]
    words: tuple[str, ...]
    weight: float


def ngram_arpa(bias: Bias, order: int = 3, background: Background | None = None) -> str:
    """ARPA text for the Witten-Bell backoff model of the weighted sentences.

    With a ``background``, the unigram distribution (what every history backs off to)
    is interpolated: the domain's words keep ``1 - weight`` of it, in their domain
    proportions, and the background's other words share ``weight`` as general English
    spreads it; backoff weights are renormalised so each history still sums to one,
    and the domain's bigrams and trigrams keep their probabilities. (Mixing those too,
    or the common words the domain already has, moved the domain's own choices: "add
    two bananas to my cart" was heard as "... to my tall".)"""
    if not bias.sentences:
        raise ValueError("no sentences to build a language model from")
    smallest = min(w for w in bias.weights if w > 0) if any(w > 0 for w in bias.weights) else 1.0
    scale = 1.0 / smallest  # Witten-Bell wants counts >= 1: the rarest sentence counts once
    counts: list[dict[Gram, float]] = [defaultdict(float) for _ in range(order + 1)]
    for sentence, weight in zip(bias.sentences, bias.weights, strict=True):
        if weight <= 0:
            continue
        words = [START, *sentence.split(), END]
        for n in range(1, order + 1):
            for i in range(len(words) - n + 1):
                counts[n][tuple(words[i : i + n])] += weight * scale
    total = sum(c for g, c in counts[1].items() if g != (START,))
    vocabulary = len(counts[1])
    logprob: list[dict[Gram, float]] = [{} for _ in range(order + 1)]
    mix = background.weight if background else 0.0

    extra = [(w,) for w in (background.words if background and mix > 0 else ())
             if (w,) not in counts[1]]  # fmt: skip
    general = {gram: 10 ** background.logprob(gram) for gram in extra} if background else {}
    general_total = sum(general.values()) or 1.0
    for gram, count in counts[1].items():
        domain = (count + 0.5) / (total + 0.5 * vocabulary)
        logprob[1][gram] = -99.0 if gram == (START,) else math.log10((1 - mix) * domain)
    for gram, p in general.items():  # the general share, spread as general English would
        logprob[1][gram] = math.log10(max(1e-99, mix * p / general_total))
    backoff: dict[Gram, float] = {}

    def lower(gram: Gram) -> float:
        """P(last word | shorter history), backing off as the model will."""
        if len(gram) == 1:
            return 10 ** logprob[1].get(gram, -99.0)
        if gram in logprob[len(gram)]:
            return 10 ** logprob[len(gram)][gram]
        return backoff.get(gram[:-1], 1.0) * lower(gram[1:])

    for n in range(2, order + 1):
        seen: dict[Gram, float] = defaultdict(float)
        kinds: dict[Gram, int] = defaultdict(int)
        for gram, count in counts[n].items():
            seen[gram[:-1]] += count
            kinds[gram[:-1]] += 1
        covered: dict[Gram, float] = defaultdict(float)
        explicit: dict[Gram, float] = defaultdict(float)
        for gram, count in counts[n].items():
            history = gram[:-1]
            logprob[n][gram] = math.log10(count / (seen[history] + kinds[history]))
            explicit[history] += 10 ** logprob[n][gram]
            covered[history] += lower(gram[1:])
        for history in seen:
            left = max(1e-9, 1.0 - explicit[history])
            backoff[history] = left / max(1e-9, 1.0 - covered[history])
    lines = ["\\data\\", *(f"ngram {n}={len(logprob[n])}" for n in range(1, order + 1)), ""]
    for n in range(1, order + 1):
        lines.append(f"\\{n}-grams:")
        for gram in sorted(logprob[n]):
            line = f"{logprob[n][gram]:.5f} {' '.join(gram)}"
            if n < order:
                line += f" {math.log10(backoff.get(gram, 1.0)):.5f}"
            lines.append(line)
        lines.append("")
    lines += ["\\end\\", ""]
    return "\n".join(lines)
