"""The console voice simulator: say (or play) a turn, see everything that happened.

Each turn shows what was heard (audio), the intent and slots, the matched product, the
speech and reprompt, the card, the session attributes and the cart afterwards, or, with
``--json``, one JSON object per turn (JSON Lines). It drives the skill in-process
(:class:`LocalTarget`) or another running voicecart over HTTP (:class:`HttpTarget`, the
``/api/v1`` endpoints). Typed in a terminal, lines are edited with GNU readline, kept in a
history file and Tab-completed (:class:`Console`). A conversation can be recorded
(:class:`Recorder`) with the shopper's starting state, the cart, orders, address, voice
code, stock and prices it relied on, and replayed from that state on a fresh demo
database (:func:`replay`).
"""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import sys
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import yaml
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from account_link.accounts import set_address
from account_link.carts import add_item, clear_cart, view_cart
from account_link.demo import record_past_order
from account_link.errors import AccountError
from account_link.identity import demo_shopper
from account_link.models import (
    Cart,
    Channel,
    Customer,
    Order,
    OrderStatus,
    ReturnRequest,
)
from account_link.orders import customer_orders
from account_link.returns import start_return
from account_link.voice_codes import clear_voice_code, set_voice_code
from account_link.wire import cart_json
from catalog.db import utcnow
from catalog.demo import read_demo_rows
from catalog.errors import CatalogError
from catalog.models import Product
from devtools.dialogs import (
    ConversationOutcome,
    ConversationSpec,
    DialogFileError,
    Stage,
    StageFactory,
    parse_turn,
    run_conversation,
    run_files,
)
from skill.interaction.model import BUILTIN_INTENTS, CUSTOM_INTENTS
from skill.local import LocalDialogue, LocalReply
from skill.prompts import money as money_text

HELP = """Type what the shopper says, or a command:
  :launch                     open the skill ("Alexa, open voice cart")
  :intent NAME slot=value...  send an intent as Alexa would (e.g. :intent AddToCartIntent item=eggs)
  :wav PATH                   send a WAV file through speech recognition
  :end                        the shopper walks away (SessionEndedRequest)
  :new                        start a new session
  :help                       this text
  :quit                       leave (also Ctrl-D)
In a terminal, Up and Down recall earlier lines (kept between runs) and Tab completes
commands, intent and slot names, and :wav paths."""

COMMANDS = (":launch", ":intent", ":wav", ":end", ":new", ":help", ":quit")
"""What Tab completes at the start of a line (``:q`` and ``:exit`` also leave)."""


class SimulatorError(Exception):
    """A turn the simulator could not send (bad command, unreachable endpoint, HTTP error)."""


@dataclass
class Shown:
    """One turn in the shape of the /api/v1 reply, plus the Alexa trace and the cart."""

    reply: dict[str, Any]
    alexa: dict[str, Any] | None = None
    cart: dict[str, Any] | None = None


class Target(Protocol):
    def text(self, text: str, session_id: str | None) -> Shown: ...
    def audio(self, wav: bytes, session_id: str | None) -> Shown: ...
    def request(self, kind: str, intent: str | None, slots: dict[str, str],
                session_id: str | None) -> Shown: ...  # fmt: skip


@dataclass
class LocalTarget:
    """The skill in this process, on the configured database."""

    dialogue: LocalDialogue
    sessions: sessionmaker[Session]
    token: str | None
    customer_id: int | None

    def _shown(self, reply: LocalReply) -> Shown:
        cart = None
        if self.customer_id is not None:
            with self.sessions() as db:
                cart = cart_json(view_cart(db, self.customer_id))
        return Shown(reply.to_json(), reply.alexa_trace(), cart)

    def text(self, text: str, session_id: str | None) -> Shown:
        reply = self.dialogue.handle_text(text, access_token=self.token, session_id=session_id,
                                          channel=Channel.TEXT)  # fmt: skip
        return self._shown(reply)

    def audio(self, wav: bytes, session_id: str | None) -> Shown:
        return self._shown(self.dialogue.handle_audio(wav, access_token=self.token,
                                                      session_id=session_id))  # fmt: skip

    def request(self, kind: str, intent: str | None, slots: dict[str, str],
                session_id: str | None) -> Shown:  # fmt: skip
        return self._shown(self.dialogue.handle_request(
            kind, intent=intent, slots=slots, access_token=self.token, session_id=session_id,
            channel=Channel.TEXT))  # fmt: skip

    def starting_state(self) -> StartingState | None:
        """The shopper's side of the database now (before the first turn of a recording)."""
        if self.customer_id is None:
            return None
        with self.sessions() as db:
            return capture_state(db, self.customer_id)

    def ordered_since(self, order_id: int) -> set[str]:
        """SKUs in the shopper's orders placed after ``order_id`` (during the conversation)."""
        if self.customer_id is None:
            return set()
        with self.sessions() as db:
            placed = db.scalars(select(Order).where(Order.customer_id == self.customer_id,
                                                    Order.id > order_id))  # fmt: skip
            ids = {line.product_id for order in placed for line in order.lines}
            return set(db.scalars(select(Product.sku).where(Product.id.in_(ids)))) if ids else set()


