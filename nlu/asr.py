"""Speech recognition behind one interface, with the Vosk engine.

``Recognizer.transcribe(audio, phrases=...)`` returns a :class:`Transcript` with n-best
alternatives; ``Recognizer.stream(phrases=...)`` takes audio in chunks and gives partial
text as it goes. ``phrases`` (plain or a weighted :class:`~nlu.lm.Bias`) biases
recognition toward the domain: a grammar for Vosk, a trigram model for PocketSphinx.
Models are loaded from a directory only (``VOICECART_VOSK_MODEL``): never
``vosk.Model(lang=...)``, which downloads silently.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nlu.audio import TARGET_RATE, Pcm16k
from nlu.errors import NluError
from nlu.lm import Background, Bias, ngram_arpa

MODEL_MARKERS = ("am/final.mdl", "final.mdl")
UNKNOWN = "[unk]"
"""Vosk's grammar token for any word outside the grammar."""
VOSK_GRAMMAR_LIMIT = 20_000
"""Heaviest sentences a Vosk grammar takes; a bigger grammar only slows its compile."""
Phrases = Sequence[str] | Bias


class ModelMissing(NluError):
    """No usable speech model: says which setting to set and which command fetches one."""

    def __init__(self, where: Path | None) -> None:
        place = f"no Vosk model at {where}" if where else "no Vosk model is configured"
        super().__init__(
            f"{place}: set VOICECART_VOSK_MODEL to a model folder, or run "
            "`voicecart model download` to fetch the small US-English model"
        )
        self.where = where


@dataclass(frozen=True, slots=True)
class Hypothesis:
    text: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Transcript:
    """What was heard: the best reading first, then the alternatives, and timing."""

    alternatives: tuple[Hypothesis, ...]
    engine: str
    audio_seconds: float
    decode_seconds: float

    @property
    def text(self) -> str:
        return self.alternatives[0].text if self.alternatives else ""


class Stream(Protocol):
    def accept(self, chunk: bytes) -> str: ...
    def finish(self) -> Transcript: ...


class Recognizer(Protocol):
    name: str

    def transcribe(
        self, audio: Pcm16k, *, phrases: Phrases | None = None, alternatives: int = 5
    ) -> Transcript: ...


class StreamingRecognizer(Recognizer, Protocol):
    """An engine that also takes audio in chunks (Vosk)."""

    def stream(self, *, phrases: Phrases | None = None, alternatives: int = 5) -> Stream: ...


def is_vosk_model(folder: Path) -> bool:
    return folder.is_dir() and any((folder / marker).exists() for marker in MODEL_MARKERS)


def _words(text: str) -> str:
    """The words heard, without the ``[unk]`` a grammar gives for words outside it."""
    return " ".join(w for w in text.split() if w != UNKNOWN)


def _hypotheses(result: dict[str, Any]) -> tuple[Hypothesis, ...]:
    if "alternatives" in result:
        found = [
            Hypothesis(_words(str(a.get("text", ""))), float(a.get("confidence", 0.0)))
            for a in result["alternatives"]
        ]
    else:
        found = [Hypothesis(_words(str(result.get("text", ""))), 1.0)]
    return tuple(h for h in found if h.text)


class _VoskStream:
    def __init__(self, engine: VoskRecognizer, recognizer: Any) -> None:
        self._engine = engine
        self._recognizer = recognizer
        self._samples = 0
        self._started = time.perf_counter()
        self._finals: list[str] = []

    def accept(self, chunk: bytes) -> str:
        """Feed 16 kHz mono 16-bit PCM; returns the text heard so far."""
        self._samples += len(chunk) // 2
        if self._recognizer.AcceptWaveform(chunk):
            final = _hypotheses(json.loads(self._recognizer.Result()))
            if final:
                self._finals.append(final[0].text)
            return " ".join(self._finals)
        partial = _words(json.loads(self._recognizer.PartialResult()).get("partial", ""))
        return " ".join([*self._finals, partial]).strip()

    def finish(self) -> Transcript:
        last = _hypotheses(json.loads(self._recognizer.FinalResult()))
        prefix = " ".join(self._finals)
        joined = tuple(Hypothesis(f"{prefix} {h.text}".strip(), h.confidence) for h in last) or (
            (Hypothesis(prefix, 1.0),) if prefix else ()
        )
        return Transcript(joined, self._engine.name, self._samples / TARGET_RATE,
                          time.perf_counter() - self._started)  # fmt: skip


