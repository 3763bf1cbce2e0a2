"""The EVM adapter's own EIP-55 checksum of Transfer topics agrees with web3's to_checksum_address."""

from __future__ import annotations

import random

from hexbytes import HexBytes
from web3 import Web3

from coinvoice.chains.evm.adapter import _topic_address


def test_topic_address_is_the_eip55_checksummed_recipient() -> None:
    rng = random.Random(55)
    raws = [rng.randbytes(20) for _ in range(500)] + [bytes(20), b"\xff" * 20]
    for raw in raws:
        topic = HexBytes(bytes(12) + raw)
        assert _topic_address(topic) == Web3.to_checksum_address(raw)


def test_topic_address_of_the_eip55_examples() -> None:
    for address in ("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"):
        assert _topic_address(HexBytes(bytes(12) + bytes.fromhex(address[2:]))) == address
