"""English end to end on real audio: espeak-ng speech -> POST /api/v1/voice -> the skill.

Sixty shopping requests, said by two espeak-ng voices at four speeds and five sample
rates (8 kHz to 48 kHz), recognised by PocketSphinx with the domain language model, and
checked for intent, quantity and matched product. Prints the per-utterance table and the
word error rate. The issue's target is 90% fully correct; what synthetic speech reaches
on this engine is below it (see README, "Local speech"), so the gate here is a floor
under the measured accuracy that catches regressions, and the gap is printed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from oauthflow import linked_token
from rapidfuzz.distance import Levenshtein
from speech_corpus import Case, spoken_cases, synthesise

TARGET = 0.90
"""Issue 5's goal for fully correct replies."""
FLOOR = 0.76
"""What this suite must not fall below (espeak-ng is deterministic: 48 of 60, 80%, are
measured). It was 0.78 under an 82% measurement before issue 12; the interaction model
generated for shoppers' own words spread the recognition language model over many more
phrasings and these 60 sentences, written from the old sample list, fell to 73%; the
language weight tuned on the spoken development set brought them back to 80% (see
README, "Performance")."""


def _verdict(case: Case, payload: dict[str, object]) -> tuple[bool, bool, bool]:
    slots = payload.get("slots") or {}
    assert isinstance(slots, dict)
    product = payload.get("matchedProduct")
    name = str(product["name"]) if isinstance(product, dict) else None
    intent_ok = payload.get("intent") == case.intent
    quantity_ok = slots.get("quantity") == case.quantity
    product_ok = (name is None) if case.product is None else (
        name is not None and case.product.lower() in name.lower())  # fmt: skip
    return intent_ok, quantity_ok, product_ok


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # recognition, not storage
def test_spoken_shopping_requests_end_to_end(
    client: FlaskClient, espeak: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = linked_token(client, "speech@example.com")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "audio/wav"}
    rows, correct, errors, words = [], 0, 0, 0
    for case, voice in spoken_cases():
        reply = client.post("/api/v1/voice", data=synthesise(case.text, voice, tmp_path),
                            headers=headers)  # fmt: skip
        payload = reply.get_json()
        assert reply.status_code == 200, (case.text, payload)
        heard = str(payload["transcript"]["text"])
        verdict = _verdict(case, payload)
        correct += all(verdict)
        errors += Levenshtein.distance(case.text.split(), heard.split())
        words += len(case.text.split())
        marks = "".join("." if ok else "x" for ok in verdict)
        row = f"{'ok ' if all(verdict) else 'BAD'} {marks} {voice!s:24} {case.text:38} | {heard}"
        if not all(verdict):
            others = [a["text"] for a in payload["transcript"]["alternatives"][1:4]]
            row += f"  [also: {'; '.join(others)}] -> {payload['intent']} {payload['slots']}"
        rows.append(row)
    share = correct / len(rows)
    with capsys.disabled():
        print(f"\nEnglish end to end ({len(rows)} utterances; marks: intent, quantity, product)")
        print("\n".join(rows))
        print(f"fully correct {correct}/{len(rows)} = {share:.0%} (target {TARGET:.0%}, "
              f"floor {FLOOR:.0%}); word error rate {errors / words:.2f}")  # fmt: skip
    assert len(rows) >= 50
    assert share >= FLOOR
