"""Fixtures for the rate tests: provider stand-ins on 127.0.0.1 and settings using them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from coinvoice.config import Settings, load_settings
from tests.conftest import TEST_ENV
from tests.support.rate_standins import StandIns

ALL_FOUR = "kraken,binance,coinbase,coingecko"


@pytest.fixture
async def standins() -> AsyncIterator[StandIns]:
    stand_ins = StandIns()
    await stand_ins.start()
    yield stand_ins
    await stand_ins.stop()


@pytest.fixture
def market_env(standins: StandIns, tmp_path) -> dict[str, str]:
    """The test environment with the four network providers at their stand-ins (and no fixed rates)."""
    return {
        **TEST_ENV,
        "COINVOICE_DATA_DIR": str(tmp_path),
        "COINVOICE_RATES_PROVIDERS": ALL_FOUR,
        "COINVOICE_RATES_TIMEOUT_SECONDS": "0.5",
        **standins.env(),
    }


@pytest.fixture
def market_settings(market_env: dict[str, str]) -> Settings:
    return load_settings(market_env)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
