"""Company API over real HTTP: wallets (watch-only keys), allowed assets, and isolation between companies."""

from functools import cache

import pytest
from bip_utils import Bip32KeyNetVersions, Bip32Slip10Secp256k1, Bip39SeedGenerator

from coinvoice.services.companies import create_company
from tests.api.invoice_setup import accept_ltc, assert_error, create_invoice, row_counts, sql
from tests.conftest import TPUB

ASSETS = "/api/company/assets"
SEED_ASSETS = ["btc", "eth", "usdt", "sol", "ton", "usdc", "bnb", "ltc", "near", "trx", "bch"]
TEST_VERSIONS = Bip32KeyNetVersions(bytes.fromhex("043587cf"), bytes.fromhex("04358394"))


@cache
def account(path: str, test_network: bool) -> Bip32Slip10Secp256k1:
    seed = Bip39SeedGenerator("abandon " * 11 + "about").Generate()
    return Bip32Slip10Secp256k1.FromSeedAndPath(seed, path, TEST_VERSIONS if test_network else None)


def tprv() -> str:
    return account("m/84'/1'/0'", True).PrivateKey().ToExtended()


def mainnet_xprv() -> str:
    return account("m/84'/2'/0'", False).PrivateKey().ToExtended()


def mainnet_xpub() -> str:
    return account("m/84'/2'/0'", False).PublicKey().ToExtended()


def other_tpub() -> str:
    return account("m/84'/1'/1'", True).PublicKey().ToExtended()


def allowed(body) -> dict[str, bool]:
    return {a["asset"]: a["isAllowed"] for a in body["assets"]}


async def put_wallet(api, token, chain, key):
    return await api.call("PUT", f"/api/company/wallets/{chain}", token=token, json_body={"xpub": key})


def test_the_test_keys_are_what_they_claim():
    assert account("m/84'/1'/0'", True).PublicKey().ToExtended() == TPUB
    assert tprv().startswith("tprv") and mainnet_xprv().startswith("xprv") and mainnet_xpub().startswith("xpub")


async def test_put_wallet_stores_the_key_for_the_configured_network(api, company, db_url):
    status, body = await put_wallet(api, company["publicToken"], "litecoin", f"  {TPUB}\n")
    assert status == 200, body
    assert body == {"chain": "litecoin", "network": "regtest", "xpub": TPUB}
    rows = await sql(db_url, "SELECT chain, xpub, next_index FROM company_wallets WHERE company_id = $1", company["id"])
    assert [tuple(r) for r in rows] == [("litecoin", TPUB, 0)]


@pytest.mark.parametrize("chain", ["bitcoin", "litecoin", "bitcoincash", "ethereum", "bsc", "tron"])
async def test_every_wallet_chain_accepts_the_test_key(api, company, chain):
    status, body = await put_wallet(api, company["publicToken"], chain, TPUB)
    assert status == 200, body
    assert body["chain"] == chain


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        (lambda: "garbage", "base58"),
        (lambda: TPUB[:-1] + ("A" if TPUB[-1] != "A" else "B"), "base58"),  # checksum broken
        (tprv, "private keys are not accepted"),
        (mainnet_xprv, "private keys are not accepted"),
        (mainnet_xpub, "mainnet key"),
    ],
    ids=["garbage", "bad checksum", "tprv", "xprv", "mainnet key on regtest"],
)
async def test_put_wallet_rejects_a_key_that_does_not_parse_for_the_network(api, company, db_url, key, hint):
    before = await row_counts(db_url)
    status, body = await put_wallet(api, company["publicToken"], "litecoin", key())
    assert_error(status, body, 400, "invalid_xpub", "xpub")
    assert hint in body["error"]["message"]
    assert await row_counts(db_url) == before


@pytest.mark.parametrize(
    ("chain", "body", "code", "field"),
    [
        ("litecoin", {}, "required", "xpub"),
        ("litecoin", {"xpub": 5}, "invalid_type", "xpub"),
        ("litecoin", {"xpub": ""}, "empty", "xpub"),
        ("dogecoin", {"xpub": TPUB}, "unknown_chain", "chain"),
        ("solana", {"xpub": TPUB}, "required", "address"),
        ("ton", {}, "required", "address"),
        ("solana", {"address": "not-base58-0OIl"}, "invalid_address", "address"),
        ("ton", {"address": "EQnot-a-ton-address"}, "invalid_address", "address"),
        ("ton", {"address": 5}, "invalid_type", "address"),
    ],
)
async def test_put_wallet_bad_input_is_a_400_and_writes_nothing(api, company, db_url, chain, body, code, field):
    before = await row_counts(db_url)
    status, answer = await api.call(
        "PUT", f"/api/company/wallets/{chain}", token=company["publicToken"], json_body=body
    )
    assert_error(status, answer, 400, code, field)
    assert await row_counts(db_url) == before


