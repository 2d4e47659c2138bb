"""Audio handling: every way a WAV body can be wrong gets its own clear error."""

from __future__ import annotations

import io
import struct
import wave

import numpy as np
import pytest

from nlu.audio import TARGET_RATE, AudioError, read_wav, write_wav


def _tone(rate: int, seconds: float = 1.0, channels: int = 1) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    wave_ = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    if channels == 2:
        wave_ = np.repeat(wave_, 2)
    return write_wav(wave_, rate, channels)


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
@pytest.mark.parametrize("channels", [1, 2])
def test_common_rates_and_stereo_become_16k_mono(rate: int, channels: int) -> None:
    pcm = read_wav(_tone(rate, 1.0, channels))
    assert abs(pcm.seconds - 1.0) < 0.01
    assert pcm.samples.dtype == np.int16
    assert (pcm.source_rate, pcm.source_channels) == (rate, channels)
    # The 440 Hz tone survives resampling: its strongest frequency is still 440 Hz.
    spectrum = np.abs(np.fft.rfft(pcm.samples.astype(np.float64)))
    peak = np.argmax(spectrum) * TARGET_RATE / len(pcm.samples)
    assert abs(peak - 440) < 5


def _wav_with(width: int = 2, fmt: int = 1) -> bytes:
    data = b"\x10\x20" * 16000
    fields = (b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, fmt, 1, 16000, 16000 * width,
              width, 8 * width, b"data", len(data))  # fmt: skip
    header = struct.pack("<4sI4s4sIHHIIHH4sI", *fields)
    return header + data


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "empty_audio"),
        (b"ID3\x03 this is an mp3", "not_wav"),
        (b"RIFF\x00\x00\x00\x00WAVEjunk", "corrupt_wav"),
        (_wav_with(width=1), "unsupported_encoding"),
        (_wav_with(fmt=3, width=4), "unsupported_encoding"),  # float samples
        (_tone(16000)[:20000], "truncated_wav"),
        (write_wav(np.zeros(16000, np.int16)), "silence"),
        (_tone(16000, 16.0), "too_long"),
        (_tone(16000, 0.05), "too_short"),
        (_tone(96000, 0.5), "unsupported_rate"),
    ],
)
def test_bad_audio_is_refused_with_a_reason(body: bytes, code: str) -> None:
    with pytest.raises(AudioError) as info:
        read_wav(body)
    assert info.value.code == code
    assert str(info.value)


def test_write_wav_round_trip() -> None:
    data = _tone(16000, 0.5)
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (16000, 2, 1)
