"""Tests for watch-only deposit address derivation from account extended public keys."""

from functools import cache

import pytest
from bip_utils import (
    Base58Decoder,
    Base58Encoder,
    BchP2PKHAddrEncoder,
    Bip39SeedGenerator,
    Bip44,
    Bip44Changes,
    Bip44Coins,
    Bip84,
    Bip84Coins,
    P2WPKHAddrEncoder,
)

from coinvoice.addresses.derive import (
    WALLET_CHAINS,
    InvalidExtendedKey,
    derive_address,
    validate_extended_key,
)

MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
ZPUB_BTC_84 = (
    "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
)
TPUB_84 = (
    "tpubDC8msFGeGuwnKG9Upg7DM2b4DaRqg3CUZa5g8v2SRQ6K4NSkxUgd7HsL2XVWbVm39yBA4LAxysQAm397zwQSQoQgewGiYZqrA9DsP4zbQ1M"
)
XPUB_ETH_44 = (
    "xpub6DCoCpSuQZB2jawqnGMEPS63ePKWkwWPH4TU45Q7LPXWuNd8TMtVxRrgjtEshuqpK3mdhaWHPFsBngh5GFZaM6si3yZdUsT8ddYM3PwnATt"
)
VERSIONS = {
    "xpub": "0488b21e",
    "ypub": "049d7cb2",
    "zpub": "04b24746",
    "tpub": "043587cf",
    "vpub": "045f1cf6",
    "Ltub": "019da462",
    "Mtub": "01b26ef6",
    "ttub": "0436f6e1",
    "xprv": "0488ade4",
    "tprv": "04358394",
}


def with_version(key: str, prefix: str) -> str:
    """The same key serialized under another version prefix."""
    return Base58Encoder.CheckEncode(bytes.fromhex(VERSIONS[prefix]) + Base58Decoder.CheckDecode(key)[4:])


@cache
def seed() -> bytes:
    return Bip39SeedGenerator(MNEMONIC).Generate()


def account(cls, coin):
    return cls.FromSeed(seed(), coin).Purpose().Coin().Account(0)


def receive(cls, coin, index: int):
    return account(cls, coin).Change(Bip44Changes.CHAIN_EXT).AddressIndex(index).PublicKey()


# (chain, network, bip-utils class, coin, address of /0/index computed by bip-utils from the mnemonic)
MNEMONIC_CASES = [
    ("bitcoin", "mainnet", Bip84, Bip84Coins.BITCOIN, lambda pub: pub.ToAddress()),
    ("bitcoin", "testnet", Bip84, Bip84Coins.BITCOIN_TESTNET, lambda pub: pub.ToAddress()),
    ("bitcoin", "regtest", Bip84, Bip84Coins.BITCOIN_REGTEST, lambda pub: pub.ToAddress()),
    ("litecoin", "mainnet", Bip84, Bip84Coins.LITECOIN, lambda pub: pub.ToAddress()),
    ("litecoin", "testnet", Bip84, Bip84Coins.LITECOIN_TESTNET, lambda pub: pub.ToAddress()),
    (
        "litecoin",
        "regtest",
        Bip84,
        Bip84Coins.LITECOIN_TESTNET,
        lambda pub: P2WPKHAddrEncoder.EncodeKey(pub.RawCompressed().ToBytes(), hrp="rltc"),
    ),
    ("bitcoincash", "mainnet", Bip44, Bip44Coins.BITCOIN_CASH, lambda pub: pub.ToAddress()),
    ("bitcoincash", "testnet", Bip44, Bip44Coins.BITCOIN_CASH_TESTNET, lambda pub: pub.ToAddress()),
    (
        "bitcoincash",
        "regtest",
        Bip44,
        Bip44Coins.BITCOIN_CASH_TESTNET,
        lambda pub: BchP2PKHAddrEncoder.EncodeKey(pub.RawCompressed().ToBytes(), hrp="bchreg", net_ver=b"\x00"),
    ),
    ("ethereum", "mainnet", Bip44, Bip44Coins.ETHEREUM, lambda pub: pub.ToAddress()),
    ("ethereum", "testnet", Bip44, Bip44Coins.ETHEREUM, lambda pub: pub.ToAddress()),
    ("bsc", "mainnet", Bip44, Bip44Coins.BINANCE_SMART_CHAIN, lambda pub: pub.ToAddress()),
    ("bsc", "regtest", Bip44, Bip44Coins.BINANCE_SMART_CHAIN, lambda pub: pub.ToAddress()),
    ("tron", "mainnet", Bip44, Bip44Coins.TRON, lambda pub: pub.ToAddress()),
    ("tron", "testnet", Bip44, Bip44Coins.TRON, lambda pub: pub.ToAddress()),
]


