"""`voicecart simulate`: in-process and over HTTP, typed and scripted, recorded and replayed,
JSON Lines, and the console's history and completion."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from serverproc import ROOT, Server
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from testkit import voicecart

from account_link.carts import add_item
from account_link.demo import record_past_order
from account_link.identity import demo_shopper
from account_link.models import Channel, OrderStatus
from account_link.orders import customer_orders
from account_link.returns import start_return
from account_link.tokens import issue_access_token
from account_link.voice_codes import set_voice_code
from catalog.db import utcnow
from catalog.models import Product
from devtools.simulator import (
    COMMANDS,
    HISTORY_LENGTH,
    Completer,
    Console,
    apply_state,
    capture_state,
    load_readline,
    read_history,
    to_yaml,
    write_history,
)
from voicecart.database import make_engine, make_sessions, seed_demo, upgrade_database
from voicecart.settings import Settings


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
    result = subprocess.run([sys.executable, "-m", "voicecart", "simulate"],
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


def test_json_is_one_object_per_turn_per_line(env: dict[str, str]) -> None:
    said = "add eggs\u2028please"  # a line separator inside a string splits no line
    result = voicecart("simulate", "--json", "what's in my cart", ":bogus", ":help", ":launch",
                       "add two bananas", said, ":intent ReadCartIntent", env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()  # str.splitlines() also splits on U+2028
    turns = [json.loads(line) for line in lines]
    assert len(turns) == 5  # :bogus and :help are not turns
    assert [t["turn"] for t in turns] == [1, 2, 3, 4, 5]
    assert all("\n" not in line for line in lines)
    first = turns[0]
    assert first["utterance"] == "what's in my cart"
    assert first["input"] == {"say": "what's in my cart"}
    assert first["request"]["request"]["intent"]["name"] == "ReadCartIntent"
    assert first["request"]["context"]["System"]["user"]["accessToken"] == "<redacted>"
    assert first["response"]["response"]["outputSpeech"]["ssml"].startswith("<speak>")
    assert first["reply"]["intent"] == "ReadCartIntent"
    assert turns[1]["input"] == {"launch": True}
    assert turns[2]["reply"]["matchedProduct"]["sku"]
    assert turns[2]["cart"]["lines"][0]["quantity"] == 2
    assert turns[3]["utterance"] == said
    assert turns[4]["input"] == {"intent": "ReadCartIntent"}
    assert "! unknown command :bogus" in result.stderr  # words for a person: stderr
    assert ":intent NAME slot=value" in result.stderr


def test_json_from_a_pipe_keeps_prompts_and_messages_off_stdout(env: dict[str, str]) -> None:
    typed = "\n".join([":help", "what's in my cart", ":new", ":launch", ":quit"])
    result = subprocess.run([sys.executable, "-m", "voicecart", "simulate", "--json"],
                            input=typed, capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, **env}, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    turns = [json.loads(line) for line in result.stdout.splitlines()]
    assert [t["reply"]["intent"] for t in turns] == ["ReadCartIntent", "LaunchRequest"]
    assert turns[1]["reply"]["newSession"] is True  # :new started another session
    assert "type what the shopper says" in result.stderr
    assert "(a new session starts with the next turn)" in result.stderr


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
    assert yaml.safe_load(recording.read_text())["version"] == 2
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


def _arrange_prior_state(env: dict[str, str]) -> None:
    """The shopper's side before the conversation: a cart line added on the web, an order
    placed three hours ago and on its way, the usual coffee sold out, a new address."""
    engine = make_engine(Settings(database_url=env["VOICECART_DATABASE_URL"]))
    with make_sessions(engine).begin() as db:
        shopper = demo_shopper(db)
        assert shopper is not None
        limes, coffee = (db.scalars(select(Product).where(Product.sku == sku)).one()
                         for sku in ("VC-10009", "VC-10128"))  # fmt: skip
        add_item(db, shopper.id, limes.id, 3, channel=Channel.WEB, max_quantity=20)
        record_past_order(db, shopper, [(coffee, 2)], placed_at=utcnow() - timedelta(hours=3),
                          status=OrderStatus.SHIPPED)  # fmt: skip
        coffee.stock = 0
        shopper.address = "7 Orchard Lane"
    engine.dispose()


def _moved(text: str, by: timedelta) -> str:
    """A recording's times (recorded_at too) moved by ``by``: as if recorded then."""

    def move(found: re.Match[str]) -> str:
        return (datetime.fromisoformat(found.group(1)) + by).isoformat()

    return re.sub(r"'(\d{4}-\d\d-\d\dT[\d:]+\+00:00)'", lambda m: f"'{move(m)}'", text)


