"""The invoice list's work does not depend on the statistics: a page walks the company's invoices in index order
and stops at the page, and probes each invoice's quote and live address by index, even when the statistics
still say those tables are empty (as they do for a while after fast growth)."""

import uuid

from coinvoice.db.account import LIST_SQL


def scans(plan: dict, relation: str) -> list[dict]:
    """Every node of ``plan`` (EXPLAIN ... FORMAT JSON) that reads ``relation``."""
    found = [plan] if plan.get("Relation Name") == relation else []
    for child in plan.get("Plans", []):
        found += scans(child, relation)
    return found


async def test_a_list_page_reads_a_page_not_the_company_whatever_the_statistics(pool, company):
    company_id = uuid.UUID(company["id"])
    async with pool.acquire() as conn:
        await conn.execute("ANALYZE")  # the statistics say the company has no invoices; then 6,000 arrive
        await conn.execute(
            "INSERT INTO invoices (id, company_id, status, invoice_currency, items, total, created_at)"
            " SELECT gen_random_uuid(), $1, 'pending', 'eur', '[]', 1, now() - g * interval '1 second'"
            "   FROM generate_series(1, 6000) g",
            company_id,
        )
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
        explained = await conn.fetchval("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + LIST_SQL, *args)
    assert len(rows) == 21 and all(r["address"] and r["quote_asset"] == "ltc" for r in rows)
    plan = explained[0]["Plan"]  # the pool decodes json
    # a page's worth of pages: 134 here; a bitmap scan of the 6,000 invoices and a sort read 277
    assert plan["Shared Hit Blocks"] + plan["Shared Read Blocks"] < 200, plan["Shared Hit Blocks"]
    for relation in ("quotes", "addresses"):
        nodes = scans(plan, relation)
        assert nodes, relation
        for node in nodes:  # one index probe per invoice of the page, never a pass over the whole table
            assert node["Node Type"] in ("Index Scan", "Index Only Scan"), (relation, node["Node Type"])
            assert node["Actual Rows"] <= 1 and node["Actual Loops"] <= 21, (relation, node)
