"""Which adapter reads each chain family, and which kind of watcher drives it: the one place the workers look a
chain's watcher up. Block-based families are followed block by block (BlockFollower); families whose invoices
share one merchant address are scanned address by address (AccountScanner)."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
import asyncpg

from coinvoice.chains.base import AccountAdapter, ChainAdapter
from coinvoice.chains.follower import BlockFollower
from coinvoice.chains.leadership import ChainWatcher
from coinvoice.chains.scanner import AccountScanner
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


def _tron(chain: Chain, settings: Settings, http: aiohttp.ClientSession) -> ChainAdapter:
    from coinvoice.chains.tron.adapter import TronAdapter

    return TronAdapter.from_settings(chain, settings, http)


ADAPTERS: dict[str, AdapterFactory] = {"utxo": _utxo, "evm": _evm, "tron": _tron}

#: chain family -> how to build the adapter that reads one shared address's history
AccountAdapterFactory = Callable[[Chain, Settings, aiohttp.ClientSession], AccountAdapter]


def _solana(chain: Chain, settings: Settings, http: aiohttp.ClientSession) -> AccountAdapter:
    from coinvoice.chains.solana.adapter import SolanaAdapter

    return SolanaAdapter.from_settings(chain, settings, http)


def _ton(chain: Chain, settings: Settings, http: aiohttp.ClientSession) -> AccountAdapter:
    from coinvoice.chains.ton.adapter import TonAdapter

    return TonAdapter.from_settings(chain, settings, http)


ACCOUNT_ADAPTERS: dict[str, AccountAdapterFactory] = {"solana": _solana, "ton": _ton}


def watched_chains(settings: Settings) -> list[Chain]:
    """Chains with a node configured and an adapter for their family."""
    return [
        c
        for c in CHAINS.values()
        if settings.chain(c.name).rpc_url and (c.family in ADAPTERS or c.family in ACCOUNT_ADAPTERS)
    ]


def build_adapter(chain: Chain, settings: Settings, http: aiohttp.ClientSession) -> ChainAdapter:
    return ADAPTERS[chain.family](chain, settings, http)


def build_watcher(chain: Chain, settings: Settings, http: aiohttp.ClientSession, pool: asyncpg.Pool) -> ChainWatcher:
    """The watcher of ``chain``: a block follower, or an account scanner for a shared-address family."""
    if chain.family in ACCOUNT_ADAPTERS:
        return AccountScanner(ACCOUNT_ADAPTERS[chain.family](chain, settings, http), settings, pool)
    return BlockFollower(build_adapter(chain, settings, http), settings, pool)