class VoskRecognizer:
    """Vosk (Kaldi) on a local model folder; loaded on first use, shared by threads."""

    name = "vosk"

    def __init__(self, model_dir: Path | None) -> None:
        if model_dir is None or not is_vosk_model(model_dir):
            raise ModelMissing(model_dir)
        self.model_dir = model_dir
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                import vosk

                vosk.SetLogLevel(-1)
                self._model = vosk.Model(str(self.model_dir))
            return self._model

    def _recognizer(self, phrases: Phrases | None, alternatives: int) -> Any:
        import vosk

        model = self._loaded()
        if phrases:
            chosen = Bias.of(phrases).sentences[:VOSK_GRAMMAR_LIMIT]
            # "[unk]" lets words outside the grammar be heard as unknown, not forced
            # into the nearest domain sentence.
            grammar = json.dumps([*sorted(chosen), UNKNOWN], ensure_ascii=False)
            recognizer = vosk.KaldiRecognizer(model, TARGET_RATE, grammar)
        else:
            recognizer = vosk.KaldiRecognizer(model, TARGET_RATE)
        recognizer.SetMaxAlternatives(alternatives)
        return recognizer

    def stream(self, *, phrases: Phrases | None = None, alternatives: int = 5) -> _VoskStream:
        return _VoskStream(self, self._recognizer(phrases, alternatives))

    def transcribe(
        self, audio: Pcm16k, *, phrases: Phrases | None = None, alternatives: int = 5
    ) -> Transcript:
        stream = self.stream(phrases=phrases, alternatives=alternatives)
        stream.accept(audio.to_bytes())
        return stream.finish()


GENERAL_WEIGHT = 0.0
"""Share of the general English words in the recognition language model (the domain's
words get the rest). Tuned on the spoken development set and the espeak-ng set
(bench/bench_nlu.py --spoken): any share tried (0.02 to 0.3, 300 to 4,000 words) was no
better on the Piper voice and lost requests PocketSphinx heard right without it ("add
two bananas to my cart" became "... to my tall"), so it is off unless
``VOICECART_GENERAL_LM_WEIGHT`` turns it on."""
LANGUAGE_WEIGHT = 4.0
"""How much the language model counts against the sounds (PocketSphinx's ``-lw``; its
default is 6.5). Tuned on the spoken development set (bench/bench_nlu.py --spoken): 4
heard 2-3 more requests in a hundred fully right in each Piper condition than 6.5; 3 to
5 were alike, 9 and more lost many (the domain model then overrules what was said).
Only with the domain model: the wheel's general model keeps its default (at 4 it decodes
ten times slower)."""
GENERAL_WORDS = 4000
"""The general English words (most frequent first) the recogniser may hear beyond the
domain's."""


def general_english_background(weight: float, words: int) -> Background:
    """PocketSphinx's own US-English trigram model, as a :class:`Background`."""
    from pocketsphinx import Config, LogMath, NGramModel, get_model_path

    folder = Path(get_model_path()) / "en-us"
    logmath = LogMath()
    general = NGramModel(Config(), logmath, str(folder / "en-us.lm.bin"))
    with (folder / "cmudict-en-us.dict").open(encoding="utf-8", errors="replace") as lines:
        entries = {line.split(" ", 1)[0] for line in lines}
    known = [w for w in entries if "(" not in w and w.replace("'", "").isalpha()]
    known.sort(key=lambda w: (-general.prob([w]), w))

    def logprob(gram: tuple[str, ...]) -> float:
        # PocketSphinx takes the word first, then its history, most recent first.
        return float(logmath.log_to_log10(general.prob(list(reversed(gram)))))

    return Background(logprob, tuple(known[:words]), weight)


