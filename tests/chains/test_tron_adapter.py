"""The TRON adapter on the documented example answers (no node): ranges, recipients, transfers, garbage, gaps."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from coinvoice.chains.base import BlockGone, NodeUnavailable
from coinvoice.chains.tron.adapter import TronAdapter
from coinvoice.chains.tron.address import to_base58
from coinvoice.domain.chains import CHAINS

EXAMPLES = Path(__file__).parent / "tron_api"
USDT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"


def example(name: str) -> Any:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


class ExampleNode:
    """Answers each path with a fixed body, counting requests: a node that never changes."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, dict[str, Any]]] = []

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        self.asked.append((path, body))
        return copy.deepcopy(self.answers[path])


def adapter(**answers: Any) -> tuple[TronAdapter, ExampleNode]:
    block = example("getnowblock")
    node = ExampleNode(
        {
            "/wallet/getnowblock": block,
            "/wallet/getblockbylimitnext": {"block": [block]},
            "/wallet/gettransactioninfobyblocknum": example("gettransactioninfobyblocknum"),
            "/wallet/getblockbynum": example("getblockbynum"),
            **{f"/wallet/{k}": v for k, v in answers.items()},
        }
    )
    return TronAdapter(CHAINS["tron"], node, tokens={"trc20usdt": USDT}), node  # type: ignore[arg-type]


async def test_a_block_is_fetched_with_its_recipients_and_read_only_for_ours():
    tron, node = adapter()
    height = example("getnowblock")["block_header"]["raw_data"]["number"]
    [block] = await tron.fetch_blocks(height, height)
    assert [path for path, _ in node.asked] == ["/wallet/getblockbylimitnext", "/wallet/gettransactioninfobyblocknum"]
    assert node.asked[0][1] == {"startNum": height, "endNum": height + 1}
    assert len(block.addresses) == 3 and all(a.startswith("T") for a in block.addresses)
    usdt_to = next(
        to_base58(info["log"][0]["topics"][2][-40:])
        for info in example("gettransactioninfobyblocknum")
        if info.get("log")
    )
    [transfer] = await tron.transfers(block, {usdt_to})
    assert (transfer.asset, transfer.contract, transfer.amount_units) == ("trc20usdt", USDT, 25_000_000)
    assert len(await tron.transfers(block, block.addresses)) == 3


async def test_the_tip_brings_the_ids_of_the_tip_and_its_parent_without_more_requests():
    tron, node = adapter()
    block = example("getnowblock")
    tip = await tron.tip()
    assert await tron.block_hashes([tip, tip - 1]) == {
        tip: block["blockID"],
        tip - 1: block["block_header"]["raw_data"]["parentHash"],
    }
    assert [path for path, _ in node.asked] == ["/wallet/getnowblock"]
    await tron.block_hashes([tip - 2])
    assert node.asked[-1] == ("/wallet/getblockbynum", {"num": tip - 2})


async def test_a_height_missing_from_the_range_means_the_chain_got_shorter():
    tron, _ = adapter(getblockbylimitnext={})
    with pytest.raises(BlockGone):
        await tron.fetch_blocks(5, 6)


async def test_an_answer_that_is_not_the_documented_shape_is_a_node_failure():
    block = example("getnowblock")
    block["transactions"][0]["raw_data"]["contract"][0]["parameter"]["value"]["to_address"] = "zz"
    tron, _ = adapter(getblockbylimitnext={"block": [block]})
    height = block["block_header"]["raw_data"]["number"]
    with pytest.raises(NodeUnavailable, match="cannot be read"):
        await tron.fetch_blocks(height, height)
    tron, _ = adapter(getnowblock={})
    with pytest.raises(NodeUnavailable, match="without a block"):
        await tron.tip()