async def test_changing_the_wallet_key_restarts_the_index_and_the_same_key_keeps_it(api, company, db_url):
    token = company["publicToken"]
    await accept_ltc(api, token)
    inv = await create_invoice(api, token)
    await api.call(
        "POST",
        f"/api/invoices/v1/regular/{inv['id']}/proceed",
        json_body={"clientEmail": "p@example.com", "paymentCurrency": "ltc"},
    )
    await put_wallet(api, token, "litecoin", TPUB)
    query = "SELECT next_index FROM company_wallets WHERE company_id = $1"
    assert (await sql(db_url, query, company["id"]))[0]["next_index"] == 1
    await put_wallet(api, token, "litecoin", other_tpub())
    assert (await sql(db_url, query, company["id"]))[0]["next_index"] == 0


async def test_get_assets_lists_the_seed_assets_in_order_all_disallowed_at_first(api, company):
    status, body = await api.call("GET", ASSETS, token=company["publicToken"])
    assert status == 200
    assert body == {"assets": [{"asset": a, "isAllowed": False} for a in SEED_ASSETS]}


async def test_allow_and_disallow_an_asset(api, company, db_url):
    token = company["publicToken"]
    await put_wallet(api, token, "litecoin", TPUB)
    status, body = await api.call("PATCH", ASSETS, token=token, json_body={"assets": {"LTC": {"isAllowed": True}}})
    assert status == 200, body
    assert allowed(body)["ltc"] is True
    assert allowed((await api.call("GET", ASSETS, token=token))[1])["ltc"] is True
    status, body = await api.call("PATCH", ASSETS, token=token, json_body={"assets": {"ltc": {"isAllowed": False}}})
    assert status == 200 and allowed(body)["ltc"] is False


async def test_one_evm_wallet_allows_every_asset_on_that_chain(api, company):
    token = company["publicToken"]
    await put_wallet(api, token, "ethereum", TPUB)
    change = {a: {"isAllowed": True} for a in ("eth", "usdt", "usdc")}
    status, body = await api.call("PATCH", ASSETS, token=token, json_body={"assets": change})
    assert status == 200, body
    assert {a for a, ok in allowed(body).items() if ok} == {"eth", "usdt", "usdc"}


async def test_an_invoice_created_right_after_an_asset_change_shows_it(api, company):
    token = company["publicToken"]
    await put_wallet(api, token, "litecoin", TPUB)
    for flag in (True, False) * 5:
        await api.call("PATCH", ASSETS, token=token, json_body={"assets": {"ltc": {"isAllowed": flag}}})
        view = await create_invoice(api, token)
        assert allowed(view["company"])["ltc"] is flag


async def test_allowing_an_asset_without_a_wallet_is_wallet_required_and_writes_nothing(api, company, db_url):
    before = await row_counts(db_url)
    status, body = await api.call(
        "PATCH", ASSETS, token=company["publicToken"], json_body={"assets": {"ltc": {"isAllowed": True}}}
    )
    assert_error(status, body, 400, "wallet_required", "assets.ltc")
    assert await row_counts(db_url) == before


async def test_a_patch_is_all_or_nothing(api, company, db_url):
    token = company["publicToken"]
    await put_wallet(api, token, "litecoin", TPUB)
    before = await row_counts(db_url)
    change = {"ltc": {"isAllowed": True}, "btc": {"isAllowed": True}}  # btc has no wallet
    status, body = await api.call("PATCH", ASSETS, token=token, json_body={"assets": change})
    assert_error(status, body, 400, "wallet_required", "assets.btc")
    assert await row_counts(db_url) == before
    assert allowed((await api.call("GET", ASSETS, token=token))[1])["ltc"] is False


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"assets": {"doge": {"isAllowed": True}}}, "unknown_asset", "assets.doge"),
        ({"assets": {"near": {"isAllowed": True}}}, "asset_not_supported", "assets.near"),
        ({"assets": {"sol": {"isAllowed": True}}}, "wallet_required", "assets.sol"),
        ({"assets": {"ton": {"isAllowed": True}}}, "wallet_required", "assets.ton"),
        ({"assets": {"ltc": {"isAllowed": "yes"}}}, "invalid_type", "assets.ltc.isAllowed"),
        ({"assets": {"ltc": {}}}, "required", "assets.ltc.isAllowed"),
        ({"assets": {"ltc": True}}, "invalid_type", "assets.ltc"),
        ({"assets": ["ltc"]}, "invalid_type", "assets"),
        ({}, "required", "assets"),
    ],
)
async def test_bad_asset_changes_are_a_400_and_write_nothing(api, company, db_url, body, code, field):
    await put_wallet(api, company["publicToken"], "litecoin", TPUB)
    before = await row_counts(db_url)
    status, answer = await api.call("PATCH", ASSETS, token=company["publicToken"], json_body=body)
    assert_error(status, answer, 400, code, field)
    assert await row_counts(db_url) == before


