"""Dialogue tests: YAML files of fixtures and conversations, run through the local skill.

A file sets the scene (who is speaking, their cart, their past orders, stock levels) and
holds conversations; each turn says one thing (``say``, ``speak``, ``wav``, ``launch``,
``intent`` with ``slots``, ``end``) and expects things of the reply and of the database.
Every conversation runs on a fresh copy of the demo database (the caller provides the
:class:`Stage`; :class:`devtools.stages.DialogStages` makes them), through
:class:`~skill.local.LocalDialogue`, the same path as ``/api/v1/text`` and
``/api/v1/voice``. ``voicecart test-dialogs`` and the pytest plugin in
``tests/conftest.py`` both run files with :func:`run_conversation`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import yaml
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from account_link.carts import add_item, view_cart
from account_link.demo import record_past_order
from account_link.identity import demo_shopper
from account_link.models import Channel, Customer, Order, OrderStatus
from account_link.tokens import issue_access_token
from account_link.voice_codes import clear_voice_code, set_voice_code
from catalog.db import utcnow
from catalog.models import Product
from skill.local import LocalDialogue, LocalReply

SHOPPERS = ("demo", "new", "none", "expired", "revoked")
TURN_KINDS = ("say", "speak", "wav", "launch", "intent", "end", "arrange")
EXPECT_KEYS = ("intent", "slots", "product", "heard", "speech", "reprompt", "session", "card",
               "directive", "cart", "stock", "order", "new_session")  # fmt: skip
FIXTURE_KEYS = ("shopper", "cart", "orders", "stock", "price", "voice_code", "address")
TEXT_RULE = ("contains", "not_contains", "matches")
RULE_KEYS = {"speech": TEXT_RULE, "reprompt": TEXT_RULE, "heard": TEXT_RULE,
             "card": ("type", "title", "contains"),
             "order": ("lines", "total_cents", "channel")}  # fmt: skip
ARRANGE_KEYS = ("cart", "orders", "stock", "price", "voice_code", "address")
"""What an ``arrange:`` turn may change between turns (as the web, the app or the shop would)."""


class DialogFileError(ValueError):
    """A dialogue file that cannot be run: says which file, where, and what is wrong."""

    def __init__(self, path: Path, where: str, problem: str) -> None:
        super().__init__(f"{path}: {where}: {problem}")
        self.path, self.where, self.problem = path, where, problem


# --------------------------------------------------------------------------- the format


@dataclass(frozen=True)
class TurnSpec:
    kind: str
    value: Any
    slots: dict[str, str]
    expect: dict[str, Any]

    @property
    def label(self) -> str:
        if self.kind == "arrange":
            return "arrange " + ", ".join(sorted(self.value))
        if self.kind == "intent":
            slots = " ".join(f"{k}={v}" for k, v in self.slots.items())
            return f"intent {self.value}" + (f" {slots}" if slots else "")
        if self.kind in ("launch", "end"):
            return self.kind
        return f"{self.kind} {self.value!r}"


@dataclass(frozen=True)
class ConversationSpec:
    path: Path
    name: str
    fixtures: dict[str, Any]
    turns: tuple[TurnSpec, ...]


def _mapping(value: Any, path: Path, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DialogFileError(path, where, f"expected a mapping, got {type(value).__name__}")
    return value


def _known(keys: Iterable[str], allowed: tuple[str, ...], path: Path, where: str) -> None:
    for key in keys:
        if key not in allowed:
            raise DialogFileError(path, where, f"unknown key {key!r} (use {', '.join(allowed)})")


def parse_turn(raw: Any, path: Path, where: str) -> TurnSpec:
    turn = _mapping(raw, path, where)
    kinds = [k for k in TURN_KINDS if k in turn]
    if len(kinds) != 1:
        raise DialogFileError(path, where, f"a turn does exactly one of {', '.join(TURN_KINDS)}")
    _known(turn, (*TURN_KINDS, "slots", "expect"), path, where)
    kind = kinds[0]
    value = turn[kind]
    if kind == "say" and isinstance(value, bool):  # YAML 1.1 reads a bare yes/no as a boolean
        value = "yes" if value else "no"
    if kind in ("say", "speak", "wav", "intent") and not isinstance(value, str):
        raise DialogFileError(path, where, f"{kind}: expected text")
    if kind == "arrange":
        _known(_mapping(value, path, f"{where}.arrange"), ARRANGE_KEYS, path, f"{where}.arrange")
    slots = {str(k): str(v) for k, v in _mapping(turn.get("slots"), path, where).items()}
    if slots and kind != "intent":
        raise DialogFileError(path, where, "slots: only an intent turn takes slots")
    expect = _mapping(turn.get("expect"), path, f"{where}.expect")
    _known(expect, EXPECT_KEYS, path, f"{where}.expect")
    for key, allowed in RULE_KEYS.items():  # a misspelt rule would otherwise always pass
        if isinstance(expect.get(key), dict):
            _known(expect[key], allowed, path, f"{where}.expect.{key}")
    if "product" in expect and expect["product"] is not None and not str(expect["product"]):
        raise DialogFileError(path, f"{where}.expect", "product: give words of the name, or null")
    for key in ("cart", "stock"):
        if key in expect and not isinstance(expect[key], list if key == "cart" else dict):
            raise DialogFileError(path, f"{where}.expect", f"{key}: wrong shape (see the README)")
    return TurnSpec(kind, value, slots, expect)


def load_dialogs(path: Path) -> list[ConversationSpec]:
    """Read and check one dialogue file; every problem is a :class:`DialogFileError`."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DialogFileError(path, "file", str(exc)) from exc
    except yaml.YAMLError as exc:
        raise DialogFileError(path, "YAML", str(exc).replace("\n", " ")) from exc
    top = _mapping(document, path, "top level")
    _known(top, ("fixtures", "conversations"), path, "top level")
    shared = _mapping(top.get("fixtures"), path, "fixtures")
    _known(shared, FIXTURE_KEYS, path, "fixtures")
    raw_conversations = top.get("conversations")
    if not isinstance(raw_conversations, list) or not raw_conversations:
        raise DialogFileError(path, "conversations", "expected a non-empty list")
    specs, names = [], set()
    for number, raw in enumerate(raw_conversations, start=1):
        where = f"conversation {number}"
        conversation = _mapping(raw, path, where)
        _known(conversation, ("name", "fixtures", "turns"), path, where)
        name = str(conversation.get("name") or where)
        if name in names:
            raise DialogFileError(path, where, f"the name {name!r} is used twice")
        names.add(name)
        fixtures = {**shared, **_mapping(conversation.get("fixtures"), path, f"{where}.fixtures")}
        _known(fixtures, FIXTURE_KEYS, path, f"{where}.fixtures")
        if fixtures.get("shopper", "demo") not in SHOPPERS:
            raise DialogFileError(path, f"{where}.fixtures", f"shopper: use {', '.join(SHOPPERS)}")
        turns = conversation.get("turns")
        if not isinstance(turns, list) or not turns:
            raise DialogFileError(path, f"{where} ({name})", "turns: expected a non-empty list")
        parsed = tuple(
            parse_turn(t, path, f"{name}, turn {i}") for i, t in enumerate(turns, start=1)
        )
        specs.append(ConversationSpec(path, name, fixtures, parsed))
    return specs


