-- PostgreSQL mirror of migrations/sqlite/0011_credential_last_use.sql.

-- When each API key and service token was last used (Unix seconds; NULL:
-- never), for the dashboard's listing (#12.3). 0005 dropped the column
-- because writing it on every request would make each check a write: it is
-- now written coarsely instead, only when a check reads the database (a
-- miss of the principal cache) and the stored value is a minute old or
-- more, by one conditional UPDATE on the primary key.
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
ALTER TABLE service_tokens ADD COLUMN last_used_at BIGINT;

-- A recorded use changes no checked principal, so it announces nothing
-- (0007 announced every UPDATE, which would empty every replica's principal
-- cache at each recorded use). Every other change of a row still does,
-- columns added later included.
DROP TRIGGER api_keys_announce ON api_keys;
CREATE TRIGGER api_keys_announce_delete
    AFTER DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION connectors_announce_principals();
CREATE TRIGGER api_keys_announce_update
    AFTER UPDATE ON api_keys
    FOR EACH ROW
    WHEN ((to_jsonb(OLD) - 'last_used_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at'))
    EXECUTE FUNCTION connectors_announce_principals();

DROP TRIGGER service_tokens_announce ON service_tokens;
CREATE TRIGGER service_tokens_announce_delete
    AFTER DELETE ON service_tokens
    FOR EACH ROW EXECUTE FUNCTION connectors_announce_principals();
CREATE TRIGGER service_tokens_announce_update
    AFTER UPDATE ON service_tokens
    FOR EACH ROW
    WHEN ((to_jsonb(OLD) - 'last_used_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at'))
    EXECUTE FUNCTION connectors_announce_principals();
