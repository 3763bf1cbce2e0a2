-- Processes cache company profiles and token lookups; any change to these tables tells them to drop it.

CREATE FUNCTION coinvoice_notify_company_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('coinvoice_company_change', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER companies_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON companies
    FOR EACH STATEMENT EXECUTE FUNCTION coinvoice_notify_company_change();
CREATE TRIGGER api_tokens_changed AFTER UPDATE OR DELETE OR TRUNCATE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION coinvoice_notify_company_change();
CREATE TRIGGER company_assets_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON company_assets
    FOR EACH STATEMENT EXECUTE FUNCTION coinvoice_notify_company_change();
