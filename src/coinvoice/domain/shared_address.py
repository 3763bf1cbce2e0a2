"""Invoices sharing one merchant address (Solana, TON): how an amount due is made unique, and which invoice a
payment to that address belongs to (its reference or comment first, else its exact amount)."""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass

#: At most this many base units are added to make an amount due unique among the open invoices on an address.
MAX_EXTRA_UNITS = 999


def unique_due(due_units: int, taken: Collection[int], max_extra: int = MAX_EXTRA_UNITS) -> int | None:
    """The smallest amount >= ``due_units`` (at most ``max_extra`` base units more) that no open invoice has.

    Never rounds the due down. None when every amount in the range is taken.
    """
    for extra in range(max_extra + 1):
        if due_units + extra not in taken:
            return due_units + extra
    return None


def normalize_comment(text: str | None) -> str | None:
    """A TON comment as typed by a payer (spaces, case) in the form we hand out: trimmed, upper case."""
    if text is None:
        return None
    cleaned = "".join(text.split()).upper()
    return cleaned or None


@dataclass(frozen=True, slots=True)
class SharedInvoice:
    """An invoice on a shared address, as the matcher sees it."""

    invoice_id: Hashable
    tag: str | None  # the TON comment it was given
    reference: str | None  # the Solana Pay reference key it was given
    due_units: int
    open: bool  # still waiting for payment (pending, processing, wrong)


def match_shared(
    tag: str | None, references: Iterable[str], amount_units: int, invoices: Sequence[SharedInvoice]
) -> SharedInvoice | None:
    """The invoice a payment to a shared address belongs to, or None (it is then recorded as ``no_invoice``).

    The payment's comment (``tag``) or one of the keys it names (``references``) decides first, whatever the
    amount and whether the invoice is still open (an underpayment, an overpayment, a late payment all belong to
    it). Without a known comment or reference, an amount equal to exactly one open invoice's due decides.
    """
    comment = normalize_comment(tag)
    keys = set(references)
    for inv in invoices:
        if (comment is not None and inv.tag == comment) or (inv.reference is not None and inv.reference in keys):
            return inv
    by_amount = [inv for inv in invoices if inv.open and inv.due_units == amount_units]
    return by_amount[0] if len(by_amount) == 1 else None
