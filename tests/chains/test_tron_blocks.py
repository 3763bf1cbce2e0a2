"""Parsing java-tron blocks and transaction infos, on the documentation-shaped examples in tests/chains/tron_api."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from coinvoice.chains.base import BlockGone
from coinvoice.chains.tron.address import account_id, to_base58
from coinvoice.chains.tron.blocks import block_ref, parse_block, recipients

EXAMPLES = Path(__file__).parent / "tron_api"
USDT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
TOKENS = {account_id(USDT): "trc20usdt"}


def example(name: str):
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def parse(block=None, infos=None, tokens=TOKENS):
    block = example("getnowblock") if block is None else block
    infos = example("gettransactioninfobyblocknum") if infos is None else infos
    return parse_block("tron", "trx", tokens, block, infos)


def test_block_reference_is_number_id_parent_and_seconds():
    block = example("getnowblock")
    ref = block_ref(block)
    assert ref.height == 70_312_455 and ref.hash == block["blockID"]
    assert ref.prev_hash == block["block_header"]["raw_data"]["parentHash"]
    assert ref.time == 1_783_000_011


def test_trx_trc20_and_trc10_transfers_are_found_and_the_reverted_one_is_not():
    block = example("getnowblock")
    trx, usdt, _reverted, trc10 = block["transactions"]
    ref, transfers = parse(block)
    by_txid = {t.txid: t for t in transfers}
    assert len(transfers) == 3 and set(by_txid) == {trx["txID"], usdt["txID"], trc10["txID"]}

    native = by_txid[trx["txID"]]
    value = trx["raw_data"]["contract"][0]["parameter"]["value"]
    assert (native.index, native.asset, native.contract, native.amount_units) == (-1, "trx", None, 12_500_000)
    assert native.address == to_base58(value["to_address"]) and native.address.startswith("T")
    assert native.block == ref

    token = by_txid[usdt["txID"]]
    assert (token.index, token.asset, token.contract, token.amount_units) == (0, "trc20usdt", USDT, 25_000_000)
    assert token.address == to_base58("41" + usdt["raw_data"]["contract"][0]["parameter"]["value"]["data"][32:72])

    other = by_txid[trc10["txID"]]
    assert (other.index, other.asset, other.contract, other.amount_units) == (-1, None, "1002000", 1_000_000)


def test_a_trc20_transfer_from_a_contract_that_is_not_configured_has_no_asset():
    _, transfers = parse(tokens={})
    [token] = [t for t in transfers if t.index >= 0]
    assert (token.asset, token.contract) == (None, USDT)


def test_a_log_whose_transaction_failed_is_ignored_even_if_present():
    infos = example("gettransactioninfobyblocknum")
    infos[1]["receipt"]["result"] = "OUT_OF_ENERGY"
    infos[1]["result"] = "FAILED"
    _, transfers = parse(infos=infos)
    assert all(t.index == -1 for t in transfers)


def test_a_trx_transfer_without_a_success_result_is_ignored():
    block = example("getnowblock")
    block["transactions"][0]["ret"] = [{"contractRet": "OUT_OF_TIME"}]
    _, transfers = parse(block)
    assert sorted((t.index, t.contract) for t in transfers) == [(-1, "1002000"), (0, USDT)]


def test_a_trc721_transfer_with_four_topics_is_not_a_token_payment():
    infos = example("gettransactioninfobyblocknum")
    log = infos[1]["log"][0]
    log["topics"].append(log["data"])
    _, transfers = parse(infos=infos)
    assert all(t.index == -1 for t in transfers)


def test_an_empty_block_has_no_transactions_key_and_no_transfers():
    empty, _ = example("getblockbylimitnext")["block"]
    assert "transactions" not in empty
    ref, transfers = parse(empty, [])
    assert transfers == [] and ref.height == 70_312_453


def test_block_zero_leaves_its_number_out_and_its_infos_are_an_empty_object():
    genesis = copy.deepcopy(example("getblockbylimitnext")["block"][0])
    del genesis["block_header"]["raw_data"]["number"]
    ref, transfers = parse(genesis, {})
    assert ref.height == 0 and transfers == []


def test_infos_of_another_block_mean_the_chain_moved():
    other = example("getblockbynum")
    with pytest.raises(BlockGone):
        parse(other, example("gettransactioninfobyblocknum"))


def test_recipients_are_every_address_the_block_may_pay_as_base58():
    block, infos = example("getnowblock"), example("gettransactioninfobyblocknum")
    values = [tx["raw_data"]["contract"][0]["parameter"]["value"] for tx in block["transactions"]]
    expected = {to_base58(v["to_address"]) for v in values if "to_address" in v}
    expected.add(to_base58(infos[1]["log"][0]["topics"][2][-40:]))
    assert recipients(block, infos) == expected  # the reverted call's recipient may be absent: it has no log
