"""The ``voicecart`` command line: the root group, its commands, and :func:`main`.

Each command group lives in its own module (``db``, ``catalog``, ``model``, ``orders``,
``returns``, ``serve``, ``nlu``, ``dev``); they import the heavy packages (the skill,
speech recognition, gunicorn) only when they run, so ``--help`` stays quick.
"""

from __future__ import annotations

import logging
import sys

import click

from catalog.dbstate import unavailable
from voicecart.cli.catalog import catalog_group
from voicecart.cli.db import db, seed
from voicecart.cli.dev import export_model, simulate, test_dialogs, token
from voicecart.cli.model import model_group, transcribe
from voicecart.cli.nlu import nlu_group
from voicecart.cli.orders import orders_group
from voicecart.cli.output import echo
from voicecart.cli.returns import returns_group
from voicecart.cli.serve import serve
from voicecart.database import redacted_url
from voicecart.settings import ConfigError, Settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option("0.1.0", prog_name="voicecart")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """voicecart: a voice-commerce assistant backend (Alexa skill, shared cart, reorders).

    Settings come from VOICECART_* environment variables; see the README.
    """
    try:
        ctx.obj = Settings.from_env()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    logging.basicConfig(
        level=ctx.obj.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Alembic's INFO lines (context, one per migration) on every command are noise:
    # upgrade_database says in one line what it applied.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))
    # Authlib logs issued tokens at DEBUG; the database keeps only their hashes.
    logging.getLogger("authlib").setLevel(max(logging.INFO, logging.getLogger().level))


for _command in (
    db, seed, catalog_group, model_group, transcribe, orders_group, returns_group, token,
    test_dialogs, simulate, export_model, serve, nlu_group,
):  # fmt: skip
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point: a database that cannot serve is one line, not a trace."""
    try:
        cli.main(prog_name="voicecart")
    except Exception as exc:
        trouble = unavailable(exc)
        if trouble is None:
            raise
        url = redacted_url(Settings.from_env().database_url)
        echo(f"voicecart: error: {trouble.message} ({url})", err=True)
        sys.exit(3)