@dataclass
class HttpTarget:
    """Another voicecart over HTTP: /api/v1/text, /voice, /request and /cart."""

    base_url: str
    token: str
    timeout: float = 30.0

    def _call(self, method: str, path: str, body: bytes | None, kind: str | None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if kind:
            headers["Content-Type"] = kind
        url = self.base_url.rstrip("/") + path
        call = urllib.request.Request(url, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(call, timeout=self.timeout) as answer:
                return json.loads(answer.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise SimulatorError(f"{method} {url}: HTTP {exc.code} {detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise SimulatorError(f"{method} {url}: {exc}") from exc

    def _turn(self, path: str, body: bytes, kind: str) -> Shown:
        reply = self._call("POST", path, body, kind)
        cart = self._call("GET", "/api/v1/cart", None, None)
        return Shown(reply, reply.pop("alexa", None), cart)

    def text(self, text: str, session_id: str | None) -> Shown:
        body = json.dumps({"text": text, "sessionId": session_id}).encode()
        return self._turn("/api/v1/text?trace=1", body, "application/json")

    def audio(self, wav: bytes, session_id: str | None) -> Shown:
        query = f"&sessionId={session_id}" if session_id else ""
        return self._turn(f"/api/v1/voice?trace=1{query}", wav, "audio/wav")

    def request(self, kind: str, intent: str | None, slots: dict[str, str],
                session_id: str | None) -> Shown:  # fmt: skip
        body = json.dumps({"type": kind, "intent": intent, "slots": slots,
                           "sessionId": session_id}).encode()  # fmt: skip
        return self._turn("/api/v1/request?trace=1", body, "application/json")


# --------------------------------------------------------------------------- recordings

RECORDING_VERSION = 2
"""The recording format :meth:`Recorder.dump` writes. 2: ``version``, ``recorded_at`` and
the shopper's starting state in ``fixtures``; a file without ``version`` (format 1, or any
dialogue-test file) replays as a dialogue test on the demo data."""
RECORDING_KEYS = ("version", "recorded_at", "fixtures", "conversations")
STATE_KEYS = ("shopper", "address", "voice_code", "cart", "orders", "stock", "price")
VOICE_CODE_KEYS = ("code", "hash", "failures", "failed_at", "locked_until", "lockouts")
FIXTURE_ERRORS = (AccountError, CatalogError, LookupError, ValueError, TypeError, IntegrityError)
"""What a recorded state that cannot be applied raises (reported as that conversation's error)."""

RECORDING_HEADER = """\
# Recorded by `voicecart simulate --record` (recording format 2). `fixtures` is the
# shopper's side of the database when the conversation began: address, voice code, cart
# lines, orders (times in UTC) and the stock and prices of the products it touched.
# `voicecart simulate --replay FILE` recreates that state for the demo shopper of a fresh
# demo database, every time moved on by as long as has passed since recorded_at, then
# replays the turns; a speech expectation lets numbers, months and weekdays differ.
"""
V1_HEADER = (
    "# Recorded by `voicecart simulate --record` over --endpoint: the turns only (the HTTP\n"
    "# API does not show stock); replay with --replay or test-dialogs on the demo data.\n"
)

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _speech_pattern(speech: str) -> str:
    """A recorded reply as a regex: numbers (order ids, prices, days of the month) and the
    names of months and weekdays may differ on replay."""
    escaped = re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", speech)  # readable: spaces stay
    pattern = re.sub(r"\d+", r"\\d+", escaped)
    names = "|".join(_MONTHS + _WEEKDAYS)  # "placed on May 5", "arrive on Friday, May 9"
    pattern = re.sub(rf"\b(?:{names})\b", "[A-Z][a-z]+", pattern)
    return "^" + pattern + "$"


class _Flow(dict[str, Any]):
    """A mapping written on one line (a cart or order line): recordings stay readable."""


class _Dumper(yaml.SafeDumper):
    pass


def _represent_flow(dumper: yaml.SafeDumper, data: _Flow) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)


_Dumper.add_representer(_Flow, _represent_flow)


def to_yaml(document: dict[str, Any]) -> str:
    """A recording's YAML: keys in order, cart and order lines one to a line."""
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=200)


def _stamp(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat(timespec="seconds")


def _when(value: Any, what: str) -> datetime:
    """A recorded time (ISO 8601 text; YAML may have read it as a datetime), UTC-aware."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{what}: {value!r} is not a time like 2026-05-09T10:00:00+00:00"
            ) from None
    else:
        raise TypeError(f"{what}: expected a time like 2026-05-09T10:00:00+00:00, got {value!r}")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class StartingState:
    """The shopper's side of the database before a recorded conversation: what its replay
    recreates on a fresh demo database."""

    taken_at: datetime
    shopper: dict[str, Any]
    """``address``, ``voice_code``, ``cart`` and ``orders``, as a recording writes them."""
    catalogue: dict[str, tuple[int, int]]
    """Every product's stock and price then, by SKU."""
    skus: frozenset[str]
    """The products in the cart and in the orders."""
    last_order_id: int
    """The newest order (anyone's) then: the shopper's later ones were placed while talking."""

    def fixtures(self, touched: Iterable[str]) -> dict[str, Any]:
        """The state as recording fixtures. Stock and prices: of the products in the cart,
        the orders and ``touched`` (matched, offered, in the cart or ordered during the
        conversation), and of any other whose stock or price is not the demo catalogue's
        (a substitute offered for an empty shelf depends on the others' stock)."""
        demo = {row.sku: (row.stock, row.price_cents) for row in read_demo_rows()}
        wanted = set(touched) | self.skus
        wanted |= {sku for sku, now in self.catalogue.items() if demo.get(sku, now) != now}
        known = sorted(sku for sku in wanted if sku in self.catalogue)
        return {**self.shopper, "stock": {sku: self.catalogue[sku][0] for sku in known},
                "price": {sku: self.catalogue[sku][1] for sku in known}}  # fmt: skip


def _voice_code_state(customer: Customer) -> dict[str, Any] | None:
    """The voice code as stored (its argon2id hash: a replay accepts the same code) and the
    wrong codes counted against it; ``None`` when no code is set and nothing is counted."""
    state = {"hash": customer.voice_code_hash, "failures": customer.voice_code_failures,
             "failed_at": _stamp(customer.voice_code_failed_at),
             "locked_until": _stamp(customer.voice_code_locked_until),
             "lockouts": customer.voice_code_lockouts}  # fmt: skip
    kept = {key: value for key, value in state.items() if value}
    return kept or None


def _order_fixture(
    order: Order, sku_of: dict[int, str], returned: dict[int, int]
) -> dict[str, Any]:
    lines = []
    for line in order.lines:
        entry = _Flow(product=sku_of[line.product_id], name=line.product_name,
                      quantity=line.quantity, unit_price_cents=line.unit_price_cents)  # fmt: skip
        if returned.get(line.id):
            entry["returned"] = returned[line.id]
        lines.append(entry)
    fixture: dict[str, Any] = {"placed_at": _stamp(order.placed_at), "status": order.status,
                               "channel": order.channel,
                               "expected_at": _stamp(order.expected_at)}  # fmt: skip
    if order.delivered_at is not None or order.status == OrderStatus.DELIVERED.value:
        fixture["delivered_at"] = _stamp(order.delivered_at)
    if order.cancelled_at is not None:
        fixture["cancelled_at"] = _stamp(order.cancelled_at)
    if order.cancelled_via:
        fixture["cancelled_via"] = order.cancelled_via
    if order.subtotal_cents != sum(line.line_total_cents for line in order.lines):
        fixture["subtotal_cents"] = order.subtotal_cents
    for key in ("tax_cents", "delivery_cents"):
        if getattr(order, key):
            fixture[key] = getattr(order, key)
    fixture["total_cents"] = order.total_cents
    fixture["lines"] = lines
    return fixture


def capture_state(db: Session, customer_id: int) -> StartingState:
    """What a recording of ``customer_id``'s conversation starts from (read only)."""
    customer = db.get_one(Customer, customer_id)
    products = list(db.scalars(select(Product)))
    sku_of = {product.id: product.sku for product in products}
    cart = db.scalar(select(Cart).where(Cart.customer_id == customer_id))
    cart_lines = [_Flow(product=line.product.sku, quantity=line.quantity, via=line.added_via,
                        updated_at=_stamp(line.updated_at))
                  for line in (cart.lines if cart is not None else [])]  # fmt: skip
    returned = {int(line_id): int(units) for line_id, units in db.execute(
        select(ReturnRequest.order_line_id, func.sum(ReturnRequest.quantity))
        .where(ReturnRequest.customer_id == customer_id)
        .group_by(ReturnRequest.order_line_id))}  # fmt: skip
    orders = list(reversed(customer_orders(db, customer_id)))  # oldest first, as placed
    skus = {str(line["product"]) for line in cart_lines}
    skus |= {sku_of[line.product_id] for order in orders for line in order.lines}
    shopper = {"address": customer.address, "voice_code": _voice_code_state(customer),
               "cart": cart_lines,
               "orders": [_order_fixture(order, sku_of, returned) for order in orders]}  # fmt: skip
    return StartingState(
        taken_at=utcnow(), shopper=shopper,
        catalogue={product.sku: (product.stock, product.price_cents) for product in products},
        skus=frozenset(skus), last_order_id=db.scalar(select(func.max(Order.id))) or 0,
    )  # fmt: skip


@dataclass
class Recorder:
    """Keeps the turns of a simulation and writes them, with the shopper's starting state
    (:class:`StartingState`, in-process only), as a recording."""

    shopper: str
    turns: list[dict[str, Any]] = field(default_factory=list)
    start: StartingState | None = None
    ordered_since: Callable[[int], set[str]] | None = None
    """SKUs ordered after an order id (the conversation's own orders: their stock counts)."""
    touched: set[str] = field(default_factory=set)
    """SKUs the turns showed: matched or offered products, cart lines."""

    @classmethod
    def for_target(cls, shopper: str, target: Target) -> Recorder:
        """A recorder that has read the starting state of ``target``'s shopper (in-process;
        over HTTP the recording holds the turns only)."""
        if isinstance(target, LocalTarget):
            return cls(shopper, start=target.starting_state(), ordered_since=target.ordered_since)
        return cls(shopper)

    def add(self, turn: dict[str, Any], shown: Shown) -> None:
        reply = shown.reply
        pattern = _speech_pattern(str(reply.get("speech")))
        state = "ended" if reply.get("shouldEndSession") else "open"
        expect: dict[str, Any] = {"intent": reply.get("intent"), "speech": {"matches": pattern},
                                  "session": state}  # fmt: skip
        if reply.get("slots"):
            expect["slots"] = reply["slots"]
        self.turns.append({**turn, "expect": expect})
        product = reply.get("matchedProduct") or {}
        self.touched |= {str(product["sku"])} if product.get("sku") else set()
        lines = (shown.cart or {}).get("lines", [])
        self.touched |= {str(line["sku"]) for line in lines if "sku" in line}

    def dump(self, name: str) -> str:
        conversation = {"name": name, "turns": self.turns}
        if self.start is None:
            return V1_HEADER + to_yaml({"fixtures": {"shopper": self.shopper},
                                      "conversations": [conversation]})  # fmt: skip
        touched = set(self.touched)
        if self.ordered_since is not None:
            touched |= self.ordered_since(self.start.last_order_id)
        document = {"version": RECORDING_VERSION, "recorded_at": _stamp(self.start.taken_at),
                    "fixtures": {"shopper": self.shopper, **self.start.fixtures(touched)},
                    "conversations": [conversation]}  # fmt: skip
        return RECORDING_HEADER + to_yaml(document)


# --------------------------------------------------------------------------- replaying


@dataclass(frozen=True)
class Recording:
    """A recording with the shopper's starting state (format 2)."""

    path: Path
    recorded_at: datetime
    fixtures: dict[str, Any]
    conversations: tuple[ConversationSpec, ...]


def load_recording(path: Path) -> Recording | None:
    """Read and check a recording; ``None`` for a file without ``version`` (a dialogue-test
    file, or a recording of format 1), which replays as a dialogue test. Every problem is a
    :class:`~devtools.dialogs.DialogFileError`."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None  # the dialogue-test loader says what is wrong with it
    if not isinstance(document, dict) or "version" not in document:
        return None
    version = document["version"]
    if type(version) is not int or version < RECORDING_VERSION:
        raise DialogFileError(path, "version", f"expected {RECORDING_VERSION}, got {version!r}")
    if version > RECORDING_VERSION:
        newer = f"format {version} is newer than this voicecart reads ({RECORDING_VERSION})"
        raise DialogFileError(path, "version", f"{newer}: update voicecart")
    for key in document:
        if key not in RECORDING_KEYS:
            known = ", ".join(RECORDING_KEYS)
            raise DialogFileError(path, "top level", f"unknown key {key!r} (use {known})")
    try:
        recorded_at = _when(document.get("recorded_at"), "recorded_at")
    except (ValueError, TypeError) as exc:
        raise DialogFileError(path, "recorded_at", str(exc)) from exc
    fixtures = document.get("fixtures") or {}
    if not isinstance(fixtures, dict):
        raise DialogFileError(path, "fixtures", "expected a mapping")
    for key in fixtures:
        if key not in STATE_KEYS:
            known = ", ".join(STATE_KEYS)
            raise DialogFileError(path, "fixtures", f"unknown key {key!r} (use {known})")
    for key, kind in (("cart", list), ("orders", list), ("stock", dict), ("price", dict)):
        if not isinstance(fixtures.get(key) or kind(), kind):
            raise DialogFileError(path, f"fixtures.{key}", f"expected a {kind.__name__}")
    raw = document.get("conversations")
    if not isinstance(raw, list) or not raw:
        raise DialogFileError(path, "conversations", "expected a non-empty list")
    specs = []
    for number, conversation in enumerate(raw, start=1):
        where = f"conversation {number}"
        if not isinstance(conversation, dict) or not isinstance(conversation.get("turns"), list):
            raise DialogFileError(path, where, "expected a mapping with name and turns")
        name = str(conversation.get("name") or where)
        turns = conversation["turns"]
        if not turns:
            raise DialogFileError(path, f"{where} ({name})", "turns: expected a non-empty list")
        parsed = tuple(
            parse_turn(t, path, f"{name}, turn {i}") for i, t in enumerate(turns, start=1)
        )
        specs.append(ConversationSpec(path, name, {"shopper": "demo"}, parsed))
    return Recording(path, recorded_at, fixtures, tuple(specs))


def _product_by_sku(db: Session, sku: Any) -> Product:
    found = db.scalar(select(Product).where(Product.sku == str(sku)))
    if found is None:
        raise LookupError(f"no product has the SKU {sku!r} here (not in the demo catalogue)")
    return found


def _apply_voice_code(db: Session, customer: Customer, state: Any,
                      at: Callable[[Any, str], datetime]) -> None:  # fmt: skip
    clear_voice_code(db, customer)
    if state is None:
        return
    if isinstance(state, str | int) and not isinstance(state, bool):
        set_voice_code(db, customer, str(state))  # "4271", as a dialogue test writes it
        return
    if not isinstance(state, dict):
        raise TypeError(f"voice_code: expected null, a code or a mapping, got {state!r}")
    for key in state:
        if key not in VOICE_CODE_KEYS:
            raise ValueError(f"voice_code: unknown key {key!r} (use {', '.join(VOICE_CODE_KEYS)})")
    if state.get("code") is not None:
        set_voice_code(db, customer, str(state["code"]))
    elif state.get("hash"):
        customer.voice_code_hash = str(state["hash"])
    customer.voice_code_failures = int(state.get("failures") or 0)
    customer.voice_code_lockouts = int(state.get("lockouts") or 0)
    for key in ("failed_at", "locked_until"):
        value = state.get(key)
        setattr(customer, f"voice_code_{key}", None if value is None else at(value, key))
    db.flush()


def _apply_order(db: Session, customer: Customer, order: Any, number: int,
                 at: Callable[[Any, str], datetime]) -> None:  # fmt: skip
    where = f"order {number}"
    lines = order.get("lines") if isinstance(order, dict) else None
    if not isinstance(lines, list) or not lines:
        raise TypeError(f"{where}: expected a mapping with placed_at and lines")
    items = [(_product_by_sku(db, ln["product"]), int(ln.get("quantity", 1))) for ln in lines]
    status = OrderStatus(str(order.get("status", OrderStatus.DELIVERED.value)))
    made = record_past_order(db, customer, items, placed_at=at(order["placed_at"], where),
                             status=status)  # fmt: skip
    made.channel = Channel(str(order.get("channel", Channel.SEED.value))).value
    for key in ("expected_at", "delivered_at", "cancelled_at"):  # absent: as past orders have
        if key in order:
            setattr(made, key, None if order[key] is None else at(order[key], f"{where} {key}"))
    via = order.get("cancelled_via")
    made.cancelled_via = Channel(str(via)).value if via else None
    for line, recorded in zip(made.lines, lines, strict=True):
        line.product_name = str(recorded.get("name", line.product_name))
        line.unit_price_cents = int(recorded.get("unit_price_cents", line.unit_price_cents))
    subtotal = sum(line.line_total_cents for line in made.lines)
    made.subtotal_cents = int(order.get("subtotal_cents", subtotal))
    made.tax_cents = int(order.get("tax_cents", 0))
    made.delivery_cents = int(order.get("delivery_cents", 0))
    total = made.subtotal_cents + made.tax_cents + made.delivery_cents
    made.total_cents = int(order.get("total_cents", total))
    db.flush()
    delivered = made.delivered_at or made.expected_at or made.placed_at
    for line, recorded in zip(made.lines, lines, strict=True):
        if int(recorded.get("returned", 0)):
            start_return(db, customer.id, made.id, line.id, int(recorded["returned"]),
                         channel=Channel.WEB, now=delivered)  # fmt: skip


def apply_state(db: Session, customer: Customer, fixtures: dict[str, Any], *,
                shift: timedelta, max_quantity: int) -> None:  # fmt: skip
    """Make ``customer``'s side of the database what a recording started from, in the
    caller's transaction (nothing is committed here): their cart lines and orders (with
    returns) are replaced by the recorded ones, the address and voice code set when
    recorded, then the recorded stock and prices. Recorded times move on by ``shift``."""

    def at(value: Any, what: str) -> datetime:
        return _when(value, what) + shift

    clear_cart(db, customer.id, channel=Channel.SEED)
    db.execute(delete(ReturnRequest).where(ReturnRequest.customer_id == customer.id))
    for order in customer_orders(db, customer.id):
        db.delete(order)
    db.flush()
    if "address" in fixtures:
        if fixtures["address"] is None:
            customer.address = None
        else:
            set_address(db, customer, str(fixtures["address"]))
    if "voice_code" in fixtures:
        _apply_voice_code(db, customer, fixtures["voice_code"], at)
    for line in fixtures.get("cart") or []:
        quantity = int(line["quantity"])
        product = _product_by_sku(db, line["product"])
        via = Channel(str(line.get("via", Channel.WEB.value)))
        limit = max(max_quantity, quantity)  # as it was, even above this setting's limit
        added = add_item(db, customer.id, product.id, quantity, channel=via, max_quantity=limit)
        if line.get("updated_at") is not None:
            added.added_at = added.updated_at = at(line["updated_at"], "cart line updated_at")
    for number, order in enumerate(fixtures.get("orders") or [], start=1):
        _apply_order(db, customer, order, number, at)
    for sku, stock in (fixtures.get("stock") or {}).items():
        _product_by_sku(db, sku).stock = int(stock)
    for sku, cents in (fixtures.get("price") or {}).items():
        _product_by_sku(db, sku).price_cents = int(cents)
    db.flush()


def replay_conversation(
    recording: Recording, spec: ConversationSpec, stage: Stage
) -> ConversationOutcome:
    """Recreate the recorded state on ``stage`` (one transaction), then run the turns."""
    shift = utcnow() - recording.recorded_at
    try:
        with stage.sessions.begin() as db:
            customer = demo_shopper(db)
            if customer is None:
                raise LookupError("the demo shopper is missing: run `voicecart seed --demo`")
            apply_state(db, customer, recording.fixtures, shift=shift,
                        max_quantity=stage.max_quantity)  # fmt: skip
    except FIXTURE_ERRORS as exc:
        return ConversationOutcome(spec, error=f"fixtures: {exc}")
    return run_conversation(spec, stage)


def replay(
    path: Path, stages: StageFactory
) -> tuple[list[ConversationOutcome], list[DialogFileError]]:
    """Replay a recording, each conversation on a fresh stage from the recorded state; a
    file without ``version`` runs as a dialogue test (as ``voicecart test-dialogs``)."""
    try:
        recording = load_recording(path)
    except DialogFileError as exc:
        return [], [exc]
    if recording is None:
        return run_files([path], stages)
    outcomes = []
    for spec in recording.conversations:
        with stages() as stage:
            outcomes.append(replay_conversation(recording, spec, stage))
    return outcomes, []


def outcome_json(outcome: ConversationOutcome) -> str:
    """One replayed conversation as a line of JSON (``--replay --json``)."""
    failures = [{"turn": t.number, "label": t.label,
                 "mismatches": [{"what": m.what, "expected": m.expected, "actual": m.actual}
                                for m in t.mismatches],
                 "speech": t.reply.speech if t.reply is not None else None}
                for t in outcome.turns if t.mismatches]  # fmt: skip
    return json_line({"file": str(outcome.spec.path), "conversation": outcome.spec.name,
                      "passed": outcome.passed, "error": outcome.error,
                      "failures": failures})  # fmt: skip


# --------------------------------------------------------------------------- showing turns

_UNSAFE = frozenset({"Cc", "Cf", "Co", "Cs", "Zl", "Zp"})
"""Characters a JSON line escapes: controls, format characters (bidi overrides), private
use, lone surrogates, and the line and paragraph separators some readers split lines on."""


def _escape(char: str) -> str:
    code = ord(char)
    if code > 0xFFFF:  # as a surrogate pair, the only way JSON writes it
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_line(value: Any) -> str:
    """``value`` as one line of JSON (JSON Lines): compact, text as UTF-8, but the
    characters a terminal or a line splitter would act on written as ``\\u`` escapes."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return "".join(_escape(c) if unicodedata.category(c) in _UNSAFE else c for c in text)


def turn_json(number: int, label: str, turn: dict[str, Any], shown: Shown) -> dict[str, Any]:
    """One turn for ``--json``: its number, what was typed, what was sent (as a recording
    writes it), the Alexa request and response, the reply and the cart afterwards."""
    alexa = shown.alexa or {}
    return {
        "turn": number,
        "utterance": label,
        "input": turn,
        "request": alexa.get("request"),
        "response": alexa.get("response"),
        "reply": shown.reply,
        "cart": shown.cart,
    }


def render(label: str, shown: Shown) -> str:
    """What one turn did, for a person reading a console."""
    reply = shown.reply
    lines = [f"> {label}"]
    transcript = reply.get("transcript") or {}
    if transcript.get("engine") not in (None, "text"):
        others = [a["text"] for a in transcript.get("alternatives", [])[1:4]]
        also = f"  (also: {'; '.join(others)})" if others else ""
        lines.append(f"  heard:    {transcript.get('text')!r} [{transcript.get('engine')}]{also}")
    slots = " ".join(f"{k}={v}" for k, v in (reply.get("slots") or {}).items())
    lines.append(f"  intent:   {reply.get('intent')}  {slots}".rstrip()
                 + f"  (confidence {reply.get('confidence', 0):.2f})")  # fmt: skip
    product = reply.get("matchedProduct")
    if product:
        how = (f"score {product['score']}, {product['decision']}" if product["score"] is not None
               else "chosen by the skill")  # fmt: skip
        lines.append(f"  product:  {product['name']}, {product['size']} ({how})")
    if reply.get("note"):
        lines.append(f"  note:     {reply['note']}")
    lines.append(f"  speech:   {reply.get('speech')}")
    if reply.get("reprompt"):
        lines.append(f"  reprompt: {reply['reprompt']}")
    card = reply.get("card")
    if card:
        body = str(card.get("content") or card.get("text") or "").replace("\n", " / ")
        lines.append(f"  card:     {card.get('type')} {card.get('title') or ''} {body}".rstrip())
    for directive in reply.get("directives") or []:
        lines.append(f"  directive: {directive.get('type')} {directive.get('slotToElicit') or ''}")
    state = "ended" if reply.get("shouldEndSession") else "open"
    attributes = json.dumps(reply.get("sessionAttributes") or {}, separators=(",", ":"))
    lines.append(f"  session:  {state} {reply.get('sessionId')}  attributes: {attributes}")
    if shown.cart is not None:
        items = [f"{ln['quantity']} x {ln['name']} ({money_text(ln['lineTotalCents'])})"
                 for ln in shown.cart.get("lines", [])]  # fmt: skip
        total = money_text(int(shown.cart.get("totalCents", 0)))
        lines.append(f"  cart:     {'; '.join(items) or 'empty'}  total {total}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the console

HISTORY_FILE = "simulator_history"
"""The console's history, in the instance folder."""
HISTORY_LENGTH = 1000
"""Lines of history kept between runs."""


def load_readline() -> Any | None:
    """The ``readline`` module (GNU readline, or libedit), imported only when asked for:
    importing it changes how ``input()`` reads; ``None`` where Python has none."""
    try:
        import readline
    except ImportError:
        return None
    return readline


def read_history(readline: Any, path: Path, length: int = HISTORY_LENGTH) -> None:
    """Earlier runs' lines, for Up and Down (none yet, or unreadable: start without)."""
    readline.set_history_length(length)
    try:
        readline.read_history_file(str(path))
    except OSError:
        return


def write_history(readline: Any, path: Path, length: int = HISTORY_LENGTH) -> None:
    """Keep the last ``length`` lines for the next run, readable by this user only (a
    typed voice code is in it); a folder that cannot be written keeps none."""
    readline.set_history_length(length)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        readline.write_history_file(str(path))
    except OSError:
        return


def intent_slots() -> dict[str, tuple[str, ...]]:
    """Every intent of the interaction model and its slot names."""
    return {intent.name: tuple(slot.name for slot in intent.slots)
            for intent in CUSTOM_INTENTS + BUILTIN_INTENTS}  # fmt: skip


def _path_matches(text: str) -> list[str]:
    """Folders and WAV files whose path starts with ``text`` (``~`` kept as typed)."""
    head = text.split("/", 1)[0] if text.startswith("~") else ""
    home = os.path.expanduser(head) if head else ""
    expanded = home + text[len(head) :] if head else text
    out = []
    for found in sorted(glob.glob(glob.escape(expanded) + "*")):
        shown = head + found[len(home) :] if head else found
        if os.path.isdir(found):
            out.append(shown + "/")
        elif found.lower().endswith((".wav", ".wave")):
            out.append(shown + " ")
    return out


@dataclass
class Completer:
    """Tab completion: commands at the start of a line, intent names after ``:intent`` and
    then their slots (``name=``), folders and WAV files after ``:wav``."""

    intents: dict[str, tuple[str, ...]] = field(default_factory=intent_slots)
    readline: Any = None
    _found: list[str] = field(default_factory=list)

    def matches(self, line: str, text: str) -> list[str]:
        """What may replace ``text``, the word being typed at the end of ``line`` (the line
        up to the cursor); a finished word ends with a space (or ``=``, ``/``)."""
        words = line[: len(line) - len(text)].split()
        if not words:
            if text and not text.startswith(":"):
                return []  # what the shopper says is not completed
            return [command + " " for command in COMMANDS if command.startswith(text)]
        if words[0] == ":intent":
            if len(words) == 1:
                return [name + " " for name in sorted(self.intents)
                        if name.lower().startswith(text.lower())]  # fmt: skip
            given = {word.split("=", 1)[0] for word in words[2:]}
            return [slot + "=" for slot in self.intents.get(words[1], ())
                    if slot.startswith(text) and slot not in given and "=" not in text]  # fmt: skip
        if words[0] == ":wav" and len(words) == 1:
            return _path_matches(text)
        return []

    def __call__(self, text: str, state: int) -> str | None:
        """readline's completer: the ``state``-th match of ``text``."""
        if state == 0:
            line = text
            if self.readline is not None:
                line = self.readline.get_line_buffer()[: self.readline.get_endidx()]
            self._found = self.matches(line, text)
        return self._found[state] if state < len(self._found) else None


@dataclass
class Console:
    """Reads the lines typed. In a terminal: line editing with GNU readline, history kept in
    ``history`` between runs, Tab completion (:class:`Completer`); otherwise (a pipe, or
    no readline) plain ``input()``."""

    history: Path | None = None
    prompt: str = "you> "
    prompt_on_stderr: bool = False
    """``--json``: stdout carries turns only, so the prompt goes to stderr (and none to a pipe)."""
    interactive: bool = False
    readline: Any = None

    @classmethod
    def open(cls, history: Path | None, *, prompt_on_stderr: bool = False,
             interactive: bool | None = None) -> Console:  # fmt: skip
        """A console; line editing only when ``interactive`` (default: stdin is a terminal)
        and Python has readline."""
        if interactive is None:
            interactive = sys.stdin.isatty()
        console = cls(history, prompt_on_stderr=prompt_on_stderr, interactive=interactive)
        if interactive:
            console.readline = load_readline()
            if console.readline is not None:
                console._start(console.readline)
        return console

    def _start(self, readline: Any) -> None:
        if hasattr(readline, "set_auto_history"):
            readline.set_auto_history(False)  # remember() keeps what is worth keeping
        if self.history is not None:
            read_history(readline, self.history)
        readline.set_completer(Completer(readline=readline))
        readline.set_completer_delims(" \t\n")
        if "libedit" in (readline.__doc__ or ""):
            readline.parse_and_bind("bind ^I rl_complete")
        else:
            readline.parse_and_bind("tab: complete")

    def read(self) -> str:
        """The next line (``EOFError`` at the end of input, Ctrl-D)."""
        if self.prompt_on_stderr:
            if self.interactive:
                sys.stderr.write(self.prompt)
                sys.stderr.flush()
            line = input()
        else:
            line = input(self.prompt)
        self.remember(line)
        return line

    def remember(self, line: str) -> None:
        """Add a line to the history: not a blank one, nor the one just before again."""
        readline, line = self.readline, line.strip()
        if readline is None or not line:
            return
        count = readline.get_current_history_length()
        if count and readline.get_history_item(count) == line:
            return
        readline.add_history(line)

    def close(self) -> None:
        """Write the history for the next run."""
        if self.readline is not None:
            if self.history is not None:
                write_history(self.readline, self.history)
            self.readline.set_completer(None)


# --------------------------------------------------------------------------- the simulator


@dataclass
class Simulator:
    """Reads turns (typed lines or commands), sends them, shows what happened."""

    target: Target
    out: Callable[[str], None]
    as_json: bool = False
    recorder: Recorder | None = None
    session_id: str | None = None
    notes: Callable[[str], None] | None = None
    """Where words for a person go (help, errors); ``out`` when not set. With ``--json``
    stdout carries one JSON object per turn, so the command sends these to stderr."""
    sent: int = 0
    """Turns sent so far (the ``turn`` of the next JSON line is one more)."""

    def note(self, text: str) -> None:
        (self.notes or self.out)(text)

    def run(self, console: Console) -> None:
        """Read lines until :quit or the end of input; Ctrl-C drops the line being typed."""
        while True:
            try:
                line = console.read()
            except EOFError:
                self.note("")
                return
            except KeyboardInterrupt:
                self.note("")
                continue
            if not self.handle(line):
                return

    def handle(self, line: str) -> bool:
        """One line of input; ``False`` when the user asked to leave."""
        line = line.strip()
        if not line:
            return True
        try:
            return self._handle(line)
        except SimulatorError as exc:
            self.note(f"! {exc}")
            return True

    def _handle(self, line: str) -> bool:
        if not line.startswith(":"):
            return self._send(line, {"say": line}, lambda: self.target.text(line, self.session_id))
        command, _, rest = line[1:].partition(" ")
        rest = rest.strip()
        if command in ("quit", "q", "exit"):
            return False
        if command == "help":
            self.note(HELP)
        elif command == "new":
            self.session_id = None
            if self.recorder is not None:  # replayed as the end of the session it closed
                self.recorder.turns.append({"end": True})
            self.note("(a new session starts with the next turn)")
        elif command == "launch":
            return self._send(line, {"launch": True}, lambda: self.target.request(
                "LaunchRequest", None, {}, self.session_id))  # fmt: skip
        elif command == "end":
            return self._send(line, {"end": True}, lambda: self.target.request(
                "SessionEndedRequest", None, {}, self.session_id))  # fmt: skip
        elif command == "intent":
            words = shlex.split(rest)
            if not words:
                raise SimulatorError(":intent needs a name, e.g. :intent ReadCartIntent")
            slots = dict(w.split("=", 1) for w in words[1:] if "=" in w)
            if len(slots) != len(words) - 1:
                raise SimulatorError("slots are written name=value")
            return self._send(line, {"intent": words[0], **({"slots": slots} if slots else {})},
                              lambda: self.target.request("IntentRequest", words[0], slots,
                                                          self.session_id))  # fmt: skip
        elif command == "wav":
            path = Path(rest).expanduser().resolve()  # recordings replay from anywhere
            try:
                wav = path.read_bytes()
            except OSError as exc:
                raise SimulatorError(f":wav {rest}: {exc.strerror or exc}") from exc
            return self._send(line, {"wav": str(path)},
                              lambda: self.target.audio(wav, self.session_id))  # fmt: skip
        else:
            raise SimulatorError(f"unknown command :{command} (try :help)")
        return True

    def _send(self, label: str, turn: dict[str, Any], call: Callable[[], Shown]) -> bool:
        try:
            shown = call()
        except SimulatorError:
            raise
        except Exception as exc:  # an audio error, a missing model: say it, keep going
            raise SimulatorError(f"{type(exc).__name__}: {exc}") from exc
        self.sent += 1
        if self.as_json:
            self.out(json_line(turn_json(self.sent, label, turn, shown)))
        else:
            self.out(render(label, shown))
        if self.recorder is not None:
            self.recorder.add(turn, shown)
        ended = bool(shown.reply.get("shouldEndSession"))
        self.session_id = None if ended else shown.reply.get("sessionId")
        return True
