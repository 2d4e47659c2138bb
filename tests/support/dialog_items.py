"""Pytest collects the YAML dialogue tests under tests/dialogs: one item per conversation.

Hooked up in conftest.py; the same runner as `voicecart test-dialogs`, so a file that
passes there passes here. Failures print every failing turn, expected against actual.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.dialogs import ConversationSpec, DialogFileError, load_dialogs, run_conversation
from devtools.stages import DialogStages

_STAGES = pytest.StashKey[DialogStages]()


class DialogFailure(Exception):
    """A conversation whose turns did not do what the file expects."""


def stages_for(config: pytest.Config) -> DialogStages:
    """One template database for the whole run, made on first use."""
    if _STAGES not in config.stash:
        config.stash[_STAGES] = DialogStages()
    return config.stash[_STAGES]


def close_stages(config: pytest.Config) -> None:
    if _STAGES in config.stash:
        config.stash[_STAGES].close()


class DialogFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            specs = load_dialogs(self.path)
        except DialogFileError as exc:
            raise self.CollectError(str(exc)) from exc
        for spec in specs:
            yield DialogItem.from_parent(self, name=spec.name, spec=spec)


class DialogItem(pytest.Item):
    def __init__(self, *, spec: ConversationSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec

    def runtest(self) -> None:
        if any(t.kind == "speak" for t in self.spec.turns) and not shutil.which("espeak-ng"):
            if os.environ.get("CI"):
                pytest.fail("espeak-ng missing; `make test` installs it (apt-get install)")
            pytest.skip("speak: turns need espeak-ng, which `make test` installs as root")
        with stages_for(self.config)() as stage:
            outcome = run_conversation(self.spec, stage)
        if not outcome.passed:
            raise DialogFailure(outcome.failure_report())

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        if isinstance(excinfo.value, DialogFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"dialog: {self.name}"
