"""Table-driven tests of the invoice status machine (domain.state.advance / derive_status)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from coinvoice.domain.invoice import Status
from coinvoice.domain.state import (
    BILLING_ACTIONS,
    MERCHANT_DECISIONS,
    DepositFacts,
    InvoiceFacts,
    Policy,
    advance,
    billing_action,
    derive_status,
    within_limit,
)

FILLED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
EXPIRES = FILLED + timedelta(minutes=30)
BEFORE = EXPIRES - timedelta(minutes=10)  # a moment while the invoice is open
AFTER = EXPIRES + timedelta(minutes=10)
DUE = 1_000_000
ONE = Policy(confirmations=1)


def dep(amount: int = DUE, conf: int = 1, at: datetime = FILLED + timedelta(minutes=1), orphaned: bool = False):
    return DepositFacts(amount_units=amount, confirmations=conf, seen_at=at, orphaned=orphaned)


def inv(status: Status, resolution: str | None = None) -> InvoiceFacts:
    if status in (Status.CREATED, Status.DRAFT):
        return InvoiceFacts(status, None, None, resolution)
    return InvoiceFacts(status, EXPIRES, DUE, resolution)


@dataclass
class Case:
    name: str
    invoice: InvoiceFacts
    deposits: list[DepositFacts]
    expected: Status
    events: list[str]
    now: datetime = BEFORE
    policy: Policy = field(default_factory=lambda: ONE)


CASES = [
    Case("pending with nothing received stays pending", inv(Status.PENDING), [], Status.PENDING, []),
    Case(
        "pending moves to processing on an unconfirmed deposit",
        inv(Status.PENDING),
        [dep(conf=0)],
        Status.PROCESSING,
        ["invoice.processing"],
    ),
    Case(
        "processing waits for every deposit to confirm",
        inv(Status.PROCESSING),
        [dep(DUE // 2), dep(DUE // 2, conf=0)],
        Status.PROCESSING,
        [],
    ),
    Case(
        "processing waits for the policy's confirmations",
        inv(Status.PROCESSING),
        [dep(conf=2)],
        Status.PROCESSING,
        [],
        policy=Policy(confirmations=3),
    ),
    Case(
        "processing is done when confirmed and paid == due",
        inv(Status.PROCESSING),
        [dep()],
        Status.DONE,
        ["invoice.done"],
    ),
    Case("an overpayment is done", inv(Status.PROCESSING), [dep(DUE + 1)], Status.DONE, ["invoice.done"]),
    Case(
        "two confirmed deposits adding up to due are done",
        inv(Status.PENDING),
        [dep(DUE - 1), dep(1)],
        Status.DONE,
        ["invoice.done"],
    ),
    Case(
        "pending straight to done when the first sight is already confirmed",
        inv(Status.PENDING),
        [dep(conf=6)],
        Status.DONE,
        ["invoice.done"],
    ),
    Case(
        "one unit short with no limit is wrong", inv(Status.PROCESSING), [dep(DUE - 1)], Status.WRONG, ["invoice.wrong"]
    ),
    Case(
        "short within the static limit is done",
        inv(Status.PROCESSING),
        [dep(DUE - 500)],
        Status.DONE,
        ["invoice.done"],
        policy=Policy(1, underpay_static_units=500),
    ),
    Case(
        "short beyond the static limit is wrong",
        inv(Status.PROCESSING),
        [dep(DUE - 501)],
        Status.WRONG,
        ["invoice.wrong"],
        policy=Policy(1, underpay_static_units=500),
    ),
    Case(
        "short within the percent limit is done",
        inv(Status.PROCESSING),
        [dep(DUE - 10_000)],  # exactly 1 %
        Status.DONE,
        ["invoice.done"],
        policy=Policy(1, underpay_percent=Decimal(1)),
    ),
    Case(
        "short beyond the percent limit is wrong",
        inv(Status.PROCESSING),
        [dep(DUE - 10_001)],
        Status.WRONG,
        ["invoice.wrong"],
        policy=Policy(1, underpay_percent=Decimal(1)),
    ),
    Case(
        "static OR percent: the percent limit covers what the static one does not",
        inv(Status.PROCESSING),
        [dep(DUE - 10_000)],
        Status.DONE,
        ["invoice.done"],
        policy=Policy(1, underpay_static_units=5, underpay_percent=Decimal(1)),
    ),
    Case(
        "static OR percent: the static limit covers what the percent one does not",
        inv(Status.PROCESSING),
        [dep(DUE - 20_000)],
        Status.DONE,
        ["invoice.done"],
        policy=Policy(1, underpay_static_units=20_000, underpay_percent=Decimal(1)),
    ),
    Case(
        "static OR percent: beyond both is wrong",
        inv(Status.PROCESSING),
        [dep(DUE - 20_001)],
        Status.WRONG,
        ["invoice.wrong"],
        policy=Policy(1, underpay_static_units=20_000, underpay_percent=Decimal(1)),
    ),
    Case(
        "a top-up of a wrong invoice is processing until it confirms",
        inv(Status.WRONG),
        [dep(DUE - 100), dep(100, conf=0, at=BEFORE)],
        Status.PROCESSING,
        ["invoice.processing"],
    ),
    Case(
        "a confirmed top-up turns processing into done",
        inv(Status.PROCESSING),
        [dep(DUE - 100), dep(100, at=BEFORE)],
        Status.DONE,
        ["invoice.done"],
    ),
    Case(
        "a top-up after expiry does not count: the invoice stays wrong",
        inv(Status.WRONG),
        [dep(DUE - 100), dep(100, at=EXPIRES)],
        Status.WRONG,
        [],
        now=AFTER,
    ),
    Case(
        "a deposit seen after expiry does not pay a pending invoice: it expires",
        inv(Status.PENDING),
        [dep(at=EXPIRES + timedelta(seconds=1))],
        Status.EXPIRED,
        ["invoice.expired"],
        now=AFTER,
    ),
    Case(
        "a deposit seen at the expiry instant is already late",
        inv(Status.PENDING),
        [dep(at=EXPIRES)],
        Status.EXPIRED,
        ["invoice.expired"],
        now=AFTER,
    ),
    Case(
        "a deposit seen just before expiry counts even when confirmed later",
        inv(Status.PROCESSING),
        [dep(at=EXPIRES - timedelta(microseconds=1))],
        Status.DONE,
        ["invoice.done"],
        now=AFTER,
    ),
    Case(
        "an unconfirmed on-time deposit keeps the invoice processing past expiry",
        inv(Status.PROCESSING),
        [dep(conf=0, at=BEFORE)],
        Status.PROCESSING,
        [],
        now=AFTER,
    ),
    Case(
        "pending expires when nothing was received and the time passed",
        inv(Status.PENDING),
        [],
        Status.EXPIRED,
        ["invoice.expired"],
        now=AFTER,
    ),
    Case(
        "pending expires exactly at expires_at",
        inv(Status.PENDING),
        [],
        Status.EXPIRED,
        ["invoice.expired"],
        now=EXPIRES,
    ),
    Case(
        "pending does not expire a microsecond early",
        inv(Status.PENDING),
        [],
        Status.PENDING,
        [],
        now=EXPIRES - timedelta(microseconds=1),
    ),
    Case("an expired invoice stays expired", inv(Status.EXPIRED), [], Status.EXPIRED, [], now=AFTER),
    Case(
        "a late deposit leaves an expired invoice expired",
        inv(Status.EXPIRED),
        [dep(at=AFTER)],
        Status.EXPIRED,
        [],
        now=AFTER + timedelta(minutes=1),
    ),
    Case("created never expires", inv(Status.CREATED), [], Status.CREATED, [], now=AFTER + timedelta(days=365)),
    Case("created ignores deposits (it has no address yet)", inv(Status.CREATED), [dep()], Status.CREATED, []),
    Case(
        "done is reversed to pending when its deposit is orphaned before expiry",
        inv(Status.DONE),
        [dep(orphaned=True)],
        Status.PENDING,
        ["invoice.reversed", "invoice.pending"],
    ),
    Case(
        "done is reversed to expired when its deposit is orphaned after expiry",
        inv(Status.DONE),
        [dep(orphaned=True)],
        Status.EXPIRED,
        ["invoice.reversed", "invoice.expired"],
        now=AFTER,
    ),
    Case(
        "done is reversed to wrong when one of two deposits is orphaned",
        inv(Status.DONE),
        [dep(DUE // 2), dep(DUE // 2, orphaned=True)],
        Status.WRONG,
        ["invoice.reversed", "invoice.wrong"],
    ),
    Case(
        "done is reversed to processing when a deposit drops back to zero confirmations",
        inv(Status.DONE),
        [dep(conf=0)],
        Status.PROCESSING,
        ["invoice.reversed", "invoice.processing"],
    ),
    Case("done stays done", inv(Status.DONE), [dep()], Status.DONE, [], now=AFTER),
    Case(
        "processing with its only deposit orphaned goes back to pending",
        inv(Status.PROCESSING),
        [dep(conf=0, orphaned=True)],
        Status.PENDING,
        ["invoice.pending"],
    ),
    Case("refunded is terminal", inv(Status.REFUNDED), [dep()], Status.REFUNDED, [], now=AFTER),
    Case("failed is terminal", inv(Status.FAILED), [dep()], Status.FAILED, [], now=AFTER),
    Case(
        "a wrong invoice the merchant accepted is done",
        inv(Status.WRONG, "accepted"),
        [dep(DUE // 2)],
        Status.DONE,
        ["invoice.done"],
    ),
    Case(
        "a wrong invoice the merchant rejected is refunded",
        inv(Status.WRONG, "rejected"),
        [dep(DUE // 2)],
        Status.REFUNDED,
        ["invoice.refunded"],
    ),
    Case(
        "an expired invoice the merchant accepted (late payment) is done",
        inv(Status.EXPIRED, "accepted"),
        [dep(at=AFTER)],
        Status.DONE,
        ["invoice.done"],
        now=AFTER,
    ),
    Case("a draft never moves by itself", inv(Status.DRAFT), [dep()], Status.DRAFT, [], now=AFTER),
    Case("a voided invoice stays voided when a deposit arrives", inv(Status.VOIDED), [dep()], Status.VOIDED, []),
    Case(
        "an uncollectible invoice stays uncollectible past expiry",
        inv(Status.UNCOLLECTIBLE),
        [],
        Status.UNCOLLECTIBLE,
        [],
        now=AFTER,
    ),
    Case(
        "an expired invoice with a deposit the merchant accepted (seen after expiry) is done",
        inv(Status.EXPIRED),
        [DepositFacts(DUE, 1, AFTER + timedelta(days=2), accepted=True)],
        Status.DONE,
        ["invoice.done"],
        now=AFTER + timedelta(days=2),
    ),
    Case(
        "the same late deposit not accepted leaves it expired",
        inv(Status.EXPIRED),
        [DepositFacts(DUE, 1, AFTER + timedelta(days=2))],
        Status.EXPIRED,
        [],
        now=AFTER + timedelta(days=2),
    ),
    Case(
        "an accepted deposit still waits for its confirmations",
        inv(Status.EXPIRED),
        [DepositFacts(DUE, 0, AFTER, accepted=True)],
        Status.PROCESSING,
        ["invoice.processing"],
        now=AFTER,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_advance(case: Case):
    new, events = advance(case.invoice, case.deposits, case.now, case.policy)
    assert new is case.expected
    assert derive_status(case.invoice, case.deposits, case.now, case.policy) is case.expected
    assert [e.type for e in events] == case.events
    assert all(e.status is new for e in events)
    assert all(e.message for e in events)


def test_a_top_up_walks_wrong_to_processing_to_done():
    first = [dep(DUE - 100)]
    status, _ = advance(inv(Status.PROCESSING), first, BEFORE, ONE)
    assert status is Status.WRONG
    topped = [*first, dep(100, conf=0, at=BEFORE)]
    status, events = advance(InvoiceFacts(status, EXPIRES, DUE), topped, BEFORE, ONE)
    assert (status, [e.type for e in events]) == (Status.PROCESSING, ["invoice.processing"])
    confirmed = [first[0], dep(100, conf=1, at=BEFORE)]
    status, events = advance(InvoiceFacts(status, EXPIRES, DUE), confirmed, AFTER, ONE)
    assert (status, [e.type for e in events]) == (Status.DONE, ["invoice.done"])


@pytest.mark.parametrize(
    ("paid", "due", "static", "percent", "ok"),
    [
        (100, 100, 0, "0", True),
        (101, 100, 0, "0", True),
        (99, 100, 0, "0", False),
        (99, 100, 1, "0", True),
        (99, 100, 0, "1", True),
        (98, 100, 1, "1", False),
        (0, 100, 0, "100", True),
        (0, 100, 99, "0", False),
        (995, 1000, 0, "0.5", True),
        (994, 1000, 0, "0.5", False),
    ],
)
def test_within_limit_accepts_a_shortfall_up_to_the_static_or_the_percent_limit(paid, due, static, percent, ok):
    assert within_limit(paid, due, Policy(1, static, Decimal(percent))) is ok


def test_merchant_decisions_only_resolve_wrong_or_expired_invoices():
    assert MERCHANT_DECISIONS[(Status.WRONG, "accept")] is Status.DONE
    assert MERCHANT_DECISIONS[(Status.WRONG, "reject")] is Status.REFUNDED
    assert MERCHANT_DECISIONS[(Status.EXPIRED, "accept")] is Status.DONE
    assert {s for s, _ in MERCHANT_DECISIONS} == {Status.WRONG, Status.EXPIRED}


#: (from, action, a payment seen) -> the new status, or None when the state does not allow the action.
BILLING_CASES = [
    (Status.DRAFT, "finalize", False, Status.CREATED),
    (Status.CREATED, "finalize", False, None),
    (Status.CREATED, "void", False, Status.VOIDED),
    (Status.PENDING, "void", False, Status.VOIDED),
    (Status.EXPIRED, "void", False, Status.VOIDED),
    (Status.EXPIRED, "void", True, None),
    (Status.UNCOLLECTIBLE, "void", False, Status.VOIDED),
    (Status.PROCESSING, "void", True, None),
    (Status.WRONG, "void", True, None),
    (Status.DONE, "void", True, None),
    (Status.DRAFT, "void", False, None),
    (Status.VOIDED, "void", False, None),
    (Status.CREATED, "mark_uncollectible", False, Status.UNCOLLECTIBLE),
    (Status.PENDING, "mark_uncollectible", False, Status.UNCOLLECTIBLE),
    (Status.EXPIRED, "mark_uncollectible", False, Status.UNCOLLECTIBLE),
    (Status.WRONG, "mark_uncollectible", True, Status.UNCOLLECTIBLE),
    (Status.DONE, "mark_uncollectible", True, None),
    (Status.PROCESSING, "mark_uncollectible", True, None),
    (Status.DRAFT, "mark_uncollectible", False, None),
    (Status.VOIDED, "mark_uncollectible", False, None),
    (Status.UNCOLLECTIBLE, "mark_uncollectible", False, None),
]


@pytest.mark.parametrize(("status", "action", "paid", "expected"), BILLING_CASES)
def test_billing_action(status: Status, action: str, paid: bool, expected: Status | None):
    assert billing_action(status, action, paid) is expected


def test_every_billing_transition_is_in_the_table():
    covered = {(s, a) for s, a, _, e in BILLING_CASES if e is not None}
    assert covered == set(BILLING_ACTIONS)


def unlimited(status: Status) -> InvoiceFacts:
    """An any-amount invoice: no amount due, only its open window (closing at EXPIRES)."""
    return InvoiceFacts(status, None if status is Status.CREATED else EXPIRES, None)


UNLIMITED_CASES = [
    Case("unlimited: created stays created", unlimited(Status.CREATED), [dep()], Status.CREATED, []),
    Case("unlimited: open with nothing stays pending", unlimited(Status.PENDING), [], Status.PENDING, []),
    Case(
        "unlimited: an unconfirmed deposit while open keeps it pending",
        unlimited(Status.PENDING),
        [dep(conf=0)],
        Status.PENDING,
        [],
    ),
    Case(
        "unlimited: any amount, many times, while open keeps it pending",
        unlimited(Status.PENDING),
        [dep(amount=1), dep(amount=DUE * 50), dep(amount=7, conf=0)],
        Status.PENDING,
        [],
    ),
    Case(
        "unlimited: the window closes with nothing received -> expired",
        unlimited(Status.PENDING),
        [],
        Status.EXPIRED,
        ["invoice.expired"],
        now=AFTER,
    ),
    Case(
        "unlimited: the window closes with confirmed deposits -> done",
        unlimited(Status.PENDING),
        [dep(amount=1), dep(amount=5)],
        Status.DONE,
        ["invoice.done"],
        now=AFTER,
    ),
    Case(
        "unlimited: the window closes with an unconfirmed deposit -> processing",
        unlimited(Status.PENDING),
        [dep(amount=1), dep(amount=5, conf=0)],
        Status.PROCESSING,
        ["invoice.processing"],
        now=AFTER,
    ),
    Case(
        "unlimited: processing -> done when the last deposit confirms",
        unlimited(Status.PROCESSING),
        [dep(amount=1, conf=4), dep(amount=5, conf=3)],
        Status.DONE,
        ["invoice.done"],
        now=AFTER,
        policy=Policy(confirmations=3),
    ),
    Case(
        "unlimited: a deposit after the close does not keep it open",
        unlimited(Status.PENDING),
        [dep(at=EXPIRES + timedelta(minutes=1))],
        Status.EXPIRED,
        ["invoice.expired"],
        now=AFTER,
    ),
    Case(
        "unlimited: done, its only deposit orphaned -> expired, reported as a reversal",
        unlimited(Status.DONE),
        [dep(orphaned=True)],
        Status.EXPIRED,
        ["invoice.reversed", "invoice.expired"],
        now=AFTER,
    ),
    Case(
        "unlimited: processing, the unconfirmed deposit orphaned, a confirmed one left -> done",
        unlimited(Status.PROCESSING),
        [dep(amount=2), dep(conf=0, orphaned=True)],
        Status.DONE,
        ["invoice.done"],
        now=AFTER,
    ),
    Case(
        "unlimited: a late payment the merchant accepted stays done when the deposits are re-read",
        InvoiceFacts(Status.DONE, EXPIRES, None, "accepted"),
        [dep(at=EXPIRES + timedelta(minutes=1))],
        Status.DONE,
        [],
        now=AFTER,
    ),
]


@pytest.mark.parametrize("case", UNLIMITED_CASES, ids=[c.name for c in UNLIMITED_CASES])
def test_advance_unlimited(case: Case):
    status, events = advance(case.invoice, case.deposits, case.now, case.policy, kind="unlimited")
    assert status is case.expected
    assert [e.type for e in events] == case.events
    assert all(e.status is case.expected for e in events if e.type != "invoice.reversed")
