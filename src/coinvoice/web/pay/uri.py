"""Wallet payment URIs for the QR code, one builder per chain family: BIP21, EIP-681, TRON, Solana Pay, TON."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from urllib.parse import quote

from coinvoice.domain.assets import CHAINS, PaymentAsset
from coinvoice.domain.chains import Chain
from coinvoice.domain.money import fmt, to_base_units_up


def token_contract(code: str, network: str, configured: Mapping[str, str] | None = None) -> str | None:
    """The contract of a token payment asset: the configured one, else the mainnet default on mainnet."""
    chain = next((c for c in CHAINS.values() if code in c.tokens), None)
    if chain is None:
        return configured.get(code) if configured else None
    return chain.token_contract(code, network, configured)


def payment_uri(
    asset: PaymentAsset,
    address: str,
    amount: Decimal | None,
    *,
    network: str = "mainnet",
    contract: str | None = None,
    tag: str | None = None,
    chain_id: int | None = None,
    reference: str | None = None,
    label: str | None = None,
    message: str | None = None,
) -> str:
    """The URI a wallet opens to pay ``amount`` of ``asset`` to ``address``; the bare address when no form fits.
    With ``amount`` None (an any-amount invoice) the URI names no amount: the payer's wallet asks for one.

    ``chain_id`` overrides the registry's EIP-155 id of the network (COINVOICE_<C>_CHAIN_ID). ``reference``,
    ``label`` (the merchant) and ``message`` (the order) are Solana Pay's; ``tag`` is a memo or TON comment.
    """
    chain = CHAINS[asset.chain]
    build = _BUILDERS.get(chain.family)
    target = Target(chain, asset, address, amount, network, contract, tag, chain_id, reference, label, message)
    return build(target) if build else address


class Target:
    """Everything a family's builder may need to know about one payment."""

    __slots__ = ("address", "amount", "asset", "chain", "chain_id", "contract", "label", "message", "network",
                 "reference", "tag")  # fmt: skip

    def __init__(self, chain: Chain, asset: PaymentAsset, address: str, amount: Decimal | None, network: str,
                 contract: str | None, tag: str | None, chain_id: int | None, reference: str | None = None,
                 label: str | None = None, message: str | None = None) -> None:  # fmt: skip
        self.chain, self.asset, self.address, self.amount = chain, asset, address, amount
        self.network, self.contract, self.tag = network, contract, tag
        self.reference, self.label, self.message = reference, label, message
        self.chain_id = chain_id if chain_id is not None else chain.networks[network].chain_id

    @property
    def units(self) -> int:
        assert self.amount is not None
        return to_base_units_up(self.amount, self.asset.decimals)

    @property
    def decimal(self) -> str:
        assert self.amount is not None
        return fmt(self.amount)

    def query(self, name: str, value: Callable[[], object]) -> list[str]:
        """``name=value`` when the payment names an amount, nothing for an any-amount one."""
        return [] if self.amount is None else [f"{name}={value()}"]


def _with(base: str, params: list[str]) -> str:
    return f"{base}?{'&'.join(params)}" if params else base


def _bip21(t: Target) -> str:
    # CashAddr already carries its prefix (bitcoincash:, bchtest:, bchreg:): never double it
    target = t.address if ":" in t.address else f"{t.chain.uri_scheme}:{t.address}"
    return _with(target, t.query("amount", lambda: t.decimal))


def _eip681(t: Target) -> str:
    at_chain = f"@{t.chain_id}" if t.chain_id not in (None, 1) else ""  # EIP-681: no chain id means mainnet (1)
    if not t.asset.is_token:
        return _with(f"{t.chain.uri_scheme}:{t.address}{at_chain}", t.query("value", lambda: t.units))
    if not t.contract:
        return t.address
    params = [f"address={t.address}", *t.query("uint256", lambda: t.units)]
    return _with(f"{t.chain.uri_scheme}:{t.contract}{at_chain}/transfer", params)


def _tron(t: Target) -> str:
    # TRC-20 has no agreed URI form: wallets read the bare address
    if t.asset.is_token:
        return t.address
    return _with(f"{t.chain.uri_scheme}:{t.address}", t.query("amount", lambda: t.decimal))


def _solana_pay(t: Target) -> str:
    """A Solana Pay transfer request: recipient, amount in SOL, the reference key, then label and message."""
    params = t.query("amount", lambda: t.decimal)
    if t.asset.is_token and t.contract:
        params.append(f"spl-token={t.contract}")
    if t.reference:
        params.append(f"reference={t.reference}")
    params += [f"{key}={quote(value, safe='')}" for key, value in (("label", t.label), ("message", t.message)) if value]
    return _with(f"{t.chain.uri_scheme}:{t.address}", params)


def _ton(t: Target) -> str:
    text = [f"text={quote(t.tag, safe='')}"] if t.tag else []
    return _with(f"ton://transfer/{t.address}", [*t.query("amount", lambda: t.units), *text])


_BUILDERS: dict[str, Callable[[Target], str]] = {
    "utxo": _bip21,
    "evm": _eip681,
    "tron": _tron,
    "solana": _solana_pay,
    "ton": _ton,
}
