"""Which adapter reads each chain family: the one place the workers look a chain's watcher up."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from coinvoice.chains.base import ChainAdapter
from coinvoice.chains.utxo.params import utxo_params
from coinvoice.chains.utxo.rpc import BitcoinRpc
from coinvoice.chains.utxo.watcher import UtxoAdapter
from coinvoice.config import Settings
from coinvoice.domain.chains import CHAINS, Chain

#: chain family -> how to build its adapter from the chain's registry entry, settings and an HTTP session
AdapterFactory = Callable[[Chain, Settings, aiohttp.ClientSession], ChainAdapter]


def _utxo(chain: Chain, settings: Settings, http: aiohttp.ClientSession) -> ChainAdapter:
    chain_settings = settings.chain(chain.name)
    assert chain_settings.rpc_url is not None
    return UtxoAdapter(
        chain.name, utxo_params(chain.name, chain_settings.network), BitcoinRpc(chain_settings.rpc_url, http)
    )


def _evm(chain: Chain, settings: Settings, http: aiohttp.ClientSession) -> ChainAdapter:
    from coinvoice.chains.evm.adapter import EvmAdapter  # web3 loads slowly: only where an EVM chain is watched

    return EvmAdapter.from_settings(chain, settings, http)


ADAPTERS: dict[str, AdapterFactory] = {"utxo": _utxo, "evm": _evm}


def watched_chains(settings: Settings) -> list[Chain]:
    """Chains with a node configured and an adapter for their family."""
    return [c for c in CHAINS.values() if settings.chain(c.name).rpc_url and c.family in ADAPTERS]


def build_adapter(chain: Chain, settings: Settings, http: aiohttp.ClientSession) -> ChainAdapter:
    return ADAPTERS[chain.family](chain, settings, http)
