"""``voicecart nlu train`` and ``nlu parse``: the local intent parser."""

from __future__ import annotations

import click

from voicecart.cli.common import prepare_database, ready_understanding, settings_of
from voicecart.cli.output import echo


@click.group("nlu")
def nlu_group() -> None:
    """The local intent parser (templates, then the trained parser)."""


@nlu_group.command("train")
@click.pass_context
def nlu_train(ctx: click.Context) -> None:
    """Train the parser for the current model and catalogue (or find it trained) into
    VOICECART_NLU_DIR; `serve` does this before its workers start."""
    settings = settings_of(ctx)
    ready_understanding(prepare_database(settings), settings)


@nlu_group.command("parse")
@click.argument("text", nargs=-1, required=True)
@click.pass_context
def nlu_parse(ctx: click.Context, text: tuple[str, ...]) -> None:
    """Show how TEXT is understood: intent, slots, confidence, which parser read it."""
    from skill.local import understanding

    settings = settings_of(ctx)
    sessions = prepare_database(settings)
    engine = understanding(sessions, settings.nlu_folder)[0]
    from catalog.matching import CatalogMatcher

    matcher = CatalogMatcher()
    with sessions() as db:
        parse = engine.parse(" ".join(text), resolver=lambda words: matcher.fit(db, words))
    echo(f"intent:     {parse.intent}")
    echo(f"slots:      {parse.slots}")
    echo(f"confidence: {parse.confidence} ({parse.source} parser)")
    if parse.alternatives:
        echo("next:       " + ", ".join(f"{n} {p}" for n, p in parse.alternatives))
