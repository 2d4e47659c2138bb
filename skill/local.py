"""The local channels' adapter: text (and, later, transcribed audio) into the same skill.

The parser's reading becomes an Alexa-format ``IntentRequest`` — slots with entity
resolutions, the session's attributes, the caller's access token — and is handed to the
very skill that serves ``/alexa``, inside one turn transaction. Session state is kept
in ``local_sessions`` so a dialogue can continue on any worker.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ask_sdk_core.skill import CustomSkill
from ask_sdk_model import (
    Application,
    Context,
    Device,
    DialogState,
    Intent,
    IntentConfirmationStatus,
    IntentRequest,
    LaunchRequest,
    Request,
    RequestEnvelope,
    SessionEndedReason,
    SessionEndedRequest,
    Slot,
    SlotConfirmationStatus,
    User,
)
from ask_sdk_model import Session as AlexaSession
from ask_sdk_model.interfaces.system import SystemState
from ask_sdk_model.slu.entityresolution import (
    Resolution,
    Resolutions,
    Status,
    StatusCode,
    Value,
    ValueWrapper,
)
from sqlalchemy.orm import Session, sessionmaker

from account_link.models import Channel, Customer
from account_link.tokens import check_access_token
from catalog.db import utcnow
from catalog.matching import CatalogMatcher, Decision, MatchResult, fit_score
from catalog.quantity import (
    inner_count,
    leading_count,
    only_quantity,
    pack_size,
    split_quantity,
)
from catalog.revision import current_revision
from catalog.service import active_products, get_product
from nlu.asr import Recognizer, Transcript
from nlu.audio import read_wav
from nlu.engine import NluEngine
from nlu.errors import NluError
from nlu.lm import Bias
from nlu.parser import FALLBACK, IntentParser, Parse, normalize_utterance
from nlu.spelling import FrameSpeller
from nlu.trained import TrainedParser, TrainingReport, frame_word_counts
from nlu.training import general_english
from skill.interaction.model import PRODUCT_TYPE, build_model
from skill.local_session import end_session, keep_session, open_session
from skill.scope import TurnScope, turn_scope
from skill.speech import plain_text
from skill.speech_domain import domain_bias
from skill.turn import CHOICE_KEY, CLOSEST_KEY, PENDING_KEY, match_item_once

log = logging.getLogger("voicecart.local")

LOCAL_APPLICATION_ID = "voicecart.local"
BARE_ANSWER_INTENT = "ChooseProductIntent"
LAUNCH, SESSION_ENDED = "LaunchRequest", "SessionEndedRequest"
REQUEST_TYPES = (LAUNCH, "IntentRequest", SESSION_ENDED)
"""Request types, carried in :attr:`Parse.intent` for turns that are not intents."""


@dataclass
class LocalReply:
    """Everything a local caller (or the simulator) wants to show about one turn."""

    session_id: str
    new_session: bool
    note: str | None
    parse: Parse
    matched_product: dict[str, Any] | None
    response: dict[str, Any]
    request: dict[str, Any] = field(default_factory=dict)
    heard: Transcript | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    """Session attributes after the turn (what the skill remembers: a pending order...)."""

    def alexa_trace(self) -> dict[str, Any]:
        """The Alexa request and response of this turn, the access token redacted."""
        request = json.loads(json.dumps(self.request))
        for holder in (request.get("session", {}), request.get("context", {}).get("System", {})):
            if holder.get("user", {}).get("accessToken"):
                holder["user"]["accessToken"] = "<redacted>"
        body = {"version": "1.0", "sessionAttributes": self.attributes, "response": self.response}
        return {"request": request, "response": body}

    @property
    def speech(self) -> str:
        """What was said, as plain text (the SSML is in :meth:`alexa_trace`)."""
        return plain_text(str(self.response.get("outputSpeech", {}).get("ssml", "")))

    @property
    def reprompt(self) -> str | None:
        prompt = self.response.get("reprompt")
        if not prompt:
            return None
        return plain_text(str(prompt["outputSpeech"]["ssml"]))

    def to_json(self) -> dict[str, Any]:
        return {
            "sessionId": self.session_id,
            "newSession": self.new_session,
            "note": self.note,
            "transcript": {
                "text": self.heard.text if self.heard else self.parse.text,
                "alternatives": [
                    {"text": h.text, "confidence": h.confidence}
                    for h in (self.heard.alternatives if self.heard else ())
                ],
                "engine": self.heard.engine if self.heard else "text",
            },
            "intent": self.parse.intent,
            "confidence": self.parse.confidence,
            "slots": self.parse.slots,
            "matchedProduct": self.matched_product,
            "speech": self.speech,
            "reprompt": self.reprompt,
            "card": self.response.get("card"),
            "directives": self.response.get("directives", []),
            "shouldEndSession": bool(self.response.get("shouldEndSession")),
            "sessionAttributes": self.attributes,
        }


class LocalDialogue:
    """Parse, build the Alexa request, invoke the skill, remember the session."""

    def __init__(
        self,
        skill: CustomSkill,
        sessions: sessionmaker[Session],
        matcher: CatalogMatcher,
        recognizer: Callable[[], Recognizer] | None = None,
        nlu_dir: Path | None = None,
    ) -> None:
        self._skill = skill
        self._nlu_dir = nlu_dir
        self._sessions = sessions
        self._matcher = matcher
        self._parser: NluEngine | None = None
        self._lock = threading.Lock()
        self._make_recognizer = recognizer
        self._recognizer: Recognizer | None = None
        self._bias: tuple[int, Bias] | None = None

    def recognizer(self) -> Recognizer:
        with self._lock:
            if self._recognizer is None:
                if self._make_recognizer is None:
                    raise NluError("no speech recognizer is configured")
                self._recognizer = self._make_recognizer()
            return self._recognizer

    def domain_bias(self, db: Session) -> Bias:
        """Recognition bias for the current catalogue (rebuilt when it changes)."""
        revision = current_revision(db)
        if self._bias is None or self._bias[0] != revision:
            names = [n for p in active_products(db) for n in (p.name, *p.synonyms)]
            self._bias = (revision, domain_bias(build_model([]), names))
        return self._bias[1]

    def handle_audio(
        self, wav: bytes, *, access_token: str | None, session_id: str | None
    ) -> LocalReply:
        """Transcribe (AudioError for unusable audio), then hold the turn like text."""
        with self.opened(Channel.LOCAL_VOICE, access_token=access_token) as turn:
            return turn.audio(wav, session_id)

    def hear(self, wav: bytes) -> Transcript:
        """The recogniser's n-best for a WAV, biased toward the current catalogue's domain
        (:class:`AudioError` for unusable audio)."""
        audio = read_wav(wav)
        with self._sessions() as db:
            bias = self.domain_bias(db)
        return self.recognizer().transcribe(audio, phrases=bias)

    @property
    def parser(self) -> NluEngine:
        """Built once per process from the one interaction model: the template parser, and
        the trained parser behind it when ``nlu_dir`` is set (loaded from there, or
        trained and written there on first use)."""
        with self._lock:
            if self._parser is None:
                self._parser = self.build_parser()
            return self._parser

    def build_parser(self) -> NluEngine:
        try:
            return understanding(self._sessions, self._nlu_dir)[0]
        except (NluError, OSError) as exc:  # the templates still understand most requests
            log.error("trained parser unavailable (%s): templates only in this process", exc)
            return understanding(self._sessions, None)[0]

    def handle_text(
        self, text: str, *, access_token: str | None, session_id: str | None, channel: Channel
    ) -> LocalReply:
        with self.opened(channel, access_token=access_token) as turn:
            return turn.text(text, session_id)

    def handle_request(
        self,
        kind: str,
        *,
        access_token: str | None,
        session_id: str | None,
        channel: Channel,
        intent: str | None = None,
        slots: Mapping[str, str] | None = None,
    ) -> LocalReply:
        """What is not words: a ``LaunchRequest``, an ``IntentRequest`` given outright (as
        Alexa sends it after its own recognition) or a ``SessionEndedRequest`` (the local
        session is closed)."""
        with self.opened(channel, access_token=access_token) as turn:
            return turn.request(kind, session_id, intent=intent, slots=slots)

    @contextmanager
    def opened(
        self,
        channel: Channel,
        *,
        access_token: str | None,
        require: Callable[[Session], Customer] | None = None,
    ) -> Iterator[LocalTurn]:
        """One local turn: its one transaction, with the caller's access token checked
        once, first, in it. ``require`` checks it the HTTP API's way (raising for a token
        that does not count, before the API reads an upload); without it an invalid token
        is a caller the skill asks to link. The skill is told who spoke and does not check
        again. A turn the skill failed rolls back whole; only its session state (the offer
        dropped) is written afterwards."""
        with turn_scope(self._sessions, channel) as scope:
            db = scope.session
            if require is not None:
                customer: Customer | None = require(db)
            elif access_token:
                customer = check_access_token(db, access_token).customer
            else:
                customer = None
            if access_token:  # without one the skill resolves the Alexa user as ever
                scope.know_customer(customer)
            turn = LocalTurn(self, scope, access_token, customer)
            yield turn
        if turn.remember_after is not None:  # the turn rolled back; its session state stays
            with self._sessions.begin() as db:
                _remember(db, *turn.remember_after)

    def understand(
        self,
        db: Session,
        texts: Sequence[str],
        *,
        expecting: str | None = None,
        customer_id: int | None = None,
        parser: NluEngine | None = None,
    ) -> tuple[Parse, dict[str, Any] | None]:
        """What the words mean (the best reading of the n-best) and the product they name
        for this shopper: the understanding every local channel, and its evaluation, runs
        (``parser``: another engine to measure, as bench/bench_nlu.py does)."""

        def fit(words: str) -> float:  # CatalogMatcher.fit, matched once per turn
            return fit_score(match_item_once(self._matcher, db, words, None)[1])

        parse = (parser or self.parser).parse_best(texts, expecting=expecting, resolver=fit)
        parse = as_reorder(with_trailing_count(with_product_before(with_pack_size(parse))))
        parse = as_product_reorder(parse, fit)
        return parse, self._matched(db, parse, customer_id)

    def _match(self, db: Session, words: str, customer_id: int | None = None) -> MatchResult:
        """The catalogue match for the words; with the shopper's purchase history as the
        prior when one is given (as the skill matches)."""
        return match_item_once(self._matcher, db, words, customer_id)[1]

    def _matched(self, db: Session, parse: Parse, customer_id: int | None) -> dict[str, Any] | None:
        """The product the words name, as the skill will match them."""
        words = parse.slots.get("item")
        if not words:
            return None
        result = self._match(db, words, customer_id)
        best = result.best
        if best is None or result.decision is Decision.NO_MATCH:
            return None
        return {"productId": best.product_id, "sku": best.sku, "name": best.display_name,
                "size": best.size, "score": round(best.score, 1),
                "decision": result.decision.value}  # fmt: skip


class LocalTurn:
    """One local turn inside its transaction (:meth:`LocalDialogue.opened`): the caller
    checked once, then words, audio or a request through the skill."""

    def __init__(
        self,
        dialogue: LocalDialogue,
        scope: TurnScope,
        access_token: str | None,
        customer: Customer | None,
    ) -> None:
        self._dialogue = dialogue
        self.scope = scope
        self._access_token = access_token
        self.customer = customer
        self.remember_after: tuple[str, int | None, dict[str, Any]] | None = None
        """What to write once a failed turn rolled back: its session state."""

    def audio(self, wav: bytes, session_id: str | None) -> LocalReply:
        """Transcribe (AudioError for unusable audio) with the catalogue's bias read in
        this turn's transaction, then hold the turn like text."""
        audio = read_wav(wav)
        bias = self._dialogue.domain_bias(self.scope.session)
        heard = self._dialogue.recognizer().transcribe(audio, phrases=bias)
        return self._run([h.text for h in heard.alternatives] or [""], heard, session_id)

    def text(self, text: str, session_id: str | None) -> LocalReply:
        return self._run([text], None, session_id)

    def request(
        self,
        kind: str,
        session_id: str | None,
        *,
        intent: str | None = None,
        slots: Mapping[str, str] | None = None,
    ) -> LocalReply:
        """A ``LaunchRequest``, an ``IntentRequest`` given outright or a
        ``SessionEndedRequest`` (see :meth:`LocalDialogue.handle_request`)."""
        if kind == "IntentRequest":
            if not intent or intent in REQUEST_TYPES:
                raise ValueError(f"an IntentRequest needs an intent name, not {intent!r}")
            given = Parse("", intent, {k: str(v) for k, v in (slots or {}).items()}, 1.0)
        elif kind in (LAUNCH, SESSION_ENDED):
            given = Parse("", kind, {}, 1.0)
        else:
            raise ValueError(f"unknown request type {kind!r}; use one of {REQUEST_TYPES}")
        return self._run([], None, session_id, given)

    def _run(
        self,
        texts: list[str],
        heard: Transcript | None,
        session_id: str | None,
        given: Parse | None = None,
    ) -> LocalReply:
        dialogue, scope = self._dialogue, self.scope
        db = scope.session
        owner = self.customer.id if self.customer else None
        local, note = open_session(db, session_id, owner)
        local_id, attributes, expecting = local.id, dict(local.attributes or {}), local.expecting
        new_session = session_id != local_id
        expected_intent = (expecting or {}).get("intent")
        if expected_intent is None and (CHOICE_KEY in attributes or PENDING_KEY in attributes):
            # An offer or a question waits: a bare product name answers it (or is told
            # there is nothing to choose), it does not start a new request.
            expected_intent = BARE_ANSWER_INTENT
        if given is None:
            parse, matched = dialogue.understand(db, texts, expecting=expected_intent,
                                                 customer_id=owner)  # fmt: skip
            parse = _continue_elicitation(parse, expecting)
        else:
            parse, matched = given, dialogue._matched(db, given, owner)
        envelope = _envelope(parse, matched, attributes, self._access_token, local_id,
                             new_session)  # fmt: skip
        skill = dialogue._skill
        response_envelope = skill.invoke(request_envelope=envelope, context=None)
        serialized = skill.serializer.serialize(response_envelope)
        response: dict[str, Any] = serialized if isinstance(serialized, dict) else {}
        if parse.intent == SESSION_ENDED:  # Alexa sends no reply to it; the session is over
            response.setdefault("response", {})["shouldEndSession"] = True
        if scope.product_id is not None:  # what the skill chose (a cart line, a substitute)
            matched = _acted_on(db, scope.product_id, matched)
        if scope.failed:
            self.remember_after = (local_id, owner, response)
        else:  # the turn's changes and its session state commit together
            _remember(db, local_id, owner, response)
        trace = skill.serializer.serialize(envelope)
        return LocalReply(local_id, new_session, note, parse, matched,
                          dict(response.get("response", {})),
                          trace if isinstance(trace, dict) else {}, heard,
                          dict(response.get("sessionAttributes") or {}))  # fmt: skip


