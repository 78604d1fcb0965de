-- Indexes so the token path and the background refresh scan stay flat with
-- the number of stored connections (issue #11.3; plans checked by the
-- store's `query_plans` test).
--
-- The background scan (`credentials_due`) walks credentials in expiry
-- order; tokens without a refresh token can never be refreshed, so they
-- stay out of the index instead of being walked past on every pass.
DROP INDEX credentials_expiry;
CREATE INDEX credentials_due ON credentials (expires_at_ms)
    WHERE refresh_token IS NOT NULL AND expires_at_ms IS NOT NULL;
-- A workspace's apps (`list_apps`), without reading every app.
CREATE INDEX apps_workspace ON apps (workspace_id, created_at, id);
