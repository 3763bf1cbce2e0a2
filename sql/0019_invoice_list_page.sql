-- The merchant's invoice list cuts its page here: the company's invoices newest first, filtered, at most p_limit.
-- The planner's choice for that page depends on the statistics: when they lag behind a merchant whose invoices
-- grew fast (autoanalyze waits for a tenth of the table to change), it estimated a handful of rows for the company
-- and read all of them in a bitmap scan, then sorted them to keep 21 (8.8 ms at 10,000 invoices, against 0.3 ms
-- walking the (company_id, created_at DESC, id DESC) index and stopping at the page). The function plans its body
-- with bitmap and sequential scans off, so the page is always that ordered walk, whatever the statistics say.
-- The settings hold for the function's query only. In PL/pgSQL its plan is cached per connection (a SQL function
-- with SET clauses is planned again at every call: 0.45 ms of a 0.9 ms page).
CREATE FUNCTION coinvoice_invoice_page(
    p_company uuid, p_statuses text[], p_from timestamptz, p_to timestamptz, p_after_at timestamptz,
    p_after_id uuid, p_limit integer, p_search text, p_pattern text
) RETURNS SETOF invoices LANGUAGE plpgsql STABLE
  SET enable_bitmapscan = off SET enable_seqscan = off
AS $$
BEGIN
    RETURN QUERY SELECT * FROM invoices i
     WHERE i.company_id = p_company AND i.deleted_at IS NULL
       AND (p_statuses IS NULL OR i.status = ANY (p_statuses))
       AND (p_from IS NULL OR i.created_at >= p_from) AND (p_to IS NULL OR i.created_at < p_to)
       AND (p_after_at IS NULL OR (i.created_at, i.id) < (p_after_at, p_after_id))
       -- search: the invoice id, the billing reference or the payer's email (a part of it, any case)
       AND (p_search IS NULL OR i.id::text = lower(p_search) OR i.reference ILIKE p_pattern
            OR i.client_email ILIKE p_pattern)
     ORDER BY i.created_at DESC, i.id DESC
     LIMIT p_limit;
END
$$;
