"""java-tron blocks and transaction infos (their JSON) into transfers: TRX, TRC-10 and TRC-20 Transfer logs."""

from __future__ import annotations

from collections.abc import Collection, Mapping
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


def block_infos(chain: str, block: Mapping[str, Any], infos: Any) -> list[Any]:
    """The block's ``gettransactioninfobyblocknum`` answer as a list, checked to hold exactly its transactions;
    BlockGone when they are another block's (the chain moved between the two requests)."""
    infos = infos if isinstance(infos, list) else []  # `{}` answers block 0
    if {tx["txID"] for tx in block.get("transactions") or ()} != {i.get("id") for i in infos}:
        ref = block_ref(block)
        raise BlockGone(f"{chain} transaction infos of block {ref.height} are not those of block {ref.hash}")
    return infos


def recipients(block: Mapping[str, Any], infos: list[Any]) -> set[str]:
    """Every address the block may pay (TRX, TRC-10 and Transfer log recipients, whatever the result): cheap
    enough for every block of a catch-up; only blocks paying our addresses are parsed into transfers."""
    found = set()
    for tx in block.get("transactions") or ():
        to = tx["raw_data"]["contract"][0]["parameter"]["value"].get("to_address")
        if to:
            found.add(to_base58(to))
    for info in infos:
        for log in info.get("log") or ():
            topics: list[str] = log.get("topics") or []
            if len(topics) == 3 and topics[0] == TRANSFER_TOPIC:
                found.add(to_base58(topics[2][-40:]))
    return found


def parse_block(
    chain: str,
    native: str,
    tokens: Mapping[str, str],
    block: Mapping[str, Any],
    infos: Any,
    wanted: Collection[str] | None = None,
) -> tuple[BlockRef, list[Transfer]]:
    """The transfers the block makes that count on chain (SUCCESS results only), to ``wanted`` addresses if given.

    ``infos`` is the block's ``gettransactioninfobyblocknum`` answer; ``tokens`` maps a configured TRC-20
    contract's 20-byte account id (40 hex digits) to its payment asset code. TRC-10 and other TRC-20
    contracts give transfers with asset None. Raises BlockGone when ``infos`` belong to other transactions
    than the block's (the chain moved between the two requests).
    """
    ref = block_ref(block)
    infos = block_infos(chain, block, infos)
    found = []
    for tx in block.get("transactions") or ():
        contract = tx["raw_data"]["contract"][0]  # java-tron accepts exactly one contract per transaction
        value = contract["parameter"]["value"]
        to = to_base58(value["to_address"]) if "to_address" in value else None
        if to is None or (wanted is not None and to not in wanted):
            continue
        if (tx.get("ret") or [{}])[0].get("contractRet") != SUCCESS:
            continue
        if contract.get("type") == "TransferContract":
            asset, token = native, None
        elif contract.get("type") == "TransferAssetContract":
            asset, token = None, _token_id(value.get("asset_name", ""))
        else:
            continue
        found.append(Transfer(chain, tx["txID"], NATIVE_INDEX, to, int(value.get("amount", 0)), asset, ref, token))
    for info in infos:
        if info.get("result") != "FAILED" and info.get("receipt", {}).get("result") == SUCCESS:
            found.extend(_token_transfers(chain, tokens, info, ref, wanted))
    return ref, found


def _token_transfers(
    chain: str, tokens: Mapping[str, str], info: Mapping[str, Any], ref: BlockRef, wanted: Collection[str] | None
) -> list[Transfer]:
    found = []
    for position, log in enumerate(info.get("log") or ()):
        topics: list[str] = log.get("topics") or []
        data: str = log.get("data") or ""
        if len(topics) != 3 or topics[0] != TRANSFER_TOPIC or len(data) < 64:
            continue  # not an ERC-20-style Transfer (TRC-721 indexes its token id as a fourth topic)
        to = to_base58(topics[2][-40:])
        if wanted is not None and to not in wanted:
            continue
        contract = str(log.get("address", ""))[-40:].lower()
        amount = int(data[:64], 16)
        found.append(Transfer(chain, info["id"], position, to, amount, tokens.get(contract), ref, to_base58(contract)))
    return found


def _token_id(asset_name: str) -> str:
    """A TRC-10 token's id ("1002000"), which the JSON writes as the hex of its ASCII digits."""
    try:
        return bytes.fromhex(asset_name).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return asset_name
