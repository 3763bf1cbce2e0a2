"""Network-fee estimates from a real anvil node: eth_feeHistory base and priority fee times the payment's gas."""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import pytest

from coinvoice.domain.network_fees import NATIVE_TRANSFER_GAS, evm_transfer_fee
from coinvoice.netfees.evm import RECIPIENT_SLOT_SET_GAS, EvmFeeEstimator
from coinvoice.netfees.registry import fee_estimators
from coinvoice.rates.estimators import EstimateFailed
from tests.chains.evm_support import evm_settings


async def test_eth_and_token_estimates_follow_the_node_fee_history(anvil, usdt):
    anvil.mine(3)
    history = anvil.rpc("eth_feeHistory", hex(5), "latest", [50])
    base = int(history["baseFeePerGas"][-1], 16)
    rewards = sorted(int(r[0], 16) for r in history["reward"])
    priority = rewards[len(rewards) // 2]
    async with aiohttp.ClientSession() as http:
        fees = await EvmFeeEstimator("ethereum", anvil.rpc_url, http, {"usdterc20": usdt}).estimate()
    assert fees["eth"] == evm_transfer_fee(base, priority, NATIVE_TRANSFER_GAS)
    token_gas = fees["usdterc20"] * 10**18 / (base + priority)
    assert token_gas == token_gas.to_integral_value()
    # a zero-value transfer measured on the node, plus setting the recipient's balance slot
    assert 40_000 < token_gas < 80_000
    assert token_gas - RECIPIENT_SLOT_SET_GAS > NATIVE_TRANSFER_GAS
    assert Decimal(0) < fees["eth"] < fees["usdterc20"]


async def test_the_registry_gives_evm_chains_with_a_node_an_estimator(settings, anvil, usdt):
    with_node = evm_settings(settings, anvil, tokens={"usdterc20": usdt})
    async with aiohttp.ClientSession() as http:
        [estimator] = [e for e in fee_estimators(with_node, http) if e.chain == "ethereum"]
        assert set(await estimator.estimate()) == {"eth", "usdterc20"}


async def test_an_unreachable_evm_node_is_an_estimate_failure():
    async with aiohttp.ClientSession() as http:
        with pytest.raises(EstimateFailed, match="eth_feeHistory"):
            await EvmFeeEstimator("ethereum", "http://127.0.0.1:9", http, {}).estimate()
