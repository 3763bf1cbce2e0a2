"""The anvil harness itself: dev accounts, ERC-20 logs, reverted transactions, internal transfers in traces,
restart, a BSC-like chain id, snapshots and reorgs. These pin down what the EVM watcher can rely on."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from tests.support import anvil as anvil_module
from tests.support.anvil import ACCOUNTS, AnvilMissing, AnvilNode, start_anvil

TRANSFER_TOPIC = "0x" + Web3.keccak(text="Transfer(address,address,uint256)").hex()


def fresh_address() -> str:
    """An address nobody has used, so tests sharing the session node do not see each other's payments."""
    return Web3.to_checksum_address("0x" + secrets.token_hex(20))


def topic(address: str) -> str:
    """An address as a 32-byte log topic (left-padded, lower case)."""
    return "0x" + "0" * 24 + address.lower().removeprefix("0x")


def credited_internal_transfers(traces: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """(to, wei) of the contract-sent native transfers in Parity-style traces that really happened.

    A frame's own `error` is not enough: when an outer frame reverts, the inner call keeps a clean result
    (see test_forward_then_revert_*), so a transfer counts only if no frame on its path errored.
    """
    failed: set[tuple[str, tuple[int, ...]]] = set()
    credited = []
    for trace in traces:  # parents come before their children
        if trace.get("type") != "call":
            continue
        path = (trace["transactionHash"], tuple(trace["traceAddress"]))
        if "error" in trace or any((path[0], path[1][:i]) in failed for i in range(len(path[1]))):
            failed.add(path)
            continue
        action = trace["action"]
        if path[1] and action["callType"] == "call" and int(action["value"], 16) > 0:
            credited.append((Web3.to_checksum_address(action["to"]), int(action["value"], 16)))
    return credited


@pytest.fixture(scope="module")
def token(anvil: AnvilNode) -> str:
    return anvil.deploy("TestToken", "Tether USD", "USDT", 6)


@pytest.fixture(scope="module")
def forwarder(anvil: AnvilNode) -> str:
    return anvil.deploy("Forwarder")


def test_dev_accounts_are_the_nodes_funded_accounts(anvil: AnvilNode) -> None:
    # the addresses are derived from the keys in the harness: equal to the node's, so the keys are right
    assert anvil.rpc("eth_accounts") == [account.address.lower() for account in ACCOUNTS]
    assert anvil.balance(ACCOUNTS[9].address) > 10**18
    assert anvil.rpc("eth_chainId") == "0x7a69"


def test_send_eth_is_mined_at_once(anvil: AnvilNode) -> None:
    to = fresh_address()
    height = anvil.block_number()
    txhash = anvil.send_eth(to, 12345, sender=1)
    receipt = anvil.receipt(txhash)
    assert receipt is not None and receipt["status"] == "0x1"
    assert int(receipt["blockNumber"], 16) == anvil.block_number() == height + 1
    assert anvil.balance(to) == 12345


def test_token_transfer_is_found_by_transfer_topic_and_recipient(anvil: AnvilNode, token: str) -> None:
    payer, merchant = ACCOUNTS[1].address, fresh_address()
    start = anvil.block_number()
    anvil.mint(token, payer, 100 * 10**6)
    txhash = anvil.token_transfer(token, merchant, 25 * 10**6, sender=1)
    anvil.token_transfer(token, fresh_address(), 1, sender=1)  # another recipient: filtered out

    logs = anvil.rpc(
        "eth_getLogs",
        {
            "fromBlock": hex(start),
            "toBlock": "latest",
            "address": token,
            "topics": [TRANSFER_TOPIC, None, topic(merchant)],
        },
    )
    assert len(logs) == 1
    (log,) = logs
    assert log["transactionHash"] == txhash
    assert log["topics"] == [TRANSFER_TOPIC, topic(payer), topic(merchant)]
    assert int(log["data"], 16) == 25 * 10**6
    assert log["removed"] is False
    assert log["blockTimestamp"].startswith("0x")  # a hex string in logs (the receipt's is an integer)
    assert anvil.token_balance(token, merchant) == 25 * 10**6
    assert anvil.contract("TestToken", token).functions.decimals().call() == 6


def test_reverted_token_transfer_is_mined_with_status_0_and_no_log(anvil: AnvilNode, token: str) -> None:
    payer, merchant = ACCOUNTS[2].address, fresh_address()
    anvil.mint(token, payer, 10)
    txhash = anvil.reverted_token_transfer(token, merchant, 11, sender=2)

    receipt = anvil.receipt(txhash)
    assert receipt is not None
    assert receipt["status"] == "0x0"
    assert receipt["logs"] == []
    block = anvil.block(int(receipt["blockNumber"], 16))
    assert txhash in block["transactions"]
    logs = anvil.rpc(
        "eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest", "topics": [TRANSFER_TOPIC, None, topic(merchant)]}
    )
    assert logs == []
    assert anvil.token_balance(token, payer) == 10


