"""The TRON stand-in checks what a FullNode checks at broadcast, applies transfers, reorgs and restarts."""

from __future__ import annotations

import pytest

from tests.chains.tron_support import funded_payer
from tests.support.tron_standin import transaction_id
from tests.support.tron_wallet import BroadcastRefused, TronPayer, post


def test_tronpy_offline_txids_are_the_sha256_of_the_stand_ins_protobuf_encoding(tron_node, trc20_usdt):
    payer, other = funded_payer(tron_node), funded_payer(tron_node, sun=0)
    trx = payer._client.trx.transfer(payer.address, other.address, 7).build(
        offline=True, ref_block_id=payer.node_block_id()
    )
    assert trx.txid == transaction_id(trx._raw_data)
    call = payer.token_call(trc20_usdt, other.address, 5).build(offline=True, ref_block_id=payer.node_block_id())
    assert call.txid == transaction_id(call._raw_data)


def test_a_signature_by_another_key_or_a_changed_amount_is_refused(tron_node):
    payer, other = funded_payer(tron_node), funded_payer(tron_node, sun=0)
    stranger = TronPayer(tron_node)
    forged = stranger.sign(payer._client.trx.transfer(payer.address, other.address, 5)).to_json()
    with pytest.raises(BroadcastRefused, match="SIGERROR: validate signature error"):
        payer.broadcast(forged)
    changed = payer.sign(payer._client.trx.transfer(payer.address, other.address, 5)).to_json()
    changed["raw_data"]["contract"][0]["parameter"]["value"]["amount"] = 5_000
    with pytest.raises(BroadcastRefused, match=r"SIGERROR: txID .* is not sha256"):
        payer.broadcast(changed)
    assert tron_node.trx_balance(other.address) == 0


def test_duplicates_overspending_and_unknown_contracts_are_refused(tron_node):
    payer, other = funded_payer(tron_node, sun=1_000), funded_payer(tron_node, sun=0)
    tx = payer.sign(payer._client.trx.transfer(payer.address, other.address, 5)).to_json()
    payer.broadcast(tx)
    with pytest.raises(BroadcastRefused, match="DUP_TRANSACTION_ERROR"):
        payer.broadcast(tx)
    with pytest.raises(BroadcastRefused, match="CONTRACT_VALIDATE_ERROR: Validate TransferContract error"):
        payer.send_trx(other.address, 10_000)
    with pytest.raises(BroadcastRefused, match="No contract"):
        payer.send_token(other.address, payer.address, 1)


def test_a_reference_block_replaced_by_a_reorg_fails_tapos(tron_node):
    payer, other = funded_payer(tron_node), funded_payer(tron_node, sun=0)
    tron_node.mine()
    tx = payer.sign(payer._client.trx.transfer(payer.address, other.address, 5)).to_json()
    tron_node.reorg(1)
    with pytest.raises(BroadcastRefused, match="TAPOS_ERROR"):
        payer.broadcast(tx)


def test_a_token_transfer_above_the_balance_is_mined_reverted_without_a_log(tron_node, trc20_usdt):
    payer, other = funded_payer(tron_node, tokens={trc20_usdt: 10}), funded_payer(tron_node, sun=0)
    txid = payer.send_token(trc20_usdt, other.address, 11)
    [info] = post(tron_node, "/wallet/gettransactioninfobyblocknum", {"num": tron_node.height()})
    assert info["id"] == txid and info["receipt"]["result"] == "REVERT" and info["result"] == "FAILED"
    assert "log" not in info
    assert (tron_node.token_balance(trc20_usdt, payer.address), tron_node.token_balance(trc20_usdt, other.address)) == (
        10,
        0,
    )


def test_a_reorg_undoes_the_replaced_blocks_or_mines_their_transactions_again(tron_node, trc20_usdt):
    payer, other = funded_payer(tron_node, tokens={trc20_usdt: 100}), funded_payer(tron_node, sun=0)
    signed = payer.sign(payer.token_call(trc20_usdt, other.address, 60)).to_json()
    txid = payer.broadcast(signed)
    height, old_id = tron_node.height(), tron_node.block_id()
    tron_node.reorg(1)
    assert tron_node.height() == height and tron_node.block_id() != old_id
    assert tron_node.token_balance(trc20_usdt, other.address) == 0
    assert payer.broadcast(signed) == txid  # the dropped transaction can be sent again
    tron_node.reorg(1, readd=True)
    assert tron_node.token_balance(trc20_usdt, other.address) == 60
    block = post(tron_node, "/wallet/getblockbynum", {"num": tron_node.height()})
    assert [tx["txID"] for tx in block["transactions"]] == [txid]


def test_stopped_it_refuses_connections_and_restarted_it_keeps_its_chain(tron_node):
    height, block_id = tron_node.height(), tron_node.block_id()
    tron_node.stop()
    try:
        with pytest.raises(OSError):
            post(tron_node, "/wallet/getnowblock", {})
    finally:
        tron_node.start()
    now = post(tron_node, "/wallet/getnowblock", {})
    assert (now["block_header"]["raw_data"]["number"], now["blockID"]) == (height, block_id)
