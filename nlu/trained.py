"""The trained parser: an intent classifier and a slot tagger learnt from the model.

The classifier is logistic regression over word (1-2) and character (2-4) n-grams; its
probability is the parse's confidence, and below ``threshold`` the reading is
``AMAZON.FallbackIntent`` with the closest intents as alternatives. The slot tagger is
a linear-chain CRF (CRFsuite) over each word and its neighbours, told the intent. Both
are trained from :func:`nlu.training.training_examples` and kept on disk under a key of
everything they were trained from, so a worker loads in milliseconds what the first
process trained.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import pickle
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nlu.builtins import BUILTIN_TEMPLATES
from nlu.errors import NluError
from nlu.model import InteractionModel
from nlu.parser import (
    FALLBACK,
    ORDINALS,
    Parse,
    normalize_utterance,
    spoken_digits,
    spoken_number,
)
from nlu.training import SPOKEN_NUMBERS, Example, training_examples

log = logging.getLogger("voicecart.nlu")

TRAINER_VERSION = 1
"""Bump when features or training change: old files on disk are then not reused."""
THRESHOLD = 0.45
"""Below this classifier probability a reading is the fallback (tuned on the dev set)."""
UNEXPLAINED_POWER = 1.5
"""The confidence is scaled by the share of words a reading explains (in the model's
vocabulary, or inside a product slot), to this power."""
# fmt: off
FUNCTION_WORDS = frozenset({
    "a", "an", "the", "some", "any", "my", "our", "your", "his", "her", "their", "its", "me",
    "us", "you", "him", "them", "it", "i", "we", "he", "she", "they", "this", "that",
    "these", "those", "of", "to", "in", "on", "at", "for", "from", "with", "about", "by",
    "into", "onto", "off", "out", "up", "down", "over", "and", "or", "but", "so", "if",
    "then", "than", "as", "is", "are", "was", "were", "be", "been", "am", "do", "does",
    "did", "have", "has", "had", "will", "would", "can", "could", "shall", "should", "may",
    "might", "must", "just", "also", "too", "very", "really", "please"
})
# fmt: on
"""Words every request and every stray sentence share."""
STRAY_CONTENT = 0.5
"""A reading with a product whose other words are mostly strangers (over this share of
the words that carry meaning) ..."""
STRAY_PENALTY = 0.5
"""... keeps this share of its probability."""
OFFER_EXPLAINED = 0.75
"""A fallback offers the closest intent only when this share of its words is the model's
("could you maybe put it in the basket", not "sing me a song about the sea")."""
MAX_VALUES = 4000
"""Slot values sampled for training: the tagger learns the frame, not every product."""
_NUMBERISH = frozenset({"one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                        "ten", "eleven", "twelve", "twenty", "thirty", "forty", "fifty", "a",
                        "couple", "dozen", "oh", "zero", "hundred"})  # fmt: skip


class TrainingError(NluError):
    """The trained parser could not be built (say which step and why)."""


@dataclass(frozen=True, slots=True)
class TrainingReport:
    examples: int
    seconds: float
    key: str
    loaded: bool
    """True when the files on disk were reused, nothing trained."""


def _features(words: Sequence[str], intent: str, vocabulary: frozenset[str]) -> list[list[str]]:
    """CRFsuite features per word: itself, its shape, its neighbours, the intent."""
    out = []
    n = len(words)
    for i, word in enumerate(words):
        f = [
            "bias",
            f"w={word}",
            f"suf3={word[-3:]}",
            f"pre3={word[:3]}",
            f"intent={intent}",
            f"digit={word.isdigit()}",
            f"num={word in _NUMBERISH}",
            f"cat={word in vocabulary}",
            f"intent_w={intent}|{word}",
        ]
        for offset in (-2, -1, 1, 2):
            j = i + offset
            other = words[j] if 0 <= j < n else ("<s>" if j < 0 else "</s>")
            f.append(f"w{offset:+d}={other}")
            if abs(offset) == 1:
                f.append(f"cat{offset:+d}={other in vocabulary}")
        if i > 0:
            f.append(f"bi-={words[i - 1]}|{word}")
        if i < n - 1:
            f.append(f"bi+={word}|{words[i + 1]}")
        out.append(f)
    return out


def training_key(
    model: InteractionModel, values: Mapping[str, Sequence[str]], dictionary: Sequence[str] = ()
) -> str:
    """Everything the parser is trained from, hashed: the files' name on disk. The code
    that generates the data and the features counts too, so an edit never loads an old
    parser."""
    import pycrfsuite
    import sklearn

    from nlu import training

    digest = hashlib.sha256()
    spec = {
        "version": TRAINER_VERSION,
        "sklearn": sklearn.__version__,
        "intents": [(i.name, i.templates or i.samples, [(s.name, s.type, s.elicitation_samples)
                                                       for s in i.slots])
                    for i in model.intents],
        "builtins": BUILTIN_TEMPLATES,
        "bare": model.bare_answer_intent,
        "crfsuite": getattr(pycrfsuite, "__version__", ""),
    }  # fmt: skip
    digest.update(json.dumps(spec, sort_keys=True).encode())
    for module in (training, sys.modules[__name__]):
        digest.update(inspect.getsource(module).encode())
    digest.update("\n".join(dictionary).encode())
    for kind in sorted(values):
        digest.update(kind.encode())
        for value in values[kind]:
            digest.update(value.encode() + b"\n")
    return digest.hexdigest()[:20]


def _sample_values(
    values: Mapping[str, Sequence[str]], limit: int = MAX_VALUES
) -> dict[str, list[str]]:
    import random

    rng = random.Random(0)
    out = {}
    for kind, phrases in values.items():
        unique = sorted({" ".join(normalize_utterance(p).split()) for p in phrases} - {""})
        out[kind] = unique if len(unique) <= limit else sorted(rng.sample(unique, limit))
    return out


class TrainedParser:
    """Intent classifier + slot tagger; :meth:`fit` or :meth:`load`, then :meth:`parse`."""

    def __init__(
        self,
        classifier: Any,
        tagger_path: Path,
        vocabulary: frozenset[str],
        slot_types: dict[str, dict[str, str]],
        threshold: float = THRESHOLD,
    ) -> None:
        import pycrfsuite

        self._classifier = classifier
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open(str(tagger_path))
        self._lock = threading.Lock()  # a CRFsuite tagger is not thread-safe
        self.vocabulary = vocabulary
        self.slot_types = slot_types
        self.threshold = threshold

    @classmethod
    def fit_or_load(
        cls,
        model: InteractionModel,
        values: Mapping[str, Sequence[str]],
        cache_dir: Path,
        *,
        dictionary: Sequence[str] = (),
    ) -> tuple[TrainedParser, TrainingReport]:
        """Load the files trained from exactly this model, these values and this code, or
        train them and move them into place in one rename (concurrent workers never see
        half a folder; an unusable folder is set aside and trained again)."""
        sampled = _sample_values(values)
        key = training_key(model, sampled, dictionary)
        folder = cache_dir / key
        slot_types = {i.name: {s.name: s.type for s in i.slots} for i in model.intents}
        vocabulary = frozenset(w for phrases in sampled.values() for p in phrases
                               for w in p.split())  # fmt: skip
        started = time.perf_counter()
        if folder.exists():
            found = cls._load(folder, vocabulary, slot_types)
            if found is not None:
                parser, trained_on = found
                return parser, TrainingReport(trained_on, time.perf_counter() - started, key, True)
            log.warning("trained parser files in %s are unusable: training again", folder)
            shutil.rmtree(folder, ignore_errors=True)
        examples = training_examples(model, sampled, dictionary=dictionary)
        cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=cache_dir, prefix=f".{key}-"))
        try:
            classifier = _fit_classifier(examples, frame_words(model))
            _fit_tagger(examples, vocabulary, staging / "slots.crfsuite")
            with (staging / "classifier.pkl").open("wb") as handle:
                pickle.dump(classifier, handle, protocol=pickle.HIGHEST_PROTOCOL)
            seconds = time.perf_counter() - started
            report = TrainingReport(len(examples), seconds, key, False)
            (staging / "meta.json").write_text(json.dumps(asdict(report)))
            staging.chmod(0o755)  # workers may run as another user than the trainer
            try:
                os.rename(staging, folder)
            except OSError:  # another process got there first: use theirs
                found = cls._load(folder, vocabulary, slot_types)
                if found is None:
                    raise TrainingError(f"{folder} appeared but cannot be loaded") from None
                return found[0], report
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        log.info("trained parser: %d examples in %.1f s (%s)", len(examples), seconds, key)
        return cls(classifier, folder / "slots.crfsuite", vocabulary, slot_types), report

    @classmethod
    def _load(
        cls, folder: Path, vocabulary: frozenset[str], slot_types: dict[str, dict[str, str]]
    ) -> tuple[TrainedParser, int] | None:
        """The parser in ``folder`` and how many sentences trained it; ``None`` when any
        of its files is missing or unreadable (whatever the error)."""
        try:
            meta = json.loads((folder / "meta.json").read_text())
            with (folder / "classifier.pkl").open("rb") as handle:
                classifier = pickle.load(handle)  # our own cache folder, written above
            parser = cls(classifier, folder / "slots.crfsuite", vocabulary, slot_types)
            parser.intent_scores("add milk")  # a classifier that cannot score is no use
            return parser, int(meta["examples"])
        except Exception as exc:
            log.warning("cannot load the trained parser in %s: %s", folder, exc)
            return None

    def intent_scores(self, text: str) -> list[tuple[str, float]]:
        """Every intent with its probability, most likely first."""
        probabilities = self._classifier.predict_proba([text])[0]
        ranked = sorted(zip(self._classifier.classes_, probabilities, strict=True),
                        key=lambda kv: -kv[1])  # fmt: skip
        return [(str(name), float(p)) for name, p in ranked]

    def parse(self, text: str) -> Parse:
        """The intent (or the fallback) and its slots. Words the model never uses that no
        product slot explains ("what's the *weather tomorrow*") lower the confidence."""
        clean = normalize_utterance(text, keep_fillers=True)
        if not clean:
            return Parse(text, FALLBACK, confidence=1.0, source="trained")
        words = clean.split()
        ranked = self.intent_scores(clean)
        intent, probability = ranked[0]
        slots, covered = self._slots(words, intent) if intent != FALLBACK else ({}, set())
        frame = self._classifier.named_steps["mask"].frame_words
        stray = [i for i, w in enumerate(words)
                 if i not in covered and w not in frame and not w.isdigit()]  # fmt: skip
        explained = 1 - len(stray) / len(words)
        content = sum(1 for w in words if w not in FUNCTION_WORDS)
        if covered and len(stray) > STRAY_CONTENT * content:
            # Most of what was said is neither ours nor the product: "sing me a song about
            # the sea" is no order for sea salt.
            probability *= STRAY_PENALTY
        confidence = probability * explained**UNEXPLAINED_POWER
        if intent == FALLBACK or confidence < self.threshold:
            # The closest intents, worth offering only when the words were mostly ours.
            closest = (tuple((n, round(p, 3)) for n, p in ranked if n != FALLBACK)[:3]
                       if explained >= OFFER_EXPLAINED else ())  # fmt: skip
            return Parse(text, FALLBACK, confidence=round(confidence, 3),
                         alternatives=closest, source="trained")  # fmt: skip
        alternatives = tuple((name, round(p, 3)) for name, p in ranked[1:4] if name != FALLBACK)
        return Parse(text, intent, slots, round(confidence, 3), alternatives=alternatives,
                     source="trained")  # fmt: skip

    def _slots(self, words: list[str], intent: str) -> tuple[dict[str, str], set[int]]:
        """Slot values, and which words a product (custom-type) slot holds."""
        with self._lock:
            tags = self._tagger.tag(_features(words, intent, self.vocabulary))
        spans: dict[str, list[str]] = {}
        places: dict[str, list[int]] = {}
        current: str | None = None
        for at, (word, tag) in enumerate(zip(words, tags, strict=True)):
            if tag.startswith("B-") or (tag.startswith("I-") and current != tag[2:]):
                current = tag[2:]
                if current in spans:  # a second span of the same slot: keep the first
                    current = None
                    continue
                spans[current], places[current] = [word], [at]
            elif tag.startswith("I-") and current is not None:
                spans[current].append(word)
                places[current].append(at)
            else:
                current = None
        types = self.slot_types.get(intent, {})
        custom = {name for name, kind in types.items() if not kind.startswith("AMAZON.")}
        covered = {at for name, where in places.items() if name in custom for at in where}
        out: dict[str, str] = {}
        for name, span in spans.items():
            if name not in types:
                continue  # a slot this intent does not have
            value = " ".join(span)
            kind = types[name]
            if kind == "AMAZON.NUMBER":
                number = spoken_number(value)
                if number is None:
                    continue
                out[name] = str(number)
            elif kind == "AMAZON.FOUR_DIGIT_NUMBER":
                out[name] = spoken_digits(value) or "?"
            elif kind == "AMAZON.Ordinal":
                if value not in ORDINALS:
                    continue
                out[name] = ORDINALS[value]
            else:
                out[name] = value
        return out, covered


class FrameMask:
    """Words the model's own phrasings never use become ``_``: the classifier learns the
    frame ("add _ _ to my cart"), so a product it never heard cannot sway the intent.
    (A scikit-learn transformer, kept at module level so the pipeline pickles.)"""

    def __init__(self, frame_words: frozenset[str]) -> None:
        self.frame_words = frame_words

    def fit(self, texts: Sequence[str], labels: Any = None) -> FrameMask:
        return self

    def transform(self, texts: Sequence[str]) -> list[str]:
        return [" ".join(w if w in self.frame_words or w.isdigit() else "_"
                         for w in text.split()) for text in texts]  # fmt: skip


def frame_words(model: InteractionModel) -> frozenset[str]:
    """Every word of every phrasing (templates, built-ins, slot answers), no slot names."""
    return frozenset(frame_word_counts(model))


def frame_word_counts(model: InteractionModel) -> Counter[str]:
    """:func:`frame_words`, each with how many phrasings use it (the model's own sense of
    which word is likelier: "order" over "over")."""
    phrasings = [p for i in model.intents
                 for p in (*(i.templates or i.samples), *BUILTIN_TEMPLATES.get(i.name, ()),
                           *(s for slot in i.slots for s in slot.elicitation_samples))]  # fmt: skip
    counts: Counter[str] = Counter(dict.fromkeys(SPOKEN_NUMBERS, 1))
    for phrase in phrasings:
        counts.update(set(re.sub(r"\{\w+\}|[()\[\]|]", " ", phrase.lower()).split()))
    return counts


def _fit_classifier(examples: Sequence[Example], frame: frozenset[str]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion([
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 3), sublinear_tf=True,
                                  token_pattern=r"[a-z0-9'_]+")),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True,
                                  min_df=2)),
    ])  # fmt: skip
    pipeline = Pipeline([("mask", FrameMask(frame)), ("features", features),
                         ("model", LogisticRegression(C=8.0, max_iter=2000))])  # fmt: skip
    try:
        pipeline.fit([e.text for e in examples], [e.intent for e in examples])
    except ValueError as exc:
        raise TrainingError(f"intent classifier: {exc}") from exc
    return pipeline


def _fit_tagger(examples: Sequence[Example], vocabulary: frozenset[str], path: Path) -> None:
    import pycrfsuite

    trainer = pycrfsuite.Trainer(verbose=False)
    for example in examples:
        if example.intent == FALLBACK:
            continue
        trainer.append(_features(example.words, example.intent, vocabulary), list(example.tags))
    trainer.set_params({"c1": 0.05, "c2": 0.01, "max_iterations": 80,
                        "feature.possible_transitions": True})  # fmt: skip
    try:
        trainer.train(str(path))
    except Exception as exc:  # CRFsuite raises bare exceptions
        raise TrainingError(f"slot tagger: {exc}") from exc


def training_data(
    model: InteractionModel, values: Mapping[str, Sequence[str]], dictionary: Sequence[str] = ()
) -> list[Example]:
    """Exactly the sentences :meth:`TrainedParser.fit_or_load` trains on."""
    return training_examples(model, _sample_values(values), dictionary=dictionary)
