"""The OpenAPI description is valid, served, and names exactly the app's API routes."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from web.openapi import DOCS_PATH, SPEC_PATH, load_spec, operations

DESCRIBED_PREFIXES = ("/api/v1/", "/oauth/", "/alexa", "/healthz")
NOT_DESCRIBED = {("GET", SPEC_PATH), ("POST", "/oauth/authorize")}
"""The description itself, and the sign-in form's post-back (a page, not an API)."""


def test_the_description_is_valid_openapi_3_1() -> None:
    spec = load_spec()
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_it_is_served_as_json(client: FlaskClient) -> None:
    reply = client.get(SPEC_PATH)
    assert reply.status_code == 200
    assert reply.get_json() == load_spec()


def _route_shape(path: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?[a-z_]+>|\{[A-Za-z]+\}", "{}", path)


def test_every_route_is_described_and_every_description_is_a_route(app: Flask) -> None:
    routes = {
        (method, _route_shape(rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(DESCRIBED_PREFIXES)
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    } - {(m, _route_shape(p)) for m, p in NOT_DESCRIBED}
    described = {(method, _route_shape(path)) for method, path, _ in operations()}
    assert routes - described == set(), "routes missing from web/openapi.yaml"
    assert described - routes == set(), "described operations the app does not serve"


def test_the_reference_page_lists_every_operation(client: FlaskClient) -> None:
    page = client.get(DOCS_PATH, headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for method, path, _ in operations():
        assert f"{method} {path}" in html
    assert 'href="/api/docs"' in client.get("/developers").get_data(as_text=True)
