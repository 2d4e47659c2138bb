"""No input to the web shop's pages is a server error: Hypothesis posts every form and
fetches every page with generated fields (odd text, NUL, huge and negative numbers,
unknown ids), signed in with a valid CSRF token, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from oauthflow import csrf_token

from account_link import accounts

EXAMPLES = int(os.environ.get("VOICECART_PAGE_FUZZ_EXAMPLES", "400"))

GETS = ["/", "/developers", "/linked", "/account/signin", "/account/signup", "/account",
        "/cart", "/orders", "/orders/{id}"]  # fmt: skip
POSTS = {
    "/account/signin": ["email", "password"],
    "/account/signup": ["name", "email", "address", "password"],
    "/account/password": ["current_password", "new_password"],
    "/account/address": ["address"],
    "/account/voice-code": ["code", "action"],
    "/cart/add": ["product_id", "back"],
    "/cart/lines/{id}": ["action", "quantity"],
    "/cart/checkout": ["key", "version"],
    "/orders/{id}/cancel": [],
    "/orders/{id}/lines/{id}/return": ["quantity"],
    "/orders/{id}/reorder": [],
}
QUERY_KEYS = ["q", "next", "code", "state", "error", "page"]

odd_text = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
    st.sampled_from(["", "0", "-1", "1", "25", "26", "99999999999999999999", "1e3", "١٢",
                     "\x00", "a\x00b", "\u202e", "//evil.example", "/\\evil", "remove",
                     "update", "more", "fewer", "0" * 32, "f" * 32]),
)  # fmt: skip
ids = st.one_of(st.integers(0, 30), st.integers(2**31 - 2, 2**31 + 2), st.just(2**63))


@st.composite
def page_requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str]]:
    if draw(st.booleans()):
        path = draw(st.sampled_from(GETS))
        fields = draw(st.dictionaries(st.sampled_from(QUERY_KEYS), odd_text, max_size=3))
        method = "GET"
    else:
        path = draw(st.sampled_from(sorted(POSTS)))
        names = POSTS[path] + draw(st.lists(st.sampled_from(QUERY_KEYS), max_size=1))
        fields = {name: draw(odd_text) for name in names if draw(st.integers(0, 4))}
        method = "POST"
    while "{id}" in path:
        path = path.replace("{id}", str(draw(ids)), 1)
    return method, path, fields


@pytest.fixture
def shopper(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    # Passwords are argon2id-hashed at production cost; the fuzz run is about inputs.
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
    page = client.get("/account/signup")
    form = {"csrf_token": csrf_token(page), "name": "Fuzz", "email": "fuzz@example.com",
            "address": "1 Elm St", "password": "correct horse battery"}  # fmt: skip
    assert client.post("/account/signup", data=form).status_code == 303
    client.post("/cart/add", data={"csrf_token": csrf_token(client.get("/cart")),
                                   "product_id": "1"})  # fmt: skip
    return client


def test_no_page_or_form_input_is_a_server_error(shopper: FlaskClient) -> None:
    token = csrf_token(shopper.get("/account"))
    statuses: Counter[int] = Counter()
    problems: list[str] = []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(request=page_requests())
    def run(request: tuple[str, str, dict[str, Any]]) -> None:
        method, path, fields = request
        if method == "GET":
            reply = shopper.get(path, query_string=fields, headers={"Accept": "text/html"})
        else:
            reply = shopper.post(path, data={"csrf_token": token, **fields},
                                 headers={"Accept": "text/html"})  # fmt: skip
        statuses[reply.status_code] += 1
        if reply.status_code >= 500:
            problems.append(f"{method} {path} {fields!r} -> {reply.status_code}")

    run()
    print(f"\npages: {sum(statuses.values())} requests, statuses {dict(sorted(statuses.items()))}")
    assert not problems, "\n".join(problems[:20])