COUNTED_INTENTS = ("AddToCartIntent", "ReorderIntent")
_AGAIN = re.compile(
    r"^(?:the )?same \b|\b(?:again|as usual|the usual|my usual|as always"
    r"|like always|(?:as|like) last time|(?:as|like) before|(?:i|we) always"
    r" (?:get|buy|order)|(?:i|we) (?:bought|got|had|ordered) (?:last time|before"
    r"|last week|previously)|from (?:my|our|the) (?:last|previous) order)\b"
)
"""Words inside an add's product words that ask for the usual one again."""


def as_reorder(parse: Parse) -> Parse:
    """ "buy 3 packs of baby wipes again", "order the same paper towels as last time": an
    add whose product words say "again" is a reorder (the cleaning drops those words, so
    the intent must hear them first)."""
    item = parse.slots.get("item")
    if parse.intent != "AddToCartIntent" or not item or not _AGAIN.search(item):
        return parse
    return replace(parse, intent="ReorderIntent")


_BOUGHT_BEFORE = re.compile(r"\b(?:the|that|those|these|my) ((?:[\w']+ ){0,4}?[\w']+) (?:that )?"
                            r"(?:i|we) (?:bought|got|had|ordered)\b")  # fmt: skip
"""A product named as one bought before: "the fish flakes i bought last time"."""
NAMED_FIT = 80.0
"""How well (0-100) those words must name a product."""


