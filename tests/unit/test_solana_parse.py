"""Reading a Solana `getTransaction` (jsonParsed) answer: the recipient's balance change, references, failures."""

from __future__ import annotations

import copy

from coinvoice.chains.solana.adapter import parse_transaction

PAYER = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"
MERCHANT = "MerchantRecipient11111111111111111111111111"
REFERENCE = "RefKey1111111111111111111111111111111111111"
SYSTEM = "11111111111111111111111111111111"

#: The shape of the JSON-RPC documentation's getTransaction example with encoding jsonParsed (a system transfer
#: naming a Solana Pay reference as a read-only account).
TX = {
    "slot": 430,
    "blockTime": 1700000000,
    "version": 0,
    "transaction": {
        "signatures": ["5j7s6NiJS3JAkvgkoc18WVAsiSaci2pxB2A6ueCJP4tprA2TFg9wSyTLeYouxPBJEMzJinENTkpA52YStRW5Dia7"],
        "message": {
            "accountKeys": [
                {"pubkey": PAYER, "writable": True, "signer": True, "source": "transaction"},
                {"pubkey": MERCHANT, "writable": True, "signer": False, "source": "transaction"},
                {"pubkey": SYSTEM, "writable": False, "signer": False, "source": "transaction"},
                {"pubkey": REFERENCE, "writable": False, "signer": False, "source": "transaction"},
            ],
            "recentBlockhash": "6ZMbZ6NuXrjEXTuxBUvB2zqrMXVW2nPQR6v3UzkVBkv2",
            "instructions": [
                {
                    "program": "system",
                    "programId": SYSTEM,
                    "parsed": {"type": "transfer", "info": {"source": PAYER, "destination": MERCHANT, "lamports": 250}},
                    "stackHeight": None,
                }
            ],
            "addressTableLookups": [],
        },
    },
    "meta": {
        "err": None,
        "status": {"Ok": None},
        "fee": 5000,
        "preBalances": [1_000_000, 890_880, 1, 0],
        "postBalances": [994_750, 891_130, 1, 0],
        "innerInstructions": [],
        "logMessages": [],
        "preTokenBalances": [],
        "postTokenBalances": [],
        "rewards": [],
        "loadedAddresses": {"writable": [], "readonly": []},
        "computeUnitsConsumed": 150,
    },
}


def test_the_amount_is_the_recipients_balance_change_and_the_references_are_its_read_only_keys():
    transfer = parse_transaction("solana", "sol", MERCHANT, "sig", TX)
    assert transfer is not None
    assert (transfer.txid, transfer.index, transfer.amount_units, transfer.asset) == ("sig", 0, 250, "sol")
    assert REFERENCE in transfer.references and PAYER not in transfer.references
    assert (transfer.block.height, transfer.block.time) == (430, 1700000000)


def test_a_failed_transaction_an_outgoing_one_or_another_address_brings_nothing():
    failed = copy.deepcopy(TX)
    failed["meta"]["err"] = {"InstructionError": [0, {"Custom": 1}]}
    assert parse_transaction("solana", "sol", MERCHANT, "sig", failed) is None
    assert parse_transaction("solana", "sol", PAYER, "sig", TX) is None  # the payer's balance went down
    assert parse_transaction("solana", "sol", "SomeoneElse111111111111111111111111111111111", "sig", TX) is None
