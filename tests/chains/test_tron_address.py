"""TRON addresses: base58check T… <-> hex 41… both ways, checked against tronpy and known mainnet addresses."""

from __future__ import annotations

import pytest
from tronpy.keys import PrivateKey, to_base58check_address, to_hex_address

from coinvoice.chains.tron.address import InvalidTronAddress, account_id, to_base58, to_hex

USDT = ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "41a614f803b6fd780986a42c78ec9c7f77e6ded13c")
ZERO = ("T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb", "41" + "00" * 20)


@pytest.mark.parametrize(("base58", "hex_"), [USDT, ZERO])
def test_known_addresses_convert_both_ways(base58, hex_):
    assert to_hex(base58) == hex_
    assert to_base58(hex_) == base58
    assert to_base58(hex_.upper()) == base58
    assert to_base58(hex_[2:]) == base58  # a log's bare 20-byte account id
    assert account_id(base58) == hex_[2:]


def test_random_keys_agree_with_tronpy_both_ways():
    for _ in range(50):
        base58 = PrivateKey.random().public_key.to_base58check_address()
        assert to_hex(base58) == to_hex_address(base58)
        assert to_base58(to_hex(base58)) == base58 == to_base58check_address(to_hex(base58))


def test_a_hex_address_given_as_configuration_is_normalised():
    assert to_hex(USDT[1]) == USDT[1]


@pytest.mark.parametrize(
    "text",
    [
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u",  # checksum broken
        "0xdAC17F958D2ee523a2206206994597C13D831ec7",  # an Ethereum address
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",  # a Bitcoin address: base58check, but version 0
        "",
    ],
)
def test_what_is_not_a_tron_address_is_refused(text):
    with pytest.raises(InvalidTronAddress):
        to_hex(text)


@pytest.mark.parametrize("text", ["42" + "00" * 20, "41" + "00" * 21, "41" + "00" * 18, "41zz" + "00" * 19])
def test_hex_that_is_not_a_tron_address_is_refused(text):
    with pytest.raises(InvalidTronAddress):
        to_base58(text)


def test_the_fast_base58check_encoder_agrees_with_bip_utils_including_leading_zero_bytes():
    import os

    from bip_utils import Base58Encoder

    from coinvoice.chains.tron.address import _base58check

    for n in range(2000):
        payload = bytes(n % 4) + os.urandom(21 - n % 4)
        assert _base58check(payload) == Base58Encoder.CheckEncode(payload)
