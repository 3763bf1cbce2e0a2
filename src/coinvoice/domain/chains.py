"""The chain registry: every chain we receive on, as data (family, native asset, tokens, per-network parameters).

Everything specific to one chain lives in its entry here; the code of a chain *family* (address encoding,
payment URIs, the watcher adapter) reads these parameters. A new Bitcoin-family coin is one entry with its
address prefixes; a new EVM chain is one entry with its chain ids, native asset and token list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

NETWORKS = ("mainnet", "testnet", "regtest")


@dataclass(frozen=True, slots=True)
class NetworkParams:
    """What differs between a chain's networks: address prefixes, key prefixes, EIP-155 chain id."""

    key_prefixes: tuple[str, ...] = ("xpub",)  # SLIP-132 prefixes accepted for the merchant's account key
    bech32_hrp: str | None = None
    p2pkh_version: int | None = None
    p2sh_version: int | None = None
    cashaddr_prefix: str | None = None
    chain_id: int | None = None


@dataclass(frozen=True, slots=True)
class Chain:
    """A blockchain we can receive on."""

    code: str  # env-var code: BTC, LTC, ETH, ...
    name: str  # wire name used by the wallet API: bitcoin, litecoin, ethereum, ...
    family: str  # utxo | evm | tron | solana | ton: which adapter, deriver and URI builder serve it
    native: str  # payment asset code of the chain's own coin
    address_kind: str  # how a public key becomes an address: p2wpkh | cashaddr | eth | trx | none
    uri_scheme: str  # the payment URI scheme (bitcoin:, ethereum:, ...)
    networks: Mapping[str, NetworkParams] = field(default_factory=dict)
    #: token payment asset code -> its contract on mainnet (other networks need COINVOICE_TOKEN_CONTRACTS)
    tokens: Mapping[str, str] = field(default_factory=dict)
    needs_tag: bool = False  # a deposit is told apart by a memo/comment, not by its own address
    #: per-invoice addresses can be derived watch-only from an account key (no ed25519 chains)
    derives_addresses: bool = True

    def token_contract(self, code: str, network: str, configured: Mapping[str, str] | None = None) -> str | None:
        """The contract of token ``code``: the configured one, else the registry's mainnet default on mainnet."""
        if configured and configured.get(code):
            return configured[code]
        return self.tokens.get(code) if network == "mainnet" else None

    def network(self, network: str) -> NetworkParams:
        try:
            return self.networks[network]
        except KeyError:
            raise ValueError(
                f"unknown network {network!r} for {self.name}; expected one of {', '.join(NETWORKS)}"
            ) from None


def _utxo(
    code: str, name: str, native: str, kind: str, mainnet: NetworkParams, test: NetworkParams, regtest: NetworkParams
) -> Chain:
    return Chain(code, name, "utxo", native, kind, name, {"mainnet": mainnet, "testnet": test, "regtest": regtest})


def _evm(code: str, name: str, native: str, ids: tuple[int, int, int], tokens: Mapping[str, str]) -> Chain:
    nets = {net: replace(p, chain_id=i) for (net, p), i in zip(_secp_account().items(), ids, strict=True)}
    return Chain(code, name, "evm", native, "eth", "ethereum", nets, tokens)


def _btc_like(hrp: str, p2pkh: int, p2sh: int, prefixes: tuple[str, ...]) -> NetworkParams:
    return NetworkParams(prefixes, bech32_hrp=hrp, p2pkh_version=p2pkh, p2sh_version=p2sh)


def _bch(prefix: str, p2pkh: int, p2sh: int, prefixes: tuple[str, ...]) -> NetworkParams:
    return NetworkParams(prefixes, p2pkh_version=p2pkh, p2sh_version=p2sh, cashaddr_prefix=prefix)


def _secp_account() -> dict[str, NetworkParams]:
    """An account chain whose merchants paste a BIP32 xpub (a tpub too off mainnet)."""
    return {net: NetworkParams(("xpub",) if net == "mainnet" else ("xpub", "tpub")) for net in NETWORKS}


def _no_keys() -> dict[str, NetworkParams]:
    """An ed25519 chain: no public child derivation, so no account key is taken."""
    return {net: NetworkParams(key_prefixes=()) for net in NETWORKS}


_CHAINS = (
    _utxo(
        "BTC",
        "bitcoin",
        "btc",
        "p2wpkh",
        _btc_like("bc", 0, 5, ("xpub", "zpub")),
        _btc_like("tb", 111, 196, ("tpub", "vpub")),
        _btc_like("bcrt", 111, 196, ("tpub", "vpub")),
    ),
    _utxo(
        "LTC",
        "litecoin",
        "ltc",
        "p2wpkh",
        _btc_like("ltc", 48, 50, ("xpub", "zpub", "Ltub")),
        _btc_like("tltc", 111, 58, ("tpub", "vpub", "ttub")),
        _btc_like("rltc", 111, 58, ("tpub", "vpub", "ttub")),
    ),
    _utxo(
        "BCH",
        "bitcoincash",
        "bch",
        "cashaddr",
        _bch("bitcoincash", 0, 5, ("xpub",)),
        _bch("bchtest", 111, 196, ("tpub",)),
        _bch("bchreg", 111, 196, ("tpub",)),
    ),
    _evm(
        "ETH",
        "ethereum",
        "eth",
        (1, 11155111, 31337),
        {
            "usdterc20": "0xdAC17F958D2ee523a2206206994597C13D831ec7",
            "usdc": "0xA0b86991c6218b36c1d19D4a2e9EB0cE3606eB48",
        },
    ),
    _evm("BSC", "bsc", "bnb", (56, 97, 31337), {}),
    Chain(
        "TRON",
        "tron",
        "tron",
        "trx",
        "trx",
        "tron",
        _secp_account(),
        {"trc20usdt": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"},
    ),
    Chain("SOL", "solana", "solana", "sol", "none", "solana", _no_keys(), derives_addresses=False),
    Chain("TON", "ton", "ton", "ton", "none", "ton", _no_keys(), needs_tag=True, derives_addresses=False),
)

CHAINS: Mapping[str, Chain] = MappingProxyType({c.name: c for c in _CHAINS})


def chain_of_code(code: str) -> Chain:
    """The chain whose env-var code is ``code`` (BTC, ETH, ...)."""
    return next(c for c in _CHAINS if c.code == code)


def chains_of_family(family: str) -> tuple[Chain, ...]:
    return tuple(c for c in _CHAINS if c.family == family)
