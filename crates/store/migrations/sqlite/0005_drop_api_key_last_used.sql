-- Nothing ever wrote api_keys.last_used_at, and writing it on every
-- authenticated request would make each API-key check a write. Dropped
-- rather than left to look meaningful.
ALTER TABLE api_keys DROP COLUMN last_used_at;
