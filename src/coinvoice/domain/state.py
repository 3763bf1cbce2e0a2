"""The invoice status machine: status is derived from the invoice, its deposits, the time and the policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from coinvoice.domain.invoice import TERMINAL, Status


@dataclass(frozen=True, slots=True)
class InvoiceFacts:
    status: Status
    expires_at: datetime | None
    due_units: int | None
    resolution: str | None = None  # "accepted" | "rejected" (merchant decision) | None


@dataclass(frozen=True, slots=True)
class DepositFacts:
    amount_units: int
    confirmations: int
    seen_at: datetime
    orphaned: bool = False
    accepted: bool = False  # the merchant accepted it into the invoice: it counts as if it arrived in time


@dataclass(frozen=True, slots=True)
class Policy:
    confirmations: int = 1
    underpay_static_units: int = 0
    underpay_percent: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Event:
    type: str  # invoice.<status> or invoice.reversed
    status: Status
    message: str


MESSAGES = {
    Status.CREATED: "Invoice created",
    Status.PENDING: "Waiting for payment",
    Status.PROCESSING: "Payment seen, waiting for confirmations",
    Status.DONE: "Invoice paid",
    Status.WRONG: "Paid amount is less than due",
    Status.REFUNDED: "Payment rejected by the merchant",
    Status.FAILED: "Invoice could not be processed",
    Status.EXPIRED: "Invoice expired without payment",
    Status.DRAFT: "Draft invoice created",
    Status.VOIDED: "Invoice voided by the merchant",
    Status.UNCOLLECTIBLE: "Invoice marked uncollectible by the merchant",
}


def within_limit(paid: int, due: int, policy: Policy) -> bool:
    """True when ``paid`` covers ``due`` or falls short by no more than the static or the percentage limit."""
    shortfall = due - paid
    if shortfall <= 0:
        return True
    return shortfall <= policy.underpay_static_units or shortfall * 100 <= due * policy.underpay_percent


def derive_status(inv: InvoiceFacts, deposits: list[DepositFacts], now: datetime, policy: Policy) -> Status:
    """The status an invoice should have now. Late deposits (seen at or after expiry) do not count, unless the
    merchant accepted them into the invoice."""
    if inv.status in TERMINAL or inv.status is Status.CREATED:
        return inv.status
    if inv.resolution == "accepted":
        return Status.DONE
    if inv.resolution == "rejected":
        return Status.REFUNDED
    assert inv.expires_at is not None and inv.due_units is not None, "a filled invoice has expiry and due"
    on_time = [d for d in deposits if not d.orphaned and (d.accepted or d.seen_at < inv.expires_at)]
    if not on_time:
        return Status.EXPIRED if now >= inv.expires_at else Status.PENDING
    if any(d.confirmations < policy.confirmations for d in on_time):
        return Status.PROCESSING
    paid = sum(d.amount_units for d in on_time)
    return Status.DONE if within_limit(paid, inv.due_units, policy) else Status.WRONG


def derive_unlimited_status(inv: InvoiceFacts, deposits: list[DepositFacts], now: datetime, policy: Policy) -> Status:
    """The status of an any-amount invoice now: there is no amount due, only an open window.

    While the window runs (now before ``expires_at``) it stays ``pending`` whatever it receives: every deposit is
    credited and reported on its own. When the window closes (its time passed, or the merchant closed it) it is
    ``done`` once every deposit seen before the close is confirmed, ``processing`` while one is not, and
    ``expired`` when nothing arrived (or all of it was reorganised away). A merchant's decision on an expired one
    (accepting a late payment) stands, as for any invoice.
    """
    if inv.status in TERMINAL or inv.status is Status.CREATED:
        return inv.status
    if inv.resolution == "accepted":
        return Status.DONE
    if inv.resolution == "rejected":
        return Status.REFUNDED
    assert inv.expires_at is not None, "a filled invoice has an expiry"
    if now < inv.expires_at:
        return Status.PENDING
    on_time = [d for d in deposits if not d.orphaned and (d.accepted or d.seen_at < inv.expires_at)]
    if not on_time:
        return Status.EXPIRED
    if any(d.confirmations < policy.confirmations for d in on_time):
        return Status.PROCESSING
    return Status.DONE


#: How each invoice kind derives its status; a kind not listed is priced (regular, billing).
DERIVE = {"unlimited": derive_unlimited_status}


def advance(
    inv: InvoiceFacts, deposits: list[DepositFacts], now: datetime, policy: Policy, kind: str = "regular"
) -> tuple[Status, list[Event]]:
    """The new status and the events its change produces (none when it stays)."""
    new = DERIVE.get(kind, derive_status)(inv, deposits, now, policy)
    if new is inv.status:
        return new, []
    events = []
    if inv.status is Status.DONE:
        events.append(Event("invoice.reversed", new, f"Payment reversed by a chain reorganisation: {new.value}"))
    events.append(Event(f"invoice.{new.value}", new, MESSAGES[new]))
    return new, events


#: Transitions a merchant may make by decision, from -> resolution -> to.
MERCHANT_DECISIONS = {
    (Status.WRONG, "accept"): Status.DONE,
    (Status.WRONG, "reject"): Status.REFUNDED,
    (Status.EXPIRED, "accept"): Status.DONE,
}


#: Transitions a merchant makes on a billing invoice, (from, action) -> to. "Open" is created (not yet
#: filled), pending (a quote running, nothing received) and expired (past due, or its quote ran out unpaid).
#: Voiding needs no payment in progress or done; the caller checks deposits for pending and expired.
BILLING_ACTIONS = {
    (Status.DRAFT, "finalize"): Status.CREATED,
    (Status.CREATED, "void"): Status.VOIDED,
    (Status.PENDING, "void"): Status.VOIDED,
    (Status.EXPIRED, "void"): Status.VOIDED,
    (Status.UNCOLLECTIBLE, "void"): Status.VOIDED,
    (Status.CREATED, "mark_uncollectible"): Status.UNCOLLECTIBLE,
    (Status.PENDING, "mark_uncollectible"): Status.UNCOLLECTIBLE,
    (Status.EXPIRED, "mark_uncollectible"): Status.UNCOLLECTIBLE,
    (Status.WRONG, "mark_uncollectible"): Status.UNCOLLECTIBLE,
}


def billing_action(status: Status, action: str, has_payment: bool) -> Status | None:
    """The status a billing invoice moves to on ``action``, or None when its state does not allow it.
    A payment seen (``has_payment``) forbids voiding: the money has to be settled first."""
    new = BILLING_ACTIONS.get((status, action))
    if new is Status.VOIDED and has_payment:
        return None
    return new
