"""The machine-readable description of the HTTP API (OpenAPI 3.1), served to clients.

Kept by hand in ``openapi.yaml`` beside this module; a test checks it against the app's
routes, so an endpoint cannot be added or dropped without the description following.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from flask import Blueprint, Response, jsonify, render_template

SPEC_PATH = "/api/v1/openapi.json"
DOCS_PATH = "/api/docs"


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


def _body_summary(operation: dict[str, Any]) -> str | None:
    """The request body's media types and fields, for people."""
    content = operation.get("requestBody", {}).get("content", {})
    parts = []
    for media, item in content.items():
        fields = ", ".join(item.get("schema", {}).get("properties", {}))
        parts.append(f"{media} {{{fields}}}" if fields else media)
    return "; ".join(parts) or None


def reference() -> list[dict[str, Any]]:
    """The operations grouped by tag, in the description's order, for the docs page."""
    spec = load_spec()
    grouped: dict[str, dict[str, Any]] = {
        tag["name"]: {**tag, "operations": []} for tag in spec.get("tags", [])
    }
    for method, path, operation in operations(spec):
        tag = (operation.get("tags") or ["other"])[0]
        grouped.setdefault(tag, {"name": tag, "operations": []})["operations"].append(
            {**operation, "method": method, "path": path, "body": _body_summary(operation)}
        )
    return [tag for tag in grouped.values() if tag["operations"]]


def create_openapi() -> Blueprint:
    """``GET /api/v1/openapi.json`` and a page for people at ``/api/docs``: public, so
    tools and developers can read them before they have a token."""
    bp = Blueprint("openapi", __name__, template_folder="templates")

    @bp.get(DOCS_PATH)
    def docs() -> str:
        return render_template("api_docs.html", spec=load_spec(), tags=reference(),
                               spec_path=SPEC_PATH, customer=None)  # fmt: skip

    @bp.get(SPEC_PATH)
    def spec() -> Response:
        response = jsonify(load_spec())
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    return bp
