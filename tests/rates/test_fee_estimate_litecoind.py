"""Network-fee estimates from litecoind regtest's estimatesmartfee, cached by the refresh job and used by a fill."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from coinvoice.app import create_app
from coinvoice.appkeys import RATES
from coinvoice.chains.utxo.rpc import BitcoinRpc
from coinvoice.config import load_settings
from coinvoice.domain.network_fees import FALLBACK_NETWORK_FEES, P2WPKH_PAYMENT_VBYTES
from coinvoice.netfees.registry import fee_estimators
from coinvoice.netfees.utxo import CONFIRMATION_TARGET_BLOCKS, UtxoFeeEstimator
from coinvoice.rates.estimators import NoEstimate
from coinvoice.services.companies import create_company, set_assets, set_wallet
from tests.conftest import TEST_ENV, TPUB, Api
from tests.rates.conftest import CREATE, make_refresher
from tests.support.litecoind import MINER_WALLET, LitecoindMissing, LitecoinNode, start_litecoind

D = Decimal


@pytest.fixture(scope="module")
def fee_node() -> Iterator[LitecoinNode]:
    """A node of its own: the estimates need blocks full of transactions the shared node should not get."""
    try:
        node = start_litecoind()
    except LitecoindMissing as missing:
        pytest.fail(str(missing), pytrace=False)
    try:
        yield node
    finally:
        node.stop()
        shutil.rmtree(node.datadir, ignore_errors=True)


def give_the_node_fee_history(node: LitecoinNode) -> Decimal:
    """Mine blocks with paying transactions until estimatesmartfee answers; returns its fee rate."""
    address = node.rpc("getnewaddress", wallet=MINER_WALLET)
    node.mine(50)
    for _ in range(30):
        answer = node.rpc("estimatesmartfee", CONFIRMATION_TARGET_BLOCKS)
        if "feerate" in answer:
            return answer["feerate"]
        for _ in range(4):
            node.send(address, "0.01")
        node.mine(1)
    raise AssertionError(f"litecoind gave no fee estimate: {answer}")


async def test_no_estimate_before_the_node_has_seen_transactions_confirm():
    node = start_litecoind()  # fresh: only the 101 blocks of the miner's coins, no transactions
    try:
        async with aiohttp.ClientSession() as http:
            with pytest.raises(NoEstimate, match="Insufficient data"):
                await UtxoFeeEstimator("litecoin", BitcoinRpc(node.rpc_url, http)).estimate()
    finally:
        node.stop()
        shutil.rmtree(node.datadir, ignore_errors=True)


async def test_the_utxo_estimate_is_estimatesmartfee_times_a_one_input_p2wpkh_payment(fee_node):
    feerate = give_the_node_fee_history(fee_node)
    async with aiohttp.ClientSession() as http:
        estimate = await UtxoFeeEstimator("litecoin", BitcoinRpc(fee_node.rpc_url, http)).estimate()
    assert estimate == {"ltc": feerate * P2WPKH_PAYMENT_VBYTES / 1000}
    assert D("0.00001") < estimate["ltc"] < D("0.001")  # regtest's 0.0002 ltc/kvB wallet fee x 141 vB


async def test_a_fill_charges_the_cached_node_estimate_as_the_network_fee(fee_node, tmp_path, db_url, pool):
    feerate = give_the_node_fee_history(fee_node)
    settings = load_settings(
        {**TEST_ENV, "COINVOICE_DATA_DIR": str(tmp_path), "COINVOICE_LTC_RPC_URL": fee_node.rpc_url}
    )
    app = create_app(settings, dsn=db_url, role="api")
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        refresher = make_refresher(settings, pool, http, app[RATES])
        assert [e.chain for e in fee_estimators(settings, http)] == ["litecoin"]
        try:
            await refresher.run()
            company = await create_company(pool, settings, "Fees", None, None)
            await set_wallet(pool, settings, uuid.UUID(company["id"]), "litecoin", TPUB)
            await set_assets(pool, uuid.UUID(company["id"]), {"ltc": True})
            api = Api(server, http)
            body = {"invoiceCurrency": "eur", "items": [{"name": "Coffee", "price": "100"}]}
            _, invoice = await api.call("POST", CREATE, token=company["publicToken"], json_body=body)
            status, view = await api.call(
                "POST",
                f"{CREATE}/{invoice['id']}/proceed",
                json_body={"clientEmail": "a@b.example", "paymentCurrency": "ltc"},
            )
        finally:
            await refresher.close()
            await server.close()
    assert status == 200, view
    network_fee = feerate * P2WPKH_PAYMENT_VBYTES / 1000
    details = view["paymentDetails"]
    assert D(details["networkFee"]) == network_fee.quantize(D("0.00000001"), rounding="ROUND_CEILING")
    assert D(details["invoiceFee"]) == D("0.0125") + D(details["networkFee"])  # 1 % of 1.25 ltc + network
    row = await pool.fetchrow("SELECT network_fee_source FROM quotes WHERE invoice_id = $1", uuid.UUID(invoice["id"]))
    assert row["network_fee_source"] == "estimatesmartfee"
    cached = await pool.fetchrow("SELECT coin, fee, source FROM network_fee_estimates WHERE payment_asset = 'ltc'")
    assert (cached["coin"], cached["fee"], cached["source"]) == ("ltc", network_fee, "estimatesmartfee")


async def test_an_unreachable_node_leaves_the_documented_fallback(settings, db_url, pool, caplog):
    closed = "http://test:test@127.0.0.1:9"  # discard port: nothing listens
    node_settings = replace(
        settings, chains={**settings.chains, "litecoin": replace(settings.chain("litecoin"), rpc_url=closed)}
    )
    app = create_app(node_settings, dsn=db_url, role="api")
    async with aiohttp.ClientSession() as http:
        refresher = make_refresher(node_settings, pool, http, app[RATES])
        try:
            await refresher.run()
            await refresher.run()
        finally:
            await refresher.close()
    fee = app[RATES].network_fee("ltc", datetime.now(UTC))
    assert (fee.amount, fee.source) == (FALLBACK_NETWORK_FEES["ltc"], "fallback")
    lines = [r.getMessage() for r in caplog.records if "litecoin fee estimate" in r.getMessage()]
    assert len(lines) == 1 and "unavailable" in lines[0]
