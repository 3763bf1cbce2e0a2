"""The Solana account scanner on the LiteSVM stand-in, through the HTTP API and PostgreSQL: Solana Pay payments
with their reference, without it (the unique amount), under, over, matching nothing, and failed."""

from __future__ import annotations

from decimal import Decimal

from tests.chains.shared_support import deposits_at, filled_invoice, listed_deposits, status_of, units
from tests.chains.watch_support import event_types


async def test_exact_payment_with_its_reference_is_seen_then_done_once_finalized(
    api, sol_merchant, pool, solana_node, sol_payer, sol_scanner
):
    view = await filled_invoice(api, sol_merchant, "sol")
    reference = view["address"]["reference"]
    assert view["address"]["address"] == sol_merchant["address"] and view["address"]["tag"] is None
    signature = sol_payer.pay(sol_merchant["address"], units(view), reference)
    await sol_scanner.poll()
    assert await status_of(api, view["id"]) == "processing"  # confirmed, not finalized
    solana_node.finalize()
    await sol_scanner.poll()
    assert await status_of(api, view["id"]) == "done"
    [dep] = await deposits_at(pool, "solana", sol_merchant["address"])
    assert (dep["txid"], dep["output_index"], int(dep["amount_units"])) == (signature, 0, units(view))
    assert (dep["credited"], dep["state"]) == (True, "confirmed")
    assert await event_types(pool, view["id"]) == [
        "invoice.created",
        "invoice.pending",
        "invoice.processing",
        "invoice.done",
    ]


async def test_underpaid_is_wrong_then_a_top_up_with_the_same_reference_makes_it_done(
    api, sol_merchant, pool, solana_node, sol_payer, sol_scanner
):
    view = await filled_invoice(api, sol_merchant, "sol")
    reference, due = view["address"]["reference"], units(view)
    sol_payer.pay(sol_merchant["address"], due - 1_000_000, reference)
    solana_node.finalize()
    await sol_scanner.poll()
    assert await status_of(api, view["id"]) == "wrong"
    _, body = await api.call("GET", f"/api/invoices/v1/regular/{view['id']}")
    assert body["paymentDetails"]["remaining"] == "0.001"
    sol_payer.pay(sol_merchant["address"], 1_000_000, reference)
    solana_node.finalize()
    await sol_scanner.poll()
    assert await status_of(api, view["id"]) == "done"
    assert [d["credited"] for d in await deposits_at(pool, "solana", sol_merchant["address"])] == [True, True]


async def test_overpaid_is_done_and_records_the_whole_amount(
    api, sol_merchant, pool, solana_node, sol_payer, sol_scanner
):
    view = await filled_invoice(api, sol_merchant, "sol")
    paid = units(view) + 2 * 10**9
    sol_payer.pay(sol_merchant["address"], paid, view["address"]["reference"])
    solana_node.finalize()
    await sol_scanner.poll()
    assert await status_of(api, view["id"]) == "done"
    _, body = await api.call("GET", f"/api/invoices/v1/regular/{view['id']}")
    assert Decimal(body["paymentDetails"]["received"]) == Decimal(paid).scaleb(-9)


async def test_the_exact_amount_without_a_reference_is_matched_by_the_unique_amount(
    api, sol_merchant, pool, solana_node, sol_payer, sol_scanner
):
    first = await filled_invoice(api, sol_merchant, "sol")
    second = await filled_invoice(api, sol_merchant, "sol")  # the same price: its due gets one lamport more
    assert units(second) == units(first) + 1
    sol_payer.pay(sol_merchant["address"], units(second))  # an exchange withdrawal: no reference
    solana_node.finalize()
    await sol_scanner.poll()
    assert await status_of(api, second["id"]) == "done"
    assert await status_of(api, first["id"]) == "pending"


async def test_a_payment_matching_nothing_is_recorded_as_no_invoice_and_listed(
    api, sol_merchant, pool, solana_node, sol_payer, sol_scanner
):
    view = await filled_invoice(api, sol_merchant, "sol")
    signature = sol_payer.pay(sol_merchant["address"], units(view) + 123)  # no reference, no invoice's amount
    solana_node.finalize()
    await sol_scanner.poll()
    assert await status_of(api, view["id"]) == "pending"
    [dep] = await deposits_at(pool, "solana", sol_merchant["address"])
    assert (dep["credited"], dep["reason"], dep["invoice_id"]) == (False, "no_invoice", None)
    [listed] = await listed_deposits(api, sol_merchant, credited="false", chain="solana")
    assert listed["txid"] == signature and listed["reason"] == "no_invoice" and listed["invoiceId"] is None
    assert listed["amountUnits"] == str(units(view) + 123) and listed["asset"] == "sol"
    payload = await pool.fetchval("SELECT payload FROM events WHERE type = 'deposit.not_credited' AND company_id = $1",
                                  __import__("uuid").UUID(sol_merchant["id"]))  # fmt: skip
    assert payload["deposit"]["txid"] == signature and payload["invoiceId"] is None


async def test_a_failed_transaction_records_nothing(api, sol_merchant, pool, solana_node, sol_payer, sol_scanner):
    view = await filled_invoice(api, sol_merchant, "sol")
    signature = sol_payer.pay(sol_merchant["address"], 10**18, view["address"]["reference"], skip_preflight=True)
    assert solana_node.landed[signature].err is not None  # it landed, failed, and paid its fee
    solana_node.finalize()
    await sol_scanner.poll()
    assert await status_of(api, view["id"]) == "pending"
    assert await deposits_at(pool, "solana", sol_merchant["address"]) == []


async def test_a_payment_to_a_closed_invoice_still_belongs_to_it_by_reference(
    api, sol_merchant, pool, solana_node, sol_payer, sol_scanner
):
    view = await filled_invoice(api, sol_merchant, "sol")
    reference = view["address"]["reference"]
    sol_payer.pay(sol_merchant["address"], units(view), reference)
    solana_node.finalize()
    await sol_scanner.poll()
    sol_payer.pay(sol_merchant["address"], 5_000, reference)  # paid twice: recorded on the same invoice
    solana_node.finalize()
    await sol_scanner.poll()
    deps = await deposits_at(pool, "solana", sol_merchant["address"])
    assert [str(d["invoice_id"]) for d in deps] == [view["id"], view["id"]]
    assert await status_of(api, view["id"]) == "done"
