"""Fixtures of the shared-address tests: one Solana and one TON stand-in per session (per xdist worker), a
merchant with a fresh address on each, payers, and scanners."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from solders.keypair import Keypair

from tests.chains.shared_support import accept_shared, scanner, shared_settings
from tests.support.solana_standin import LAMPORTS_PER_SOL, SolanaPayer, SolanaStandIn
from tests.support.ton_standin import NANOTONS, TonStandIn, TonWallet

TON_API_KEY = "test-ton-api-key"


@pytest.fixture(scope="session")
def solana_node() -> Iterator[SolanaStandIn]:
    """The Solana JSON-RPC stand-in (LiteSVM); shared by the worker's tests: use fresh keys."""
    node = SolanaStandIn()
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def ton_node() -> Iterator[TonStandIn]:
    """The toncenter v2 stand-in, requiring an API key; shared by the worker's tests: use fresh wallets."""
    node = TonStandIn(api_key=TON_API_KEY)
    node.start()
    yield node
    node.stop()


@pytest.fixture
def sol_settings(settings, solana_node):
    return shared_settings(settings, "solana", solana_node.rpc_url)


@pytest.fixture
def ton_settings(settings, ton_node):
    return shared_settings(settings, "ton", ton_node.url, api_key=TON_API_KEY)


@pytest.fixture
async def sol_merchant(api, company, solana_node):
    """A company whose one Solana address is a fresh, funded (rent-exempt) account."""
    recipient = Keypair().pubkey()
    solana_node.airdrop(recipient, LAMPORTS_PER_SOL)
    await accept_shared(api, company, "solana", str(recipient))
    return {**company, "address": str(recipient)}


@pytest.fixture
async def ton_merchant(api, company, ton_node):
    """A company whose one TON address is a fresh, deployed wallet v4r2."""
    wallet = TonWallet(ton_node, NANOTONS)
    wallet.deploy()
    body = await accept_shared(api, company, "ton", wallet.friendly)
    return {**company, "address": body["address"], "wallet": wallet}


@pytest.fixture
def sol_payer(solana_node) -> SolanaPayer:
    return SolanaPayer(solana_node)


@pytest.fixture
def ton_payer(ton_node) -> TonWallet:
    return TonWallet(ton_node, 1_000 * NANOTONS)


@pytest.fixture
async def sol_scanner(sol_settings, pool, session):
    watcher = scanner(sol_settings, pool, session, "solana")
    try:
        yield watcher
    finally:
        await watcher.close()


@pytest.fixture
async def ton_scanner(ton_settings, pool, session):
    watcher = scanner(ton_settings, pool, session, "ton")
    try:
        yield watcher
    finally:
        await watcher.close()
