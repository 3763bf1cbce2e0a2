"""Wallet payment URIs for the QR code: BIP21, EIP-681 (native and ERC-20), TRON, Solana Pay, TON."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote

from coinvoice.domain.assets import PaymentAsset
from coinvoice.domain.money import fmt, to_base_units_up

#: EIP-155 chain ids per (chain, network); regtest means a local anvil node.
EVM_CHAIN_IDS: dict[tuple[str, str], int] = {
    ("ethereum", "mainnet"): 1,
    ("ethereum", "testnet"): 11155111,
    ("ethereum", "regtest"): 31337,
    ("bsc", "mainnet"): 56,
    ("bsc", "testnet"): 97,
    ("bsc", "regtest"): 31337,
}

#: Token contracts on mainnet, used when settings name none; other networks need a configured contract.
MAINNET_TOKEN_CONTRACTS: dict[str, str] = {
    "usdterc20": "0xdAC17F958D2ee523a2206206994597C13D831ec7",
    "usdc": "0xA0b86991c6218b36c1d19D4a2e9EB0cE3606eB48",
    "trc20usdt": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
}

_BIP21_SCHEMES = {"bitcoin": "bitcoin", "litecoin": "litecoin", "bitcoincash": "bitcoincash"}


def token_contract(code: str, network: str, configured: dict[str, str] | None = None) -> str | None:
    """The contract of a token payment asset: the configured one, else the mainnet default on mainnet."""
    if configured and configured.get(code):
        return configured[code]
    return MAINNET_TOKEN_CONTRACTS.get(code) if network == "mainnet" else None


def payment_uri(
    asset: PaymentAsset,
    address: str,
    amount: Decimal,
    *,
    network: str = "mainnet",
    contract: str | None = None,
    tag: str | None = None,
) -> str:
    """The URI a wallet opens to pay ``amount`` of ``asset`` to ``address``; the bare address when no form fits."""
    if asset.chain in _BIP21_SCHEMES:
        # CashAddr already carries its prefix (bitcoincash:, bchtest:, bchreg:): never double it
        target = address if ":" in address else f"{_BIP21_SCHEMES[asset.chain]}:{address}"
        return f"{target}?amount={fmt(amount)}"
    if asset.chain in ("ethereum", "bsc"):
        return _eip681(asset, address, amount, EVM_CHAIN_IDS.get((asset.chain, network)), contract)
    units = to_base_units_up(amount, asset.decimals)
    if asset.chain == "tron":
        # TRC-20 has no agreed URI form: wallets read the bare address
        return address if asset.is_token else f"tron:{address}?amount={fmt(amount)}"
    if asset.chain == "solana":
        token = f"&spl-token={contract}" if asset.is_token and contract else ""
        return f"solana:{address}?amount={fmt(amount)}{token}"
    if asset.chain == "ton":
        text = f"&text={quote(tag, safe='')}" if tag else ""
        return f"ton://transfer/{address}?amount={units}{text}"
    return address


def _eip681(asset: PaymentAsset, address: str, amount: Decimal, chain_id: int | None, contract: str | None) -> str:
    units = to_base_units_up(amount, asset.decimals)
    at_chain = f"@{chain_id}" if chain_id is not None else ""
    if not asset.is_token:
        return f"ethereum:{address}{at_chain}?value={units}"
    if not contract:
        return address
    return f"ethereum:{contract}{at_chain}/transfer?address={address}&uint256={units}"
