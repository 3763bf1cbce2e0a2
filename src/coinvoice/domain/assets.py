"""The asset registry: invoice currencies, payment assets, their chains, precision and defaults."""

from __future__ import annotations

from dataclasses import dataclass

from coinvoice.domain.chains import CHAINS, Chain

__all__ = ["CHAINS", "COMPANY_ASSETS", "PAYMENT_ASSETS", "Chain", "PaymentAsset"]

#: Decimal places of item prices per invoice currency (the Solopayment precision table).
PRICE_PRECISION: dict[str, int] = {
    "usd": 2,
    "eur": 2,
    "usdt": 2,
    "usdc": 2,
    "sol": 4,
    "ton": 4,
    "btc": 6,
    "eth": 6,
    "bnb": 8,
    "bch": 8,
    "ltc": 8,
    "trx": 8,
}
INVOICE_CURRENCIES = tuple(PRICE_PRECISION)
FIAT_CURRENCIES = ("usd", "eur")


@dataclass(frozen=True, slots=True)
class PaymentAsset:
    """Something a payer can send: an asset on one network (``trc20usdt`` is usdt on tron)."""

    code: str  # wire code in paymentCurrency: btc, trc20usdt, usdterc20, ...
    asset: str  # company-level asset it belongs to (usdt for both usdt networks)
    chain: str  # Chain.name
    decimals: int  # base units per whole unit = 10**decimals
    label: str  # what the payer page shows
    is_token: bool = False

    @property
    def chain_spec(self) -> Chain:
        return CHAINS[self.chain]


PAYMENT_ASSETS: dict[str, PaymentAsset] = {
    a.code: a
    for a in (
        PaymentAsset("btc", "btc", "bitcoin", 8, "BTC (Bitcoin)"),
        PaymentAsset("ltc", "ltc", "litecoin", 8, "LTC (Litecoin)"),
        PaymentAsset("bch", "bch", "bitcoincash", 8, "BCH (Bitcoin Cash)"),
        PaymentAsset("eth", "eth", "ethereum", 18, "ETH (Ethereum)"),
        PaymentAsset("usdterc20", "usdt", "ethereum", 6, "USDT (ERC-20)", is_token=True),
        PaymentAsset("usdc", "usdc", "ethereum", 6, "USDC (ERC-20)", is_token=True),
        PaymentAsset("bnb", "bnb", "bsc", 18, "BNB (BNB Smart Chain)"),
        PaymentAsset("trx", "trx", "tron", 6, "TRX (TRON)"),
        PaymentAsset("trc20usdt", "usdt", "tron", 6, "USDT (TRC-20)", is_token=True),
        PaymentAsset("sol", "sol", "solana", 9, "SOL (Solana)"),
        PaymentAsset("ton", "ton", "ton", 9, "TON (Toncoin)"),
    )
}

#: Company-level assets in the order the wire shows them (Solopayment's list).
COMPANY_ASSETS = ("btc", "eth", "usdt", "sol", "ton", "usdc", "bnb", "ltc", "near", "trx", "bch")
#: Company assets listed for wire compatibility that no chain of ours can receive.
UNSUPPORTED_ASSETS = frozenset({"near"})


def payment_assets_of(asset: str) -> tuple[PaymentAsset, ...]:
    """The payment assets (networks) that carry a company-level asset."""
    return tuple(p for p in PAYMENT_ASSETS.values() if p.asset == asset)


def chains_of(asset: str) -> tuple[str, ...]:
    """The chains that carry a company-level asset."""
    return tuple(dict.fromkeys(p.chain for p in payment_assets_of(asset)))