# --------------------------------------------------------------------------- running


class Stage(Protocol):
    """A fresh voicecart (database seeded with the demo data) for one conversation."""

    dialogue: LocalDialogue
    sessions: sessionmaker[Session]
    max_quantity: int


StageFactory = Callable[[], AbstractContextManager[Stage]]


@dataclass(frozen=True)
class Mismatch:
    what: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        return f"{self.what}: expected {self.expected!r}, got {self.actual!r}"


@dataclass
class TurnOutcome:
    number: int
    label: str
    reply: LocalReply | None
    mismatches: list[Mismatch] = field(default_factory=list)


@dataclass
class ConversationOutcome:
    spec: ConversationSpec
    turns: list[TurnOutcome] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(not t.mismatches for t in self.turns)

    def failure_report(self) -> str:
        """Each failing turn with what was expected and what happened."""
        lines = [f"{self.spec.path}: {self.spec.name}"]
        if self.error:
            lines.append(f"  error: {self.error}")
        for turn in self.turns:
            if not turn.mismatches:
                continue
            lines.append(f"  turn {turn.number} ({turn.label}):")
            lines += [f"    {m}" for m in turn.mismatches]
            if turn.reply is not None:
                lines.append(f"    speech was: {turn.reply.speech!r}")
        return "\n".join(lines)


