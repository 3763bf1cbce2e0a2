"""The stand-in answers in the documented java-tron shapes: same keys and types as tests/chains/tron_api/*.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from coinvoice.chains.tron.address import to_hex
from tests.chains.tron_support import funded_payer
from tests.support.tron_wallet import post

EXAMPLES = Path(__file__).parent / "tron_api"


def example(name: str) -> Any:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def shape(value: Any) -> Any:
    """Keys and value types, recursively; a list by its first element (every list here holds one kind)."""
    if isinstance(value, dict):
        return {key: shape(v) for key, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def kind(tx: dict[str, Any]) -> tuple[str, str]:
    return tx["raw_data"]["contract"][0]["type"], tx["ret"][0]["contractRet"]


def info_kind(info: dict[str, Any]) -> str:
    return info.get("receipt", {}).get("result", "plain")


@pytest.fixture(scope="module")
def block_of_each_kind(tron_node, trc20_usdt):
    """A block with a TRX transfer, a TRC-20 transfer, a reverted one and a TRC-10 transfer, like getnowblock.json."""
    payer = funded_payer(tron_node, tokens={trc20_usdt: 50})
    poor = funded_payer(tron_node)
    tron_node.issue_trc10("1002000", payer.address, 10)
    other = funded_payer(tron_node, sun=0).address
    tron_node.automine = False
    try:
        payer.send_trx(other, 1_000)
        payer.send_token(trc20_usdt, other, 20)
        poor.send_token(trc20_usdt, other, 20)
        payer.send_trc10(other, "1002000", 3)
        tron_node.mine()
    finally:
        tron_node.automine = True
    return tron_node.height()


def test_a_block_has_the_documented_shape_for_every_kind_of_transaction(tron_node, block_of_each_kind):
    served = post(tron_node, "/wallet/getnowblock", {})
    documented = example("getnowblock")
    assert served["block_header"]["raw_data"]["number"] == block_of_each_kind
    assert shape({k: v for k, v in served.items() if k != "transactions"}) == shape(
        {k: v for k, v in documented.items() if k != "transactions"}
    )
    served_txs = {kind(tx): shape(tx) for tx in served["transactions"]}
    documented_txs = {kind(tx): shape(tx) for tx in documented["transactions"]}
    assert served_txs == documented_txs


def test_transaction_infos_have_the_documented_shape_for_every_result(tron_node, block_of_each_kind):
    served = post(tron_node, "/wallet/gettransactioninfobyblocknum", {"num": block_of_each_kind})
    documented = example("gettransactioninfobyblocknum")
    assert len(served) == 4
    assert {info_kind(i): shape(i) for i in served} == {info_kind(i): shape(i) for i in documented}


def test_block_by_number_and_by_range_have_the_documented_shapes(tron_node, trc20_usdt):
    payer = funded_payer(tron_node)
    tron_node.mine()  # an empty block
    payer.send_trx(funded_payer(tron_node, sun=0).address, 1)
    height = tron_node.height()
    assert shape(post(tron_node, "/wallet/getblockbynum", {"num": height})) == shape(example("getblockbynum"))
    ranged = post(tron_node, "/wallet/getblockbylimitnext", {"startNum": height - 1, "endNum": height + 1})
    assert shape(ranged) == shape(example("getblockbylimitnext"))
    assert "transactions" not in ranged["block"][0]


def test_absent_blocks_and_block_zero_answer_like_the_documentation(tron_node):
    height = tron_node.height()
    assert post(tron_node, "/wallet/getblockbynum", {"num": height + 5}) == {}
    assert post(tron_node, "/wallet/getblockbylimitnext", {"startNum": height + 5, "endNum": height + 7}) == {}
    assert post(tron_node, "/wallet/gettransactioninfobyblocknum", {"num": 0}) == {}
    assert "number" not in post(tron_node, "/wallet/getblockbynum", {"num": 0})["block_header"]["raw_data"]


def test_a_decimals_call_and_a_broadcast_answer_in_the_documented_shapes(tron_node, trc20_usdt):
    body = {
        "owner_address": "41" + "00" * 20,
        "contract_address": to_hex(trc20_usdt),
        "function_selector": "decimals()",
    }
    assert shape(post(tron_node, "/wallet/triggerconstantcontract", body)) == shape(example("triggerconstantcontract"))
    payer = funded_payer(tron_node)
    tx = payer.sign(payer._client.trx.transfer(payer.address, funded_payer(tron_node, sun=0).address, 5))
    assert shape(post(tron_node, "/wallet/broadcasttransaction", tx.to_json())) == shape(
        example("broadcasttransaction")
    )
