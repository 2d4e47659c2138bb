"""Per-request context handed to handlers: the session, the shopper, and dialogue state.

Built once per request by :class:`skill.interceptors.TurnInterceptor`; handlers read
it through :func:`turn_of` and stay free of wiring.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ask_sdk_core.handler_input import HandlerInput
from sqlalchemy.orm import Session

from account_link import orders
from account_link.errors import NotLinked
from account_link.identity import resolve_alexa_user
from account_link.models import Channel, Customer
from account_link.voice_codes import DEFAULT_POLICY, VoiceCodePolicy
from catalog.errors import ProductNotFound
from catalog.matching import CatalogMatcher, Decision, MatchResult
from catalog.quantity import QuantityPhrase
from skill.scope import TurnScope, scope_of

PENDING_KEY = "pending"
CHOICE_KEY = "choice"
TURN_KEY = "voicecart.turn"
CLOSEST_KEY = "closestIntent"
"""Set by the local channels on a fallback: the intent the words came closest to, so the
reply can offer it (Alexa's own fallback carries none)."""
PURCHASES = frozenset({"reorder", "reorder_last", "checkout"})
"""Pending kinds that spend money (and so may need the voice code)."""
PENDING_KINDS = PURCHASES | {"add", "cancel", "fix", "empty", "return"}
LAST_PRODUCT_KEY = "lastProduct"
"""The product the last turn acted on or offered: what "make it two" means."""


@dataclass(frozen=True, slots=True)
class SkillConfig:
    """The settings handlers need, passed in by the app (never read from the environment here)."""

    max_quantity: int = 25
    demo_for_unlinked: bool = False
    cancel_window: timedelta = orders.DEFAULT_CANCEL_WINDOW
    return_window: timedelta = timedelta(days=30)
    charges: orders.Charges = orders.NO_CHARGES
    voice_code: VoiceCodePolicy = DEFAULT_POLICY


@dataclass(frozen=True, slots=True)
class SkillDeps:
    matcher: CatalogMatcher
    config: SkillConfig = field(default_factory=SkillConfig)


@dataclass(frozen=True, slots=True)
class Pending:
    """An order waiting for the shopper's yes, kept in the session attributes."""

    kind: str  # "add", "reorder", "reorder_last", "checkout", "cancel", "fix", "empty", "return"
    items: tuple[tuple[int, int], ...]
    total_cents: int
    cart_version: int | None = None
    order_id: int | None = None
    """For "cancel": the order to cancel; for "return", the order returned from (its
    ``items`` then hold one ``(order line id, units)``)."""
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    """Names this offer: a second "yes" to the same offer finds the order it placed."""
    substitute_id: int | None = None
    """For "fix" (a cart line that ran out): the product to put in its place, or ``None``
    to take the line out."""
    code_asked: bool = False
    """The shopper said yes and was asked for the voice code; the code places the order."""

    @property
    def is_purchase(self) -> bool:
        return self.kind in PURCHASES

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "items": [list(item) for item in self.items],
            "totalCents": self.total_cents,
            "cartVersion": self.cart_version,
            "orderId": self.order_id,
            "key": self.key,
            "substituteId": self.substitute_id,
            "codeAsked": self.code_asked,
        }

    @classmethod
    def from_json(cls, data: Any) -> Pending | None:
        """Parse what an earlier turn stored; anything malformed counts as nothing pending."""
        try:
            if data["kind"] not in PENDING_KINDS:
                return None
            return cls(
                kind=str(data["kind"]),
                items=tuple((int(pid), int(qty)) for pid, qty in data["items"]),
                total_cents=int(data["totalCents"]),
                cart_version=None if data.get("cartVersion") is None else int(data["cartVersion"]),
                order_id=None if data.get("orderId") is None else int(data["orderId"]),
                key=str(data.get("key") or uuid.uuid4().hex)[:64],
                substitute_id=None
                if data.get("substituteId") is None
                else int(data["substituteId"]),
                code_asked=data.get("codeAsked") is True,
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class Choice:
    """Close products the shopper was asked to choose between, and what to do with the pick."""

    intent: str  # "AddToCartIntent" or "ReorderIntent"
    options: tuple[tuple[int, str], ...]  # (product id, spoken name)
    quantity: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "options": [[pid, name] for pid, name in self.options],
            "quantity": self.quantity,
        }

    @classmethod
    def from_json(cls, data: Any) -> Choice | None:
        try:
            return cls(
                intent=str(data["intent"]),
                options=tuple((int(pid), str(name)) for pid, name in data["options"]),
                quantity=int(data.get("quantity", 1)),
            )
        except (KeyError, TypeError, ValueError):
            return None


