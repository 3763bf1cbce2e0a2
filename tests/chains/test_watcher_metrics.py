"""/metrics shows each chain watcher's lag (the tip its round saw minus its cursor) and its last good poll, read
from PostgreSQL, so an API process exports what a worker's watcher did: proved against litecoind."""

from __future__ import annotations

import logging
import time

from coinvoice.chains.base import NodeUnavailable
from tests.chains.watch_support import make_watcher


async def _chain_metrics(api) -> dict[str, float]:
    async with api.session.get(f"{api.base}/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    wanted = ("coinvoice_chain_lag_blocks", "coinvoice_chain_tip_height", "coinvoice_chain_last_poll")
    return {
        name.split("{")[0]: float(value)
        for name, value in (line.rsplit(" ", 1) for line in text.splitlines() if line.startswith(wanted))
        if 'chain="litecoin"' in name
    }


async def test_lag_and_last_poll_appear_and_move_with_the_litecoin_watcher(
    api, ltc_settings, pool, session, litecoind, monkeypatch, caplog
):
    caplog.set_level(logging.INFO)
    assert await _chain_metrics(api) == {}  # no watcher has polled yet
    watcher = make_watcher(ltc_settings, pool, session, litecoind, max_backoff=0.0)
    try:
        await watcher.poll()  # starts a few blocks below the tip and catches up
        tip = litecoind.rpc("getblockcount")
        first = await _chain_metrics(api)
        assert first["coinvoice_chain_tip_height"] == tip
        assert first["coinvoice_chain_lag_blocks"] == 0
        assert abs(first["coinvoice_chain_last_poll_timestamp_seconds"] - time.time()) < 30
        assert first["coinvoice_chain_last_poll_age_seconds"] < 30

        litecoind.mine(5)
        fetch = watcher.adapter.fetch_blocks

        async def node_dies_after_two_blocks(first_height: int, last_height: int):
            if first_height > tip + 2:
                raise NodeUnavailable("litecoind went away")
            return await fetch(first_height, min(last_height, tip + 2))

        monkeypatch.setattr(watcher.adapter, "fetch_blocks", node_dies_after_two_blocks)
        await watcher.poll()  # stores two of the five new blocks, then the node fails the round
        behind = await _chain_metrics(api)
        assert behind["coinvoice_chain_tip_height"] == tip + 5
        assert behind["coinvoice_chain_lag_blocks"] == 3
        assert (
            behind["coinvoice_chain_last_poll_timestamp_seconds"]
            == first["coinvoice_chain_last_poll_timestamp_seconds"]
        )

        monkeypatch.setattr(watcher.adapter, "fetch_blocks", fetch)
        await watcher.poll()  # the node is back: caught up
        caught_up = await _chain_metrics(api)
        assert caught_up["coinvoice_chain_lag_blocks"] == 0
        assert caught_up["coinvoice_chain_tip_height"] == tip + 5
        assert (
            caught_up["coinvoice_chain_last_poll_timestamp_seconds"]
            > first["coinvoice_chain_last_poll_timestamp_seconds"]
        )
    finally:
        await watcher.close()
