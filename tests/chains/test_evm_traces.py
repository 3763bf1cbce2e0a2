"""Internal transfers read from both trace APIs of a real anvil node agree, reverted frames included."""

from __future__ import annotations

from eth_utils import to_checksum_address

from coinvoice.chains.evm.traces import calls_from_call_tracer, calls_from_parity


def _both(anvil, txid: str):
    height = hex(int(anvil.receipt(txid)["blockNumber"], 16))
    parity = calls_from_parity(anvil.rpc("trace_block", height))
    geth = calls_from_call_tracer(anvil.rpc("debug_traceBlockByNumber", height, {"tracer": "callTracer"}))
    return parity, geth


def _fresh(n: int) -> list[str]:
    import secrets

    return [to_checksum_address("0x" + secrets.token_hex(20)) for _ in range(n)]


async def test_a_forwarded_payment_is_one_internal_call_in_both_trace_apis(anvil, forwarder):
    [to] = _fresh(1)
    txid = anvil.forward(forwarder, to, 12345)
    parity, geth = _both(anvil, txid)
    assert parity == geth
    [call] = parity
    assert (call.txid, call.position, call.to, call.value, call.reverted) == (txid, 0, to, 12345, False)


async def test_a_split_payment_numbers_its_internal_calls_in_order(anvil, forwarder):
    a, b = _fresh(2)
    txid = anvil.forward_split(forwarder, a, b, 1001)
    parity, geth = _both(anvil, txid)
    assert parity == geth
    assert [(c.position, c.to, c.value) for c in parity] == [(0, a, 500), (1, b, 501)]


async def test_an_inner_call_of_a_reverted_frame_is_marked_reverted_in_both(anvil, forwarder):
    [to] = _fresh(1)
    txid = anvil.forward_then_revert(forwarder, to, 777)
    parity, geth = _both(anvil, txid)
    assert parity == geth
    assert [(c.to, c.reverted) for c in parity] == [(to, True)]


def test_parsers_ignore_top_level_calls_zero_values_and_static_calls():
    traces = [
        {
            "transactionHash": "0x1",
            "traceAddress": [],
            "type": "call",
            "action": {"callType": "call", "to": "0x" + "11" * 20, "value": "0x5"},
        },
        {
            "transactionHash": "0x1",
            "traceAddress": [0],
            "type": "call",
            "action": {"callType": "staticcall", "to": "0x" + "22" * 20, "value": "0x0"},
        },
        {
            "transactionHash": "0x1",
            "traceAddress": [1],
            "type": "call",
            "action": {"callType": "call", "to": "0x" + "33" * 20, "value": "0x0"},
        },
    ]
    assert calls_from_parity(traces) == []
