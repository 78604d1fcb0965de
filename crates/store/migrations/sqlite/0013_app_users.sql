-- App users (issue #13.3): the end users of an app, known by a token the
-- server minted or by the app's own identity provider. Keyed by (issuer,
-- subject), never by email, which is display only. `id` is opaque
-- (32 lowercase hex) so other keys can embed it. Times are Unix seconds;
-- last_seen_at is written coarsely, not on every request.
CREATE TABLE app_users (
    id            TEXT PRIMARY KEY,
    app_id        TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    email         TEXT,
    name          TEXT,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    UNIQUE (app_id, issuer, subject)
);

-- Per-app settings of app users: where browsers may come from and be sent
-- back to, and the app's own identity provider (all its columns NULL when
-- the app trusts none). allowed_origins and algorithms are JSON arrays.
CREATE TABLE app_user_settings (
    app_id              TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
    allowed_origins     TEXT NOT NULL,
    default_return_url  TEXT,
    idp_issuer          TEXT,
    idp_jwks_uri        TEXT,
    idp_audience        TEXT,
    idp_user_id_claim   TEXT,
    idp_email_claim     TEXT,
    idp_algorithms      TEXT,
    updated_at          INTEGER NOT NULL
);
