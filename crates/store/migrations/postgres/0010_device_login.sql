-- PostgreSQL mirror of migrations/sqlite/0010_device_login.sql.

-- Device-code login (RFC 8628) of `base44 login`, and the refresh tokens it
-- issues (#12). Times are Unix milliseconds: the poll interval is checked
-- to the second with a tolerance.

-- One row per `POST /oauth/device/code`. The device code itself is never
-- stored, only its SHA-256. A row is PENDING until a builder approves or
-- denies its user code; an APPROVED one becomes USED when its poll is
-- answered with tokens (exactly once).
CREATE TABLE device_codes (
    device_code_hash TEXT PRIMARY KEY,
    -- 8 characters of BCDFGHJKLMNPQRSTVWXZ, without the dash
    user_code TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    -- PENDING | APPROVED | DENIED | USED
    status TEXT NOT NULL,
    builder_id TEXT REFERENCES builders(id) ON DELETE CASCADE,
    interval_secs BIGINT NOT NULL,
    last_poll_at BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
-- A user code names one pending request at a time.
CREATE UNIQUE INDEX device_codes_pending_user_code ON device_codes (user_code)
    WHERE status = 'PENDING';
CREATE INDEX device_codes_expiry ON device_codes (expires_at);

-- One login (a device-code approval) = one refresh-token family. Revoking
-- it (reuse of a rotated token, or the builder's revocation) refuses every
-- refresh token of the family and the access tokens issued for it.
CREATE TABLE login_families (
    id TEXT PRIMARY KEY,
    builder_id TEXT NOT NULL REFERENCES builders(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    -- why: 'reuse' | 'revoked'
    revoked_reason TEXT
);
CREATE INDEX login_families_builder ON login_families (builder_id);

-- Refresh tokens by SHA-256; each is used once (rotated_at set when it is
-- exchanged for the next one).
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL REFERENCES login_families(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

-- A revoked login refuses its access tokens at once on every replica: the
-- principals cached from them are dropped (see 0007).
CREATE TRIGGER login_families_announce
    AFTER UPDATE OR DELETE ON login_families
    FOR EACH ROW EXECUTE FUNCTION connectors_announce_principals();
