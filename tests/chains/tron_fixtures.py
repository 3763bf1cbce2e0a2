"""Fixtures of the TRON watcher tests: test USDT contracts on the shared stand-in, settings, a merchant, a watcher."""

from __future__ import annotations

import pytest

from tests.chains.tron_support import USDT_DECIMALS, accept_tron, tron_settings, tron_watcher


@pytest.fixture(scope="session")
def trc20_usdt(tron_node) -> str:
    """The test USDT contract (6 decimals), configured as trc20usdt."""
    return tron_node.deploy_token("USDT", USDT_DECIMALS)


@pytest.fixture(scope="session")
def fake_trc20_usdt(tron_node) -> str:
    """Another contract that also calls itself USDT: never configured, never credited."""
    return tron_node.deploy_token("USDT", USDT_DECIMALS)


@pytest.fixture
def tron_cfg(settings, tron_node, trc20_usdt):
    return tron_settings(settings, tron_node, tokens={"trc20usdt": trc20_usdt})


@pytest.fixture
async def tron_merchant(api, company, pool):
    await accept_tron(api, company, pool)
    return company


@pytest.fixture
async def tron_watcher_(tron_cfg, pool, session):
    watcher = tron_watcher(tron_cfg, pool, session)
    try:
        await watcher.poll()
        assert watcher.misconfigured is None
        yield watcher
    finally:
        await watcher.close()
