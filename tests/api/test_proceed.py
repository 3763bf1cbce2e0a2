"""POST …/regular/{id}/proceed over real HTTP: frozen quote, deposit address, expiry clock, refusals."""

import asyncio
import re
from datetime import datetime, timedelta

import asyncpg
import pytest

from coinvoice.addresses.derive import derive_address
from coinvoice.services.views import wire_time
from tests.api.invoice_setup import (
    CREATE,
    accept_ltc,
    assert_error,
    create_invoice,
    fill,
    pending_invoice,
    row_counts,
    sql,
)
from tests.conftest import TPUB

WIRE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LTC_0 = "rltc1q6rz28mcfaxtmd6v789l9rrlrusdprr9puuzgkg"  # TPUB /0/0 on litecoin regtest (environment notes)


async def accept_btc(api, token):
    status, body = await api.call("PUT", "/api/company/wallets/bitcoin", token=token, json_body={"xpub": TPUB})
    assert status == 200, body
    status, body = await api.call(
        "PATCH", "/api/company/assets", token=token, json_body={"assets": {"btc": {"isAllowed": True}}}
    )
    assert status == 200, body


async def test_proceed_answers_the_seed_shape_with_address_quote_and_expiry(api, company, db_url):
    token = company["publicToken"]
    await accept_ltc(api, token)
    created = await create_invoice(api, token)  # 100 eur
    status, view = await fill(api, created["id"], "ltc", "client@example.com")
    assert status == 200, view
    assert view["status"] == "pending"
    assert "clientEmail" not in view  # an unauthenticated reader of the id never sees it
    rows = await sql(db_url, "SELECT client_email FROM invoices WHERE id = $1", view["id"])
    assert rows[0][0] == "client@example.com"
    assert view["address"] == {"id": view["address"]["id"], "address": LTC_0, "tag": None, "asset": "ltc"}
    # 100 eur * 0.0125 = 1.25 ltc; the default fee is 1 % = 0.0125 ltc, plus the payer's network cost (no
    # litecoin node here: the fallback, 10 litoshi/vB x 141 vB = 0.0000141 ltc), paid on top by the payer
    details = view["paymentDetails"]
    assert details["rate"] == "0.0125"
    assert details["networkFee"] == "0.0000141"
    assert details["invoiceFee"] == "0.0125141"
    assert details["amount"] == "1.2625141"
    assert details["rateSources"] == [
        {"source": "fixed", "rate": "0.0125", "at": details["rateSources"][0]["at"], "via": None}
    ]
    assert WIRE_TIME.match(details["rateSources"][0]["at"])
    assert all(isinstance(v, str) for k, v in details.items() if k != "rateSources")
    assert view["invoiceContent"]["paymentCurrency"] == "ltc"
    assert WIRE_TIME.match(view["expiredAt"])
    for key in ("id", "createdAt", "company", "redirectURL"):
        assert view[key] == created[key]
    assert "invoiceTransactions" not in view  # nothing received yet

    quote = (await sql(db_url, "SELECT * FROM quotes WHERE invoice_id = $1", created["id"]))[0]
    assert (quote["asset"], quote["decimals"], int(quote["fee_units"]), int(quote["due_units"])) == (
        "ltc",
        8,
        1_251_410,
        126_251_410,
    )
    assert (int(quote["network_fee_units"]), quote["network_fee_source"], quote["rate_source"]) == (
        1410,
        "fallback",
        "fixed",
    )
    status, got = await api.call("GET", f"{CREATE}/{created['id']}")
    assert status == 200 and got == view


async def test_when_the_merchant_pays_the_fee_the_payer_sends_the_converted_total(api, company):
    await accept_ltc(api, company["publicToken"])
    created = await create_invoice(api, company["publicToken"], isMerchantPaysFee=True)
    status, view = await fill(api, created["id"])
    assert status == 200, view
    details = view["paymentDetails"]
    assert (details["amount"], details["invoiceFee"], details["networkFee"]) == ("1.25", "0.0125", "0")


async def test_proceed_writes_one_pending_event(api, company, db_url):
    await accept_ltc(api, company["publicToken"])
    view = await pending_invoice(api, company["publicToken"])
    rows = await sql(db_url, "SELECT type, status FROM events WHERE invoice_id = $1 ORDER BY seq", view["id"])
    assert [(r["type"], r["status"]) for r in rows] == [("invoice.created", "created"), ("invoice.pending", "pending")]


async def test_filling_twice_returns_the_same_address_and_quote(api, company, db_url):
    await accept_ltc(api, company["publicToken"])
    created = await create_invoice(api, company["publicToken"])
    _, first = await fill(api, created["id"], "ltc", "first@example.com")
    before = await row_counts(db_url)
    status, second = await fill(api, created["id"], "btc", "second@example.com")
    assert status == 200
    assert second == first
    assert await row_counts(db_url) == before
    index = await sql(db_url, "SELECT next_index FROM company_wallets WHERE company_id = $1", company["id"])
    assert index[0]["next_index"] == 1