def as_product_reorder(parse: Parse, fit: Callable[[str], float]) -> Parse:
    """ "the fish flakes i bought last time, get them again": a reorder of the last order
    that names one product it held is a reorder of that product."""
    if parse.intent != "ReorderLastOrderIntent":
        return parse
    found = _BOUGHT_BEFORE.search(normalize_utterance(parse.text))
    if found is None or fit(found.group(1)) < NAMED_FIT:
        return parse
    return replace(parse, intent="ReorderIntent", slots={"item": found.group(1)})


def with_pack_size(parse: Parse) -> Parse:
    """A count the parser heard that is the pack's size ("add eight pack of sports
    drink"): no count, and the size back with the product words."""
    said, item = parse.slots.get("quantity"), parse.slots.get("item")
    if not said or not item or not said.isdigit():
        return parse
    words = normalize_utterance(parse.text).split()
    for at in range(len(words) - 1):
        if pack_size(" ".join(words[at : at + 2])) == int(said):
            slots = {k: v for k, v in parse.slots.items() if k != "quantity"}
            size = words[at : at + 2] if item.split()[0] != words[at + 1] else words[at : at + 1]
            return replace(parse, slots={**slots, "item": " ".join([*size, item])})
    return parse


def with_product_before(parse: Parse) -> Parse:
    """Product words that are only a count ("two packs") take in what was said before
    them ("tilapia two packs"): the product came first."""
    item = parse.slots.get("item")
    if not item or not only_quantity(item):
        return parse
    words = normalize_utterance(parse.text)
    at = words.find(item)
    before = words[:at].strip() if at > 0 else ""
    if not before:
        return parse
    return replace(parse, slots={**parse.slots, "item": f"{before} {item}"})


