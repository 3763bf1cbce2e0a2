"""Wallet URIs for the payer page's QR code."""

from decimal import Decimal

import pytest

from coinvoice.config import ConfigError, load_settings
from coinvoice.domain.assets import PAYMENT_ASSETS
from coinvoice.web.pay.uri import payment_uri, token_contract

A = PAYMENT_ASSETS


@pytest.mark.parametrize(
    ("code", "address", "amount", "expected"),
    [
        ("btc", "bc1qxyz", "0.00012", "bitcoin:bc1qxyz?amount=0.00012"),
        ("ltc", "rltc1qabc", "0.13750001", "litecoin:rltc1qabc?amount=0.13750001"),
        ("bch", "bitcoincash:qpm2q", "1.5", "bitcoincash:qpm2q?amount=1.5"),
        ("bch", "bchreg:qpm2q", "1.5", "bchreg:qpm2q?amount=1.5"),
        ("trx", "TXYZ", "12.5", "tron:TXYZ?amount=12.5"),
        ("sol", "So1Addr", "0.25", "solana:So1Addr?amount=0.25"),
    ],
)
def test_utxo_and_other_chain_uris_carry_the_exact_amount(code, address, amount, expected):
    assert payment_uri(A[code], address, Decimal(amount)) == expected


def test_cashaddr_prefix_is_not_doubled_and_bare_cashaddr_gets_one():
    assert payment_uri(A["bch"], "qpm2q", Decimal("1")) == "bitcoincash:qpm2q?amount=1"


def test_ether_uri_is_eip681_in_wei_without_the_default_mainnet_chain_id():
    uri = payment_uri(A["eth"], "0xAbC", Decimal("0.004321"), network="mainnet")
    assert uri == "ethereum:0xAbC?value=4321000000000000"


def test_a_configured_chain_id_overrides_the_registry():
    uri = payment_uri(A["bnb"], "0xAbC", Decimal("1"), network="regtest", chain_id=56)
    assert uri == f"ethereum:0xAbC@56?value={10**18}"


@pytest.mark.parametrize(
    ("chain_code", "network", "chain_id"), [("eth", "regtest", 31337), ("bnb", "mainnet", 56), ("bnb", "testnet", 97)]
)
def test_evm_chain_id_follows_chain_and_network(chain_code, network, chain_id):
    assert payment_uri(A[chain_code], "0xA", Decimal("1"), network=network) == f"ethereum:0xA@{chain_id}?value={10**18}"


def test_erc20_uri_is_a_transfer_call_on_the_token_contract_in_base_units():
    uri = payment_uri(A["usdterc20"], "0xPayee", Decimal("10.5"), network="mainnet", contract="0xToken")
    assert uri == "ethereum:0xToken/transfer?address=0xPayee&uint256=10500000"


def test_token_without_a_contract_falls_back_to_the_plain_address():
    assert payment_uri(A["usdc"], "0xPayee", Decimal("1"), network="regtest", contract=None) == "0xPayee"
    assert payment_uri(A["trc20usdt"], "TPayee", Decimal("1"), network="mainnet", contract="TR7") == "TPayee"


def test_ton_uri_uses_nanotons_and_the_memo_tag():
    uri = payment_uri(A["ton"], "EQAddr", Decimal("1.5"), tag="inv 42")
    assert uri == "ton://transfer/EQAddr?amount=1500000000&text=inv%2042"


def test_token_contract_prefers_settings_and_knows_mainnet_defaults_only_on_mainnet():
    assert token_contract("usdc", "regtest", {"usdc": "0xLocal"}) == "0xLocal"
    assert token_contract("usdc", "regtest", {}) is None
    assert token_contract("usdterc20", "mainnet", {}) == "0xdAC17F958D2ee523a2206206994597C13D831ec7"


def test_token_contracts_setting_is_read_from_the_environment(tmp_path):
    env = {"COINVOICE_MASTER_KEY": "k", "COINVOICE_DATA_DIR": str(tmp_path)}
    settings = load_settings({**env, "COINVOICE_TOKEN_CONTRACTS": '{"USDC": "0xLocal"}'})
    assert settings.token_contracts == {"usdc": "0xLocal"}
    with pytest.raises(ConfigError):
        load_settings({**env, "COINVOICE_TOKEN_CONTRACTS": '{"usdc": 5}'})


def test_solana_pay_uri_carries_the_reference_then_label_and_message_url_encoded():
    uri = payment_uri(
        A["sol"], "So1Addr", Decimal("0.086254"), reference="Ref111", label="Coffee & Co", message="Invoice 7"
    )
    assert uri == "solana:So1Addr?amount=0.086254&reference=Ref111&label=Coffee%20%26%20Co&message=Invoice%207"


@pytest.mark.parametrize(
    ("code", "address", "extra", "expected"),
    [
        ("btc", "bc1qxyz", {}, "bitcoin:bc1qxyz"),
        ("bch", "bchreg:qpm2q", {}, "bchreg:qpm2q"),
        ("eth", "0xAbC", {"network": "mainnet"}, "ethereum:0xAbC"),
        ("bnb", "0xAbC", {"network": "regtest", "chain_id": 56}, "ethereum:0xAbC@56"),
        ("usdc", "0xAbC", {"network": "mainnet", "contract": "0xC0n"}, "ethereum:0xC0n/transfer?address=0xAbC"),
        ("trx", "TXYZ", {}, "tron:TXYZ"),
        ("sol", "So1Addr", {"label": "Shop"}, "solana:So1Addr?label=Shop"),
        ("ton", "EQAbc", {"tag": "k7"}, "ton://transfer/EQAbc?text=k7"),
    ],
)
def test_an_any_amount_uri_names_no_amount(code, address, extra, expected):
    assert payment_uri(A[code], address, None, **extra) == expected