async def test_a_preset_payment_currency_overrides_the_payers_choice(api, company):
    await accept_ltc(api, company["publicToken"])
    created = await create_invoice(api, company["publicToken"], paymentCurrency="ltc")
    status, view = await fill(api, created["id"], "btc")
    assert status == 200, view
    assert view["address"]["asset"] == "ltc"
    status, view = await api.call(
        "POST",
        f"{CREATE}/{(await create_invoice(api, company['publicToken'], paymentCurrency='ltc'))['id']}/proceed",
        json_body={"clientEmail": "payer@example.com"},
    )
    assert status == 200 and view["address"]["asset"] == "ltc"


@pytest.mark.parametrize(
    ("currency", "minutes"),
    [("btc", 120), ("ltc", 30)],
)
async def test_expiry_is_120_minutes_after_filling_for_btc_and_30_for_ltc(api, company, db_url, currency, minutes):
    token = company["publicToken"]
    await accept_ltc(api, token)
    await accept_btc(api, token)
    created = await create_invoice(api, token, invoiceCurrency="usd")
    status, view = await fill(api, created["id"], currency)
    assert status == 200, view
    row = (await sql(db_url, "SELECT filled_at, expires_at FROM invoices WHERE id = $1", created["id"]))[0]
    assert row["expires_at"] - row["filled_at"] == timedelta(minutes=minutes)
    assert view["expiredAt"] == wire_time(row["expires_at"])
    wire = datetime.fromisoformat(view["expiredAt"].replace("Z", "+00:00"))
    assert abs(wire - row["filled_at"] - timedelta(minutes=minutes)) < timedelta(milliseconds=1)


async def test_concurrent_fills_of_one_company_get_distinct_addresses_in_index_order(api, company, db_url):
    await accept_ltc(api, company["publicToken"])
    invoices = [await create_invoice(api, company["publicToken"]) for _ in range(20)]
    results = await asyncio.gather(*(fill(api, inv["id"]) for inv in invoices))
    assert [status for status, _ in results] == [200] * 20, results
    addresses = [view["address"]["address"] for _, view in results]
    assert len(set(addresses)) == 20
    assert set(addresses) == {derive_address("litecoin", "regtest", TPUB, i) for i in range(20)}
    rows = await sql(db_url, "SELECT derivation_index, address, invoice_id FROM addresses ORDER BY derivation_index")
    assert [r["derivation_index"] for r in rows] == list(range(20))
    by_invoice = {str(r["invoice_id"]): r["address"] for r in rows}
    assert all(by_invoice[view["id"]] == view["address"]["address"] for _, view in results)


async def test_a_fill_stuck_in_its_transaction_does_not_hold_up_the_merchants_other_fills(api, company, db_url):
    """The derivation index is taken before the fill's transaction, so the wallet row is not locked while a fill
    waits for anything else (here: its event insert, held by a trigger on an advisory lock)."""
    await accept_ltc(api, company["publicToken"])
    stuck, free = [await create_invoice(api, company["publicToken"]) for _ in range(2)]
    await sql(
        db_url,
        "CREATE FUNCTION wait_for_test() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        f" IF NEW.invoice_id = '{stuck['id']}' THEN PERFORM pg_advisory_xact_lock_shared(4242); END IF;"
        " RETURN NEW; END $$",
    )
    await sql(
        db_url, "CREATE TRIGGER wait_for_test BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION wait_for_test()"
    )
    holder = await asyncpg.connect(db_url)
    try:
        await holder.execute("SELECT pg_advisory_lock(4242)")
        first = asyncio.create_task(fill(api, stuck["id"]))
        for _ in range(100):  # until the stuck fill waits on the lock, inside its transaction
            waiting = await holder.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            if waiting:
                break
            await asyncio.sleep(0.05)
        assert waiting == 1
        status, view = await asyncio.wait_for(fill(api, free["id"]), 10)
        assert status == 200, view
        assert not first.done()
        assert view["address"]["address"] == derive_address("litecoin", "regtest", TPUB, 1)
        await holder.execute("SELECT pg_advisory_unlock(4242)")
        status, view = await asyncio.wait_for(first, 10)
        assert status == 200, view
        assert view["address"]["address"] == derive_address("litecoin", "regtest", TPUB, 0)
    finally:
        await holder.close()
    assert (await sql(db_url, "SELECT next_index FROM company_wallets"))[0]["next_index"] == 2


