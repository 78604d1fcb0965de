-- The background refresh scan (`credentials_due`) stays flat however many
-- stored connections are expired or backing off (issue #11.3): such rows
-- are kept out of the index it walks instead of being read past each pass.
-- (0007 is the lead's.)
--
-- A copy of the connector's status on its credentials, so that one partial
-- index can hold only refreshable rows; kept by triggers, whatever writes.
ALTER TABLE credentials ADD COLUMN connector_status TEXT NOT NULL DEFAULT 'active';
UPDATE credentials cr SET connector_status = c.status FROM connectors c
WHERE c.app_id = cr.app_id AND c.integration_type = cr.integration_type
AND c.status <> cr.connector_status;

CREATE FUNCTION credentials_take_connector_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.connector_status := COALESCE(
        (SELECT status FROM connectors
         WHERE app_id = NEW.app_id AND integration_type = NEW.integration_type),
        NEW.connector_status);
    RETURN NEW;
END
$$;
CREATE TRIGGER credentials_take_connector_status BEFORE INSERT ON credentials
FOR EACH ROW EXECUTE FUNCTION credentials_take_connector_status();

CREATE FUNCTION credentials_follow_connector_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE credentials SET connector_status = NEW.status
    WHERE app_id = NEW.app_id AND integration_type = NEW.integration_type;
    RETURN NULL;
END
$$;
CREATE TRIGGER credentials_follow_connector_status AFTER UPDATE OF status ON connectors
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
EXECUTE FUNCTION credentials_follow_connector_status();

-- Credentials the scan may refresh as soon as they are within the margin
-- (no failure waiting out its backoff), in expiry order ...
DROP INDEX credentials_due;
CREATE INDEX credentials_due ON credentials (expires_at_ms)
    WHERE refresh_token IS NOT NULL AND expires_at_ms IS NOT NULL
    AND connector_status = 'active' AND next_refresh_at IS NULL;
-- ... and those backing off after a failed refresh, in retry order, so
-- that only the ones whose retry time has come are read.
CREATE INDEX credentials_retry ON credentials (next_refresh_at, expires_at_ms)
    WHERE refresh_token IS NOT NULL AND expires_at_ms IS NOT NULL
    AND connector_status = 'active' AND next_refresh_at IS NOT NULL;
