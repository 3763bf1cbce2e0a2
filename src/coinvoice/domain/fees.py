"""Fee policy and the quote: rate, fee and amount due in the payment asset's base units."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from coinvoice.domain.money import _CTX, from_base_units, to_base_units_up


@dataclass(frozen=True, slots=True)
class FeePolicy:
    """Fee on a payment: ``percent`` of the amount plus ``fixed`` in the payment asset."""

    percent: Decimal = Decimal("1")
    fixed: Decimal = Decimal("0")


@dataclass(frozen=True, slots=True)
class Quote:
    """A frozen price for one filled invoice."""

    rate: Decimal  # payment-asset units per invoice-currency unit
    fee_units: int  # the fee, in base units of the payment asset (network fee included)
    due_units: int  # what the payer must send, in base units
    decimals: int
    network_fee_units: int = 0  # the payer's network cost inside the fee, in base units

    @property
    def fee(self) -> Decimal:
        return from_base_units(self.fee_units, self.decimals)

    @property
    def due(self) -> Decimal:
        return from_base_units(self.due_units, self.decimals)


def make_quote(
    total: Decimal,
    rate: Decimal,
    policy: FeePolicy,
    decimals: int,
    merchant_pays_fee: bool,
    network_fee: Decimal = Decimal(0),
    network_fee_max_percent: Decimal | None = None,
) -> Quote:
    """Quote ``total`` (invoice currency) in the payment asset.

    The fee is ``percent`` of the converted total plus ``fixed``. When the merchant pays it, the payer
    sends the converted total; otherwise the payer sends total plus fee, and the fee also carries the
    payer's ``network_fee`` (already in the payment asset), capped at ``network_fee_max_percent`` of the
    converted total. Everything rounds up to base units.
    """
    if total <= 0 or rate <= 0:
        raise ValueError("total and rate must be positive")
    if network_fee < 0:
        raise ValueError("a network fee cannot be negative")
    with localcontext(_CTX):
        amount = total * rate
        network = Decimal(0) if merchant_pays_fee else network_fee
        if network_fee_max_percent is not None:
            network = min(network, amount * network_fee_max_percent / 100)
        fee = amount * policy.percent / 100 + policy.fixed + network
        due = amount if merchant_pays_fee else amount + fee
    return Quote(
        rate,
        to_base_units_up(fee, decimals),
        to_base_units_up(due, decimals),
        decimals,
        to_base_units_up(network, decimals),
    )
