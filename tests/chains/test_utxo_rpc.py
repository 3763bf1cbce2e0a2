"""BitcoinRpc against a real litecoind regtest node, plus the failure shapes a node can answer with."""

from __future__ import annotations

import asyncio
import base64
from decimal import Decimal

import aiohttp
import pytest
from aiohttp import web
from bitcoin import base58
from yarl import URL

from coinvoice.chains.utxo.blocks import parse_block, parse_tx
from coinvoice.chains.utxo.params import utxo_params
from coinvoice.chains.utxo.rpc import BitcoinRpc, NodeUnavailable, RpcError
from tests.support.litecoind import MINER_WALLET

LTC_REGTEST = utxo_params("litecoin", "regtest")


@pytest.fixture
async def session():
    async with aiohttp.ClientSession() as client_session:
        yield client_session


# --- the real node --------------------------------------------------------------------------------


@pytest.fixture
def rpc(litecoind, session):
    return BitcoinRpc(litecoind.rpc_url, session)


async def test_mined_wallet_payments_parse_to_exact_transfers(litecoind, rpc):
    payments = {
        "legacy": ("1.23456789", 123_456_789),
        "p2sh-segwit": ("0.00100001", 100_001),
        "bech32": ("21.1", 2_110_000_000),
    }
    sent = {}
    for address_type, (amount, units) in payments.items():
        address = litecoind.rpc("getnewaddress", "", address_type, wallet=MINER_WALLET)
        sent[address] = (litecoind.send(address, Decimal(amount)), units)
    litecoind.mine(1)

    height = await rpc.get_block_count()
    block_hash = await rpc.get_block_hash(height)
    block, transfers = parse_block(await rpc.get_block(block_hash), LTC_REGTEST)

    assert (block.height, block.hash) == (height, block_hash)
    assert block.prev_hash == await rpc.get_block_hash(height - 1)
    found = {t.address: (t.txid, t.amount_units) for t in transfers if t.address in sent}
    assert found == sent
    legacy, p2sh_segwit, bech32 = sent
    assert base58.decode(legacy)[0] == LTC_REGTEST.p2pkh_version
    assert base58.decode(p2sh_segwit)[0] == LTC_REGTEST.p2sh_version
    assert bech32.startswith(f"{LTC_REGTEST.bech32_hrp}1")


async def test_mempool_payment_parses_without_a_block(litecoind, rpc):
    address = litecoind.rpc("getnewaddress", "", "bech32", wallet=MINER_WALLET)
    txid = litecoind.send(address, Decimal("0.5"))

    assert txid in await rpc.get_raw_mempool()
    transfers = parse_tx(await rpc.get_raw_transaction(txid), LTC_REGTEST, None)

    assert [(t.address, t.amount_units, t.block) for t in transfers if t.address == address] == [
        (address, 50_000_000, None)
    ]
    litecoind.mine(1)


async def test_batch_returns_results_in_request_order(litecoind, rpc):
    height = await rpc.get_block_count()
    heights = [height, 0, height - 1, 1]

    hashes = await rpc.batch([("getblockhash", [h]) for h in heights])
    blocks = await rpc.get_blocks(hashes)

    assert hashes == [await rpc.get_block_hash(h) for h in heights]
    assert [(b["hash"], b["height"]) for b in blocks] == list(zip(hashes, heights, strict=True))
    assert await rpc.batch([]) == []


async def test_unknown_block_hash_raises_the_nodes_error_code(rpc):
    with pytest.raises(RpcError) as raised:
        await rpc.get_block("00" * 32)

    assert raised.value.code == -5
    assert raised.value.method == "getblock"
    assert "not found" in raised.value.message.lower()


async def test_unknown_block_hash_in_a_batch_raises_after_good_entries(rpc):
    good = await rpc.get_block_hash(0)

    with pytest.raises(RpcError) as raised:
        await rpc.get_blocks([good, "00" * 32])

    assert raised.value.code == -5


async def test_stopped_node_raises_node_unavailable(litecoind, rpc):
    litecoind.stop()
    try:
        with pytest.raises(NodeUnavailable, match=r"getblockcount to http://127\.0\.0\.1:\d+ failed"):
            await rpc.get_block_count()
    finally:
        litecoind.start()
    assert await rpc.get_block_count() >= 0


async def test_wrong_password_raises_node_unavailable_without_leaking_it(litecoind, session):
    url = URL(litecoind.rpc_url).with_password("not-the-password")
    bad = BitcoinRpc(str(url), session)

    with pytest.raises(NodeUnavailable, match="HTTP 401") as raised:
        await bad.get_block_count()

    assert "not-the-password" not in str(raised.value) and "not-the-password" not in repr(bad)


# --- canned answers for shapes the real node will not produce on demand -----------------------------


@pytest.fixture
async def fake_node():
    async def rpc_handler(request: web.Request) -> web.StreamResponse:
        behaviour = request.match_info["behaviour"]
        if behaviour == "busy":
            return web.Response(status=503, text="Work queue depth exceeded")
        if behaviour == "warmup":
            error = {"code": -28, "message": "Loading block index..."}
            return web.json_response({"result": None, "error": error, "id": 1}, status=500)
        if behaviour == "slow":
            await asyncio.sleep(0.6)
        payload = await request.json()
        if behaviour == "auth":
            return web.json_response({"result": request.headers.get("Authorization"), "error": None, "id": 1})
        if isinstance(payload, dict):
            return web.json_response({"result": f"{payload['params']}", "error": None, "id": payload["id"]})
        replies = [{"result": f"{p['method']}:{p['params']}", "error": None, "id": p["id"]} for p in payload]
        return web.json_response(list(reversed(replies)))  # ids, not positions, must pair them up

    app = web.Application()
    app.router.add_post("/{behaviour}", rpc_handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://user:s3cret@{host}:{port}"
    await runner.cleanup()


async def test_batch_pairs_replies_by_id_not_position(fake_node, session):
    rpc = BitcoinRpc(f"{fake_node}/reversed", session)

    assert await rpc.batch([("a", [1]), ("b", [2]), ("c", [3])]) == ["a:[1]", "b:[2]", "c:[3]"]


async def test_credentials_from_url_become_basic_auth_and_stay_out_of_repr(fake_node, session):
    rpc = BitcoinRpc(f"{fake_node}/auth", session)

    assert await rpc.call("whoami") == "Basic " + base64.b64encode(b"user:s3cret").decode()
    assert "s3cret" not in repr(rpc)


async def test_http_503_plain_text_raises_node_unavailable(fake_node, session):
    rpc = BitcoinRpc(f"{fake_node}/busy", session)

    with pytest.raises(NodeUnavailable, match="HTTP 503 Service Unavailable: Work queue depth exceeded"):
        await rpc.get_block_count()


async def test_warming_up_node_raises_node_unavailable(fake_node, session):
    rpc = BitcoinRpc(f"{fake_node}/warmup", session)

    with pytest.raises(NodeUnavailable, match=r"warming up \(Loading block index...\)"):
        await rpc.get_block_count()


async def test_timeout_raises_node_unavailable(fake_node, session):
    rpc = BitcoinRpc(f"{fake_node}/slow", session, timeout=0.2)

    with pytest.raises(NodeUnavailable, match=r"timed out after 0\.2s"):
        await rpc.get_block_count()


async def test_decimal_params_are_sent_as_strings_never_floats(fake_node, session):
    rpc = BitcoinRpc(f"{fake_node}/echo", session)

    assert await rpc.call("sendtoaddress", "addr", Decimal("0.1")) == "['addr', '0.1']"