def with_trailing_count(parse: Parse) -> Parse:
    """A count said after the product and a word or two more ("fabric softener again,
    two bottles"; "wipes for the baby, three packs"), or between the product and more
    words about it ("dog treats, two bags, the big dog's been good"), becomes the
    quantity."""
    item = parse.slots.get("item")
    if parse.intent not in COUNTED_INTENTS or not item or "quantity" in parse.slots:
        return parse
    if split_quantity(item).quantity is not None:
        return parse
    words = normalize_utterance(parse.text, keep_fillers=True)
    at = words.rfind(item)
    after = words[at + len(item) :].strip() if at >= 0 else ""
    count = (split_quantity(f"{item} {after}").quantity or leading_count(after)
             if after else None) or inner_count(item)  # fmt: skip
    return parse if count is None else replace(parse, slots={**parse.slots, "quantity": str(count)})


def understanding(
    sessions: sessionmaker[Session], nlu_dir: Path | None
) -> tuple[NluEngine, TrainingReport | None]:
    """The parser every local channel uses: the template parser, and the trained parser
    behind it when ``nlu_dir`` is set (loaded from there, or trained from the model and
    the catalogue's product names and written there)."""
    model = build_model([])
    templates = IntentParser(model)
    if nlu_dir is None:
        return NluEngine(templates, bare_intent=model.bare_answer_intent), None
    with sessions() as db:
        values = {PRODUCT_TYPE: [n for p in active_products(db) for n in (p.name, *p.synonyms)]}
    trained, report = TrainedParser.fit_or_load(
        model, values, nlu_dir, dictionary=general_english()
    )
    speller = FrameSpeller(frame_word_counts(model), (w for n in values[PRODUCT_TYPE] for w in
                                                normalize_utterance(n).split()))  # fmt: skip
    how = "loaded" if report.loaded else f"trained on {report.examples} sentences"
    log.info("understanding: templates + trained parser %s in %.2f s (%s)",
             how, report.seconds, nlu_dir / report.key)  # fmt: skip
    engine = NluEngine(templates, trained, bare_intent=model.bare_answer_intent, speller=speller)
    return engine, report


