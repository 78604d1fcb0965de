-- When each API key and service token was last used (Unix seconds; NULL:
-- never), for the dashboard's listing (#12.3). 0005 dropped the column
-- because writing it on every request would make each check a write: it is
-- now written coarsely instead, only when a check reads the database (a
-- miss of the principal cache) and the stored value is a minute old or
-- more, by one conditional UPDATE on the primary key.
ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER;
ALTER TABLE service_tokens ADD COLUMN last_used_at INTEGER;
