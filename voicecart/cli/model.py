"""``voicecart model list``/``download`` and ``transcribe``: the local voice channel's
speech recognition, its models and a WAV run through it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from voicecart.cli.common import prepare_database, settings_of
from voicecart.cli.output import echo


@click.group("model")
def model_group() -> None:
    """Speech-recognition models for the local voice channel."""


@model_group.command("list")
@click.pass_context
def model_list(ctx: click.Context) -> None:
    """Show the Vosk models installed in the models folder and which one is in use."""
    from nlu.models import installed_models

    settings = settings_of(ctx)
    folder = settings.models_folder
    models = installed_models(folder)
    echo(f"models folder: {folder} (VOICECART_MODEL_DIR)")
    for model in models:
        active = " (in use)" if settings.vosk_model and model.path == settings.vosk_model else ""
        echo(f"  {model.name}  {model.size_mb:.0f} MB{active}")
    if not models:
        echo("  no Vosk models installed: run `voicecart model download`")
    in_use = settings.vosk_model or "none (VOICECART_VOSK_MODEL is not set)"
    echo(f"VOICECART_VOSK_MODEL: {in_use}")


@model_group.command("download")
@click.option("--name", default="vosk-model-small-en-us-0.15", show_default=True,
              help="Model name as on the official Vosk model list.")  # fmt: skip
@click.pass_context
def model_download(ctx: click.Context, name: str) -> None:
    """Download a Vosk model from its official site, check its MD5, unpack it."""
    from nlu.models import DownloadError, download_model

    settings = settings_of(ctx)
    folder = settings.models_folder
    with click.progressbar(length=0, label=f"downloading {name}", file=sys.stderr) as bar:

        def report(done: int, total: int) -> None:
            bar.length = total or bar.length
            bar.update(done - bar.pos)

        try:
            path = download_model(folder, name, base_url=settings.model_base_url, progress=report)
        except DownloadError as exc:
            raise click.ClickException(str(exc)) from exc
    echo(f"installed {name} in {path}")
    echo(f"use it with: export VOICECART_VOSK_MODEL={path}")


@click.command()
@click.argument("wav", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--alternatives", type=click.IntRange(1, 10), default=5, show_default=True)
@click.pass_context
def transcribe(ctx: click.Context, wav: Path, alternatives: int) -> None:
    """Transcribe a WAV (Vosk if VOICECART_VOSK_MODEL is set, else PocketSphinx) and parse it."""
    from catalog.matching import CatalogMatcher
    from catalog.service import active_products
    from nlu.asr import recognizer_for
    from nlu.audio import AudioError, read_wav
    from skill.interaction import build_model
    from skill.local import understanding
    from skill.speech_domain import domain_bias

    settings = settings_of(ctx)
    try:
        audio = read_wav(wav.read_bytes())
    except AudioError as exc:
        raise click.ClickException(f"{wav}: {exc}") from exc
    sessions = prepare_database(settings)
    matcher = CatalogMatcher()
    with sessions() as db:
        names = [n for p in active_products(db) for n in (p.name, *p.synonyms)]
        model = build_model([])
        heard = recognizer_for(settings.vosk_model, settings.general_lm_weight).transcribe(
            audio, phrases=domain_bias(model, names), alternatives=alternatives
        )
        texts = [h.text for h in heard.alternatives]
        engine = understanding(sessions, settings.nlu_folder)[0]
        parse = engine.parse_best(texts, resolver=lambda w: matcher.fit(db, w))
    echo(f"engine: {heard.engine}, audio {heard.audio_seconds:.2f} s, "
         f"decoded in {heard.decode_seconds:.2f} s")  # fmt: skip
    for rank, hypothesis in enumerate(heard.alternatives, start=1):
        echo(f"  {rank}. {hypothesis.text}  ({hypothesis.confidence:.3f})")
    if not heard.alternatives:
        echo("  (nothing recognised)")
    echo(f"intent: {parse.intent} (confidence {parse.confidence:.2f}) slots: {parse.slots}")
