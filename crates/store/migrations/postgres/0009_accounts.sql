-- Builder accounts that sign in (issue #12.1): a password, one-time
-- invites, server-side sessions and the failed sign-ins that rate-limit
-- guessing. Secrets only as hashes: the password as an argon2id PHC
-- string, invite tokens and session ids as SHA-256. Times are Unix seconds.
-- (0010 is the device-code login's.)

ALTER TABLE builders ADD COLUMN password_hash TEXT;

-- At most one live invite per builder: a new one replaces the older ones.
CREATE TABLE builder_invites (
    token_hash  TEXT PRIMARY KEY,
    builder_id  TEXT NOT NULL REFERENCES builders(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX builder_invites_builder ON builder_invites (builder_id);

-- In the database rather than in memory, so every replica knows them.
CREATE TABLE builder_sessions (
    id_hash       TEXT PRIMARY KEY,
    builder_id    TEXT NOT NULL REFERENCES builders(id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL
);
CREATE INDEX builder_sessions_builder ON builder_sessions (builder_id);
CREATE INDEX builder_sessions_last_seen ON builder_sessions (last_seen_at);

-- One row per failed sign-in under each limit it counts against
-- (`account:<email>`, `address:<ip>`); rows older than the window go.
CREATE TABLE signin_failures (
    limit_key  TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX signin_failures_key ON signin_failures (limit_key, at);
CREATE INDEX signin_failures_at ON signin_failures (at);
