"""Fixtures of the EVM watcher tests: test tokens on the shared anvil, settings, a merchant and a watcher."""

from __future__ import annotations

import pytest

from tests.chains.evm_support import USDT_DECIMALS, accept_evm, evm_settings, evm_watcher


@pytest.fixture(scope="session")
def usdt(anvil) -> str:
    """The test USDT contract (6 decimals), configured as usdterc20."""
    return anvil.deploy("TestToken", "Tether USD", "USDT", USDT_DECIMALS)


@pytest.fixture(scope="session")
def fake_usdt(anvil) -> str:
    """A second contract that also calls itself USDT: never configured, never credited."""
    return anvil.deploy("TestToken", "Tether USD", "USDT", USDT_DECIMALS)


@pytest.fixture(scope="session")
def forwarder(anvil) -> str:
    return anvil.deploy("Forwarder")


@pytest.fixture
def eth_settings(settings, anvil, usdt):
    return evm_settings(settings, anvil, tokens={"usdterc20": usdt})


@pytest.fixture
async def eth_merchant(api, company, pool):
    await accept_evm(api, company, pool, "ethereum", ["eth", "usdt"])
    return company


@pytest.fixture
async def eth_watcher(eth_settings, pool, session):
    watcher = evm_watcher(eth_settings, pool, http=session)  # the app's shared session, as the registry passes it
    try:
        await watcher.poll()
        assert watcher.misconfigured is None
        yield watcher
    finally:
        await watcher.close()
