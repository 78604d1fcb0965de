-- Mirror of migrations/postgres/0007_change_notify.sql, which makes
-- PostgreSQL announce changes to every server (LISTEN/NOTIFY). SQLite has
-- no such channel: a server on SQLite invalidates its own cached reads as
-- it writes, and bounds their age for what other processes (admin
-- commands) write. Nothing to change here.
SELECT 1;
