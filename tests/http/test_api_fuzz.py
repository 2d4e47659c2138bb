"""No input is a server error: Schemathesis generates requests from the OpenAPI
description (valid ones, and ones that break it on purpose) against every operation, on
SQLite and PostgreSQL, and every reply must be below 500 and in its documented shape."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
import schemathesis
from argon2 import PasswordHasher
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from sqlalchemy.orm import Session, sessionmaker

from account_link import accounts
from account_link.identity import demo_shopper
from account_link.tokens import issue_access_token
from web.openapi import SPEC_PATH

EXAMPLES = int(os.environ.get("VOICECART_FUZZ_EXAMPLES", "2500"))
"""Generated requests per database and mode; 2 modes x 2 databases x 2,500 = 10,000."""


@pytest.fixture
def demo_token(sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> str:
    # Voice codes are argon2id-hashed with production costs (~0.5 s each); the fuzz run
    # is about inputs, so it hashes cheaply (the hashing itself is tested elsewhere).
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    with sessions.begin() as db:
        shopper = demo_shopper(db)
        assert shopper is not None
        return issue_access_token(db, shopper, ttl_seconds=3600)


def _documented_error(case: Any, response: Any) -> str | None:
    """Why a 4xx reply is not in the documented error shape, or ``None``."""
    path = case.operation.path
    if path == "/oauth/authorize":
        kinds = [v for k, vs in response.headers.items() if k.lower() == "content-type" for v in vs]
        return None if kinds and kinds[0].startswith("text/html") else f"not a page: {kinds}"
    try:
        body = response.json()
    except ValueError:
        return "not JSON"
    if path.startswith("/oauth/"):
        return None if isinstance(body, dict) and isinstance(body.get("error"), str) else "no error"
    if not isinstance(body, dict) or set(body) - {"error", "message", "database"}:
        return f"unexpected keys {sorted(body) if isinstance(body, dict) else body!r}"
    if not isinstance(body.get("error"), str) or not isinstance(body.get("message"), str):
        return "error and message must be strings"
    return None


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_is_a_server_error(
    app: Flask, demo_token: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_wsgi(SPEC_PATH, app)
    strategy = schema.as_strategy(
        generation_mode=mode, headers={"Authorization": f"Bearer {demo_token}"}
    )
    statuses: Counter[int] = Counter()
    problems: list[str] = []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call()
        statuses[response.status_code] += 1
        label = f"{case.method} {case.formatted_path} -> {response.status_code}"
        if response.status_code >= 500:
            problems.append(f"{label}: {response.text[:300]}")
        elif response.status_code >= 400 and (why := _documented_error(case, response)):
            problems.append(f"{label}: {why}: {response.text[:200]}")

    run()
    total = sum(statuses.values())
    print(f"\n{mode.value}: {total} requests, statuses {dict(sorted(statuses.items()))}")
    assert total >= EXAMPLES * 0.95
    assert not problems, "\n".join(problems[:20])
