-- Workspace connectors (#13.1): a workspace's own OAuth app for one
-- integration type, usable by every app of the workspace, for one shared
-- connection per app (a builder consents) and for each end user's own.
-- The id is 24 lowercase hex characters, Base44's id shape, so backend
-- functions written for Base44 keep their hard-coded ids' form.
CREATE TABLE workspace_connectors (
    id                  TEXT PRIMARY KEY,
    workspace_id        TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    integration_type    TEXT NOT NULL,
    name                TEXT NOT NULL,
    client_id           TEXT NOT NULL,
    client_secret       TEXT,            -- sealed; NULL for a public client
    scopes              TEXT NOT NULL,   -- JSON array, for new connections
    connection_config   TEXT NOT NULL,   -- JSON object of strings
    builder_enabled     INTEGER NOT NULL,  -- 1: apps' builders may connect
    per_user_enabled    INTEGER NOT NULL,  -- 1: apps' end users may connect
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);

-- The connections made through one: `connectors.integration_type` then holds
-- the connection's slot, `{type}~{connector id}` for an app's shared
-- connection (the wire type's pattern has no `~`, so an app's own
-- connectors, keyed by their bare type, never collide), and this column
-- names the connector, so deleting it deletes its connections and their
-- credentials.
ALTER TABLE connectors ADD COLUMN workspace_connector_id TEXT
    REFERENCES workspace_connectors(id) ON DELETE CASCADE;
CREATE INDEX connectors_workspace_connector ON connectors (workspace_connector_id)
    WHERE workspace_connector_id IS NOT NULL;
