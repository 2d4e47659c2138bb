"""Shared fixtures: a migrated, demo-seeded database per test, the app, and conversations."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import alexa
import pytest
from flask import Flask
from flask.testing import FlaskClient
from pgserver import PgServer, PostgresUnavailable
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from testkit import OAUTH_REDIRECT, OAUTH_SECRET, Conversation

from app import create_app, wiring
from voicecart.database import make_engine, make_sessions, seed_demo, upgrade_database
from voicecart.settings import Settings


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


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A throwaway PostgreSQL for the run (`make test` installs Debian's postgresql)."""
    if os.environ.get("VOICECART_TEST_POSTGRES") == "0":
        pytest.skip("VOICECART_TEST_POSTGRES=0: the PostgreSQL runs are switched off")
    try:
        server = PgServer()
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is needed under CI: {exc}")
        pytest.skip(f"{exc}; `make test` installs it as root")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer) -> str:
    """A migrated, demo-seeded database that each test's database is copied from."""
    admin = create_engine(pg_server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE vc_template"))
    admin.dispose()
    settings = Settings(database_url=pg_server.url("vc_template"))
    upgrade_database(settings)
    engine = make_engine(settings)
    seed_demo(make_sessions(engine))
    engine.dispose()
    return "vc_template"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, seeded_template: Path
) -> Iterator[str]:
    """Every test that uses the database runs on SQLite and again on PostgreSQL."""
    if request.param == "sqlite":
        db = tmp_path / "voicecart.db"
        shutil.copy(seeded_template, db)
        yield f"sqlite:///{db}"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    template: str = request.getfixturevalue("pg_template")
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    try:
        yield server.url(name)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """An empty PostgreSQL database for a server process to migrate and seed itself."""
    name = f"c_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_server.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield pg_server.url(name)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def pytest_configure(config: pytest.Config) -> None:
    """One folder for the trained parser's files, for this process and every server or
    command it starts: trained by the first test that needs it, loaded by the rest (as
    workers share it in a deployment). Named by what it was trained from, so reusing
    pytest's cache across runs can never load a stale parser."""
    if "VOICECART_NLU_DIR" not in os.environ:
        cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
        folder = cache.mkdir("nlu") if cache is not None else None
        os.environ["VOICECART_NLU_DIR"] = str(folder or tempfile.mkdtemp(prefix="vc-nlu-"))


@pytest.fixture(scope="session")
def nlu_dir() -> Path:
    return Path(os.environ["VOICECART_NLU_DIR"])


@pytest.fixture
def settings(tmp_path: Path, database_url: str, nlu_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        nlu_dir=nlu_dir,
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
    wiring(application).close()


@pytest.fixture
def make_app(settings: Settings) -> Iterator[Callable[..., Flask]]:
    """Apps on the test's database with some settings changed: ``make_app(tax_bps=800)``."""
    built: list[Flask] = []

    def make(**changes: Any) -> Flask:
        built.append(create_app(replace(settings, **changes)))
        return built[-1]

    yield make
    for application in built:
        wiring(application).close()


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


@pytest.fixture
def conversation(client: FlaskClient) -> Conversation:
    return Conversation(client)


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    """YAML dialogue tests under tests/dialogs/ (see tests/support/dialog_items.py)."""
    here = Path(__file__).parent / "dialogs"
    if file_path.suffix in (".yaml", ".yml") and here in file_path.parents:
        from dialog_items import DialogFile

        return DialogFile.from_parent(parent, path=file_path)
    return None


def pytest_unconfigure(config: pytest.Config) -> None:
    from dialog_items import close_stages

    close_stages(config)


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(
                "Debian chromium is missing; `make test` installs it (apt-get install chromium)"
            )
        pytest.skip(
            "no chromium on PATH: `make test` installs it as root (apt-get install chromium)"
        )
    return path