def _product(db: Session, words: str) -> Product:
    """A product by SKU, brand and name, or name: exactly one, or the file is wrong."""
    wanted = words.strip().lower()
    display = func.lower(Product.brand + " " + Product.name)
    found = list(db.scalars(select(Product).where(or_(
        func.lower(Product.sku) == wanted, display == wanted, func.lower(Product.name) == wanted,
    )).order_by(Product.sku)))  # fmt: skip
    exact = [p for p in found if p.display_name.lower() == wanted or p.sku.lower() == wanted]
    if len(exact) == 1 or len(found) == 1:
        return exact[0] if len(exact) == 1 else found[0]
    if not found:
        raise LookupError(f"no product is called {words!r} (use the SKU or 'Brand Name')")
    raise LookupError(f"{words!r} names {len(found)} products: "
                      f"{', '.join(p.sku + ' ' + p.display_name for p in found)}")  # fmt: skip


@dataclass
class _Scene:
    customer_id: int | None
    token: str | None


def _arrange(db: Session, fixtures: dict[str, Any], max_quantity: int) -> _Scene:
    shopper = fixtures.get("shopper", "demo")
    if shopper == "none":
        customer = None
    elif shopper == "demo":
        customer = demo_shopper(db)
        if customer is None:
            raise LookupError("the demo shopper is missing: run `voicecart seed --demo`")
    else:
        customer = Customer(email=f"dialog-{uuid.uuid4().hex[:12]}@example.com", name="Dialog Test",
                            address="5 Dialog Road")  # fmt: skip
        db.add(customer)
        db.flush()
    token = None
    if customer is not None:
        issued = utcnow() - timedelta(hours=2) if shopper == "expired" else None
        token = issue_access_token(db, customer, issued_at=issued, revoked=shopper == "revoked")
    scene = _Scene(customer.id if customer else None, token)
    _change(db, fixtures, scene, max_quantity)
    return scene


