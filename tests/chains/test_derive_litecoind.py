"""Cross-check: our litecoin regtest deposit addresses equal litecoind's own descriptor derivation."""

import pytest
from bip_utils import Base58Decoder, Base58Encoder

from coinvoice.addresses.derive import derive_address, validate_extended_key

# m/84'/1'/0' of the BIP84 test mnemonic "abandon ×11 about"
TPUB_84 = (
    "tpubDC8msFGeGuwnKG9Upg7DM2b4DaRqg3CUZa5g8v2SRQ6K4NSkxUgd7HsL2XVWbVm39yBA4LAxysQAm397zwQSQoQgewGiYZqrA9DsP4zbQ1M"
)
VERSIONS = {"tpub": "043587cf", "vpub": "045f1cf6", "ttub": "0436f6e1"}


def litecoind_receive_addresses(node, tpub: str, first: int, last: int) -> list[str]:
    descriptor = f"wpkh({tpub}/0/*)"
    checksum = node.rpc("getdescriptorinfo", descriptor)["checksum"]
    return node.rpc("deriveaddresses", f"{descriptor}#{checksum}", [first, last])


def test_receive_addresses_match_litecoind_deriveaddresses(litecoind):
    ours = [derive_address("litecoin", "regtest", TPUB_84, i) for i in range(5)]
    assert ours == litecoind_receive_addresses(litecoind, TPUB_84, 0, 4)
    assert ours[0] == "rltc1q6rz28mcfaxtmd6v789l9rrlrusdprr9puuzgkg"


@pytest.mark.parametrize("prefix", ["tpub", "vpub", "ttub"])
def test_stored_key_is_one_litecoind_accepts_in_a_descriptor(litecoind, prefix):
    pasted = Base58Encoder.CheckEncode(bytes.fromhex(VERSIONS[prefix]) + Base58Decoder.CheckDecode(TPUB_84)[4:])
    stored = validate_extended_key("litecoin", "regtest", pasted)
    expected = litecoind_receive_addresses(litecoind, stored, 1000, 1002)
    assert [derive_address("litecoin", "regtest", pasted, i) for i in range(1000, 1003)] == expected
