"""TRON addresses, the one place they are converted: base58check ``T…`` (API, page) <-> hex ``41…`` (node JSON).

A TRON address is 21 bytes: the 0x41 prefix and the 20-byte account id an EVM would use. The node's JSON
writes it as 42 hex digits (``41…``), its contract logs and topics as the bare 20 bytes (40 hex digits).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from bip_utils import Base58ChecksumError, Base58Decoder

PREFIX = 0x41
_HEX_LEN = 42
_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_DIGIT_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # two base58 digits per division: half the divisions


class InvalidTronAddress(ValueError):
    """Text that is neither a base58check ``T…`` address nor 21 hex bytes starting with 41."""


@lru_cache(maxsize=65536)  # deposit addresses and busy senders repeat block after block
def to_base58(hex_address: str) -> str:
    """``41…`` (42 hex digits) or the bare 20-byte account id (40 hex digits) -> ``T…``."""
    text = hex_address.lower().removeprefix("0x")
    if len(text) == _HEX_LEN - 2:
        text = f"{PREFIX:02x}{text}"
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise InvalidTronAddress(f"{hex_address!r} is not hex") from None
    if len(raw) != _HEX_LEN // 2 or raw[0] != PREFIX:
        raise InvalidTronAddress(f"{hex_address!r} is not a 21-byte TRON address starting with 41")
    return _base58check(raw)


@lru_cache(maxsize=1024)
def to_hex(address: str) -> str:
    """``T…`` (or ``41…`` already) -> ``41…`` in lower case."""
    text = address.strip()
    if len(text) == _HEX_LEN and text[:2] == "41":
        return to_hex(to_base58(text))  # validated through the same path
    try:
        raw = Base58Decoder.CheckDecode(text)
    except (ValueError, Base58ChecksumError):
        raise InvalidTronAddress(f"{address!r} is not a base58check TRON address") from None
    if len(raw) != _HEX_LEN // 2 or raw[0] != PREFIX:
        raise InvalidTronAddress(f"{address!r} is not a TRON address (21 bytes starting with 0x41)")
    return raw.hex()


def account_id(address: str) -> str:
    """The 20-byte account id (40 hex digits) of a ``T…`` address: how logs and topics name it."""
    return to_hex(address)[2:]


def _base58check(payload: bytes) -> str:
    """Base58check of ``payload`` (what bip-utils' Base58Encoder.CheckEncode gives, in a fifth of its time: a
    catch-up encodes every recipient of every block)."""
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number, pairs = int.from_bytes(data, "big"), []
    while number:
        number, pair = divmod(number, 3364)
        pairs.append(_DIGIT_PAIRS[pair])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(pairs)).lstrip("1")
