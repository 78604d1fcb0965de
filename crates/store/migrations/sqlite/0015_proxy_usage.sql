-- Calls through the callApi proxy per app and UTC month (#14.6), counted
-- only when the operator sets `[proxy] monthly_calls`; replicas share the
-- count, so the quota holds across them.
CREATE TABLE proxy_usage (
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    month TEXT NOT NULL,
    calls INTEGER NOT NULL,
    PRIMARY KEY (app_id, month)
);
