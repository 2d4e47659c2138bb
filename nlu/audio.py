"""Audio in: validate a WAV body and bring it to 16 kHz mono 16-bit PCM for recognition.

Accepted: RIFF/WAVE, PCM 16-bit, 1 or 2 channels, 8 to 48 kHz. Everything else is
refused with an :class:`AudioError` naming the problem (the HTTP layer turns it into a
4xx), never a crash and never a half-understood clip.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import soxr

from nlu.errors import NluError

TARGET_RATE = 16_000
MAX_SECONDS = 15.0
"""Longest clip accepted; a shopping request fits easily."""
MIN_SECONDS = 0.1
SILENCE_RMS = 60.0
"""Below this RMS (16-bit scale) the clip is treated as silence."""
SUPPORTED_RATES = range(8_000, 48_001)


class AudioError(NluError):
    """The audio cannot be used; ``code`` is stable for API clients, ``str()`` for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Pcm16k:
    """Mono 16-bit samples at 16 kHz, ready for any engine."""

    samples: npt.NDArray[np.int16]
    source_rate: int
    source_channels: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / TARGET_RATE

    def to_bytes(self) -> bytes:
        return self.samples.astype("<i2").tobytes()


def read_wav(data: bytes, *, max_seconds: float = MAX_SECONDS) -> Pcm16k:
    """Parse, check and convert a WAV file's bytes."""
    if not data:
        raise AudioError("empty_audio", "the request has no audio")
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioError("not_wav", "the audio is not a WAV file (no RIFF/WAVE header)")
    try:
        with wave.open(io.BytesIO(data)) as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            declared = wav.getnframes()
            frames = wav.readframes(declared)
    except (wave.Error, EOFError, RuntimeError) as exc:
        # A file cut short is an EOFError; a chunk that claims to run past the RIFF chunk
        # holding it, a bare RuntimeError from wave's chunk reader.
        message = str(exc) or "a chunk runs past the end of the file"
        if "unknown format" in message:
            raise AudioError("unsupported_encoding",
                             f"only PCM 16-bit WAV is accepted ({message})") from exc  # fmt: skip
        raise AudioError("corrupt_wav", f"the WAV file is damaged ({message})") from exc
    if width != 2:
        bits = 8 * width
        raise AudioError(
            "unsupported_encoding", f"only 16-bit samples are accepted, not {bits}-bit"
        )
    if channels not in (1, 2):
        raise AudioError("unsupported_channels", f"mono or stereo only, not {channels} channels")
    if rate not in SUPPORTED_RATES:
        raise AudioError("unsupported_rate", f"sample rate {rate} Hz is outside 8-48 kHz")
    usable = len(frames) // (width * channels)
    if usable < declared:
        raise AudioError("truncated_wav",
                         f"the WAV file is cut short ({usable} of {declared} frames)")  # fmt: skip
    seconds = usable / rate
    if seconds > max_seconds:
        raise AudioError("too_long", f"the clip is {seconds:.1f} s; the limit is {max_seconds:g} s")
    if seconds < MIN_SECONDS:
        raise AudioError("too_short", f"the clip is only {seconds * 1000:.0f} ms long")
    samples = np.frombuffer(frames[: usable * width * channels], dtype="<i2")
    if channels == 2:
        samples = samples.reshape(-1, 2).mean(axis=1).astype(np.int16)
    if float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) < SILENCE_RMS:
        raise AudioError("silence", "the clip is silent: nothing was said")
    if rate != TARGET_RATE:
        resampled = soxr.resample(samples.astype(np.float32), rate, TARGET_RATE)
        samples = np.clip(resampled, -32768, 32767).astype(np.int16)
    return Pcm16k(samples.astype(np.int16), rate, channels)


def write_wav(samples: npt.NDArray[np.int16], rate: int = TARGET_RATE, channels: int = 1) -> bytes:
    """A PCM 16-bit WAV file (used by tests and the simulator)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()
