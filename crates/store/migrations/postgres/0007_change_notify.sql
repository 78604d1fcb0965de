-- Announces every committed change that a cached read may depend on, on
-- the channel `connectors_changes`, from the transaction that makes it:
-- NOTIFY is delivered at commit and only if the transaction commits, so no
-- change goes unannounced (whoever writes: a replica, an admin command, a
-- hand-run UPDATE) and none is announced that did not happen. Servers
-- LISTEN and drop the cached reads each payload names.
--
-- Payloads: {"app_id": …, "integration_type": …} for a connector or its
-- credentials; {"principals": true} for an API key or service token.
-- Lease bookkeeping on credentials (taken, released, in flight) and
-- re-sealing under a new key change no cached answer, so they send
-- nothing: the credentials trigger fires on a new token, expiry or version.

CREATE FUNCTION connectors_announce_connector() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed_app  TEXT;
    changed_type TEXT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed_app := OLD.app_id;
        changed_type := OLD.integration_type;
    ELSE
        changed_app := NEW.app_id;
        changed_type := NEW.integration_type;
    END IF;
    PERFORM pg_notify('connectors_changes',
        json_build_object('app_id', changed_app, 'integration_type', changed_type)::text);
    RETURN NULL;
END
$$;

CREATE FUNCTION connectors_announce_principals() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('connectors_changes', '{"principals": true}');
    RETURN NULL;
END
$$;

CREATE TRIGGER connectors_announce
    AFTER INSERT OR UPDATE OR DELETE ON connectors
    FOR EACH ROW EXECUTE FUNCTION connectors_announce_connector();

CREATE TRIGGER credentials_announce_row
    AFTER INSERT OR DELETE ON credentials
    FOR EACH ROW EXECUTE FUNCTION connectors_announce_connector();

CREATE TRIGGER credentials_announce_tokens
    AFTER UPDATE ON credentials
    FOR EACH ROW
    WHEN (OLD.version IS DISTINCT FROM NEW.version
       OR OLD.expires_at_ms IS DISTINCT FROM NEW.expires_at_ms
       OR OLD.updated_at IS DISTINCT FROM NEW.updated_at)
    EXECUTE FUNCTION connectors_announce_connector();

CREATE TRIGGER api_keys_announce
    AFTER UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION connectors_announce_principals();

CREATE TRIGGER service_tokens_announce
    AFTER UPDATE OR DELETE ON service_tokens
    FOR EACH ROW EXECUTE FUNCTION connectors_announce_principals();
