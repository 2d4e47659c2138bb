"""The dialogue-test runner itself: it fails when a conversation does not do what the
file says, names the turn and the difference, and refuses malformed files clearly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from testkit import voicecart

from devtools.dialogs import DialogFileError, load_dialogs, run_conversation, run_files, summary
from devtools.stages import DialogStages

ROOT = Path(__file__).resolve().parents[2]

WRONG = """
fixtures: {shopper: new}
conversations:
  - name: right
    turns:
      - say: add two bananas
        expect: {cart: [{product: Sunny Acres Bananas, quantity: 2}]}
  - name: wrong
    turns:
      - say: add two bananas
        expect:
          speech: Added 3
          cart: [{product: Sunny Acres Bananas, quantity: 3}]
          order: {lines: [{product: Sunny Acres Bananas}]}
"""


@pytest.fixture(scope="module")
def stages() -> Iterator[DialogStages]:
    made = DialogStages()
    yield made
    made.close()


def test_a_wrong_expectation_fails_with_expected_and_actual(
    tmp_path: Path, stages: DialogStages
) -> None:
    path = tmp_path / "wrong.yaml"
    path.write_text(WRONG)
    outcomes, broken = run_files([path], stages)
    assert not broken
    assert [o.passed for o in outcomes] == [True, False]
    report = outcomes[1].failure_report()
    assert "turn 1 (say 'add two bananas')" in report
    assert "speech contains: expected 'Added 3'" in report
    assert "cart: expected [('Sunny Acres Bananas', 3)], got [('Sunny Acres Bananas', 2)]" in report
    assert "order: expected 'exactly one placed', got '0 placed'" in report
    assert summary(outcomes, broken) == "1 passed, 1 failed"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("conversations: [{turns: [{say: hi, expect: {speach: hi}}]}]", "unknown key 'speach'"),
        ("conversations: [{turns: [{say: hi, launch: true}]}]", "a turn does exactly one of"),
        ("conversations: []", "expected a non-empty list"),
        ("fixtures: {shopper: martian}\nconversations: [{turns: [{end: true}]}]", "shopper: use"),
        ("conversations: [{turns: [{say: hi, slots: {a: b}}]}]", "only an intent turn takes slots"),
        ("conversations: [{name: x, turns: [{end: true}]}, {name: x, turns: [{end: true}]}]",
         "used twice"),
        ("conversations: [{turns: [{say: {unclosed}", "YAML"),
        ("conversations: [{turns: [{say: hi, expect: {speech: {contain: x}}}]}]",
         "unknown key 'contain'"),
        ("conversations: [{turns: [{say: hi, expect: {order: {total: 5}}}]}]",
         "unknown key 'total'"),
        ("conversations: [{turns: [{say: hi, expect: {product: ''}}]}]", "product: give words"),
        ("conversations: [{turns: [{say: hi, expect: {cart: 3}}]}]", "cart: wrong shape"),
    ],
)  # fmt: skip
def test_malformed_files_are_refused_with_the_place_and_the_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(DialogFileError) as raised:
        load_dialogs(path)
    assert problem in str(raised.value)
    assert str(path) in str(raised.value)


def test_an_unknown_fixture_product_fails_the_conversation_not_the_run(
    tmp_path: Path, stages: DialogStages
) -> None:
    path = tmp_path / "fixture.yaml"
    path.write_text("fixtures: {shopper: new, cart: [{product: Moon Cheese, quantity: 1}]}\n"
                    "conversations: [{name: c, turns: [{launch: true}]}]\n")  # fmt: skip
    (spec,) = load_dialogs(path)
    with stages() as stage:
        outcome = run_conversation(spec, stage)
    assert not outcome.passed
    assert outcome.error is not None
    assert "no product is called 'Moon Cheese'" in outcome.error


def test_the_command_prints_failures_and_a_summary_and_exits_non_zero(tmp_path: Path) -> None:
    path = tmp_path / "wrong.yaml"
    path.write_text(WRONG)
    result = voicecart("test-dialogs", str(path))
    assert result.returncode == 1, result.stderr
    assert "wrong" in result.stdout
    assert "speech contains: expected 'Added 3'" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "1 passed, 1 failed"


def test_the_repository_suite_is_large_and_a_file_passes_through_the_command() -> None:
    """pytest runs every conversation already (tests/dialog_items.py); the command is
    checked on one file, so the suite does not run twice."""
    specs = [
        s for p in sorted((ROOT / "tests" / "dialogs").glob("*.yaml")) for s in load_dialogs(p)
    ]
    assert len(specs) >= 40
    kinds = {t.kind for s in specs for t in s.turns}
    assert {"say", "speak", "launch", "intent", "end"} <= kinds
    one = ROOT / "tests" / "dialogs" / "choose.yaml"
    result = voicecart("test-dialogs", str(one))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"{len(load_dialogs(one))} passed, 0 failed"


def test_a_wav_turn_is_read_beside_the_file(
    tmp_path: Path, stages: DialogStages, espeak: str
) -> None:
    import subprocess

    subprocess.run([espeak, "-v", "en-us+f5", "-s", "150", "-w", str(tmp_path / "said.wav"),
                    "add two bananas to my cart"], check=True)  # fmt: skip
    path = tmp_path / "audio.yaml"
    path.write_text("fixtures: {shopper: new}\n"
                    "conversations: [{name: w, turns: [{wav: said.wav, expect: {heard: bananas,"
                    " cart: [{product: Sunny Acres Bananas, quantity: 2}]}}]}]\n")  # fmt: skip
    (spec,) = load_dialogs(path)
    with stages() as stage:
        outcome = run_conversation(spec, stage)
    assert outcome.passed, outcome.failure_report()


def test_an_arrange_turn_with_an_unknown_product_fails_that_turn(
    tmp_path: Path, stages: DialogStages
) -> None:
    path = tmp_path / "arrange.yaml"
    path.write_text("fixtures: {shopper: new}\n"
                    "conversations: [{name: a, turns: [{launch: true},"
                    " {arrange: {stock: {Moon Cheese: 1}}}, {launch: true}]}]\n")  # fmt: skip
    (spec,) = load_dialogs(path)
    with stages() as stage:
        outcome = run_conversation(spec, stage)
    assert not outcome.passed
    assert [t.number for t in outcome.turns] == [1, 2]  # stops at the broken turn
    assert "no product is called 'Moon Cheese'" in outcome.failure_report()
