"""Render the interaction model in the ``skill-package/`` layout the ASK CLI deploys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nlu.model import IntentDef, InteractionModel
from skill import prompts

MODEL_PATH = Path("interactionModels/custom/en-US.json")
MANIFEST_PATH = Path("skill.json")
DEFAULT_PUBLIC_URL = "https://voicecart.example.com"


def _prompt_id(intent: str, slot: str) -> str:
    return f"Elicit.Slot.{intent}.{slot}"


def _language_intent(intent: IntentDef) -> dict[str, Any]:
    body: dict[str, Any] = {"name": intent.name}
    if intent.slots:
        slots = []
        for slot in intent.slots:
            entry: dict[str, Any] = {"name": slot.name, "type": slot.type}
            if slot.elicitation_samples:
                entry["samples"] = list(slot.elicitation_samples)
            slots.append(entry)
        body["slots"] = slots
    body["samples"] = list(intent.samples)
    return body


def interaction_model_json(model: InteractionModel) -> dict[str, Any]:
    """The ``en-US.json`` document: language model, dialog model (manual) and prompts."""
    dialog_intents = []
    prompt_list = []
    for intent in model.intents:
        if not any(slot.elicitation_prompt for slot in intent.slots):
            continue
        slots = []
        for slot in intent.slots:
            entry: dict[str, Any] = {
                "name": slot.name,
                "type": slot.type,
                "confirmationRequired": False,
                "elicitationRequired": slot.elicitation_prompt is not None,
                "prompts": {},
            }
            if slot.elicitation_prompt:
                pid = _prompt_id(intent.name, slot.name)
                entry["prompts"] = {"elicitation": pid}
                prompt_list.append(
                    {
                        "id": pid,
                        "variations": [{"type": "PlainText", "value": slot.elicitation_prompt}],
                    }
                )
            slots.append(entry)
        dialog_intents.append(
            {
                "name": intent.name,
                "delegationStrategy": "SKILL_RESPONSE",
                "confirmationRequired": False,
                "prompts": {},
                "slots": slots,
            }
        )
    return {
        "interactionModel": {
            "languageModel": {
                "invocationName": model.invocation_name,
                "intents": [_language_intent(i) for i in model.intents],
                "types": [
                    {
                        "name": t.name,
                        "values": [
                            {"id": v.id, "name": {"value": v.value, "synonyms": list(v.synonyms)}}
                            for v in t.values
                        ],
                    }
                    for t in model.types
                ],
            },
            "dialog": {"intents": dialog_intents, "delegationStrategy": "SKILL_RESPONSE"},
            "prompts": prompt_list,
        },
        "version": "1",
    }


def skill_manifest_json(public_url: str = DEFAULT_PUBLIC_URL) -> dict[str, Any]:
    """``skill.json``: publishing data, the HTTPS endpoint and purchase compliance flags."""
    base = public_url.rstrip("/")
    return {
        "manifest": {
            "publishingInformation": {
                "locales": {
                    "en-US": {
                        "name": prompts.SKILL_NAME,
                        "summary": "Reorder groceries and household items by voice.",
                        "description": (
                            "Voice Cart reorders what you usually buy, keeps one cart shared "
                            "with the Voice Cart website and app, and checks out by voice."
                        ),
                        "examplePhrases": [
                            "Alexa, open voice cart",
                            "Alexa, ask voice cart to reorder paper towels",
                            "Alexa, ask voice cart what's in my cart",
                        ],
                        "keywords": ["shopping", "grocery", "reorder", "cart"],
                    }
                },
                "category": "SHOPPING",
                "distributionCountries": ["US"],
                "isAvailableWorldwide": False,
                "testingInstructions": "Link the demo account, then say: reorder paper towels.",
            },
            "apis": {
                "custom": {
                    "endpoint": {"uri": f"{base}/alexa", "sslCertificateType": "Trusted"},
                    "interfaces": [],
                }
            },
            "privacyAndCompliance": {
                "allowsPurchases": True,
                "usesPersonalInfo": True,
                "isChildDirected": False,
                "isExportCompliant": True,
                "containsAds": False,
                "locales": {
                    "en-US": {
                        "privacyPolicyUrl": f"{base}/privacy",
                        "termsOfUseUrl": f"{base}/terms",
                    }
                },
            },
            "manifestVersion": "1.0",
        }
    }


def dumps(document: dict[str, Any]) -> str:
    """Stable text: the committed files are compared byte for byte."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_package(
    model: InteractionModel, public_url: str = DEFAULT_PUBLIC_URL
) -> dict[Path, str]:
    """Relative path → file text for every file ``export-model`` writes."""
    return {
        MANIFEST_PATH: dumps(skill_manifest_json(public_url)),
        MODEL_PATH: dumps(interaction_model_json(model)),
    }


def write_package(root: Path, files: dict[Path, str]) -> list[Path]:
    """Write the rendered files under ``root``; returns the paths whose content changed."""
    changed = []
    for relative, text in files.items():
        target = root / relative
        if target.exists() and target.read_text("utf-8") == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
        changed.append(target)
    return changed
