"""``voicecart catalog import`` and ``catalog index``: the products and their index."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy.orm import Session, sessionmaker

from voicecart.cli.common import ready_understanding, settings_of
from voicecart.cli.output import echo, printable
from voicecart.database import make_engine, make_sessions, upgrade_database
from voicecart.settings import Settings


@click.group("catalog")
def catalog_group() -> None:
    """Catalogue commands."""


@catalog_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "instacart"]),
    default="csv",
    show_default=True,
    help="csv: voicecart's columns (sku,name,brand,size,price_cents,stock,category,synonyms,"
    "popularity). instacart: Instacart 2017 products.csv (departments.csv beside it names "
    "categories).",
)
@click.option("--default-price-cents", type=click.IntRange(0), default=399, show_default=True,
              help="Price for formats that carry none (instacart).")  # fmt: skip
@click.option("--default-stock", type=click.IntRange(0), default=100, show_default=True,
              help="Stock for new products in formats that carry none (instacart).")  # fmt: skip
@click.pass_context
def catalog_import(
    ctx: click.Context, file: Path, fmt: str, default_price_cents: int, default_stock: int
) -> None:
    """Import FILE into the catalogue: upsert by SKU, skip and report bad rows.

    Valid rows land in one transaction (all or nothing); running servers pick the new
    catalogue up on their next request.
    """
    from catalog.errors import CatalogError
    from catalog.importer import ImportFormat, import_catalog

    settings = settings_of(ctx)
    upgrade_database(settings)
    sessions = make_sessions(make_engine(settings))
    size = file.stat().st_size if file.is_file() else 0
    try:
        with (
            click.progressbar(length=size, label=f"importing {file.name}", file=sys.stderr) as bar,
            sessions.begin() as session,
        ):
            report = import_catalog(
                session, file, ImportFormat(fmt), progress=bar.update,
                default_price_cents=default_price_cents, default_stock=default_stock,
            )  # fmt: skip
    except CatalogError as exc:
        raise click.ClickException(printable(f"nothing imported: {exc}")) from exc
    echo(
        f"imported {report.imported} products ({report.created} new, {report.updated} updated, "
        f"{report.unchanged} unchanged); skipped {len(report.skipped)} rows"
    )
    for problem in report.skipped[:50]:
        echo(f"  line {problem.line}: {problem.reason}", err=True)
    if len(report.skipped) > 50:
        echo(f"  ... and {len(report.skipped) - 50} more", err=True)
    if report.created or report.updated:
        _ready_index(sessions, settings)
        ready_understanding(sessions, settings)


@catalog_group.command("index")
@click.pass_context
def catalog_index(ctx: click.Context) -> None:
    """Build the catalogue index of the current revision into VOICECART_INDEX_DIR.

    `catalog import` runs this itself. Servers memory-map the newest index there (every
    worker shares one copy) and build one in the background only when it is missing.
    """
    settings = settings_of(ctx)
    upgrade_database(settings)
    _ready_index(make_sessions(make_engine(settings)), settings)


def _ready_index(sessions: sessionmaker[Session], settings: Settings) -> None:
    """Build the committed catalogue's index folder, so no server has to."""
    import time

    from catalog.matching import build_index_folder

    started = time.perf_counter()
    with sessions() as session:
        folder, index = build_index_folder(session, settings.index_folder)
    echo(f"catalogue index: {len(index)} products in {folder} "
         f"({time.perf_counter() - started:.1f} s)")  # fmt: skip
