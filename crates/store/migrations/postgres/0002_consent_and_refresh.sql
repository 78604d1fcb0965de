-- PostgreSQL mirror of migrations/sqlite/0002_consent_and_refresh.sql.
-- Consent and refresh bookkeeping.
-- oauth_attempts.expires_at becomes the state's expiry (10 minutes) once
-- consent starts; refresh failures are counted for backoff.
ALTER TABLE credentials ADD COLUMN refresh_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE credentials ADD COLUMN next_refresh_at BIGINT;
