"""Address prefixes and unit sizes of a Bitcoin Core-family chain on one network, read from the chain registry."""

from __future__ import annotations

from dataclasses import dataclass

from coinvoice.domain.assets import PAYMENT_ASSETS
from coinvoice.domain.chains import CHAINS, NETWORKS, chains_of_family


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


def utxo_params(chain: str, network: str) -> UtxoParams:
    """The parameters of ``chain`` on ``network``; ValueError names the known choices otherwise."""
    spec = CHAINS.get(chain)
    if spec is None or spec.family != "utxo" or network not in spec.networks:
        known = ", ".join(f"{c.name}/{n}" for c in chains_of_family("utxo") for n in NETWORKS)
        raise ValueError(f"unknown UTXO chain/network {chain}/{network}; known: {known}")
    net = spec.networks[network]
    assert net.p2pkh_version is not None and net.p2sh_version is not None
    return UtxoParams(
        chain,
        network,
        spec.native,
        PAYMENT_ASSETS[spec.native].decimals,
        net.bech32_hrp,
        net.p2pkh_version,
        net.p2sh_version,
        net.cashaddr_prefix,
    )