def _change(db: Session, fixtures: dict[str, Any], scene: _Scene, max_quantity: int) -> None:
    """Cart lines added, past orders, stock levels and prices, as fixtures or mid-talk."""
    customer = db.get(Customer, scene.customer_id) if scene.customer_id is not None else None
    if customer is None and any(fixtures.get(k) for k in ("cart", "orders")):
        raise LookupError("cart and orders need a shopper (shopper: none has neither)")
    for line in fixtures.get("cart") or []:
        via = Channel(str(line.get("via", Channel.WEB.value)))
        assert customer is not None
        add_item(db, customer.id, _product(db, str(line["product"])).id, int(line["quantity"]),
                 channel=via, max_quantity=max_quantity)  # fmt: skip
    for order in fixtures.get("orders") or []:
        assert customer is not None
        items = [(_product(db, str(ln["product"])), int(ln.get("quantity", 1)))
                 for ln in order.get("lines") or []]  # fmt: skip
        placed = utcnow() - timedelta(days=float(order.get("days_ago", 7)))
        status = OrderStatus(str(order.get("status", OrderStatus.DELIVERED.value)))
        record_past_order(db, customer, items, placed_at=placed, status=status)
    for words, stock in (fixtures.get("stock") or {}).items():
        _product(db, str(words)).stock = int(stock)
    for words, cents in (fixtures.get("price") or {}).items():
        _product(db, str(words)).price_cents = int(cents)
    if "address" in fixtures:  # the delivery address on file; null: none
        if customer is None:
            raise LookupError("an address needs a shopper (shopper: none has none)")
        customer.address = None if fixtures["address"] is None else str(fixtures["address"])
    if "voice_code" in fixtures:  # a string of four digits sets it, null clears it
        if customer is None:
            raise LookupError("a voice code needs a shopper (shopper: none has none)")
        code = fixtures["voice_code"]
        if code is None:
            clear_voice_code(db, customer)
        else:
            set_voice_code(db, customer, str(code))
    db.flush()


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _check_text(what: str, rule: Any, actual: str | None) -> list[Mismatch]:
    """A string means "contains"; a mapping takes contains / not_contains / matches."""
    text = actual or ""
    rules = rule if isinstance(rule, dict) else {"contains": rule}
    out = []
    for needle in _as_list(rules.get("contains", [])) if "contains" in rules else []:
        if needle.lower() not in text.lower():
            out.append(Mismatch(f"{what} contains", needle, text))
    for needle in _as_list(rules.get("not_contains", [])) if "not_contains" in rules else []:
        if needle.lower() in text.lower():
            out.append(Mismatch(f"{what} does not contain", needle, text))
    if "matches" in rules and not re.search(str(rules["matches"]), text, re.IGNORECASE):
        out.append(Mismatch(f"{what} matches", rules["matches"], text))
    return out


def _cart_lines(db: Session, customer_id: int | None) -> list[dict[str, Any]]:
    if customer_id is None:
        return []
    return [{"product": ln.name, "quantity": ln.quantity}
            for ln in view_cart(db, customer_id).lines]  # fmt: skip


def _orders_after(db: Session, customer_id: int | None, after_id: int) -> list[Order]:
    """New orders of the conversation's shopper; with no shopper, anyone's (none may appear)."""
    query = select(Order).where(Order.id > after_id)
    if customer_id is not None:
        query = query.where(Order.customer_id == customer_id)
    return list(db.scalars(query.order_by(Order.id)))


def _check_db(
    db: Session, expect: dict[str, Any], scene: _Scene, orders_before: int
) -> list[Mismatch]:
    out: list[Mismatch] = []
    if "cart" in expect:
        wanted = sorted((_product(db, str(ln["product"])).display_name, int(ln["quantity"]))
                        for ln in expect["cart"] or [])  # fmt: skip
        got = sorted((str(ln["product"]), int(ln["quantity"]))
                     for ln in _cart_lines(db, scene.customer_id))  # fmt: skip
        if wanted != got:
            out.append(Mismatch("cart", wanted, got))
    for words, stock in (expect.get("stock") or {}).items():
        product = _product(db, str(words))
        if product.stock != int(stock):
            out.append(Mismatch(f"stock of {product.display_name}", int(stock), product.stock))
    if "order" in expect:
        placed = _orders_after(db, scene.customer_id, orders_before)
        rule = expect["order"]
        if rule in (None, "none", False):
            if placed:
                out.append(Mismatch("order", "none placed", [o.id for o in placed]))
        elif len(placed) != 1:
            out.append(Mismatch("order", "exactly one placed", f"{len(placed)} placed"))
        else:
            order = placed[0]
            rule = rule if isinstance(rule, dict) else {}
            if "lines" in rule:
                want_ids = sorted((_product(db, str(ln["product"])).id, int(ln.get("quantity", 1)))
                                  for ln in rule["lines"])  # fmt: skip
                got_ids = sorted((ln.product_id, ln.quantity) for ln in order.lines)
                if want_ids != got_ids:
                    names = sorted((ln.product_name, ln.quantity) for ln in order.lines)
                    out.append(Mismatch("order lines", rule["lines"], names))
            if "total_cents" in rule and order.total_cents != int(rule["total_cents"]):
                out.append(Mismatch("order total_cents", int(rule["total_cents"]),
                                    order.total_cents))  # fmt: skip
            if "channel" in rule and order.channel != str(rule["channel"]):
                out.append(Mismatch("order channel", rule["channel"], order.channel))
    return out


