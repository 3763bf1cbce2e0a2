"""The chain registry holds each chain's knowledge once, and every family has its code."""

from __future__ import annotations

import pytest

from coinvoice.chains.registry import ADAPTERS
from coinvoice.chains.utxo.params import utxo_params
from coinvoice.domain.assets import PAYMENT_ASSETS
from coinvoice.domain.chains import CHAINS, NETWORKS
from coinvoice.web.pay.uri import _BUILDERS


def test_every_payment_asset_is_on_a_registered_chain_and_every_native_coin_is_an_asset():
    for asset in PAYMENT_ASSETS.values():
        assert asset.chain in CHAINS
    for chain in CHAINS.values():
        assert PAYMENT_ASSETS[chain.native].chain == chain.name
        assert not PAYMENT_ASSETS[chain.native].is_token
        for code in chain.tokens:
            assert PAYMENT_ASSETS[code].is_token and PAYMENT_ASSETS[code].chain == chain.name


def test_every_chain_has_all_networks_and_a_uri_builder():
    for chain in CHAINS.values():
        assert set(chain.networks) == set(NETWORKS), chain.name
        assert chain.family in _BUILDERS, chain.name


@pytest.mark.parametrize("family", ["utxo", "evm"])
def test_watched_families_have_an_adapter(family):
    assert family in ADAPTERS


@pytest.mark.parametrize(
    ("chain", "network", "hrp", "p2pkh", "p2sh"),
    [
        ("bitcoin", "mainnet", "bc", 0, 5),
        ("litecoin", "regtest", "rltc", 111, 58),
        ("litecoin", "mainnet", "ltc", 48, 50),
    ],
)
def test_utxo_parameters_come_from_the_registry(chain, network, hrp, p2pkh, p2sh):
    params = utxo_params(chain, network)
    assert (params.bech32_hrp, params.p2pkh_version, params.p2sh_version) == (hrp, p2pkh, p2sh)


def test_evm_chain_ids_per_network():
    assert [CHAINS["ethereum"].networks[n].chain_id for n in NETWORKS] == [1, 11155111, 31337]
    assert CHAINS["bsc"].networks["mainnet"].chain_id == 56


def test_unknown_utxo_chain_names_the_known_ones():
    with pytest.raises(ValueError, match="litecoin/regtest"):
        utxo_params("ethereum", "mainnet")
