"""Invoice value objects: status, items and their priced total."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from coinvoice.domain.assets import PRICE_PRECISION
from coinvoice.domain.errors import Invalid
from coinvoice.domain.money import round_price


class Status(StrEnum):
    DRAFT = "draft"  # a billing invoice being written: not payable, editable, deletable
    CREATED = "created"
    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    WRONG = "wrong"
    REFUNDED = "refunded"
    FAILED = "failed"
    EXPIRED = "expired"
    VOIDED = "voided"  # a billing invoice cancelled by the merchant
    UNCOLLECTIBLE = "uncollectible"  # a billing invoice the merchant gave up on


#: Statuses from which nothing moves on by itself.
TERMINAL = frozenset({Status.REFUNDED, Status.FAILED, Status.DRAFT, Status.VOIDED, Status.UNCOLLECTIBLE})
#: Statuses in which a filled invoice may no longer be filled again or paid anew.
CLOSED = frozenset(
    {Status.DONE, Status.REFUNDED, Status.FAILED, Status.EXPIRED, Status.DRAFT, Status.VOIDED, Status.UNCOLLECTIBLE}
)


@dataclass(frozen=True, slots=True)
class Item:
    name: str
    price: Decimal


MAX_ITEMS = 250
MAX_ITEM_NAME = 200


def price_items(currency: str, items: list[Item]) -> tuple[list[Item], Decimal]:
    """Round each price to the currency's precision (half-up) and return the items and their total."""
    places = PRICE_PRECISION[currency]
    rounded = [Item(i.name, round_price(i.price, places)) for i in items]
    total = sum((i.price for i in rounded), Decimal(0))
    if total <= 0:
        raise Invalid("total_not_positive", "the total of all item prices must be greater than 0", "items")
    return rounded, total