def _check_reply(reply: LocalReply, expect: dict[str, Any]) -> list[Mismatch]:
    out: list[Mismatch] = []
    response = reply.response
    if "intent" in expect and reply.parse.intent != expect["intent"]:
        out.append(Mismatch("intent", expect["intent"], reply.parse.intent))
    for name, value in (expect.get("slots") or {}).items():
        got = reply.parse.slots.get(str(name))
        if (None if value is None else str(value)) != got:
            out.append(Mismatch(f"slot {name}", value, got))
    if "product" in expect:
        name = reply.matched_product["name"] if reply.matched_product else None
        wanted = expect["product"]
        if (wanted is None) != (name is None) or (
                wanted is not None and str(wanted).lower() not in str(name).lower()):  # fmt: skip
            out.append(Mismatch("matched product", wanted, name))
    if "heard" in expect:
        heard = reply.heard.text if reply.heard else None
        out += _check_text("heard", expect["heard"], heard)
    if "speech" in expect:
        out += _check_text("speech", expect["speech"], reply.speech)
    if "reprompt" in expect:
        if expect["reprompt"] in (None, False):
            if reply.reprompt:
                out.append(Mismatch("reprompt", None, reply.reprompt))
        else:
            out += _check_text("reprompt", expect["reprompt"], reply.reprompt)
    if "session" in expect:
        state = "ended" if response.get("shouldEndSession") else "open"
        if state != expect["session"]:
            out.append(Mismatch("session", expect["session"], state))
    if "new_session" in expect and bool(expect["new_session"]) != reply.new_session:
        out.append(Mismatch("new_session", expect["new_session"], reply.new_session))
    if "card" in expect:
        card = response.get("card")
        rule = expect["card"]
        if rule in (None, False):
            if card:
                out.append(Mismatch("card", None, card))
        elif not card:
            out.append(Mismatch("card", rule, None))
        else:
            rule = rule if isinstance(rule, dict) else {"type": rule}
            for key in ("type", "title"):
                if key in rule and str(card.get(key, "")) != str(rule[key]):
                    out.append(Mismatch(f"card {key}", rule[key], card.get(key)))
            if "contains" in rule:
                body = str(card.get("content") or card.get("text") or "")
                out += _check_text("card content", rule["contains"], body)
    if "directive" in expect:
        types = [str(d.get("type")) for d in response.get("directives", [])]
        for wanted in _as_list(expect["directive"]) if expect["directive"] else []:
            if wanted not in types:
                out.append(Mismatch("directive", wanted, types))
        if expect["directive"] in (None, False, []) and types:
            out.append(Mismatch("directive", None, types))
    return out