@pytest.mark.parametrize(
    "email",
    [
        "",
        "plain",
        "a@b",
        "a@@b.example",
        "a b@c.example",
        "a@b..example",
        "@b.example",
        "a@-b.example",
        "x" * 250 + "@b.example",
    ],
)
async def test_an_invalid_email_is_refused_and_nothing_changes(api, company, db_url, email):
    await accept_ltc(api, company["publicToken"])
    created = await create_invoice(api, company["publicToken"])
    before = await row_counts(db_url)
    status, body = await fill(api, created["id"], "ltc", email)
    assert status == 400, body
    assert body["error"]["field"] == "clientEmail"
    assert body["error"]["code"] in ("invalid_email", "too_long")
    assert await row_counts(db_url) == before
    _, got = await api.call("GET", f"{CREATE}/{created['id']}")
    assert got == created


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"paymentCurrency": "ltc"}, "required", "clientEmail"),
        ({"clientEmail": 5, "paymentCurrency": "ltc"}, "invalid_type", "clientEmail"),
        ({"clientEmail": "payer@example.com"}, "required", "paymentCurrency"),
        (
            {"clientEmail": "payer@example.com", "paymentCurrency": "doge"},
            "unknown_payment_currency",
            "paymentCurrency",
        ),
        (
            {"clientEmail": "payer@example.com", "paymentCurrency": "usdt"},
            "unknown_payment_currency",
            "paymentCurrency",
        ),
        ({"clientEmail": "payer@example.com", "paymentCurrency": 1}, "invalid_type", "paymentCurrency"),
        ({"clientEmail": "payer@example.com", "paymentCurrency": "btc"}, "asset_not_allowed", "paymentCurrency"),
        ({"clientEmail": "payer@example.com", "paymentCurrency": "trc20usdt"}, "asset_not_allowed", "paymentCurrency"),
        ({"clientEmail": "payer@example.com", "paymentCurrency": "sol"}, "asset_not_allowed", "paymentCurrency"),
        ({"clientEmail": "payer@example.com", "paymentCurrency": "ton"}, "asset_not_allowed", "paymentCurrency"),
        ([], "invalid_body", None),
    ],
)
async def test_bad_proceed_input_is_a_400_and_nothing_changes(api, company, db_url, body, code, field):
    await accept_ltc(api, company["publicToken"])
    created = await create_invoice(api, company["publicToken"])
    before = await row_counts(db_url)
    status, answer = await api.call("POST", f"{CREATE}/{created['id']}/proceed", json_body=body)
    assert_error(status, answer, 400, code, field)
    assert await row_counts(db_url) == before
    _, got = await api.call("GET", f"{CREATE}/{created['id']}")
    assert got["status"] == "created"


async def test_invalid_json_on_proceed_is_a_400(api, company):
    created = await create_invoice(api, company["publicToken"])
    status, body = await api.call("POST", f"{CREATE}/{created['id']}/proceed", raw=b"{oops")
    assert_error(status, body, 400, "invalid_json", None)


async def test_a_missing_rate_is_a_503_and_nothing_changes(api, company, db_url):
    await accept_btc(api, company["publicToken"])
    created = await create_invoice(api, company["publicToken"])  # eur; the test rates have no eur/btc
    before = await row_counts(db_url)
    status, body = await fill(api, created["id"], "btc")
    assert_error(status, body, 503, "rate_unavailable", "paymentCurrency")
    assert await row_counts(db_url) == before
    index = await sql(db_url, "SELECT next_index FROM company_wallets WHERE company_id = $1", company["id"])
    assert index[0]["next_index"] == 0


@pytest.mark.parametrize("status_now", ["expired", "done", "refunded", "failed"])
async def test_filling_a_closed_invoice_is_a_409(api, company, db_url, status_now):
    await accept_ltc(api, company["publicToken"])
    view = await pending_invoice(api, company["publicToken"])
    await sql(db_url, "UPDATE invoices SET status = $2 WHERE id = $1", view["id"], status_now)
    before = await row_counts(db_url)
    status, body = await fill(api, view["id"])
    assert_error(status, body, 409, "invoice_closed", "status")
    assert await row_counts(db_url) == before


@pytest.mark.parametrize("invoice_id", ["00000000-0000-0000-0000-000000000000", "nope"])
async def test_proceed_on_an_unknown_or_malformed_id_is_a_404(api, company, invoice_id):
    status, body = await fill(api, invoice_id)
    assert_error(status, body, 404, "invoice_not_found", "id")


async def test_filling_a_pending_invoice_past_its_expiry_is_a_409_before_the_job_runs(api, company, db_url):
    await accept_ltc(api, company["publicToken"])
    view = await pending_invoice(api, company["publicToken"])
    await sql(db_url, "UPDATE invoices SET expires_at = now() - interval '1 second' WHERE id = $1", view["id"])
    status, body = await fill(api, view["id"])
    assert_error(status, body, 409, "invoice_expired", "status")
