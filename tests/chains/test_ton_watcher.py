"""The TON account scanner on the toncenter v2 stand-in, through the HTTP API and PostgreSQL: payments with their
comment, without it (the unique amount), under, over, matching nothing, bounced, and the API key."""

from __future__ import annotations

import uuid
from decimal import Decimal

from tests.chains.shared_fixtures import TON_API_KEY
from tests.chains.shared_support import deposits_at, filled_invoice, listed_deposits, status_of, units
from tests.chains.watch_support import event_types
from tests.support.ton_standin import NANOTONS, TonWallet


async def test_exact_payment_with_its_comment_makes_the_invoice_done(
    api, ton_merchant, pool, ton_node, ton_payer, ton_scanner
):
    view = await filled_invoice(api, ton_merchant, "ton")
    comment = view["address"]["tag"]
    assert view["address"]["address"] == ton_merchant["address"] and len(comment) == 8
    assert "reference" not in view["address"]
    txid = ton_payer.pay(ton_merchant["address"], units(view), comment)
    await ton_scanner.poll()
    assert await status_of(api, view["id"]) == "done"  # one masterchain block: final
    [dep] = await deposits_at(pool, "ton", ton_merchant["address"])
    assert (dep["txid"], int(dep["amount_units"]), dep["tag"], dep["credited"]) == (txid, units(view), comment, True)
    assert await event_types(pool, view["id"]) == ["invoice.created", "invoice.pending", "invoice.done"]


async def test_a_comment_typed_in_lower_case_with_spaces_still_matches(
    api, ton_merchant, pool, ton_node, ton_payer, ton_scanner
):
    view = await filled_invoice(api, ton_merchant, "ton")
    comment = view["address"]["tag"]
    ton_payer.pay(ton_merchant["address"], units(view) + 7, f" {comment[:4].lower()} {comment[4:].lower()} ")
    await ton_scanner.poll()
    assert await status_of(api, view["id"]) == "done"


async def test_underpaid_is_wrong_then_a_top_up_with_the_comment_makes_it_done(
    api, ton_merchant, pool, ton_node, ton_payer, ton_scanner
):
    view = await filled_invoice(api, ton_merchant, "ton")
    comment, due = view["address"]["tag"], units(view)
    ton_payer.pay(ton_merchant["address"], due - 10_000_000, comment)
    await ton_scanner.poll()
    assert await status_of(api, view["id"]) == "wrong"
    ton_payer.pay(ton_merchant["address"], 10_000_000, comment)
    await ton_scanner.poll()
    assert await status_of(api, view["id"]) == "done"
    assert await event_types(pool, view["id"]) == [
        "invoice.created",
        "invoice.pending",
        "invoice.wrong",
        "invoice.done",
    ]


async def test_overpaid_is_done_and_records_the_whole_amount(api, ton_merchant, pool, ton_payer, ton_scanner):
    view = await filled_invoice(api, ton_merchant, "ton")
    paid = units(view) + 3 * NANOTONS
    ton_payer.pay(ton_merchant["address"], paid, view["address"]["tag"])
    await ton_scanner.poll()
    assert await status_of(api, view["id"]) == "done"
    _, body = await api.call("GET", f"/api/invoices/v1/regular/{view['id']}")
    assert Decimal(body["paymentDetails"]["received"]) == Decimal(paid).scaleb(-9)


async def test_the_exact_amount_without_a_comment_is_matched_by_the_unique_amount(
    api, ton_merchant, pool, ton_payer, ton_scanner
):
    first = await filled_invoice(api, ton_merchant, "ton")
    second = await filled_invoice(api, ton_merchant, "ton")
    assert units(second) == units(first) + 1
    ton_payer.pay(ton_merchant["address"], units(first))  # forgot the comment
    await ton_scanner.poll()
    assert await status_of(api, first["id"]) == "done"
    assert await status_of(api, second["id"]) == "pending"