def speak_wav(text: str, folder: Path, voice: str = "en-us+f5", speed: int = 150) -> bytes:
    """Synthesise ``text`` with espeak-ng (a ``speak:`` turn)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise LookupError("a speak: turn needs espeak-ng (apt-get install espeak-ng)")
    out = folder / "speak.wav"
    subprocess.run([espeak, "-v", voice, "-s", str(speed), "-w", str(out), text], check=True,
                   capture_output=True)  # fmt: skip
    return out.read_bytes()


def _say(stage: Stage, turn: TurnSpec, spec: ConversationSpec, scene: _Scene,
         session_id: str | None, scratch: Path) -> LocalReply:  # fmt: skip
    dialogue, token, channel = stage.dialogue, scene.token, Channel.TEXT
    if turn.kind == "say":
        return dialogue.handle_text(str(turn.value), access_token=token, session_id=session_id,
                                    channel=channel)  # fmt: skip
    if turn.kind in ("speak", "wav"):
        audio = (speak_wav(str(turn.value), scratch) if turn.kind == "speak"
                 else (spec.path.parent / str(turn.value)).read_bytes())  # fmt: skip
        return dialogue.handle_audio(audio, access_token=token, session_id=session_id)
    kind = {"launch": "LaunchRequest", "end": "SessionEndedRequest"}.get(turn.kind, "IntentRequest")
    intent = str(turn.value) if turn.kind == "intent" else None
    return dialogue.handle_request(kind, intent=intent, slots=turn.slots, access_token=token,
                                   session_id=session_id, channel=channel)  # fmt: skip


def run_conversation(spec: ConversationSpec, stage: Stage) -> ConversationOutcome:
    """Arrange the fixtures, hold every turn, check what each turn expects."""
    outcome = ConversationOutcome(spec)
    max_quantity = stage.max_quantity
    try:
        with stage.sessions.begin() as db:
            scene = _arrange(db, spec.fixtures, max_quantity)
    except (LookupError, KeyError, ValueError, TypeError) as exc:
        outcome.error = f"fixtures: {exc}"
        return outcome
    session_id: str | None = None
    with tempfile.TemporaryDirectory(prefix="voicecart-dialog-") as tmp:
        for number, turn in enumerate(spec.turns, start=1):
            with stage.sessions() as db:
                before = db.scalar(select(func.max(Order.id))) or 0
            if turn.kind == "arrange":
                try:
                    with stage.sessions.begin() as db:
                        _change(db, turn.value, scene, max_quantity)
                except (LookupError, KeyError, ValueError, TypeError) as exc:
                    outcome.turns.append(TurnOutcome(number, turn.label, None, [
                        Mismatch("arrange", "applied", str(exc))]))  # fmt: skip
                    break
                with stage.sessions() as db:  # an arrange turn may check the database too
                    found = _check_db(db, turn.expect, scene, before)
                outcome.turns.append(TurnOutcome(number, turn.label, None, found))
                continue
            try:
                reply = _say(stage, turn, spec, scene, session_id, Path(tmp))
                with stage.sessions() as db:
                    found = _check_reply(reply, turn.expect)
                    found += _check_db(db, turn.expect, scene, before)
            except Exception as exc:  # a turn that blows up is that turn's failure
                outcome.turns.append(TurnOutcome(number, turn.label, None, [
                    Mismatch("turn ran", "a reply", f"{type(exc).__name__}: {exc}")]))  # fmt: skip
                break
            outcome.turns.append(TurnOutcome(number, turn.label, reply, found))
            ended = bool(reply.response.get("shouldEndSession"))
            session_id = None if ended else reply.session_id
    return outcome


def dialog_files(paths: Iterable[Path]) -> Iterator[Path]:
    """YAML files named on the command line, or found under the named folders."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.y*ml") if p.suffix in (".yaml", ".yml"))
        else:
            yield path


def run_files(paths: Iterable[Path], stages: StageFactory,
              progress: Callable[[ConversationOutcome], None] | None = None,
              ) -> tuple[list[ConversationOutcome], list[DialogFileError]]:  # fmt: skip
    """Every conversation of every file, each on a fresh stage."""
    outcomes, broken = [], []
    for path in dialog_files(paths):
        try:
            specs = load_dialogs(path)
        except DialogFileError as exc:
            broken.append(exc)
            continue
        for spec in specs:
            with stages() as stage:
                outcome = run_conversation(spec, stage)
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
    return outcomes, broken


def summary(outcomes: list[ConversationOutcome], broken: list[DialogFileError]) -> str:
    passed = sum(o.passed for o in outcomes)
    failed = len(outcomes) - passed + len(broken)
    return f"{passed} passed, {failed} failed"
