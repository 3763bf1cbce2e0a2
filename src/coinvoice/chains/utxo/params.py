"""Address prefixes and unit sizes of the Bitcoin Core family (btc, ltc, bch) per network."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class UtxoParams:
    """What differs between bitcoin, litecoin and bitcoincash on one network."""

    chain: str  # bitcoin | litecoin | bitcoincash
    network: str  # mainnet | testnet | regtest
    asset: str  # btc | ltc | bch
    decimals: int  # base units per coin = 10**decimals
    bech32_hrp: str | None  # None: no segwit addresses (bch)
    p2pkh_version: int  # base58check version byte
    p2sh_version: int
    cashaddr_prefix: str | None  # bch only


def _btc(network: str, hrp: str) -> UtxoParams:
    p2pkh, p2sh = (0, 5) if network == "mainnet" else (111, 196)
    return UtxoParams("bitcoin", network, "btc", 8, hrp, p2pkh, p2sh, None)


def _ltc(network: str, hrp: str) -> UtxoParams:
    p2pkh, p2sh = (48, 50) if network == "mainnet" else (111, 58)
    return UtxoParams("litecoin", network, "ltc", 8, hrp, p2pkh, p2sh, None)


def _bch(network: str, prefix: str) -> UtxoParams:
    p2pkh, p2sh = (0, 5) if network == "mainnet" else (111, 196)
    return UtxoParams("bitcoincash", network, "bch", 8, None, p2pkh, p2sh, prefix)


UTXO_PARAMS: MappingProxyType[tuple[str, str], UtxoParams] = MappingProxyType(
    {
        (p.chain, p.network): p
        for p in (
            _btc("mainnet", "bc"),
            _btc("testnet", "tb"),
            _btc("regtest", "bcrt"),
            _ltc("mainnet", "ltc"),
            _ltc("testnet", "tltc"),
            _ltc("regtest", "rltc"),
            _bch("mainnet", "bitcoincash"),
            _bch("testnet", "bchtest"),
            _bch("regtest", "bchreg"),
        )
    }
)


def utxo_params(chain: str, network: str) -> UtxoParams:
    """The parameters of ``chain`` on ``network``; ValueError names the known choices otherwise."""
    try:
        return UTXO_PARAMS[(chain, network)]
    except KeyError:
        known = ", ".join(f"{c}/{n}" for c, n in UTXO_PARAMS)
        raise ValueError(f"unknown UTXO chain/network {chain}/{network}; known: {known}") from None