def test_token_transfer_above_balance_without_gas_is_refused_before_the_pool(anvil: AnvilNode, token: str) -> None:
    height = anvil.block_number()
    with pytest.raises(anvil_module.AnvilRpcError, match="balance too low"):
        anvil.token_transfer(token, fresh_address(), 1, sender=8)
    assert anvil.block_number() == height


def test_log_index_counts_across_the_block(anvil: AnvilNode, token: str) -> None:
    a, b, merchant = ACCOUNTS[3].address, ACCOUNTS[4].address, fresh_address()
    anvil.mint(token, a, 5)
    anvil.mint(token, b, 5)
    anvil.set_automine(False)
    try:
        first = anvil.token_transfer(token, merchant, 2, sender=3)
        plain = anvil.send_eth(fresh_address(), 1, sender=5)
        second = anvil.token_transfer(token, merchant, 3, sender=4)
        assert anvil.receipt(first) is None  # pending until mined
        height = anvil.mine()
    finally:
        anvil.set_automine(True)
    logs = anvil.rpc(
        "eth_getLogs", {"fromBlock": hex(height), "toBlock": hex(height), "topics": [None, None, topic(merchant)]}
    )
    assert [(log["transactionHash"], log["transactionIndex"], log["logIndex"]) for log in logs] == [
        (first, "0x0", "0x0"),
        (second, "0x2", "0x1"),
    ]
    assert anvil.receipt(plain)["logs"] == []  # type: ignore[index]
    assert anvil.receipt(second)["logs"][0]["logIndex"] == "0x1"  # type: ignore[index]


def test_internal_transfer_shows_in_trace_block(anvil: AnvilNode, forwarder: str) -> None:
    merchant = fresh_address()
    txhash = anvil.forward(forwarder, merchant, 10**15, sender=1)
    height = anvil.block_number()

    traces = [t for t in anvil.rpc("trace_block", hex(height)) if t["transactionHash"] == txhash]
    outer, inner = traces
    assert outer["traceAddress"] == [] and outer["subtraces"] == 1
    assert outer["action"]["to"] == forwarder.lower() and outer["action"]["value"] == hex(10**15)
    assert inner["traceAddress"] == [0]
    assert inner["type"] == "call"
    assert inner["action"]["callType"] == "call"
    assert inner["action"]["from"] == forwarder.lower()
    assert inner["action"]["to"] == merchant.lower()
    assert inner["action"]["value"] == hex(10**15)
    assert inner["blockNumber"] == height  # a JSON number here, while values are hex strings
    assert "error" not in outer and "error" not in inner
    assert credited_internal_transfers(traces) == [(merchant, 10**15)]
    assert anvil.balance(merchant) == 10**15


def test_internal_transfer_shows_in_call_tracer(anvil: AnvilNode, forwarder: str) -> None:
    merchant = fresh_address()
    txhash = anvil.forward(forwarder, merchant, 777, sender=1)
    frames = anvil.rpc("debug_traceBlockByNumber", hex(anvil.block_number()), {"tracer": "callTracer"})

    (frame,) = [f["result"] for f in frames if f["txHash"] == txhash]
    assert frame["type"] == "CALL" and frame["to"] == forwarder.lower() and frame["value"] == hex(777)
    (call,) = frame["calls"]
    assert call == {
        "from": forwarder.lower(),
        "gas": call["gas"],
        "gasUsed": "0x0",
        "to": merchant.lower(),
        "input": "0x",
        "value": hex(777),
        "type": "CALL",
    }


def test_split_makes_two_internal_transfers(anvil: AnvilNode, forwarder: str) -> None:
    a, b = fresh_address(), fresh_address()
    txhash = anvil.forward_split(forwarder, a, b, 1001)
    traces = [t for t in anvil.rpc("trace_transaction", txhash)]
    assert [t["traceAddress"] for t in traces] == [[], [0], [1]]
    assert credited_internal_transfers(traces) == [(a, 500), (b, 501)]