async def test_a_payment_matching_nothing_is_recorded_as_no_invoice_and_listed(
    api, ton_merchant, pool, ton_payer, ton_scanner
):
    view = await filled_invoice(api, ton_merchant, "ton")
    txid = ton_payer.pay(ton_merchant["address"], units(view) + 500, "not-an-invoice")
    await ton_scanner.poll()
    assert await status_of(api, view["id"]) == "pending"
    [dep] = await deposits_at(pool, "ton", ton_merchant["address"])
    assert (dep["credited"], dep["reason"], dep["invoice_id"], dep["tag"]) == (
        False,
        "no_invoice",
        None,
        "not-an-invoice",
    )
    [listed] = await listed_deposits(api, ton_merchant, credited="false", chain="ton")
    assert (listed["txid"], listed["reason"], listed["tag"]) == (txid, "no_invoice", "not-an-invoice")
    assert listed["txHash"].endswith(txid)
    events = await pool.fetch(
        "SELECT type FROM events WHERE company_id = $1 AND invoice_id IS NULL", uuid.UUID(ton_merchant["id"])
    )
    assert [e["type"] for e in events] == ["deposit.not_credited"]


async def test_a_payment_bounced_back_by_a_wallet_not_deployed_yet_records_nothing(
    api, company, pool, ton_node, ton_payer, ton_scanner
):
    fresh = TonWallet(ton_node)  # never deployed: a bounceable payment comes back to the payer
    from tests.chains.shared_support import accept_shared

    await accept_shared(api, company, "ton", fresh.friendly)
    view = await filled_invoice(api, company, "ton")
    before = ton_node.account(ton_payer.friendly).balance
    ton_payer.pay(view["address"]["address"], units(view), view["address"]["tag"], bounce=True)
    assert ton_node.account(fresh.friendly).balance == 0
    assert ton_node.account(ton_payer.friendly).balance > before - units(view)  # most of it came back
    await ton_scanner.poll()
    assert await status_of(api, view["id"]) == "pending"
    assert await deposits_at(pool, "ton", view["address"]["address"]) == []


async def test_a_non_bounceable_payment_kept_by_a_wallet_not_deployed_yet_counts(
    api, company, pool, ton_node, ton_payer, ton_scanner
):
    fresh = TonWallet(ton_node)
    from tests.chains.shared_support import accept_shared

    await accept_shared(api, company, "ton", fresh.friendly)
    view = await filled_invoice(api, company, "ton")
    ton_payer.pay(view["address"]["address"], units(view), view["address"]["tag"], bounce=False)
    assert ton_node.account(fresh.friendly).balance == units(view)  # aborted, but the value stayed
    await ton_scanner.poll()
    assert await status_of(api, view["id"]) == "done"


async def test_the_merchants_own_bounced_message_coming_back_is_not_a_payment(
    api, ton_merchant, pool, ton_node, ton_scanner
):
    view = await filled_invoice(api, ton_merchant, "ton")
    nowhere = TonWallet(ton_node)
    ton_node.faucet(ton_merchant["address"], 10 * NANOTONS)
    # the merchant's wallet sends the exact amount due to an account that does not exist: it bounces back
    ton_merchant["wallet"].pay(ton_node.friendly(nowhere.address, True), units(view) + 400_000, bounce=True)
    await ton_scanner.poll()
    assert await deposits_at(pool, "ton", ton_merchant["address"]) == []
    assert await status_of(api, view["id"]) == "pending"


async def test_the_api_key_is_sent_as_x_api_key(api, ton_merchant, ton_node, ton_payer, ton_scanner):
    await filled_invoice(api, ton_merchant, "ton")
    ton_node.requests.clear()
    await ton_scanner.poll()
    assert ton_node.requests and {key for _, _, key in ton_node.requests} == {TON_API_KEY}
    assert {method for method, _, _ in ton_node.requests} == {"getMasterchainInfo", "getTransactions"}