class Turn:
    """Everything one request needs, resolved lazily (Help never touches the database)."""

    def __init__(self, handler_input: HandlerInput, scope: TurnScope, deps: SkillDeps) -> None:
        self._input = handler_input
        self.scope = scope
        self.deps = deps
        self._customer: Customer | None = None
        self._resolved = False
        self.pending_fresh = False
        self.choice_fresh = False
        """Whether this turn made (or deliberately kept) the pending offer and the open
        "Did you mean" question; whatever is not fresh is dropped after the turn."""

    @property
    def session(self) -> Session:
        return self.scope.session

    @property
    def channel(self) -> Channel:
        return self.scope.channel

    @property
    def max_quantity(self) -> int:
        return self.deps.config.max_quantity

    @property
    def charges(self) -> orders.Charges:
        return self.deps.config.charges

    @property
    def voice_code(self) -> VoiceCodePolicy:
        return self.deps.config.voice_code

    @property
    def cancel_window(self) -> timedelta:
        return self.deps.config.cancel_window

    @property
    def return_window(self) -> timedelta:
        return self.deps.config.return_window

    @property
    def attributes(self) -> dict[str, Any]:
        manager = self._input.attributes_manager
        attrs = manager.session_attributes
        if attrs is None:
            attrs = manager.session_attributes = {}
        return attrs

    @property
    def customer(self) -> Customer | None:
        if not self._resolved and self.scope.customer_known:  # the channel checked already
            self._customer, self._resolved = self.scope.customer, True
        if not self._resolved:
            context = self._input.request_envelope.context
            system = context.system if context is not None else None
            user = system.user if system is not None else None
            self._customer = resolve_alexa_user(
                self.session,
                alexa_user_id=getattr(user, "user_id", None),
                access_token=getattr(user, "access_token", None),
                demo_for_unlinked=self.deps.config.demo_for_unlinked,
            )
            self._resolved = True
        return self._customer

    def require_customer(self) -> Customer:
        customer = self.customer
        if customer is None:
            raise NotLinked()
        return customer

    def _prior(self) -> dict[int, float] | None:
        """This shopper's purchase history as a matching prior, when there is a shopper."""
        customer = self.customer
        if customer is None:
            return None
        return shopper_prior(self.session, customer.id)

    def match(self, words: str) -> MatchResult:
        """Match with this shopper's purchase history as the prior, when there is one."""
        return self.deps.matcher.match(self.session, words, prior=self._prior())

    def match_item(self, words: str) -> tuple[QuantityPhrase, MatchResult]:
        """A product slot's count, pack and products (this shopper's history the prior);
        a no-match raises :class:`ProductNotFound` (spoken as such)."""
        customer = self.customer
        phrase, result = match_item_once(self.deps.matcher, self.session, words,
                                         customer.id if customer else None)  # fmt: skip
        if result.decision is Decision.NO_MATCH or result.best is None:
            raise ProductNotFound(words)
        return phrase, result

    def match_or_raise(self, words: str) -> MatchResult:
        """Match ``words``; a no-match raises :class:`ProductNotFound` (spoken as such)."""
        result = self.match(words)
        if result.decision is Decision.NO_MATCH or result.best is None:
            raise ProductNotFound(words)
        return result

    @property
    def pending(self) -> Pending | None:
        return Pending.from_json(self.attributes.get(PENDING_KEY))

    def set_pending(self, pending: Pending) -> None:
        self.pending_fresh = True
        self.attributes[PENDING_KEY] = pending.to_json()

    def clear_pending(self) -> None:
        self.attributes.pop(PENDING_KEY, None)

    def keep(self) -> None:
        """This turn only re-asked (help, a misheard answer): what waits, keeps waiting."""
        self.pending_fresh = self.choice_fresh = True

    @property
    def choice(self) -> Choice | None:
        return Choice.from_json(self.attributes.get(CHOICE_KEY))

    def set_choice(self, choice: Choice) -> None:
        self.choice_fresh = True
        self.attributes[CHOICE_KEY] = choice.to_json()

    def clear_choice(self) -> None:
        self.attributes.pop(CHOICE_KEY, None)


def shopper_prior(session: Session, customer_id: int) -> dict[int, float]:
    """The shopper's purchase history as a matching prior (read once per turn)."""
    scope = scope_of(session)
    if scope is not None and customer_id in scope.priors:
        return scope.priors[customer_id]
    prior = orders.history_prior(orders.purchase_history(session, customer_id))
    if scope is not None:
        scope.priors[customer_id] = prior
    return prior


def match_item_once(
    matcher: CatalogMatcher, session: Session, words: str, customer_id: int | None
) -> tuple[QuantityPhrase, MatchResult]:
    """:meth:`CatalogMatcher.match_item` for product words, ranked by ``customer_id``'s
    history when given: matched once per turn (the local channel's understanding, the
    words it resolves for the request and the skill all ask for the same words)."""
    prior = shopper_prior(session, customer_id) if customer_id is not None else None
    key = (words, customer_id if prior else None)  # no history ranks like no shopper
    scope = scope_of(session)
    if scope is not None and key in scope.item_matches:
        return scope.item_matches[key]
    found = matcher.match_item(session, words, prior=prior or None)
    if scope is not None:
        scope.item_matches[key] = found
    return found


def turn_of(handler_input: HandlerInput) -> Turn:
    turn = handler_input.attributes_manager.request_attributes.get(TURN_KEY)
    if not isinstance(turn, Turn):
        raise RuntimeError("TurnInterceptor did not run for this request")
    return turn