class PocketSphinxRecognizer:
    """CMU PocketSphinx with the US-English model its PyPI wheel ships: no download.

    ``phrases`` (weighted domain sentences) become a trigram language model, interpolated
    with the wheel's general English model (``general_weight``), built once per phrase
    set and cached; decoding is serialised (a decoder is not thread-safe).
    """

    name = "pocketsphinx"

    def __init__(
        self,
        general_weight: float = GENERAL_WEIGHT,
        general_words: int = GENERAL_WORDS,
        language_weight: float = LANGUAGE_WEIGHT,
    ) -> None:
        self._lock = threading.Lock()
        self.language_weight = language_weight
        self._decoders: dict[int, Any] = {}
        self.general_weight = general_weight
        self.general_words = general_words

    def _decoder(self, phrases: Phrases | None) -> Any:
        import os
        import tempfile

        from pocketsphinx import Decoder

        bias = Bias.of(phrases) if phrases else None
        key = hash(bias) if bias else 0
        decoder = self._decoders.get(key)
        if decoder is None:
            options: dict[str, Any] = {"samprate": TARGET_RATE, "logfn": os.devnull}
            if bias:
                probe = Decoder(**options)
                known = [(s, w) for s, w in zip(bias.sentences, bias.weights, strict=True)
                         if all(probe.lookup_word(word) for word in s.split())]  # fmt: skip
                if not known:
                    raise NluError("none of the domain sentences is in the recogniser's dictionary")
                background = (
                    general_english_background(self.general_weight, self.general_words)
                    if self.general_weight > 0 else None
                )  # fmt: skip
                domain = Bias(tuple(s for s, _ in known), tuple(w for _, w in known))
                handle, path = tempfile.mkstemp(suffix=".arpa")
                with os.fdopen(handle, "w") as out:
                    out.write(ngram_arpa(domain, background=background))
                options["lm"], options["lw"] = path, self.language_weight
                decoder = Decoder(**options)
                os.unlink(path)
            else:
                decoder = Decoder(**options)
            self._decoders = {key: decoder}  # keep one: the domain changes rarely
        return decoder

    def transcribe(
        self, audio: Pcm16k, *, phrases: Phrases | None = None, alternatives: int = 5
    ) -> Transcript:
        started = time.perf_counter()
        with self._lock:
            decoder = self._decoder(phrases)
            decoder.start_utt()
            decoder.process_raw(audio.to_bytes(), full_utt=True)
            decoder.end_utt()
            found: list[Hypothesis] = []
            for hyp in decoder.nbest():
                if hyp is None or not getattr(hyp, "hypstr", None):
                    continue
                text = " ".join(w for w in hyp.hypstr.split() if not w.startswith("<"))
                if text and text not in {h.text for h in found}:
                    found.append(Hypothesis(text, float(hyp.score)))
                if len(found) >= alternatives:
                    break
            best = decoder.hyp()
            if best is not None and best.hypstr and (not found or found[0].text != best.hypstr):
                found.insert(0, Hypothesis(best.hypstr, float(best.score)))
        # PocketSphinx scores are path probabilities; report them relative to the best.
        top = found[0].confidence if found and found[0].confidence > 0 else 1.0
        ranked = tuple(Hypothesis(h.text, round(h.confidence / top, 4)) for h in found)
        return Transcript(ranked[:alternatives], self.name, audio.seconds,
                          time.perf_counter() - started)  # fmt: skip


def recognizer_for(vosk_model: Path | None, general_weight: float = GENERAL_WEIGHT) -> Recognizer:
    """Vosk when a model is configured (a wrong folder is :class:`ModelMissing`, not a
    silent fallback), else PocketSphinx with its built-in English model (no download)."""
    if vosk_model is not None:
        return VoskRecognizer(vosk_model)
    return PocketSphinxRecognizer(general_weight=general_weight)
