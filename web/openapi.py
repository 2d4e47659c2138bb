"""The machine-readable description of the HTTP API (OpenAPI 3.1), served to clients.

Kept by hand in ``openapi.yaml`` beside this module; a test checks it against the app's
routes, so an endpoint cannot be added or dropped without the description following.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from flask import Blueprint, Response, jsonify

SPEC_PATH = "/api/v1/openapi.json"


@cache
def load_spec() -> dict[str, Any]:
    """The description, parsed once per process (on first use, not at import)."""
    text = resources.files(__package__).joinpath("openapi.yaml").read_text(encoding="utf-8")
    spec: dict[str, Any] = yaml.safe_load(text)
    return spec


def operations(spec: dict[str, Any] | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    """Every ``(METHOD, path, operation)`` the description names, in its order."""
    spec = spec or load_spec()
    methods = ("get", "put", "post", "patch", "delete")
    return [
        (method.upper(), path, item[method])
        for path, item in spec["paths"].items()
        for method in methods
        if method in item
    ]


def create_openapi() -> Blueprint:
    """``GET /api/v1/openapi.json``: public, so tools can read it before they have a token."""
    bp = Blueprint("openapi", __name__)

    @bp.get(SPEC_PATH)
    def spec() -> Response:
        response = jsonify(load_spec())
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    return bp
