"""Shared fixtures: a migrated, demo-seeded database per test, the app, and conversations."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import alexa
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from app import (
    Settings,
    create_app,
    make_engine,
    make_sessions,
    seed_demo,
    upgrade_database,
    wiring,
)

OAUTH_SECRET = "test-client-secret"
OAUTH_REDIRECT = "https://pitangui.amazon.com/api/skill/link/M2TESTVENDOR"


@pytest.fixture(scope="session")
def espeak() -> str:
    """Debian's espeak-ng, which `make test` installs; missing it fails under CI."""
    path = shutil.which("espeak-ng")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("espeak-ng missing; `make test` installs it (apt-get install espeak-ng)")
        pytest.skip("espeak-ng not installed: `make test` installs it as root")
    return path


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated + demo-seeded SQLite file, copied for each test (fast, isolated)."""
    path = tmp_path_factory.mktemp("template") / "voicecart.db"
    settings = Settings(database_url=f"sqlite:///{path}")
    upgrade_database(settings)
    engine = make_engine(settings)
    seed_demo(make_sessions(engine))
    engine.dispose()
    return path


@pytest.fixture
def settings(tmp_path: Path, seeded_template: Path) -> Settings:
    db = tmp_path / "voicecart.db"
    shutil.copy(seeded_template, db)
    return Settings(
        database_url=f"sqlite:///{db}",
        skill_id=alexa.SKILL_ID,
        verify_alexa_requests=False,
        demo_shopper_for_unlinked=True,
        instance_dir=tmp_path,
        secure_cookies=False,  # the test client speaks plain http
        oauth_client_secret=OAUTH_SECRET,
        oauth_redirect_uris=(OAUTH_REDIRECT,),
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    application = create_app(settings)
    yield application
    wiring(application).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def sessions(app: Flask) -> sessionmaker[Session]:
    return wiring(app).sessions


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session for arranging and asserting; tests commit explicitly when they arrange."""
    with sessions() as s:
        yield s


class Conversation:
    """Posts Alexa envelopes to /alexa and carries session attributes between turns."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.attributes: dict[str, Any] = {}
        self.last: dict[str, Any] = {}

    def send(self, envelope: dict[str, Any]) -> dict[str, Any]:
        envelope["session"]["attributes"] = dict(self.attributes)
        reply = self.client.post("/alexa", json=envelope)
        assert reply.status_code == 200, reply.get_data(as_text=True)
        self.last = reply.get_json()
        self.attributes = alexa.attributes(self.last)
        if alexa.ends_session(self.last):
            self.attributes = {}
        return self.last

    def launch(self) -> str:
        return alexa.speech(self.send(alexa.launch()))

    def say(self, intent: str, **slots: str | None) -> str:
        return alexa.speech(self.send(alexa.intent(intent, slots)))


@pytest.fixture
def conversation(client: FlaskClient) -> Conversation:
    return Conversation(client)


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    """YAML dialogue tests under tests/dialogs/ (see tests/dialog_items.py)."""
    if file_path.suffix in (".yaml", ".yml") and "dialogs" in file_path.parts:
        from dialog_items import DialogFile

        return DialogFile.from_parent(parent, path=file_path)
    return None


def pytest_unconfigure(config: pytest.Config) -> None:
    from dialog_items import close_stages

    close_stages(config)
