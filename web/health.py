"""``/healthz``: whether this worker can write to the database now (for load balancers,
compose and the image's healthcheck)."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from sqlalchemy import Engine

from catalog.dbstate import probe

log = logging.getLogger("voicecart")


def register_health(app: Flask, engine: Engine) -> None:
    """Add ``GET /healthz`` to ``app``, probing ``engine``."""

    @app.get("/healthz")
    def _health() -> tuple[Response, int]:
        """Whether this worker can take a write now; never the database's own error text
        (it names hosts and ports), which goes to the log instead."""
        trouble = probe(engine)
        if trouble is None:
            return jsonify({"status": "ok", "database": "ok"}), 200
        log.warning("health check: database %s", trouble.trouble.value)
        reply = jsonify({"status": "unavailable", "database": trouble.trouble.value,
                         "message": trouble.message})  # fmt: skip
        if trouble.retry_after_seconds:
            reply.headers["Retry-After"] = str(trouble.retry_after_seconds)
        return reply, 503