async def test_disallowing_needs_no_wallet(api, company):
    status, body = await api.call(
        "PATCH", ASSETS, token=company["publicToken"], json_body={"assets": {"near": {"isAllowed": False}}}
    )
    assert status == 200, body


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", ASSETS, None),
        ("PATCH", ASSETS, {"assets": {}}),
        ("PUT", "/api/company/wallets/litecoin", {"xpub": TPUB}),
    ],
)
async def test_company_endpoints_need_a_live_token(api, company, db_url, method, path, body):
    status, answer = await api.call(method, path, json_body=body)
    assert_error(status, answer, 401, "unauthorized", "Authorization")
    status, answer = await api.call(method, path, json_body=body, token="pk_guess")
    assert_error(status, answer, 401, "unauthorized", "Authorization")


async def test_one_company_cannot_see_or_change_anothers_wallet_or_assets(api, company, settings, pool, db_url):
    a = company["publicToken"]
    other = await create_company(pool, settings, "Other Shop", None, None)
    b = other["publicToken"]
    await accept_ltc(api, a)

    # B sees none of A's settings and cannot use A's wallet to allow ltc
    assert not any(allowed((await api.call("GET", ASSETS, token=b))[1]).values())
    status, body = await api.call("PATCH", ASSETS, token=b, json_body={"assets": {"ltc": {"isAllowed": True}}})
    assert_error(status, body, 400, "wallet_required", "assets.ltc")

    # B's own wallet and asset changes leave A's untouched
    assert (await put_wallet(api, b, "litecoin", other_tpub()))[0] == 200
    assert (await api.call("PATCH", ASSETS, token=b, json_body={"assets": {"ltc": {"isAllowed": False}}}))[0] == 200
    wallets = await sql(db_url, "SELECT company_id::text AS c, xpub FROM company_wallets ORDER BY xpub")
    assert {r["c"]: r["xpub"] for r in wallets} == {company["id"]: TPUB, other["id"]: other_tpub()}
    assert allowed((await api.call("GET", ASSETS, token=a))[1])["ltc"] is True
    assert allowed((await api.call("GET", ASSETS, token=b))[1])["ltc"] is False

    # an invoice shows its own company's profile, whoever reads it
    view_b = await create_invoice(api, b)
    assert view_b["company"]["name"] == "Other Shop"
    assert allowed(view_b["company"])["ltc"] is False


async def test_a_payer_cannot_fill_with_an_asset_only_another_company_allows(api, company, settings, pool):
    other = await create_company(pool, settings, "Other Shop", None, None)
    await accept_ltc(api, company["publicToken"])
    inv = await create_invoice(api, other["publicToken"])
    status, body = await api.call(
        "POST",
        f"/api/invoices/v1/regular/{inv['id']}/proceed",
        json_body={"clientEmail": "p@example.com", "paymentCurrency": "ltc"},
    )
    assert_error(status, body, 400, "asset_not_allowed", "paymentCurrency")


async def test_one_company_cannot_list_or_decide_anothers_invoices(api, company, settings, pool, db_url):
    other = await create_company(pool, settings, "Other Shop", None, None)
    mine = await create_invoice(api, company["publicToken"])
    theirs = await create_invoice(api, other["publicToken"])
    await sql(db_url, "UPDATE invoices SET status = 'wrong' WHERE id = $1::uuid", theirs["id"])

    for token, expected in ((company["publicToken"], mine["id"]), (other["publicToken"], theirs["id"])):
        status, page = await api.call("GET", "/api/invoices/v1", token=token)
        assert status == 200, page
        assert [i["id"] for i in page["items"]] == [expected]

    for decision in ("accept", "reject"):
        path = f"/api/invoices/v1/regular/{theirs['id']}/{decision}"
        status, body = await api.call("POST", path, token=company["publicToken"])
        assert_error(status, body, 404, "invoice_not_found", "id")
    _, got = await api.call("GET", f"/api/invoices/v1/regular/{theirs['id']}")
    assert got["status"] == "wrong"


async def test_a_new_default_redirect_url_applies_to_the_very_next_invoice(api, company):
    token = company["publicToken"]
    for n in range(10):
        url = f"https://shop.example/thanks/{n}"
        status, _ = await api.call("PATCH", "/api/company/settings", token=token, json_body={"redirectURL": url})
        assert status == 200
        status, view = await api.call(
            "POST",
            "/api/invoices/v1/regular",
            token=token,
            json_body={"invoiceCurrency": "eur", "items": [{"name": "x", "price": 1}]},
        )
        assert status == 201 and view["redirectURL"] == url


async def test_get_wallets_lists_the_keys_and_how_many_addresses_each_handed_out(api, company):
    token = company["publicToken"]
    await put_wallet(api, token, "litecoin", TPUB)
    status, body = await api.call("GET", "/api/company/wallets", token=token)
    assert status == 200
    assert body == {"wallets": [{"chain": "litecoin", "network": "regtest", "xpub": TPUB, "addressesAllocated": 0}]}
    status, body = await api.call("GET", "/api/company/wallets")
    assert status == 401
