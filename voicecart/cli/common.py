"""What several commands share: the settings the root group read, a database ready to
use, and the trained parser readied before anything serves."""

from __future__ import annotations

import logging
import os

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from voicecart.cli.output import echo
from voicecart.database import make_engine, make_sessions, seed_demo, upgrade_database
from voicecart.settings import Settings

log = logging.getLogger("voicecart")


def settings_of(ctx: click.Context) -> Settings:
    """The settings the root group read from the environment."""
    settings: Settings = ctx.obj
    return settings


def prepare_database(settings: Settings) -> sessionmaker[Session]:
    """Migrate; on the embedded default an empty database also gets the demo data."""
    from catalog.models import Product

    upgrade_database(settings)
    sessions = make_sessions(make_engine(settings))
    if not os.environ.get("VOICECART_DATABASE_URL"):
        with sessions() as session:
            empty = not session.scalar(select(func.count(Product.id)))
        if empty:
            log.info("embedded database is empty: %s", seed_demo(sessions))
    return sessions


def ready_understanding(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Train the parser (or find it trained) before workers start, so they only load."""
    from skill.local import understanding

    echo("understanding: preparing the trained parser...")
    report = understanding(sessions, settings.nlu_folder)[1]
    if report is not None:
        how = "found" if report.loaded else f"trained on {report.examples:,} sentences"
        echo(f"understanding: parser {how} in {report.seconds:.1f} s "
             f"({settings.nlu_folder / report.key})")  # fmt: skip
