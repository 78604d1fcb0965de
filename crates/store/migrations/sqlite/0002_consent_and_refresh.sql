-- Consent and refresh bookkeeping.
-- oauth_attempts.expires_at becomes the state's expiry (10 minutes) once
-- consent starts; refresh failures are counted for backoff.
ALTER TABLE credentials ADD COLUMN refresh_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE credentials ADD COLUMN next_refresh_at INTEGER;