def test_a_recording_keeps_the_state_it_relied_on_and_replays_it_on_a_fresh_database(
    env: dict[str, str], tmp_path: Path
) -> None:
    _arrange_prior_state(env)
    recording = tmp_path / "prior-state.yaml"
    made = voicecart("simulate", "--record", str(recording), "what's in my cart",
                     "where's my order", "reorder coffee", "no", env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    out = made.stdout
    assert "You added Sunny Acres Limes on the web today." in out  # the cart line it relied on
    assert "is shipped" in out  # the order it relied on
    assert "out of stock" in out.lower()  # the stock it relied on
    document = yaml.safe_load(recording.read_text())
    assert document["version"] == 2
    fixtures = document["fixtures"]
    assert fixtures["address"] == "7 Orchard Lane"
    assert fixtures["cart"] == [{"product": "VC-10009", "quantity": 3, "via": "web",
                                 "updated_at": fixtures["cart"][0]["updated_at"]}]  # fmt: skip
    latest = fixtures["orders"][-1]
    assert latest["status"] == "shipped"
    coffee = "Hearthside Medium Roast Ground Coffee, 12 oz"
    assert latest["lines"] == [
        {"product": "VC-10128", "name": coffee, "quantity": 2, "unit_price_cents": 899}
    ]
    assert len(fixtures["orders"]) == 13  # the demo's twelve and the shipped one
    assert fixtures["stock"]["VC-10128"] == 0
    assert fixtures["stock"]["VC-10009"] == 90

    fresh = {"VOICECART_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
             "VOICECART_INSTANCE_DIR": str(tmp_path / "fresh-instance")}  # fmt: skip
    same = voicecart("simulate", "--replay", str(recording), env=fresh)
    assert same.returncode == 0, same.stdout + same.stderr
    report = same.stdout.strip().splitlines()
    assert report == ["same as recorded: prior state", "1 passed, 0 failed"]

    # Recorded ten days ago: every time moves on with it ("placed today" stays today).
    earlier = tmp_path / "ten-days-ago.yaml"
    earlier.write_text(_moved(recording.read_text(), -timedelta(days=10)))
    assert earlier.read_text() != recording.read_text()
    later = voicecart("simulate", "--replay", str(earlier), "--json", env=fresh)
    assert later.returncode == 0, later.stdout + later.stderr
    assert json.loads(later.stdout)["passed"] is True

    # A fixture changed: the replay differs where the conversation relied on it.
    delivered = tmp_path / "delivered.yaml"
    delivered.write_text(recording.read_text().replace("status: shipped", "status: delivered"))
    differs = voicecart("simulate", "--replay", str(delivered), env=fresh)
    assert differs.returncode == 1
    assert 'turn 2 (say "where\'s my order")' in differs.stdout
    assert "is delivered" in differs.stdout
    restocked = tmp_path / "restocked.yaml"
    restocked.write_text(recording.read_text().replace("VC-10128: 0", "VC-10128: 90"))
    as_json = voicecart("simulate", "--replay", str(restocked), "--json", env=fresh)
    assert as_json.returncode == 1
    [outcome] = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert outcome["passed"] is False
    assert [f["turn"] for f in outcome["failures"]] == [3]
    assert "0 passed, 1 failed" in as_json.stderr


def _demo_database(folder: Path) -> tuple[Engine, sessionmaker[Session]]:
    settings = Settings(database_url=f"sqlite:///{folder / 'demo.db'}", instance_dir=folder)
    upgrade_database(settings)
    engine = make_engine(settings)
    sessions = make_sessions(engine)
    seed_demo(sessions)
    return engine, sessions


def test_the_recorded_state_applies_back_exactly(tmp_path: Path) -> None:
    """Captured, written as YAML, applied on a fresh demo database, captured again: the
    same cart, orders (returns too), address, voice code and stock, nothing committed
    by the services (the caller's transaction holds it all)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    source, source_sessions = _demo_database(tmp_path / "a")
    with source_sessions.begin() as db:
        shopper = demo_shopper(db)
        assert shopper is not None
        limes = db.scalars(select(Product).where(Product.sku == "VC-10009")).one()
        add_item(db, shopper.id, limes.id, 3, channel=Channel.APP, max_quantity=20)
        latest = customer_orders(db, shopper.id)[0]
        start_return(db, shopper.id, latest.id, latest.lines[0].id, 1, channel=Channel.WEB)
        set_voice_code(db, shopper, "4271")
        shopper.voice_code_failures = 1
        shopper.voice_code_failed_at = utcnow() - timedelta(minutes=5)
        db.scalars(select(Product).where(Product.sku == "VC-10002")).one().stock = 0
        state = capture_state(db, shopper.id)
    source.dispose()
    fixtures = yaml.safe_load(to_yaml(state.fixtures({"VC-10128"})))  # as written
    assert fixtures["voice_code"]["hash"].startswith("$argon2")
    assert fixtures["voice_code"]["failures"] == 1
    assert fixtures["orders"][-1]["lines"][0]["returned"] == 1
    assert fixtures["stock"]["VC-10002"] == 0  # untouched, but not the demo's stock
    assert "VC-10128" in fixtures["stock"]  # touched in the conversation

    target, sessions = _demo_database(tmp_path / "b")
    with sessions.begin() as db:
        shopper = demo_shopper(db)
        assert shopper is not None
        apply_state(db, shopper, fixtures, shift=timedelta(0), max_quantity=20)
        again = capture_state(db, shopper.id)
        db.rollback()  # nothing was committed inside: all of it goes
    with sessions() as db:
        untouched = demo_shopper(db)
        assert untouched is not None
        assert untouched.voice_code_hash is None
    target.dispose()
    assert again.shopper == state.shopper
    assert again.fixtures({"VC-10128"}) == state.fixtures({"VC-10128"})


def test_a_first_format_recording_or_a_dialogue_test_still_replays(
    env: dict[str, str], tmp_path: Path
) -> None:
    old = tmp_path / "old.yaml"
    turn = {"say": "reorder coffee", "expect": {"speech": {"matches": "^Your usual"}}}
    conversation = {"name": "old", "turns": [turn]}
    old.write_text(
        yaml.safe_dump({"fixtures": {"shopper": "demo"}, "conversations": [conversation]})
    )
    replayed = voicecart("simulate", "--replay", str(old), env=env)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "same as recorded: old" in replayed.stdout
    newer = tmp_path / "newer.yaml"
    newer.write_text("version: 3\nconversations: []\n")
    refused = voicecart("simulate", "--replay", str(newer), env=env)
    assert refused.returncode == 1
    assert "format 3 is newer than this voicecart reads (2)" in refused.stderr


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
        recording = tmp_path / "over-http.yaml"
        recorded = voicecart("simulate", "--endpoint", server.url, "--token", token, "--record",
                             str(recording), "what's in my cart", env=where)  # fmt: skip
        assert recorded.returncode == 0, recorded.stderr
        assert "the starting state is not recorded" in recorded.stdout
        assert "version" not in yaml.safe_load(recording.read_text())  # turns only: format 1
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


def test_the_console_keeps_a_bounded_private_history_between_runs(tmp_path: Path) -> None:
    readline = load_readline()
    if readline is None:
        pytest.skip("this Python has no readline")
    history = tmp_path / "instance" / "simulator_history"
    readline.clear_history()
    console = Console.open(history, interactive=True)
    assert console.readline is readline
    for line in ["add eggs", "add eggs", "  ", ":launch", "reorder coffee"]:
        console.remember(line)
    console.close()
    assert history.read_text().splitlines() == ["add eggs", ":launch", "reorder coffee"]
    assert stat.S_IMODE(history.stat().st_mode) == 0o600  # a typed voice code is in it

    readline.clear_history()
    again = Console.open(history, interactive=True)  # the next run starts with them
    kept = [readline.get_history_item(i) for i in range(1, 4)]
    assert kept == ["add eggs", ":launch", "reorder coffee"]
    for number in range(HISTORY_LENGTH + 50):
        again.remember(f"add {number} bananas")
    again.close()
    lines = history.read_text().splitlines()
    assert len(lines) == HISTORY_LENGTH
    assert lines[-1] == f"add {HISTORY_LENGTH + 49} bananas"
    readline.clear_history()
    read_history(readline, tmp_path / "missing")  # nothing yet: starts empty
    assert readline.get_current_history_length() == 0
    write_history(readline, Path("/proc/no/such/folder/history"))  # unwritable: no error


def test_a_console_on_a_pipe_has_no_line_editing(tmp_path: Path) -> None:
    console = Console.open(tmp_path / "history", interactive=False)
    assert console.readline is None
    console.remember("add eggs")
    console.close()
    assert not (tmp_path / "history").exists()


def test_tab_completes_commands_intents_slots_and_wav_paths(tmp_path: Path) -> None:
    complete = Completer().matches
    assert complete("", "") == [f"{c} " for c in COMMANDS]
    assert complete(":", ":") == [f"{c} " for c in COMMANDS]
    assert complete(":la", ":la") == [":launch "]
    assert complete(":q", ":q") == [":quit "]
    assert complete("add eg", "eg") == []  # what the shopper says is theirs
    assert complete(":intent Add", "Add") == ["AddToCartIntent "]
    assert "AMAZON.YesIntent " in complete(":intent amazon.y", "amazon.y")
    assert complete(":intent AddToCartIntent ", "") == ["item=", "quantity="]
    assert complete(":intent AddToCartIntent item=eggs q", "q") == ["quantity="]
    assert complete(":intent AddToCartIntent item=eggs ", "") == ["quantity="]
    assert complete(":intent NoSuchIntent ", "") == []
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "add eggs.wav").write_bytes(b"")
    (tmp_path / "clips" / "notes.txt").write_text("")
    folder = f"{tmp_path}/cl"
    assert complete(f":wav {folder}", folder) == [f"{tmp_path}/clips/"]
    inside = f"{tmp_path}/clips/"
    assert complete(f":wav {inside}", inside) == [f"{tmp_path}/clips/add eggs.wav "]
    home = os.path.expanduser("~")
    if os.path.isdir(home) and not home.endswith("~"):
        assert all(m.startswith("~/") for m in complete(":wav ~/", "~/"))

    class FakeReadline:  # readline's side: the line so far and where the cursor is
        def get_line_buffer(self) -> str:
            return ":intent Rea"

        def get_endidx(self) -> int:
            return len(":intent Rea")

    completer = Completer(readline=FakeReadline())
    assert completer("Rea", 0) == "ReadCartIntent "
    assert completer("Rea", 1) is None
