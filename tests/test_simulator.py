"""`voicecart simulate`: in-process and over HTTP, typed and scripted, recorded and replayed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from serverproc import ROOT, Server
from test_cli import voicecart

from account_link.identity import demo_shopper
from account_link.tokens import issue_access_token
from app import Settings, make_engine, make_sessions


def _env(tmp_path: Path) -> dict[str, str]:
    return {"VOICECART_DATABASE_URL": f"sqlite:///{tmp_path / 'sim.db'}"}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = _env(tmp_path)
    assert voicecart("seed", "--demo", env=environment).returncode == 0
    return environment


def test_scripted_turns_show_every_part_of_the_turn(env: dict[str, str]) -> None:
    result = voicecart("simulate", "add two bananas to my cart", "reorder coffee", "yes", env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "> add two bananas to my cart" in out
    assert "intent:   AddToCartIntent  quantity=2 item=bananas" in out
    assert "product:  Sunny Acres Bananas, 1 bunch (score" in out
    assert "speech:   Added 2 Sunny Acres Bananas" in out
    assert "reprompt: Anything else?" in out
    assert "cart:     2 x Sunny Acres Bananas ($2.58)  total $2.58" in out
    assert '"pending":{"kind":"reorder"' in out  # session attributes after "reorder coffee"
    assert "card:     Simple Voice Cart order" in out
    assert "session:  ended" in out


def test_interactive_commands_and_mistakes(env: dict[str, str], tmp_path: Path) -> None:
    typed = "\n".join([":help", ":launch", ":intent ReadCartIntent", ":intent", ":wav nope.wav",
                       ":bogus", "add eggs", ":new", ":end", ":quit", "never sent"])  # fmt: skip
    result = subprocess.run([sys.executable, "-c", "import app; app.main()", "simulate"],
                            input=typed, capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, **env}, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert ":intent NAME slot=value" in out  # the help text
    assert "speech:   Welcome to Voice Cart" in out
    assert "intent:   ReadCartIntent" in out
    assert "! :intent needs a name" in out
    assert "! :wav nope.wav: No such file or directory" in out
    assert "! unknown command :bogus (try :help)" in out
    assert "(a new session starts with the next turn)" in out
    assert "> never sent" not in out  # nothing after :quit is sent


def test_json_shows_the_alexa_request_and_response(env: dict[str, str]) -> None:
    result = voicecart("simulate", "--json", "what's in my cart", env=env)
    assert result.returncode == 0, result.stderr
    turn = json.loads(result.stdout)
    assert turn["alexa"]["request"]["request"]["intent"]["name"] == "ReadCartIntent"
    assert turn["alexa"]["request"]["context"]["System"]["user"]["accessToken"] == "<redacted>"
    assert turn["alexa"]["response"]["response"]["outputSpeech"]["ssml"].startswith("<speak>")


def test_an_unknown_user_or_a_bad_token_is_a_clear_error(env: dict[str, str]) -> None:
    result = voicecart("simulate", "--user", "nobody@example.com", "help", env=env)
    assert result.returncode != 0
    assert "no shopper signs in as nobody@example.com" in result.stderr
    bad = voicecart("simulate", "--token", "not-a-token", "help", env=env)
    assert bad.returncode != 0
    assert "--token: that access token is unknown" in bad.stderr
    empty = voicecart("simulate", "--record", "/tmp/never-written.yaml", ":help", env=env)
    assert empty.returncode != 0
    assert "nothing to record" in empty.stderr
    assert "Traceback" not in empty.stderr


def test_the_simulators_own_token_is_revoked_when_it_exits(env: dict[str, str]) -> None:
    from sqlalchemy import select

    from account_link.models import OAuthToken
    from account_link.tokens import DEVELOPER_CLIENT

    assert voicecart("simulate", "help", env=env).returncode == 0
    engine = make_engine(Settings(database_url=env["VOICECART_DATABASE_URL"]))
    with make_sessions(engine)() as db:
        minted = list(
            db.scalars(select(OAuthToken).where(OAuthToken.client_id == DEVELOPER_CLIENT))
        )
    engine.dispose()
    assert len(minted) == 1
    assert minted[0].access_revoked
    assert minted[0].expires_in <= 900


def test_record_then_replay_shows_no_difference_then_a_difference(
    env: dict[str, str], tmp_path: Path
) -> None:
    recording = tmp_path / "reorder-coffee.yaml"
    made = voicecart("simulate", "--record", str(recording), "add eggs", ":new",
                     "reorder coffee", "yes", env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert f"recorded 4 turns to {recording}" in made.stdout
    assert "- end: true" in recording.read_text()  # :new replays as the end of that session
    replayed = voicecart("simulate", "--replay", str(recording), env=env)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "same as recorded: reorder coffee" in replayed.stdout
    changed = recording.read_text().replace("Your usual", "Your favourite")
    recording.write_text(changed)
    differs = voicecart("simulate", "--replay", str(recording), env=env)
    assert differs.returncode == 1
    assert "turn 3 (say 'reorder coffee')" in differs.stdout
    assert "speech matches" in differs.stdout
    assert differs.stdout.strip().splitlines()[-1] == "0 passed, 1 failed"


@pytest.mark.server
def test_endpoint_drives_a_running_server(tmp_path: Path) -> None:
    server = Server(tmp_path, verify=True)
    try:
        settings = Settings(database_url=server.env["VOICECART_DATABASE_URL"])
        engine = make_engine(settings)
        with make_sessions(engine).begin() as db:
            shopper = demo_shopper(db)
            assert shopper is not None
            token = issue_access_token(db, shopper)
        engine.dispose()
        where = {"VOICECART_DATABASE_URL": server.env["VOICECART_DATABASE_URL"]}
        result = voicecart("simulate", "--endpoint", server.url, "--token", token,
                           ":launch", "add two bananas", ":intent ReadCartIntent", ":end",
                           env=where)  # fmt: skip
        assert result.returncode == 0, result.stderr
        out = result.stdout
        assert "speech:   Welcome to Voice Cart" in out
        assert "cart:     2 x Sunny Acres Bananas" in out
        assert "You have 2 items in your cart" in out
        bad = voicecart("simulate", "--endpoint", server.url, "--token", "wrong", "help")
        assert "! POST " in bad.stdout
        assert "HTTP 401" in bad.stdout
    finally:
        server.stop()


def test_a_wav_turn_shows_what_was_heard(env: dict[str, str], tmp_path: Path, espeak: str) -> None:
    wav = tmp_path / "said.wav"
    subprocess.run([espeak, "-v", "en-us+f5", "-s", "150", "-w", str(wav),
                    "add two bananas to my cart"], check=True)  # fmt: skip
    result = voicecart("simulate", f":wav {wav}", env=env)
    assert result.returncode == 0, result.stderr
    assert "heard:    'add two bananas to my cart' [pocketsphinx]" in result.stdout
    assert "cart:     2 x Sunny Acres Bananas" in result.stdout
