"""Internal (contract-sent) native transfers from a node's traces: Parity `trace_block` or geth's callTracer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address

#: Call kinds that move value to their target (delegatecall and staticcall carry none).
_VALUE_CALLS = frozenset({"call", "callcode"})


@dataclass(frozen=True, slots=True)
class InternalCall:
    """Native value one contract call inside a transaction sent to ``to``.

    ``position`` numbers the value-carrying internal calls of the transaction in trace order; ``reverted`` is
    true when the call or any call above it failed (an inner call of a reverted frame shows no error itself).
    """

    txid: str
    position: int
    to: str
    value: int
    reverted: bool


def calls_from_parity(traces: list[dict[str, Any]]) -> list[InternalCall]:
    """Value-carrying nested calls of a `trace_block` answer (top-level calls are the transactions themselves)."""
    failed: dict[str, list[tuple[int, ...]]] = {}
    for t in traces:
        if t.get("error") and t.get("transactionHash"):
            failed.setdefault(t["transactionHash"], []).append(tuple(t.get("traceAddress") or ()))
    found: list[InternalCall] = []
    positions: dict[str, int] = {}
    for t in traces:
        txid = t.get("transactionHash")
        action = t.get("action") or {}
        path = tuple(t.get("traceAddress") or ())
        if not txid or not path or t.get("type") != "call" or action.get("callType") not in _VALUE_CALLS:
            continue
        value = int(action.get("value") or "0x0", 16)
        if value <= 0 or not action.get("to"):
            continue
        reverted = any(path[: len(bad)] == bad for bad in failed.get(txid, []))
        position = positions.get(txid, 0)
        positions[txid] = position + 1
        found.append(InternalCall(txid, position, to_checksum_address(action["to"]), value, reverted))
    return found


def calls_from_call_tracer(replies: list[dict[str, Any]]) -> list[InternalCall]:
    """The same from `debug_traceBlockByNumber` with `{"tracer": "callTracer"}` (one call tree per transaction)."""
    found: list[InternalCall] = []
    for reply in replies:
        txid = reply.get("txHash")
        root = reply.get("result") or {}
        if not txid:
            continue
        counter = [0]
        _walk(txid, root.get("calls") or [], bool(root.get("error")), counter, found)
    return found


def _walk(
    txid: str, calls: list[dict[str, Any]], above_failed: bool, counter: list[int], out: list[InternalCall]
) -> None:
    for frame in calls:
        failed = above_failed or bool(frame.get("error"))
        value = int(frame.get("value") or "0x0", 16)
        if str(frame.get("type", "")).lower() in _VALUE_CALLS and value > 0 and frame.get("to"):
            out.append(InternalCall(txid, counter[0], to_checksum_address(frame["to"]), value, failed))
            counter[0] += 1
        _walk(txid, frame.get("calls") or [], failed, counter, out)