@pytest.mark.parametrize(
    ("chain", "network", "key", "index", "address"),
    [
        ("bitcoin", "mainnet", ZPUB_BTC_84, 0, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"),
        ("bitcoin", "mainnet", ZPUB_BTC_84, 1, "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g"),
        ("litecoin", "regtest", TPUB_84, 0, "rltc1q6rz28mcfaxtmd6v789l9rrlrusdprr9puuzgkg"),
        ("ethereum", "mainnet", XPUB_ETH_44, 0, "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"),
        ("bsc", "mainnet", XPUB_ETH_44, 0, "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"),
    ],
)
def test_published_vectors_derive_to_their_known_addresses(chain, network, key, index, address):
    assert derive_address(chain, network, key, index) == address


@pytest.mark.parametrize(("chain", "network", "cls", "coin", "encode"), MNEMONIC_CASES)
@pytest.mark.parametrize("index", [0, 1, 19, 2**31 - 1])
def test_address_from_account_key_matches_derivation_from_the_mnemonic(chain, network, cls, coin, encode, index):
    account_key = account(cls, coin).PublicKey().ToExtended()
    assert derive_address(chain, network, account_key, index) == encode(receive(cls, coin, index))


def test_every_wallet_chain_is_covered_by_a_mnemonic_case():
    assert {case[0] for case in MNEMONIC_CASES} == set(WALLET_CHAINS)


@pytest.mark.parametrize(
    ("chain", "network", "prefix"),
    [
        ("bitcoin", "mainnet", "xpub"),
        ("bitcoin", "mainnet", "zpub"),
        ("bitcoin", "testnet", "tpub"),
        ("bitcoin", "regtest", "vpub"),
        ("litecoin", "mainnet", "xpub"),
        ("litecoin", "mainnet", "zpub"),
        ("litecoin", "mainnet", "Ltub"),
        ("litecoin", "testnet", "ttub"),
        ("litecoin", "regtest", "tpub"),
        ("litecoin", "regtest", "vpub"),
        ("litecoin", "regtest", "ttub"),
        ("bitcoincash", "mainnet", "xpub"),
        ("bitcoincash", "regtest", "tpub"),
        ("ethereum", "mainnet", "xpub"),
        ("ethereum", "testnet", "xpub"),
        ("ethereum", "testnet", "tpub"),
        ("bsc", "regtest", "tpub"),
        ("tron", "mainnet", "xpub"),
        ("tron", "testnet", "tpub"),
    ],
)
def test_accepted_prefixes_all_derive_the_same_addresses(chain, network, prefix):
    key = with_version(TPUB_84, prefix)
    canonical = validate_extended_key(chain, network, key)
    assert canonical[:4] == ("xpub" if network == "mainnet" or chain in ("ethereum", "bsc", "tron") else "tpub")
    assert validate_extended_key(chain, network, canonical) == canonical
    assert derive_address(chain, network, key, 3) == derive_address(chain, network, canonical, 3)


def test_validation_strips_surrounding_whitespace():
    assert validate_extended_key("litecoin", "regtest", f"  {TPUB_84}\n") == TPUB_84


def test_the_same_account_key_gives_different_addresses_per_index():
    addresses = {derive_address("litecoin", "regtest", TPUB_84, i) for i in range(20)}
    assert len(addresses) == 20


def _depth(key: str, depth: int) -> str:
    raw = bytearray(Base58Decoder.CheckDecode(key))
    raw[4] = depth
    return Base58Encoder.CheckEncode(bytes(raw))


def _private_account_key() -> str:
    return account(Bip84, Bip84Coins.BITCOIN_TESTNET).PrivateKey().ToExtended()


def _unknown_private() -> str:
    raw = bytearray(Base58Decoder.CheckDecode(_private_account_key()))
    raw[:4] = b"\x01\x02\x03\x04"
    return Base58Encoder.CheckEncode(bytes(raw))


def _bad_point(key: str) -> str:
    raw = bytearray(Base58Decoder.CheckDecode(key))
    raw[45] = 0x04  # neither 02 nor 03: not a compressed point
    return Base58Encoder.CheckEncode(bytes(raw))


@pytest.mark.parametrize(
    ("chain", "network", "key", "message"),
    [
        ("bitcoin", "testnet", _private_account_key(), "private keys are not accepted"),
        ("tron", "mainnet", _unknown_private(), "private keys are not accepted"),
        ("bitcoin", "mainnet", with_version(TPUB_84, "xprv"), "private keys are not accepted"),
        ("litecoin", "regtest", with_version(TPUB_84, "tprv"), "private keys are not accepted"),
        ("litecoin", "regtest", "hello world", "not base58check"),
        ("litecoin", "regtest", "", "not base58check"),
        ("litecoin", "regtest", TPUB_84[:-1] + "N", "not base58check"),
        ("litecoin", "regtest", Base58Encoder.CheckEncode(b"\x04\x35\x87\xcf" + b"\x03" * 40), "bytes long"),
        ("litecoin", "regtest", ZPUB_BTC_84, "not a valid extended public key for litecoin regtest"),
        ("litecoin", "regtest", ZPUB_BTC_84, "(a mainnet key)"),
        ("bitcoin", "mainnet", TPUB_84, "(a test-network key)"),
        ("bitcoin", "mainnet", with_version(ZPUB_BTC_84, "ypub"), "BIP49 nested-segwit"),
        ("litecoin", "mainnet", with_version(ZPUB_BTC_84, "Mtub"), "BIP49 nested-segwit"),
        ("bitcoin", "mainnet", with_version(ZPUB_BTC_84, "Ltub"), "got a Ltub; expected xpub or zpub"),
        ("bitcoincash", "testnet", with_version(TPUB_84, "vpub"), "expected tpub"),
        ("ethereum", "mainnet", with_version(TPUB_84, "ttub"), "expected xpub"),
        ("tron", "mainnet", Base58Encoder.CheckEncode(b"\x01\x02\x03\x04" + b"\x03" * 74), "unknown version"),
        ("bitcoin", "mainnet", _depth(ZPUB_BTC_84, 0), "depth 0, expected an account-level key at depth 3"),
        ("bitcoin", "mainnet", _depth(ZPUB_BTC_84, 4), "depth 4"),
        ("ethereum", "mainnet", _depth(XPUB_ETH_44, 5), "depth 5"),
        ("litecoin", "regtest", _bad_point(TPUB_84), "not a point on secp256k1"),
    ],
)
def test_unusable_keys_are_rejected_with_a_reason(chain, network, key, message):
    with pytest.raises(InvalidExtendedKey, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_extended_key(chain, network, key)
    with pytest.raises(InvalidExtendedKey):
        derive_address(chain, network, key, 0)


def test_rejection_message_never_echoes_a_private_key():
    key = _private_account_key()
    with pytest.raises(InvalidExtendedKey) as raised:
        validate_extended_key("bitcoin", "testnet", key)
    assert key not in str(raised.value) and key[4:20] not in str(raised.value)


@pytest.mark.parametrize("index", [-1, 2**31, 2**32, True, 1.0, "0", None])
def test_index_outside_the_non_hardened_range_is_refused(index):
    with pytest.raises(ValueError, match="derivation index"):
        derive_address("litecoin", "regtest", TPUB_84, index)


@pytest.mark.parametrize(("chain", "network"), [("dogecoin", "mainnet"), ("bitcoin", "signet"), ("BTC", "mainnet")])
def test_unknown_chain_or_network_is_a_value_error_not_a_key_error(chain, network):
    with pytest.raises(ValueError, match="unknown") as raised:
        validate_extended_key(chain, network, TPUB_84)
    assert not isinstance(raised.value, InvalidExtendedKey)


def test_invalid_extended_key_is_a_value_error():
    assert issubclass(InvalidExtendedKey, ValueError)
