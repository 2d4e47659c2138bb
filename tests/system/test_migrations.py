"""Alembic migrations build exactly the schema the models declare."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import skill.local_session  # noqa: F401  (its table is part of the schema)
from catalog.db import Base
from voicecart.database import upgrade_database
from voicecart.settings import Settings


def test_upgrade_creates_the_instance_folder(tmp_path: Path) -> None:
    """A fresh clone has no instance/ folder; `voicecart db upgrade` must create it."""
    settings = Settings(instance_dir=tmp_path / "instance")
    upgrade_database(settings)
    assert (tmp_path / "instance" / "voicecart.db").is_file()


def test_migrations_match_models(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'm.db'}")
    upgrade_database(settings)
    upgrade_database(settings)  # idempotent
    engine = create_engine(settings.database_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []
