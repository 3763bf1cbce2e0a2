"""The invoice view query's plan does not depend on the statistics: a page of the invoice list probes each
invoice's quote and live address by index, even when the statistics still say those tables are empty."""

import uuid

from coinvoice.db.account import LIST_SQL


def scans(plan: dict, relation: str) -> list[dict]:
    """Every node of ``plan`` (EXPLAIN ... FORMAT JSON) that reads ``relation``."""
    found = [plan] if plan.get("Relation Name") == relation else []
    for child in plan.get("Plans", []):
        found += scans(child, relation)
    return found


async def test_a_list_page_probes_quotes_and_addresses_per_invoice_whatever_the_statistics(pool, company):
    company_id = uuid.UUID(company["id"])
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO invoices (id, company_id, status, invoice_currency, items, total, created_at)"
            " SELECT gen_random_uuid(), $1, 'pending', 'eur', '[]', 1, now() - g * interval '1 second'"
            "   FROM generate_series(1, 3000) g",
            company_id,
        )
        await conn.execute("ANALYZE")  # then the quotes and addresses arrive: the statistics say there are none
        await conn.execute(
            "INSERT INTO quotes (invoice_id, asset, decimals, rate, fee_units, due_units, rate_source)"
            " SELECT id, 'ltc', 8, 1, 0, 100, 'test' FROM invoices"
        )
        await conn.execute(
            "INSERT INTO addresses (id, chain, address, company_id, invoice_id)"
            " SELECT gen_random_uuid(), 'litecoin', 'addr-' || id, company_id, id FROM invoices"
        )
        args = (company_id, None, None, None, None, None, 21, None, None)
        rows = await conn.fetch(LIST_SQL, *args)
        explained = await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + LIST_SQL, *args)
    assert len(rows) == 21 and all(r["address"] and r["quote_asset"] == "ltc" for r in rows)
    plan = explained[0]["Plan"]  # the pool decodes json
    for relation in ("quotes", "addresses"):
        nodes = scans(plan, relation)
        assert nodes, relation
        for node in nodes:  # one index probe per invoice of the page, never a pass over the whole table
            assert node["Node Type"] in ("Index Scan", "Index Only Scan"), (relation, node["Node Type"])
            assert node["Actual Rows"] <= 1 and node["Actual Loops"] <= 21, (relation, node)
