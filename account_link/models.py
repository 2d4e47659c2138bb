"""Customers, the one cart each customer shares across channels, and orders."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.db import Base, utcnow
from catalog.models import Product


class Channel(StrEnum):
    """Where a change came from; recorded on every cart line and order."""

    ALEXA = "alexa"
    LOCAL_VOICE = "local-voice"
    TEXT = "text"
    WEB = "web"
    APP = "app"
    SEED = "seed"


class OrderStatus(StrEnum):
    PLACED = "placed"
    PACKED = "packed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    """argon2id; ``None`` for accounts that cannot sign in (the demo shopper)."""
    address: Mapped[str | None] = mapped_column(String(300), default=None)
    """Where orders go; spoken with the total before every yes (set on the web API)."""
    voice_code_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    """argon2id of the optional four-digit code asked before purchases by voice."""
    voice_code_failures: Mapped[int] = mapped_column(default=0)
    voice_code_failed_at: Mapped[datetime | None] = mapped_column(default=None)
    """The last wrong code: older ones than a day no longer count toward a lock."""
    voice_code_locked_until: Mapped[datetime | None] = mapped_column(default=None)
    """When the last lock ends (or ended: kept after it ends, to see if the next follows on)."""
    voice_code_lockouts: Mapped[int] = mapped_column(default=0)
    """Lock-outs in a row: each one lasts twice as long as the one before (see voice_codes)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlexaLink(Base):
    """Which customer an Alexa user id belongs to (until OAuth tokens replace it)."""

    __tablename__ = "alexa_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    alexa_user_id: Mapped[str] = mapped_column(String(512), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship()


class Cart(Base):
    """Exactly one per customer; ``version`` moves on every change (optimistic locking)."""

    __tablename__ = "carts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), unique=True
    )
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_via: Mapped[str] = mapped_column(String(20), default=Channel.SEED.value)

    lines: Mapped[list[CartLine]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", order_by="CartLine.id"
    )


class CartLine(Base):
    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int]
    added_via: Mapped[str] = mapped_column(String(20))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    cart: Mapped[Cart] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship(lazy="joined")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_customer_placed", "customer_id", "placed_at"),
        Index("ix_orders_idempotency_key", "idempotency_key", unique=True),
        CheckConstraint("total_cents >= 0", name="total_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.PLACED.value)
    channel: Mapped[str] = mapped_column(String(20))
    subtotal_cents: Mapped[int] = mapped_column(default=0)
    tax_cents: Mapped[int] = mapped_column(default=0)
    delivery_cents: Mapped[int] = mapped_column(default=0)
    total_cents: Mapped[int]
    """Items, tax and delivery: what the shopper pays."""
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    expected_at: Mapped[datetime | None] = mapped_column(default=None)
    """The delivery promised when the order was placed ("where's my order" says it)."""
    cancelled_via: Mapped[str | None] = mapped_column(String(20), default=None)
    """The channel the shopper cancelled on (voice says "You cancelled it on the web.")."""
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    """When it was delivered: the return window counts from here."""
    idempotency_key: Mapped[str | None] = mapped_column(String(100), default=None)
    """Set when placing may be repeated (a second "yes", a retried web checkout): the
    repeat finds this order instead of placing another."""

    customer: Mapped[Customer] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


class OrderLine(Base):
    """A line as it was bought: name and unit price are copied, not looked up later."""

    __tablename__ = "order_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    product_name: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int]
    unit_price_cents: Mapped[int]

    order: Mapped[Order] = relationship(back_populates="lines")

    @property
    def line_total_cents(self) -> int:
        return self.quantity * self.unit_price_cents


class ReturnStatus(StrEnum):
    REQUESTED = "requested"
    """Started: the shopper sends the items back; the refund follows receipt."""
    RECEIVED = "received"
    """The items arrived back: stock restored, refund issued."""


class ReturnRequest(Base):
    """Units of one order line the shopper sends back, and what they get back for them."""

    __tablename__ = "returns"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("refund_cents >= 0", name="refund_non_negative"),
        Index("ix_returns_customer", "customer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"))
    quantity: Mapped[int]
    refund_cents: Mapped[int]
    """The units' price and their share of the order's tax (delivery is not refunded)."""
    status: Mapped[str] = mapped_column(String(20), default=ReturnStatus.REQUESTED.value)
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_at: Mapped[datetime | None] = mapped_column(default=None)

    line: Mapped[OrderLine] = relationship(lazy="joined")


class OutboxMessage(Base):
    """A message to send (the order confirmation e-mail), written in the same transaction
    as what it reports, so an order never exists without its confirmation or the other
    way round. A mailer would send and stamp ``sent_at``; this project only records."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_unsent", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), default=None
    )
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(4000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class OAuthCode(Base):
    """An authorization code, stored hashed; single use, short-lived. Kept once spent
    (``used_at``), so a second use is recognised and revokes its grant's tokens."""

    __tablename__ = "oauth_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    """Where the code was sent (the client's default when the request named none)."""
    redirect_uri_named: Mapped[bool] = mapped_column(default=True)
    """Whether the authorization request named ``redirect_uri``: only then must the token
    request name it again (RFC 6749 4.1.3)."""
    scope: Mapped[str] = mapped_column(String(200), default="")
    code_challenge: Mapped[str | None] = mapped_column(String(128), default=None)
    code_challenge_method: Mapped[str | None] = mapped_column(String(10), default=None)
    family_id: Mapped[str] = mapped_column(String(32))
    """The grant: every token issued from this code, and every token those rotate into,
    carries it."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class OAuthToken(Base):
    """An access token and its refresh token, both stored as SHA-256 hashes only."""

    __tablename__ = "oauth_tokens"
    __table_args__ = (
        Index("ix_oauth_tokens_customer", "customer_id"),
        Index("ix_oauth_tokens_family", "family_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    scope: Mapped[str] = mapped_column(String(200), default="")
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_in: Mapped[int]
    access_revoked: Mapped[bool] = mapped_column(default=False)
    refresh_revoked: Mapped[bool] = mapped_column(default=False)
    family_id: Mapped[str] = mapped_column(String(32))
    """The grant this token belongs to (its code's ``family_id``; kept through rotation):
    reuse of a spent code or refresh token revokes the whole family."""
    family_started_at: Mapped[datetime]
    """When the grant was made: the refresh token's absolute lifetime counts from here."""

    customer: Mapped[Customer] = relationship()


class LoginAttempt(Base):
    """A failed sign-in, kept to throttle guessing across every worker."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_email_at", "email", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A signed-in browser. The cookie carries a random id (stored here hashed), so
    signing out, or changing the password, ends the session on the server: a copy of
    the cookie kept from before opens nothing."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_customer", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    customer: Mapped[Customer] = relationship()
