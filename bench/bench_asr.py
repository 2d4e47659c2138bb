"""Local speech recognition: real-time factor, reply latency and accuracy, per engine.

Synthesises shopping requests with espeak-ng (several voices, speeds and sample rates),
runs each engine with and without domain biasing, parses the n-best like the voice
channel does, and prints one table. The baseline is PocketSphinx without biasing,
measured in the same run. Vosk rows appear when VOICECART_VOSK_MODEL names a model.

    .venv/bin/python bench/bench_asr.py [--no-plot]

Also draws the share fully correct per voice/speed/sample-rate setting and engine as
docs/benchmarks/asr-accuracy.png.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plots import hbar_chart  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402

from catalog.demo import read_demo_rows  # noqa: E402
from catalog.index import IndexEntry, ProductIndex  # noqa: E402
from catalog.matching import Decision, match_text  # noqa: E402
from catalog.quantity import split_quantity  # noqa: E402
from nlu.asr import PocketSphinxRecognizer, Recognizer, VoskRecognizer  # noqa: E402
from nlu.audio import read_wav  # noqa: E402
from nlu.engine import NluEngine  # noqa: E402
from nlu.lm import Bias  # noqa: E402
from nlu.parser import IntentParser, Parse  # noqa: E402
from nlu.trained import TrainedParser  # noqa: E402
from nlu.training import general_english  # noqa: E402
from skill.interaction.model import PRODUCT_TYPE, build_model  # noqa: E402
from skill.speech_domain import domain_bias  # noqa: E402

sys.path.insert(0, str(ROOT / "tests" / "support"))
from speech_corpus import CASES, VOICES, Case, Voice, spoken_cases, synthesise  # noqa: E402

LONG = 2.5
"""Clips at least this long (seconds) show the worst reply delay for long requests."""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--no-plot", action="store_true", help="do not write docs/benchmarks/asr-accuracy.png"
    )
    args = parser.parse_args()
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        print("skipped: espeak-ng is not installed (apt-get install espeak-ng)")
        return
    rows = read_demo_rows()
    index = ProductIndex(IndexEntry(i, r.sku, r.name, r.brand, r.size, r.synonyms, r.popularity)
                         for i, r in enumerate(rows))  # fmt: skip
    model = build_model([])
    bias = domain_bias(model, [n for r in rows for n in (r.name, *r.synonyms)])
    names = [n for r in rows for n in (r.name, *r.synonyms)]
    with tempfile.TemporaryDirectory() as folder:
        trained, _ = TrainedParser.fit_or_load(model, {PRODUCT_TYPE: names}, Path(folder),
                                               dictionary=general_english())  # fmt: skip
    intent_parser = NluEngine(IntentParser(model), trained, bare_intent=model.bare_answer_intent)

    def fit(words: str) -> float:
        result = match_text(index, split_quantity(words).rest or words)
        best = result.best
        return 0.0 if best is None or result.decision is Decision.NO_MATCH else best.text_score

    def product_ok(case: Case, parse: Parse) -> bool:
        """The end-to-end test's check: the matched name holds the expected words."""
        words = parse.slots.get("item")
        best = None
        if words:
            result = match_text(index, split_quantity(words).rest or words)
            best = None if result.decision is Decision.NO_MATCH else result.best
        if case.product is None or best is None:
            return case.product is None and best is None
        return case.product.lower() in best.display_name.lower()

    def best_parse(texts: list[str]) -> Parse:
        return intent_parser.parse_best(texts, resolver=fit)

    engines: list[tuple[str, Recognizer, Bias | None]] = [
        ("pocketsphinx, no biasing (baseline)", PocketSphinxRecognizer(), None),
        ("pocketsphinx + unweighted domain LM", PocketSphinxRecognizer(general_weight=0.0),
         Bias.of(bias.sentences)),
        ("pocketsphinx + weighted domain LM (shipped)", PocketSphinxRecognizer(), bias),
        ("pocketsphinx + weighted LM + general 0.02", PocketSphinxRecognizer(general_weight=0.02),
         bias),
    ]  # fmt: skip
    if os.environ.get("VOICECART_VOSK_MODEL"):
        vosk = VoskRecognizer(Path(os.environ["VOICECART_VOSK_MODEL"]))
        engines += [("vosk, no grammar", vosk, None), ("vosk + grammar", vosk, bias)]

    with tempfile.TemporaryDirectory() as tmp:
        clips = [(case, read_wav(synthesise(case.text, voice, Path(tmp))))
                 for case, voice in spoken_cases()]  # fmt: skip
    settings = [voice for _, voice in spoken_cases()]  # each clip's voice, speed and rate
    per_setting: dict[str, dict[Voice, list[bool]]] = {}  # engine -> setting -> fully correct
    table = []
    for name, engine, phrases in engines:
        started = time.perf_counter()
        engine.transcribe(clips[0][1], phrases=phrases)  # warm-up (builds the LM)
        build = time.perf_counter() - started
        rtf, latency, long_latency, correct, errors, words = [], [], [], 0, 0, 0
        for (case, audio), voice in zip(clips, settings, strict=True):
            start = time.perf_counter()
            heard = engine.transcribe(audio, phrases=phrases)
            parse = best_parse([h.text for h in heard.alternatives])
            elapsed = time.perf_counter() - start
            rtf.append(heard.decode_seconds / audio.seconds)
            latency.append(elapsed * 1000)
            if audio.seconds >= LONG:
                long_latency.append(elapsed * 1000)
            right = (parse.intent == case.intent
                     and parse.slots.get("quantity") == case.quantity
                     and product_ok(case, parse))  # fmt: skip
            correct += right
            per_setting.setdefault(name, {}).setdefault(voice, []).append(right)
            errors += Levenshtein.distance(case.text.split(), heard.text.split())
            words += len(case.text.split())
        table.append((name, statistics.median(rtf), statistics.median(latency),
                      sorted(latency)[int(0.95 * len(latency)) - 1], correct / len(clips),
                      errors / words, build, max(long_latency, default=0.0)))  # fmt: skip
    base = table[0]
    seconds = statistics.median(audio.seconds for _, audio in clips)
    print(
        f"{len(clips)} espeak-ng clips ({len(CASES)} requests in {len(VOICES)} voice/speed/rate "
        f"settings; median {seconds:.1f} s of audio); reply = decode + parse after the audio"
    )
    print(f"{'engine':46} {'RTF p50':>8} {'vs base':>8} {'reply p50 ms':>12} {'p95 ms':>7} "
          f"{'correct':>8} {'vs base':>8} {'WER':>5} {'LM build s':>10} "
          f"{'max ms >=2.5s':>13}")  # fmt: skip
    for name, rtf_p50, lat50, lat95, acc, wer, built, long_max in table:
        print(f"{name:46} {rtf_p50:8.3f} {rtf_p50 / base[1]:7.2f}x {lat50:12.0f} {lat95:7.0f} "
              f"{acc:7.0%} {acc - base[4]:+7.0%} {wer:5.2f} {built:10.2f} "
              f"{long_max:13.0f}")  # fmt: skip
    if not args.no_plot:
        path = plot(per_setting, len(clips))
        print(f"plot: {path.relative_to(ROOT)}")