def test_forward_then_revert_shows_the_inner_call_under_an_errored_frame(anvil: AnvilNode, forwarder: str) -> None:
    merchant = fresh_address()
    txhash = anvil.forward_then_revert(forwarder, merchant, 5555, sender=2)
    assert anvil.receipt(txhash)["status"] == "0x0"  # type: ignore[index]
    height = anvil.block_number()

    outer, inner = [t for t in anvil.rpc("trace_block", hex(height)) if t["transactionHash"] == txhash]
    assert outer["error"] == "Reverted"
    # the inner transfer ran and succeeded before the revert: it has no error of its own
    assert inner["traceAddress"] == [0] and inner["action"]["value"] == hex(5555)
    assert inner["action"]["to"] == merchant.lower()
    assert "error" not in inner
    assert credited_internal_transfers([outer, inner]) == []

    (frame,) = [f["result"] for f in anvil.rpc("debug_traceBlockByNumber", hex(height), {"tracer": "callTracer"})]
    assert frame["error"] == "execution reverted"
    assert frame["revertReason"] == "Forwarder: reverted after forwarding"
    (call,) = frame["calls"]
    assert call["to"] == merchant.lower() and call["value"] == hex(5555) and "error" not in call
    assert anvil.balance(merchant) == 0


def test_stop_and_start_keep_the_chain(tmp_path: Path) -> None:
    node = start_anvil(datadir=tmp_path)
    try:
        merchant = fresh_address()
        paid = node.send_eth(merchant, 4242)
        token = node.deploy("TestToken", "Test", "TST", 18)
        node.mint(token, merchant, 99)
        node.mine(3)
        height, tip, paid_at = node.block_number(), node.block()["hash"], int(node.receipt(paid)["blockNumber"], 16)  # type: ignore[index]

        node.stop()
        assert not node.running
        assert node.state_path.stat().st_size > 0  # dumped on SIGTERM
        node.start()

        assert node.running
        assert node.block_number() == height
        assert node.block()["hash"] == tip
        assert node.balance(merchant) == 4242
        assert node.balance(merchant, paid_at - 1) == 0  # historical states kept too
        assert node.token_balance(token, merchant) == 99
        assert node.receipt(paid)["status"] == "0x1"  # type: ignore[index]
        node.send_eth(merchant, 1)  # the sender's nonce continues
        assert node.block_number() == height + 1
    finally:
        node.stop()


def test_bsc_like_chain_answers_chain_id_56(anvil_bsc: AnvilNode) -> None:
    assert anvil_bsc.rpc("eth_chainId") == "0x38"
    assert anvil_bsc.chain_id == 56
    merchant = fresh_address()
    anvil_bsc.send_raw(anvil_bsc.sign_eth_transfer(merchant, 56, sender=3))  # signed for chain id 56
    assert anvil_bsc.balance(merchant) == 56


def test_reorg_of_depth_1_replaces_the_tip(anvil: AnvilNode) -> None:
    dropped_to, included_to = fresh_address(), fresh_address()
    dropped = anvil.send_eth(dropped_to, 1000)  # mined alone in the tip block: the reorg drops only this
    height, old = anvil.block_number(), anvil.block()
    raw = anvil.sign_eth_transfer(included_to, 2000, sender=6)

    anvil.reorg(1, [(raw, 0)])

    new = anvil.block()
    assert anvil.block_number() == height
    assert new["hash"] != old["hash"]
    assert new["parentHash"] == old["parentHash"]
    assert new["transactions"] == ["0x" + Web3.keccak(hexstr=raw).hex()]
    assert anvil.receipt(dropped) is None  # dropped, and not back in the pool
    assert anvil.rpc("txpool_status")["pending"] == "0x0"
    assert anvil.balance(dropped_to) == 0
    assert anvil.balance(included_to) == 2000


def test_snapshot_and_revert(anvil: AnvilNode) -> None:
    merchant = fresh_address()
    snapshot = anvil.snapshot()
    height = anvil.block_number()
    anvil.send_eth(merchant, 1)
    assert anvil.mine(2) == height + 3
    assert anvil.revert(snapshot) is True
    assert anvil.block_number() == height
    assert anvil.balance(merchant) == 0


def test_deploy_with_automine_off_returns_the_future_address(anvil: AnvilNode) -> None:
    anvil.set_automine(False)
    try:
        address = anvil.deploy("Forwarder", sender=7)
        assert anvil.rpc("eth_getCode", address, "latest") == "0x"
        anvil.mine()
    finally:
        anvil.set_automine(True)
    assert len(anvil.rpc("eth_getCode", address, "latest")) > 2


def test_missing_binary_raises_with_install_hint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(anvil_module, "ANVIL", tmp_path / "no-anvil")
    with pytest.raises(AnvilMissing, match=r"scripts/setup\.sh test"):
        start_anvil(datadir=tmp_path)
