"""Fixtures shared by the watcher tests: a merchant accepting ltc, watcher settings and a started watcher."""

from __future__ import annotations

import aiohttp
import pytest

from tests.chains.watch_support import accept_litecoin, make_watcher, watch_settings
from tests.webhooks.conftest import receiver  # noqa: F401  (a webhook receiver on 127.0.0.1)


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def merchant(api, company, pool):
    await accept_litecoin(api, company, pool)
    return company


@pytest.fixture
def ltc_settings(settings, litecoind):
    return watch_settings(settings, litecoind, confirmations=1)


@pytest.fixture
async def watcher(ltc_settings, pool, session, litecoind):
    watcher = make_watcher(ltc_settings, pool, session, litecoind)
    try:
        await watcher.poll()  # the cursor starts a few blocks below the tip
        yield watcher
    finally:
        await watcher.close()
