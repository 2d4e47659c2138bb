"""Fresh, demo-seeded voicecarts for dialogue tests and the simulator's replays.

One template database is migrated and seeded once and copied for each conversation, so
conversations are isolated and cheap. Each stage is the skill's services without Flask
(:func:`app.build_services`): the local dialogue, its sessions and the quantity limit.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app import build_services
from skill.local import LocalDialogue
from voicecart.database import make_engine, make_sessions, seed_demo, upgrade_database
from voicecart.settings import Settings


@dataclass
class DialogStage:
    """One conversation's voicecart (a :class:`devtools.dialogs.Stage`)."""

    dialogue: LocalDialogue
    sessions: sessionmaker[Session]
    max_quantity: int


class DialogStages:
    """Fresh, demo-seeded voicecarts for dialogue tests and the simulator: one template
    database migrated and seeded once, copied for each conversation (isolated, fast)."""

    def __init__(self, base: Settings | None = None) -> None:
        self._base = base or Settings()
        self._dir = Path(tempfile.mkdtemp(prefix="voicecart-dialogs-"))
        self._template = self._dir / "template.db"
        settings = Settings(database_url=f"sqlite:///{self._template}", instance_dir=self._dir)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        upgrade_database(settings)
        engine = make_engine(settings)
        seed_demo(make_sessions(engine))
        engine.dispose()
        self._count = 0

    @contextlib.contextmanager
    def __call__(self) -> Iterator[DialogStage]:
        self._count += 1
        db = self._dir / f"conversation-{self._count}.db"
        shutil.copy(self._template, db)
        index = self._dir / f"index-{self._count}"  # its catalogue is its own
        settings = replace(
            self._base, database_url=f"sqlite:///{db}", instance_dir=self._dir, index_dir=index,
            demo_shopper_for_unlinked=False,
        )  # fmt: skip
        quiet = logging.getLogger("voicecart")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # a test hook's warnings are expected here
        try:
            built = build_services(settings)
        finally:
            quiet.setLevel(level)
        try:
            yield DialogStage(built.dialogue, built.sessions, settings.max_quantity)
        finally:
            built.close()
            db.unlink(missing_ok=True)
            shutil.rmtree(index, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
