"""Turn Bitcoin Core `getblock <hash> 2` / `getrawtransaction <txid> true` JSON into Transfers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from coinvoice.chains.base import BlockRef, Transfer
from coinvoice.chains.utxo.params import UtxoParams
from coinvoice.domain.money import to_base_units_exact

#: Script types whose older `addresses` list names keys, not one payee; Core 22+ gives them no address.
_NOT_ONE_PAYEE = frozenset({"pubkey", "multisig"})


def parse_block(block_json: dict[str, Any], params: UtxoParams) -> tuple[BlockRef, list[Transfer]]:
    """The block's reference and every addressed output of its transactions."""
    block = BlockRef(
        height=int(block_json["height"]),
        hash=block_json["hash"],
        prev_hash=block_json.get("previousblockhash"),
        time=block_json.get("time"),
    )
    transfers = [t for tx in block_json["tx"] for t in parse_tx(tx, params, block)]
    return block, transfers


def parse_tx(tx_json: dict[str, Any], params: UtxoParams, block: BlockRef | None) -> list[Transfer]:
    """One Transfer per output paying one address; OP_RETURN, multisig, nonstandard and MWEB are skipped."""
    transfers = []
    for vout in tx_json["vout"]:
        if vout.get("ismweb"):  # litecoin MWEB outputs: confidential, never to a watch-only address
            continue
        address = output_address(vout["scriptPubKey"])
        if address is None:
            continue
        transfers.append(
            Transfer(
                chain=params.chain,
                txid=tx_json["txid"],
                index=int(vout["n"]),
                address=address,
                amount_units=value_to_units(vout["value"], params.decimals),
                asset=params.asset,
                block=block,
            )
        )
    return transfers


def output_address(script_pub_key: dict[str, Any]) -> str | None:
    """The single address an output pays: `address` (Core 22+) or a one-entry `addresses` (Core <= 0.21)."""
    if "address" in script_pub_key:
        return str(script_pub_key["address"])
    addresses = script_pub_key.get("addresses") or []
    if len(addresses) != 1 or script_pub_key.get("type") in _NOT_ONE_PAYEE:
        return None
    return str(addresses[0])


def value_to_units(value: Decimal | int, decimals: int) -> int:
    """An output value read with parse_float=Decimal as exact base units; a float is refused."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"output value {value!r} is {type(value).__name__}; parse node JSON with Decimal")
    value = Decimal(value)
    if not value.is_finite() or value < 0:
        raise ValueError(f"output value {value} is not a finite non-negative amount")
    return to_base_units_exact(value, decimals)
