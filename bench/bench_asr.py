"""Local speech recognition: real-time factor, reply latency and accuracy, per engine.

Synthesises shopping requests with espeak-ng (several voices, speeds and sample rates),
runs each engine with and without domain biasing, parses the n-best like the voice
channel does, and prints one table. The baseline is PocketSphinx without biasing,
measured in the same run. Vosk rows appear when VOICECART_VOSK_MODEL names a model.

    .venv/bin/python bench/bench_asr.py [--voices en-us+f2,en-us]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import soxr  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402

from catalog.demo import read_demo_rows  # noqa: E402
from catalog.index import IndexEntry, ProductIndex  # noqa: E402
from catalog.matching import Decision, match_text  # noqa: E402
from catalog.quantity import split_quantity  # noqa: E402
from nlu.asr import PocketSphinxRecognizer, Recognizer, VoskRecognizer  # noqa: E402
from nlu.audio import Pcm16k, read_wav, write_wav  # noqa: E402
from nlu.parser import FALLBACK, IntentParser, Parse  # noqa: E402
from skill.interaction_model import build_model  # noqa: E402
from skill.speech_domain import domain_sentences  # noqa: E402

CASES: list[tuple[str, str, dict[str, str]]] = [
    ("add two bananas to my cart", "AddToCartIntent", {"quantity": "2", "item": "bananas"}),
    ("add three eggs", "AddToCartIntent", {"quantity": "3", "item": "eggs"}),
    ("add dish soap to my cart", "AddToCartIntent", {"item": "dish soap"}),
    ("i need paper towels", "AddToCartIntent", {"item": "paper towels"}),
    ("reorder paper towels", "ReorderIntent", {"item": "paper towels"}),
    ("reorder coffee", "ReorderIntent", {"item": "coffee"}),
    ("buy toilet paper again", "ReorderIntent", {"item": "toilet paper"}),
    ("remove the bananas", "RemoveFromCartIntent", {"item": "bananas"}),
    ("what's in my cart", "ReadCartIntent", {}),
    ("check out", "CheckoutIntent", {}),
    ("where is my order", "OrderStatusIntent", {}),
    ("repeat my last order", "ReorderLastOrderIntent", {}),
    ("yes", "AMAZON.YesIntent", {}),
    ("no thanks", "AMAZON.NoIntent", {}),
    ("help", "AMAZON.HelpIntent", {}),
    ("stop", "AMAZON.StopIntent", {}),
]  # fmt: skip
SETTINGS = [("en-us+f2", 140, 16000), ("en-us", 160, 22050), ("en-us+m3", 150, 44100),
            ("en-us+f2", 170, 8000)]  # fmt: skip


def synthesise(espeak: str, text: str, voice: str, speed: int, rate: int, tmp: Path) -> Pcm16k:
    out = tmp / "clip.wav"
    subprocess.run([espeak, "-v", voice, "-s", str(speed), "-w", str(out), text], check=True)
    audio = read_wav(out.read_bytes())
    if rate != 16000:  # deliver it at the requested rate, as a caller would
        samples = soxr.resample(audio.samples.astype(np.float32), 16000, rate).astype(np.int16)
        audio = read_wav(write_wav(samples, rate))
    return audio


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.parse_args()
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        print("skipped: espeak-ng is not installed (apt-get install espeak-ng)")
        return
    rows = read_demo_rows()
    index = ProductIndex(IndexEntry(i, r.sku, r.name, r.brand, r.size, r.synonyms, r.popularity)
                         for i, r in enumerate(rows))  # fmt: skip
    model = build_model([])
    phrases = domain_sentences(model, [n for r in rows for n in (r.name, *r.synonyms)])
    intent_parser = IntentParser(model)

    def fit(words: str) -> float:
        result = match_text(index, split_quantity(words).rest or words)
        best = result.best
        return 0.0 if best is None or result.decision is Decision.NO_MATCH else best.text_score

    def best_parse(texts: list[str]) -> Parse:
        parses = [intent_parser.parse(t, resolver=fit) for t in texts] or [
            intent_parser.parse("", resolver=fit)]  # fmt: skip
        ranked = [((0.0 if p.intent == FALLBACK else p.confidence) * (1 - 0.05 * i), p)
                  for i, p in enumerate(parses)]  # fmt: skip
        return max(ranked, key=lambda sp: sp[0])[1]

    engines: list[tuple[str, Recognizer, list[str] | None]] = [
        ("pocketsphinx, no biasing (baseline)", PocketSphinxRecognizer(), None),
        ("pocketsphinx + domain LM", PocketSphinxRecognizer(), phrases),
    ]
    if os.environ.get("VOICECART_VOSK_MODEL"):
        vosk = VoskRecognizer(Path(os.environ["VOICECART_VOSK_MODEL"]))
        engines += [("vosk, no grammar", vosk, None), ("vosk + grammar", vosk, phrases[:5000])]

    with tempfile.TemporaryDirectory() as tmp:
        clips = [(text, intent, slots, synthesise(espeak, text, v, s, r, Path(tmp)))
                 for v, s, r in SETTINGS for text, intent, slots in CASES]  # fmt: skip
    table = []
    for name, engine, bias in engines:
        engine.transcribe(clips[0][3], phrases=bias)  # warm-up (builds the LM)
        rtf, latency, correct, errors, words = [], [], 0, 0, 0
        for text, intent, slots, audio in clips:
            start = time.perf_counter()
            heard = engine.transcribe(audio, phrases=bias)
            parse = best_parse([h.text for h in heard.alternatives])
            elapsed = time.perf_counter() - start
            rtf.append(heard.decode_seconds / audio.seconds)
            latency.append(elapsed * 1000)
            correct += parse.intent == intent and parse.slots.get("quantity") == slots.get(
                "quantity") and (("item" in parse.slots) == ("item" in slots))  # fmt: skip
            errors += Levenshtein.distance(text.split(), heard.text.split())
            words += len(text.split())
        table.append((name, statistics.median(rtf), statistics.median(latency),
                      sorted(latency)[int(0.95 * len(latency)) - 1], correct / len(clips),
                      errors / words))  # fmt: skip
    base = table[0]
    print(
        f"{len(clips)} synthetic clips ({len(CASES)} requests x {len(SETTINGS)} voice/speed/rate)"
    )
    print(f"{'engine':36} {'RTF p50':>8} {'reply p50 ms':>12} {'p95 ms':>8} {'correct':>8} "
          f"{'WER':>6} {'correct vs base':>15}")  # fmt: skip
    for name, rtf_p50, lat50, lat95, acc, wer in table:
        print(f"{name:36} {rtf_p50:8.3f} {lat50:12.0f} {lat95:8.0f} {acc:7.0%} {wer:6.2f} "
              f"{acc - base[4]:+14.0%}")  # fmt: skip


if __name__ == "__main__":
    main()