def _acted_on(db: Session, product_id: int, matched: dict[str, Any] | None) -> dict[str, Any]:
    """The product the skill acted on or offered, when it is not the words' best match
    (the line in the cart, the nearest in stock, the one chosen from a list)."""
    if matched is not None and matched["productId"] == product_id:
        return matched
    product = get_product(db, product_id)
    return {"productId": product.id, "sku": product.sku, "name": product.display_name,
            "size": product.size, "score": None, "decision": "chosen"}  # fmt: skip


def _remember(db: Session, local_id: str, owner: int | None, response: dict[str, Any]) -> None:
    if response.get("response", {}).get("shouldEndSession"):
        end_session(db, local_id)  # the conversation is over; its id now starts a new one
        return
    keep_session(db, local_id, owner, dict(response.get("sessionAttributes") or {}),
                 _elicited(response.get("response", {})))  # fmt: skip


def _continue_elicitation(parse: Parse, expecting: dict[str, Any] | None) -> Parse:
    """A bare answer ("bananas") to "Which item?" keeps what the asking intent already
    had (its quantity): the parser read it with that intent's slot samples."""
    if not expecting or not parse.elicited or parse.intent != expecting.get("intent"):
        return parse
    slots = {**{k: str(v) for k, v in (expecting.get("slots") or {}).items()}, **parse.slots}
    return replace(parse, slots=slots)


