"""Parsing getblock/getrawtransaction JSON into Transfers, and the UTXO chain parameters."""

from __future__ import annotations

import json
from decimal import Decimal

import bitcoin
import pytest

from coinvoice.chains.base import BlockRef, Transfer
from coinvoice.chains.utxo.blocks import parse_block, parse_tx, value_to_units
from coinvoice.chains.utxo.params import utxo_params

LTC = utxo_params("litecoin", "regtest")
BTC = utxo_params("bitcoin", "mainnet")

# litecoind 0.21 shape: plural `addresses`, reqSigs, `ismweb` on each output.
LITECOIND_BLOCK = """
{
  "hash": "b2", "height": 102, "previousblockhash": "b1", "time": 1700000000,
  "tx": [
    {"txid": "cb", "vout": [
      {"value": 25.00000000, "n": 0,
       "scriptPubKey": {"type": "witness_v0_keyhash", "reqSigs": 1, "addresses": ["rltc1qminer"]}},
      {"value": 0.00000000, "n": 1, "scriptPubKey": {"type": "nulldata", "asm": "OP_RETURN aa21a9ed"}}
    ]},
    {"txid": "pay", "vout": [
      {"ismweb": false, "value": 0.10000000, "n": 0,
       "scriptPubKey": {"type": "witness_v0_keyhash", "reqSigs": 1, "addresses": ["rltc1qpayee"]}},
      {"value": 21000000.00000000, "n": 1,
       "scriptPubKey": {"type": "scripthash", "reqSigs": 1, "addresses": ["QWhale"]}},
      {"value": 0.00000001, "n": 2,
       "scriptPubKey": {"type": "pubkeyhash", "reqSigs": 1, "addresses": ["mDust"]}},
      {"value": 1.00000000, "n": 3,
       "scriptPubKey": {"type": "multisig", "reqSigs": 1, "addresses": ["mKeyA", "mKeyB"]}},
      {"value": 2.00000000, "n": 4,
       "scriptPubKey": {"type": "nonstandard", "asm": "OP_TRUE"}},
      {"ismweb": true, "n": 5}
    ]}
  ]
}
"""

# Bitcoin Core 22+ shape: singular `address`; P2PK gets none.
CORE22_TX = """
{"txid": "t22", "vout": [
  {"value": 0.00012345, "n": 0, "scriptPubKey": {"type": "witness_v0_keyhash", "address": "bc1qpayee"}},
  {"value": 50.00000000, "n": 1, "scriptPubKey": {"type": "pubkey", "asm": "02ab OP_CHECKSIG"}},
  {"value": 0E-8, "n": 2, "scriptPubKey": {"type": "nulldata", "asm": "OP_RETURN 6869"}}
]}
"""


def load(text: str) -> dict:
    return json.loads(text, parse_float=Decimal)


def test_litecoind_block_parses_plural_addresses_to_exact_base_units():
    block, transfers = parse_block(load(LITECOIND_BLOCK), LTC)

    assert block == BlockRef(height=102, hash="b2", prev_hash="b1", time=1700000000)
    assert [(t.txid, t.index, t.address, t.amount_units) for t in transfers] == [
        ("cb", 0, "rltc1qminer", 2_500_000_000),
        ("pay", 0, "rltc1qpayee", 10_000_000),
        ("pay", 1, "QWhale", 2_100_000_000_000_000),
        ("pay", 2, "mDust", 1),
    ]
    assert all(t.chain == "litecoin" and t.asset == "ltc" and t.block is block for t in transfers)


def test_core22_singular_address_is_read_and_p2pk_and_op_return_are_skipped():
    transfers = parse_tx(load(CORE22_TX), BTC, None)

    assert transfers == [Transfer("bitcoin", "t22", 0, "bc1qpayee", 12_345, "btc", None)]


def test_genesis_block_has_no_prev_hash():
    block, transfers = parse_block({"hash": "g", "height": 0, "time": 1, "tx": []}, LTC)

    assert block.prev_hash is None and transfers == []


@pytest.mark.parametrize(
    ("text", "units"),
    [("0.1", 10_000_000), ("21000000", 2_100_000_000_000_000), ("0.00000001", 1), ("0E-8", 0)],
)
def test_values_convert_exactly(text, units):
    assert value_to_units(Decimal(text), 8) == units


def test_integer_json_value_is_accepted():
    assert value_to_units(21000000, 8) == 2_100_000_000_000_000


def test_value_with_more_than_eight_decimals_is_refused():
    with pytest.raises(ValueError, match="more than 8 decimal places"):
        value_to_units(Decimal("0.000000001"), 8)


def test_float_value_is_refused():
    with pytest.raises(TypeError, match="Decimal"):
        parse_tx(json.loads(CORE22_TX), BTC, None)  # parsed without parse_float=Decimal


@pytest.mark.parametrize("text", ["-0.1", "NaN", "Infinity"])
def test_negative_or_non_finite_value_is_refused(text):
    with pytest.raises(ValueError, match="not a finite non-negative"):
        value_to_units(Decimal(text), 8)


@pytest.mark.parametrize(
    ("chain", "network", "hrp", "p2pkh", "p2sh", "cashaddr", "asset"),
    [
        ("bitcoin", "mainnet", "bc", 0, 5, None, "btc"),
        ("bitcoin", "testnet", "tb", 111, 196, None, "btc"),
        ("bitcoin", "regtest", "bcrt", 111, 196, None, "btc"),
        ("litecoin", "mainnet", "ltc", 48, 50, None, "ltc"),
        ("litecoin", "testnet", "tltc", 111, 58, None, "ltc"),
        ("litecoin", "regtest", "rltc", 111, 58, None, "ltc"),
        ("bitcoincash", "mainnet", None, 0, 5, "bitcoincash", "bch"),
        ("bitcoincash", "testnet", None, 111, 196, "bchtest", "bch"),
        ("bitcoincash", "regtest", None, 111, 196, "bchreg", "bch"),
    ],
)
def test_utxo_params_per_chain_and_network(chain, network, hrp, p2pkh, p2sh, cashaddr, asset):
    params = utxo_params(chain, network)

    assert (params.bech32_hrp, params.p2pkh_version, params.p2sh_version) == (hrp, p2pkh, p2sh)
    assert (params.cashaddr_prefix, params.asset, params.decimals) == (cashaddr, asset, 8)


@pytest.mark.parametrize(
    ("network", "bitcoinlib_params"),
    [("mainnet", bitcoin.MainParams), ("testnet", bitcoin.TestNetParams), ("regtest", bitcoin.RegTestParams)],
)
def test_bitcoin_params_agree_with_python_bitcoinlib(network, bitcoinlib_params):
    params = utxo_params("bitcoin", network)
    prefixes = bitcoinlib_params.BASE58_PREFIXES

    assert params.bech32_hrp == bitcoinlib_params.BECH32_HRP
    assert (params.p2pkh_version, params.p2sh_version) == (prefixes["PUBKEY_ADDR"], prefixes["SCRIPT_ADDR"])


def test_unknown_chain_or_network_names_the_known_ones():
    with pytest.raises(ValueError, match="dogecoin/mainnet; known: bitcoin/mainnet"):
        utxo_params("dogecoin", "mainnet")