def plot(per_setting: dict[str, dict[Voice, list[bool]]], clips: int) -> Path:
    """Share fully correct per voice setting (sample rate order) and engine, all first."""

    def label(voice: Voice) -> str:
        return f"{voice.voice.split('+')[-1]}, {voice.speed} wpm, {voice.rate / 1000:g} kHz"

    short = {e: e.removeprefix("pocketsphinx").strip(" ,+") or e for e in per_setting}
    groups: dict[str, dict[str, float]] = {f"all {clips} clips": {}}
    for engine, by_voice in per_setting.items():
        hits = [h for results in by_voice.values() for h in results]
        groups[f"all {clips} clips"][short[engine]] = 100 * sum(hits) / len(hits)
        for voice in sorted(by_voice, key=lambda v: (v.rate, v.speed, v.voice)):
            results = by_voice[voice]
            row = f"{label(voice)} ({len(results)})"
            groups.setdefault(row, {})[short[engine]] = 100 * sum(results) / len(results)
    return hbar_chart(
        "asr-accuracy",
        "Speech recognition: requests fully correct\nper engine and espeak-ng voice setting",
        "fully correct (%): intent, quantity and product\n(clips per setting in parentheses)",
        groups,
        baseline=next(iter(short.values()), None),
        x_max=100,
        value_format="{:.0f}%",
    )


if __name__ == "__main__":
    main()
