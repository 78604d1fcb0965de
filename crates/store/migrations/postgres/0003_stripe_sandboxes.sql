-- PostgreSQL mirror of migrations/sqlite/0003_stripe_sandboxes.sql.

-- One Stripe claimable sandbox per app. A row without sandbox_id is a
-- provisioning claim: its owner is creating the sandbox at Stripe until
-- provisioning_expires_at, after which another process may take over.
CREATE TABLE stripe_sandboxes (
    app_id TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    provisioning_owner TEXT,
    provisioning_expires_at BIGINT,
    sandbox_id TEXT UNIQUE,
    account_id TEXT,
    -- sealed (connectors-vault), bound to `stripe_sandboxes:<app_id>:secret_key`
    secret_key TEXT,
    publishable_key TEXT,
    -- unclaimed | claimed | live | expired, as Stripe last reported it
    status TEXT,
    claim_url TEXT,
    -- Unix seconds
    claim_url_expires_at BIGINT,
    -- the random token of our refresh URL: sealed (`…:refresh_token`), and
    -- its SHA-256 to find the row
    refresh_token TEXT,
    refresh_token_hash TEXT UNIQUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
