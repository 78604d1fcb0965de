-- PostgreSQL mirror of migrations/sqlite/0001_init.sql: same tables and
-- rules, BIGINT where SQLite says INTEGER (Rust i64).

-- Initial schema. Secrets live only in columns documented as sealed
-- (AES-256-GCM text from connectors-vault); API keys and service tokens
-- only as SHA-256 hashes. Times are Unix seconds.

CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE builders (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    email         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    UNIQUE (workspace_id, email)
);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    builder_id    TEXT NOT NULL REFERENCES builders(id) ON DELETE CASCADE,
    key_hash      TEXT NOT NULL UNIQUE,
    display_prefix TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);

CREATE TABLE apps (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE service_tokens (
    id            TEXT PRIMARY KEY,
    app_id        TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    token_hash    TEXT NOT NULL UNIQUE,
    display_prefix TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);

-- One connector per type per app: the primary key enforces it.
CREATE TABLE connectors (
    app_id            TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    integration_type  TEXT NOT NULL,
    scopes            TEXT NOT NULL,                 -- JSON array, as declared
    granted_scopes    TEXT NOT NULL DEFAULT '[]',    -- JSON array, as consented
    status            TEXT NOT NULL CHECK (status IN ('active', 'disconnected', 'expired')),
    status_reason     TEXT,
    authorized_by     TEXT REFERENCES builders(id) ON DELETE SET NULL,
    connection_config TEXT,                          -- JSON object of strings
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    PRIMARY KEY (app_id, integration_type)
);

CREATE TABLE credentials (
    app_id             TEXT NOT NULL,
    integration_type   TEXT NOT NULL,
    access_token       TEXT NOT NULL,   -- sealed
    refresh_token      TEXT,            -- sealed
    token_response     TEXT,            -- sealed raw provider answer
    expires_at_ms      BIGINT,         -- Unix milliseconds: short-lived tokens need the precision
    version            BIGINT NOT NULL DEFAULT 1,
    lease_owner        TEXT,
    lease_expires_at   BIGINT,
    last_refresh_at    BIGINT,
    last_refresh_error TEXT,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (app_id, integration_type),
    FOREIGN KEY (app_id, integration_type)
        REFERENCES connectors(app_id, integration_type) ON DELETE CASCADE
);

CREATE TABLE oauth_attempts (
    connection_id     TEXT PRIMARY KEY,
    app_id            TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    integration_type  TEXT NOT NULL,
    scopes            TEXT NOT NULL,
    builder_id        TEXT REFERENCES builders(id) ON DELETE SET NULL,
    status            TEXT NOT NULL CHECK (status IN ('PENDING', 'ACTIVE', 'FAILED')),
    status_reason     TEXT,
    state_hash        TEXT UNIQUE,
    pkce_verifier     TEXT,             -- sealed
    browser_hash      TEXT,
    connection_config TEXT,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    completed_at      BIGINT
);

CREATE INDEX oauth_attempts_app_type ON oauth_attempts (app_id, integration_type);
CREATE INDEX credentials_expiry ON credentials (expires_at_ms);