def _elicited(response: dict[str, Any]) -> dict[str, Any] | None:
    for directive in response.get("directives", []):
        if directive.get("type") == "Dialog.ElicitSlot":
            intent = directive.get("updatedIntent") or {}
            slots = {
                name: slot["value"]
                for name, slot in (intent.get("slots") or {}).items()
                if slot.get("value")
            }
            return {"intent": intent.get("name"), "slot": directive.get("slotToElicit"),
                    "slots": slots}  # fmt: skip
    return None


def _envelope(
    parse: Parse,
    matched: dict[str, Any] | None,
    attributes: dict[str, Any],
    access_token: str | None,
    session_id: str,
    new_session: bool,
) -> RequestEnvelope:
    """The Alexa request this turn would have been, built with ``ask_sdk_model``'s own
    types: the skill is invoked with it directly, as the SDK's adapters do."""
    user = User(user_id=f"{LOCAL_APPLICATION_ID}.user", access_token=access_token or None)
    application = Application(application_id=LOCAL_APPLICATION_ID)
    request_id = f"voicecart.local.request.{uuid.uuid4()}"
    now = utcnow().replace(microsecond=0)
    request: Request
    if parse.intent == LAUNCH:
        request = LaunchRequest(request_id=request_id, timestamp=now, locale="en-US")
    elif parse.intent == SESSION_ENDED:
        request = SessionEndedRequest(request_id=request_id, timestamp=now, locale="en-US",
                                      reason=SessionEndedReason.USER_INITIATED)  # fmt: skip
    else:
        slots = {name: _slot(name, value, matched) for name, value in parse.slots.items()}
        request = IntentRequest(
            request_id=request_id, timestamp=now, locale="en-US",
            dialog_state=DialogState.IN_PROGRESS if parse.elicited else DialogState.STARTED,
            intent=Intent(name=parse.intent, slots=slots,
                          confirmation_status=IntentConfirmationStatus.NONE),
        )  # fmt: skip
    attributes = {k: v for k, v in attributes.items() if k != CLOSEST_KEY}  # this turn's only
    if parse.intent == FALLBACK and parse.alternatives:
        attributes[CLOSEST_KEY] = parse.alternatives[0][0]
    return RequestEnvelope(
        version="1.0",
        session=AlexaSession(
            new=new_session,
            session_id=session_id,
            application=application,
            attributes=attributes,
            user=user,
        ),
        context=Context(
            system=SystemState(
                application=application, user=user, device=Device(device_id="voicecart.local")
            )
        ),
        request=request,
    )


def _slot(name: str, value: str, matched: dict[str, Any] | None) -> Slot:
    """A slot as Alexa fills it; the product slot resolved to the product the local
    understanding matched, as entity resolution would."""
    resolutions = None
    if name == "item" and matched is not None:
        authority = f"amzn1.er-authority.echo-sdk.{LOCAL_APPLICATION_ID}.{PRODUCT_TYPE}"
        resolutions = Resolutions(resolutions_per_authority=[Resolution(
            authority=authority, status=Status(code=StatusCode.ER_SUCCESS_MATCH),
            values=[ValueWrapper(value=Value(name=matched["name"], id=matched["sku"]))],
        )])  # fmt: skip
    return Slot(name=name, value=value, confirmation_status=SlotConfirmationStatus.NONE,
                resolutions=resolutions)  # fmt: skip
