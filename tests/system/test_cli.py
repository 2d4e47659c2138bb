"""The voicecart command line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from testkit import voicecart

from catalog.db import utcnow

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["seed"],
        ["export-model"],
        ["db"],
        ["db", "upgrade"],
        ["catalog"],
        ["catalog", "import"],
        ["catalog", "index"],
        ["model"],
        ["model", "list"],
        ["transcribe"],
        ["model", "download"],
        ["test-dialogs"],
        ["simulate"],
        ["orders"],
        ["orders", "list"],
        ["orders", "advance"],
        ["returns"],
        ["returns", "list"],
        ["returns", "receive"],
        ["token"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = voicecart(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: voicecart" in result.stdout


def test_top_level_help_lists_every_command() -> None:
    out = voicecart("--help").stdout
    for name in ("serve", "seed", "export-model", "db", "catalog", "model", "transcribe",
                 "test-dialogs", "simulate"):  # fmt: skip
        assert name in out


def test_seed_is_idempotent_and_export_reproduces_committed_files(tmp_path: Path) -> None:
    env = {"VOICECART_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    first = voicecart("seed", "--demo", env=env)
    assert first.returncode == 0, first.stderr
    assert "demo shopper: created" in first.stdout
    second = voicecart("seed", "--demo", env=env)
    assert second.returncode == 0, second.stderr
    assert " 0 added, 0 updated" in second.stdout
    assert "demo shopper: already present" in second.stdout

    out = tmp_path / "package"
    exported = voicecart("export-model", "--out", str(out), env=env)
    assert exported.returncode == 0, exported.stderr
    for relative in ("skill.json", "interactionModels/custom/en-US.json"):
        assert (out / relative).read_bytes() == (ROOT / "skill-package" / relative).read_bytes()


def test_bad_setting_is_a_usage_error() -> None:
    result = voicecart("seed", "--demo", env={"VOICECART_PORT": "eighty"})
    assert result.returncode == 2
    assert "VOICECART_PORT" in result.stderr


def test_seed_without_what() -> None:
    result = voicecart("seed")
    assert result.returncode == 2
    assert "--demo" in result.stderr


def test_model_download_fails_clearly_without_the_model_site(tmp_path: Path) -> None:
    env = {"VOICECART_MODEL_DIR": str(tmp_path), "VOICECART_MODEL_BASE_URL": "http://127.0.0.1:9/"}
    result = voicecart("model", "download", env=env)
    assert result.returncode == 1
    assert "could not reach http://127.0.0.1:9/model-list.json" in result.stderr
    listed = voicecart("model", "list", env={"VOICECART_MODEL_DIR": str(tmp_path)})
    assert "no Vosk models installed: run `voicecart model download`" in listed.stdout


def test_transcribe_without_any_model_download(tmp_path: Path, espeak: str) -> None:
    wav = tmp_path / "said.wav"
    subprocess.run([espeak, "-v", "en-us+f2", "-s", "140", "-w", str(wav), "reorder paper towels"],
                   check=True)  # fmt: skip
    env = {"VOICECART_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}"}
    assert voicecart("seed", "--demo", env=env).returncode == 0
    result = voicecart("transcribe", str(wav), env=env)
    assert result.returncode == 0, result.stderr
    assert "engine: pocketsphinx" in result.stdout
    assert "1. reorder paper towels" in result.stdout
    assert "intent: ReorderIntent" in result.stdout
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    refused = voicecart("transcribe", str(bad), env=env)
    assert refused.returncode == 1
    assert "not a WAV file" in refused.stderr


def test_token_prints_a_working_access_token(tmp_path: Path) -> None:
    from app import create_app, wiring
    from voicecart.settings import Settings

    env = {"VOICECART_DATABASE_URL": f"sqlite:///{tmp_path / 'token.db'}"}
    assert voicecart("seed", "--demo", env=env).returncode == 0
    made = voicecart("token", "--minutes", "5", env=env)
    assert made.returncode == 0, made.stderr
    assert "access token for demo@voicecart.example, valid 5 minutes" in made.stderr
    app = create_app(Settings(database_url=env["VOICECART_DATABASE_URL"], instance_dir=tmp_path))
    bearer = {"Authorization": f"Bearer {made.stdout.strip()}"}
    reply = app.test_client().get("/api/v1/cart", headers=bearer)
    wiring(app).close()
    assert reply.status_code == 200
    nobody = voicecart("token", "--email", "nobody@example.com", env=env)
    assert nobody.returncode != 0
    assert "no shopper nobody@example.com" in nobody.stderr


def test_returns_receive_puts_stock_back_once(tmp_path: Path) -> None:
    from sqlalchemy import select

    from account_link.demo import record_past_order
    from account_link.identity import demo_shopper
    from account_link.models import Channel
    from account_link.returns import start_return
    from catalog.models import Product
    from voicecart.database import make_engine, make_sessions
    from voicecart.settings import Settings

    env = {"VOICECART_DATABASE_URL": f"sqlite:///{tmp_path / 'ret.db'}"}
    assert voicecart("seed", "--demo", env=env).returncode == 0
    engine = make_engine(Settings(database_url=env["VOICECART_DATABASE_URL"]))
    sessions = make_sessions(engine)
    with sessions.begin() as db:
        shopper = demo_shopper(db)
        assert shopper is not None
        limes = db.scalars(select(Product).where(Product.sku == "VC-10009")).one()
        stock = limes.stock
        order = record_past_order(db, shopper, [(limes, 3)], placed_at=utcnow())
        made = start_return(db, shopper.id, order.id, order.lines[0].id, 2, channel=Channel.WEB)
        return_id = made.id
    assert f"{return_id:>6}" in voicecart("returns", "list", "--open", env=env).stdout
    first = voicecart("returns", "receive", str(return_id), env=env)
    assert first.returncode == 0, first.stderr
    assert "2 back in stock" in first.stdout
    assert voicecart("returns", "receive", str(return_id), env=env).returncode == 0  # once
    missing = voicecart("returns", "receive", "999999", env=env)
    assert missing.returncode == 1 and "no return 999999" in missing.stderr
    with sessions() as db:
        assert db.scalars(select(Product).where(Product.sku == "VC-10009")).one().stock == stock + 2
    assert "no returns" in voicecart("returns", "list", "--open", env=env).stdout
    engine.dispose()


def test_db_upgrade_says_what_it_applied_in_one_line(tmp_path: Path) -> None:
    env = {"VOICECART_DATABASE_URL": f"sqlite:///{tmp_path / 'v.db'}"}
    first = voicecart("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert "database schema: empty -> " in first.stderr
    assert "alembic" not in first.stderr  # no per-migration chatter
    again = voicecart("db", "upgrade", env=env)
    assert "database schema" not in again.stderr
