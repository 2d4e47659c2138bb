"""``voicecart serve``: migrate, ready the parser, then run gunicorn on the app."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

import click

from voicecart.cli.common import prepare_database, ready_understanding, settings_of
from voicecart.cli.output import echo
from voicecart.settings import announce_startup_warnings, load_secret_key

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger("voicecart")


@click.command()
@click.option("--host", help="Interface to bind (default VOICECART_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Port (default VOICECART_PORT or 8000).")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (default 2).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Migrate the database, then serve /alexa with gunicorn (production WSGI server)."""
    settings = settings_of(ctx)
    settings = replace(
        settings,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
    )
    sessions = prepare_database(settings)
    ready_understanding(sessions, settings)
    if settings.is_sqlite and settings.workers > 1:
        log.info(
            "SQLite with %d workers: fine for development; use PostgreSQL to scale out",
            settings.workers,
        )
    from gunicorn.app.base import BaseApplication

    from app import create_app

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{settings.host}:{settings.port}")
            self.cfg.set("workers", settings.workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", settings.threads)
            self.cfg.set("timeout", 30)
            self.cfg.set("accesslog", "-")
            self.cfg.set("loglevel", settings.log_level.lower())
            if "control_socket_disable" in self.cfg.settings:
                # gunicorn >= 24 opens one control socket per user; two servers would collide.
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Flask:
            return create_app(settings, announce=False)  # said once, below

    load_secret_key(settings)  # made once here, not raced for by the workers
    announce_startup_warnings(settings)
    base = f"http://{settings.host}:{settings.port}"
    threads = f"{settings.threads} thread{'s' if settings.threads != 1 else ''}"
    echo(f"voicecart serving at {base} ({settings.workers} workers, {threads} each); "
         "Ctrl-C to stop")  # fmt: skip
    for label, path in (("shop", "/"), ("cart", "/cart"), ("Alexa endpoint", "/alexa"),
                        ("API reference", "/api/docs"), ("health", "/healthz")):  # fmt: skip
        echo(f"  {label:<15}{base}{path}")
    _Server().run()
