"""Speech recognition behind one interface, with the Vosk engine.

``Recognizer.transcribe(audio, phrases=...)`` returns a :class:`Transcript` with n-best
alternatives; ``Recognizer.stream(phrases=...)`` takes audio in chunks and gives partial
text as it goes. ``phrases`` biases recognition toward the domain (a Vosk grammar).
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

MODEL_MARKERS = ("am/final.mdl", "final.mdl")


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
        self, audio: Pcm16k, *, phrases: Sequence[str] | None = None, alternatives: int = 5
    ) -> Transcript: ...

    def stream(self, *, phrases: Sequence[str] | None = None, alternatives: int = 5) -> Stream: ...


def is_vosk_model(folder: Path) -> bool:
    return folder.is_dir() and any((folder / marker).exists() for marker in MODEL_MARKERS)


def _hypotheses(result: dict[str, Any]) -> tuple[Hypothesis, ...]:
    if "alternatives" in result:
        found = [
            Hypothesis(str(a.get("text", "")).strip(), float(a.get("confidence", 0.0)))
            for a in result["alternatives"]
        ]
    else:
        found = [Hypothesis(str(result.get("text", "")).strip(), 1.0)]
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
        partial = json.loads(self._recognizer.PartialResult()).get("partial", "")
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

    def _recognizer(self, phrases: Sequence[str] | None, alternatives: int) -> Any:
        import vosk

        model = self._loaded()
        if phrases:
            grammar = json.dumps(sorted(set(phrases)), ensure_ascii=False)
            recognizer = vosk.KaldiRecognizer(model, TARGET_RATE, grammar)
        else:
            recognizer = vosk.KaldiRecognizer(model, TARGET_RATE)
        recognizer.SetMaxAlternatives(alternatives)
        return recognizer

    def stream(self, *, phrases: Sequence[str] | None = None, alternatives: int = 5) -> _VoskStream:
        return _VoskStream(self, self._recognizer(phrases, alternatives))

    def transcribe(
        self, audio: Pcm16k, *, phrases: Sequence[str] | None = None, alternatives: int = 5
    ) -> Transcript:
        stream = self.stream(phrases=phrases, alternatives=alternatives)
        stream.accept(audio.to_bytes())
        return stream.finish()
