"""The console voice simulator: say (or play) a turn, see everything that happened.

Each turn shows what was heard (audio), the intent and slots, the matched product, the
speech and reprompt, the card, the session attributes and the cart afterwards. It drives
the skill in-process (:class:`LocalTarget`) or another running voicecart over HTTP
(:class:`HttpTarget`, the ``/api/v1`` endpoints). A conversation can be recorded as a
dialogue-test file (:class:`Recorder`) and replayed with the dialogue-test runner.
"""

from __future__ import annotations

import json
import re
import shlex
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml
from sqlalchemy.orm import Session, sessionmaker

from account_link.api import cart_json
from account_link.carts import view_cart
from account_link.models import Channel
from skill.local import LocalDialogue, LocalReply
from skill.prompts import money as money_text

HELP = """Type what the shopper says, or a command:
  :launch                     open the skill ("Alexa, open voice cart")
  :intent NAME slot=value...  send an intent as Alexa would (e.g. :intent AddToCartIntent item=eggs)
  :wav PATH                   send a WAV file through speech recognition
  :end                        the shopper walks away (SessionEndedRequest)
  :new                        start a new session
  :help                       this text
  :quit                       leave (also Ctrl-D)"""


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


def _speech_pattern(speech: str) -> str:
    """A recorded reply as a regex: numbers (order ids, prices) may differ on replay."""
    escaped = re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", speech)  # readable: spaces stay
    return "^" + re.sub(r"\d+", r"\\d+", escaped) + "$"


@dataclass
class Recorder:
    """Keeps the turns of a simulation and writes them as a dialogue-test file."""

    shopper: str
    turns: list[dict[str, Any]] = field(default_factory=list)

    def add(self, turn: dict[str, Any], shown: Shown) -> None:
        reply = shown.reply
        pattern = _speech_pattern(str(reply.get("speech")))
        state = "ended" if reply.get("shouldEndSession") else "open"
        expect: dict[str, Any] = {"intent": reply.get("intent"), "speech": {"matches": pattern},
                                  "session": state}  # fmt: skip
        if reply.get("slots"):
            expect["slots"] = reply["slots"]
        self.turns.append({**turn, "expect": expect})

    def dump(self, name: str) -> str:
        document = {"fixtures": {"shopper": self.shopper},
                    "conversations": [{"name": name, "turns": self.turns}]}  # fmt: skip
        header = (
            "# Recorded by `voicecart simulate --record`; replay with --replay or test-dialogs.\n"
        )
        return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def render(label: str, shown: Shown, *, as_json: bool) -> str:
    """What one turn did, for a person reading a console."""
    reply = shown.reply
    if as_json:
        return json.dumps({"alexa": shown.alexa, "reply": reply}, indent=2)
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


@dataclass
class Simulator:
    """Reads turns (typed lines or commands), sends them, shows what happened."""

    target: Target
    out: Callable[[str], None]
    as_json: bool = False
    recorder: Recorder | None = None
    session_id: str | None = None

    def handle(self, line: str) -> bool:
        """One line of input; ``False`` when the user asked to leave."""
        line = line.strip()
        if not line:
            return True
        try:
            return self._handle(line)
        except SimulatorError as exc:
            self.out(f"! {exc}")
            return True

    def _handle(self, line: str) -> bool:
        if not line.startswith(":"):
            return self._send(line, {"say": line}, lambda: self.target.text(line, self.session_id))
        command, _, rest = line[1:].partition(" ")
        rest = rest.strip()
        if command in ("quit", "q", "exit"):
            return False
        if command == "help":
            self.out(HELP)
        elif command == "new":
            self.session_id = None
            if self.recorder is not None:  # replayed as the end of the session it closed
                self.recorder.turns.append({"end": True})
            self.out("(a new session starts with the next turn)")
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
        self.out(render(label, shown, as_json=self.as_json))
        if self.recorder is not None:
            self.recorder.add(turn, shown)
        ended = bool(shown.reply.get("shouldEndSession"))
        self.session_id = None if ended else shown.reply.get("sessionId")
        return True
