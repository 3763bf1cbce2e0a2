"""java-tron blocks and transaction infos (their JSON) into transfers: TRX, TRC-10 and TRC-20 Transfer logs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from coinvoice.chains.base import BlockGone
from coinvoice.chains.tron.address import to_base58
from coinvoice.domain.transfers import BlockRef, Transfer

#: keccak("Transfer(address,address,uint256)") as TRON logs write topics: 64 hex digits, no 0x.
TRANSFER_TOPIC = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
#: A transaction's own value (TRX or a TRC-10 token); TRC-20 transfers are keyed by their log's position.
NATIVE_INDEX = -1
SUCCESS = "SUCCESS"


def block_ref(block: Mapping[str, Any]) -> BlockRef:
    """Height, id, parent id and time (seconds) of a block; proto3 JSON leaves out zero fields (block 0's number)."""
    raw = block["block_header"]["raw_data"]
    return BlockRef(
        int(raw.get("number", 0)), str(block["blockID"]), raw.get("parentHash"), int(raw.get("timestamp", 0)) // 1000
    )


def parse_block(
    chain: str, native: str, tokens: Mapping[str, str], block: Mapping[str, Any], infos: Any
) -> tuple[BlockRef, list[Transfer]]:
    """Every transfer the block makes that counts on chain (SUCCESS results only).

    ``infos`` is the block's ``gettransactioninfobyblocknum`` answer; ``tokens`` maps a configured TRC-20
    contract's 20-byte account id (40 hex digits) to its payment asset code. TRC-10 and other TRC-20
    contracts give transfers with asset None. Raises BlockGone when ``infos`` belong to other transactions
    than the block's (the chain moved between the two requests).
    """
    ref = block_ref(block)
    txs = block.get("transactions") or []
    infos = infos if isinstance(infos, list) else []  # `{}` answers block 0
    if sorted(tx["txID"] for tx in txs) != sorted(i.get("id", "") for i in infos):
        raise BlockGone(f"{chain} transaction infos of block {ref.height} are not those of block {ref.hash}")
    found = [t for tx in txs if (t := _own_value(chain, native, tx, ref)) is not None]
    for info in infos:
        if info.get("result") != "FAILED" and info.get("receipt", {}).get("result") == SUCCESS:
            found.extend(_token_transfers(chain, tokens, info, ref))
    return ref, found


def _own_value(chain: str, native: str, tx: Mapping[str, Any], ref: BlockRef) -> Transfer | None:
    """TRX (TransferContract) or a TRC-10 token (TransferAssetContract) sent by a transaction that succeeded."""
    if (tx.get("ret") or [{}])[0].get("contractRet") != SUCCESS:
        return None
    contract = tx["raw_data"]["contract"][0]  # java-tron accepts exactly one contract per transaction
    kind, value = contract.get("type"), contract["parameter"]["value"]
    if kind == "TransferContract":
        asset, token = native, None
    elif kind == "TransferAssetContract":
        asset, token = None, _token_id(value.get("asset_name", ""))
    else:
        return None
    return Transfer(
        chain, tx["txID"], NATIVE_INDEX, to_base58(value["to_address"]), int(value.get("amount", 0)), asset, ref, token
    )


def _token_transfers(chain: str, tokens: Mapping[str, str], info: Mapping[str, Any], ref: BlockRef) -> list[Transfer]:
    found = []
    for position, log in enumerate(info.get("log") or ()):
        topics, data = log.get("topics") or (), log.get("data") or ""
        if len(topics) != 3 or topics[0].lower() != TRANSFER_TOPIC or len(data) < 64:
            continue  # not an ERC-20-style Transfer (TRC-721 indexes its token id as a fourth topic)
        contract = str(log.get("address", ""))[-40:].lower()
        found.append(
            Transfer(
                chain,
                info["id"],
                position,
                to_base58(topics[2][-40:]),
                int(data[:64], 16),
                tokens.get(contract),
                ref,
                to_base58(contract),
            )
        )
    return found


def _token_id(asset_name: str) -> str:
    """A TRC-10 token's id ("1002000"), which the JSON writes as the hex of its ASCII digits."""
    try:
        return bytes.fromhex(asset_name).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return asset_name
