"""Errors of accounts, carts and orders. Each carries what the dialogue needs to say."""

from __future__ import annotations

from datetime import datetime


class AccountError(Exception):
    """Base class of every error the ``account_link`` package raises."""


class NotLinked(AccountError):
    """The request carries no identity voicecart can map to a customer."""

    def __init__(self, reason: str = "no linked account") -> None:
        super().__init__(reason)
        self.reason = reason


class QuantityOutOfRange(AccountError):
    """A quantity below 1, or one that would take a cart line above the limit."""

    def __init__(self, quantity: int, maximum: int, already: int = 0) -> None:
        super().__init__(f"quantity {quantity} (with {already} already) outside 1..{maximum}")
        self.quantity = quantity
        self.maximum = maximum
        self.already = already


class OutOfStock(AccountError):
    """Fewer units on hand than asked for; nothing was reserved."""

    def __init__(self, product_id: int, product_name: str, wanted: int, available: int) -> None:
        super().__init__(f"{product_name}: wanted {wanted}, {available} in stock")
        self.product_id = product_id
        self.product_name = product_name
        self.wanted = wanted
        self.available = available


class NotInCart(AccountError):
    def __init__(self, product_id: int, product_name: str) -> None:
        super().__init__(f"{product_name} is not in the cart")
        self.product_id = product_id
        self.product_name = product_name


class EmptyCart(AccountError):
    def __init__(self) -> None:
        super().__init__("the cart is empty")


class NoOrders(AccountError):
    def __init__(self) -> None:
        super().__init__("the customer has no orders")


class CartChanged(AccountError):
    """The cart moved on since the shopper heard its summary; confirm again."""

    def __init__(self, expected_version: int, actual_version: int) -> None:
        super().__init__(f"cart version {actual_version}, confirmation was for {expected_version}")
        self.expected_version = expected_version
        self.actual_version = actual_version


class PriceChanged(AccountError):
    """The total differs from the one the shopper agreed to."""

    def __init__(self, agreed_cents: int, current_cents: int) -> None:
        super().__init__(f"total now {current_cents}, agreed {agreed_cents}")
        self.agreed_cents = agreed_cents
        self.current_cents = current_cents


class InvalidSignUp(AccountError):
    """A sign-up field that cannot be accepted; ``field`` names it for the form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class EmailTaken(AccountError):
    def __init__(self, email: str) -> None:
        super().__init__(f"an account for {email} already exists")
        self.email = email


class BadCredentials(AccountError):
    """Wrong e-mail or password (deliberately not saying which)."""

    def __init__(self) -> None:
        super().__init__("e-mail or password is not right")


class TooManyAttempts(AccountError):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


class NoDeliveryAddress(AccountError):
    """An order needs somewhere to go, and the shopper has no address on file."""

    def __init__(self) -> None:
        super().__init__("no delivery address on file")


class InvalidAddress(AccountError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidVoiceCode(AccountError):
    """A voice code that cannot be set (not exactly four digits)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class VoiceCodeNotSet(AccountError):
    """The order needs a voice code (its total is above the limit) and the shopper has none."""

    def __init__(self, required_above_cents: int) -> None:
        super().__init__(f"orders above {required_above_cents} cents need a voice code")
        self.required_above_cents = required_above_cents


class VoicePurchasingLocked(AccountError):
    """Too many wrong voice codes: no purchases by voice until ``until``."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"voice purchasing is locked until {until.isoformat()}")
        self.until = until


class OrderNotFound(AccountError):
    """No such order for this shopper (another shopper's order is not found either)."""

    def __init__(self, order_id: int) -> None:
        super().__init__(f"no order {order_id} for this account")
        self.order_id = order_id


class CannotCancel(AccountError):
    """The order is past the cancellation window or already on its way."""

    def __init__(self, order_id: int, reason: str) -> None:
        super().__init__(f"order {order_id} cannot be cancelled: {reason}")
        self.order_id = order_id
        self.reason = reason


class CannotAdvance(AccountError):
    def __init__(self, order_id: int, status: str) -> None:
        super().__init__(f"order {order_id} is {status}: it moves no further")
        self.order_id = order_id
        self.status = status


class CannotReturn(AccountError):
    """The line can't be returned: not delivered, past the window, or already returned."""

    def __init__(self, order_id: int, reason: str) -> None:
        super().__init__(f"order {order_id} cannot be returned: {reason}")
        self.order_id = order_id
        self.reason = reason


class ReturnNotFound(AccountError):
    def __init__(self, return_id: int) -> None:
        super().__init__(f"no return {return_id}")
        self.return_id = return_id


class NothingToReturn(AccountError):
    """No delivered order within the return window holds the product said."""

    def __init__(self, words: str) -> None:
        super().__init__(f"no delivered order within the return window holds {words!r}")
        self.words = words


class InvalidPassword(AccountError):
    """A new password that breaks the rules (too short or long, or a NUL in it)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
