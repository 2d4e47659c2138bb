"""``voicecart db upgrade`` and ``voicecart seed``: the schema and the starter data."""

from __future__ import annotations

import click

from voicecart.cli.common import settings_of
from voicecart.cli.output import echo
from voicecart.database import (
    make_engine,
    make_sessions,
    redacted_url,
    seed_demo,
    upgrade_database,
)


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply pending migrations to VOICECART_DATABASE_URL (default: instance/voicecart.db)."""
    settings = settings_of(ctx)
    upgrade_database(settings)
    echo(f"database is at the latest schema: {redacted_url(settings.database_url)}")


@click.command()
@click.option("--demo", is_flag=True, help="Load the shipped demo catalogue and demo shopper.")
@click.pass_context
def seed(ctx: click.Context, demo: bool) -> None:
    """Load starter data into the database (idempotent)."""
    if not demo:
        raise click.UsageError("say what to seed: --demo")
    settings = settings_of(ctx)
    upgrade_database(settings)
    echo(seed_demo(make_sessions(make_engine(settings))))
