-- The audit trail (issue #15.5): who did what, when, from where, to which
-- workspace or app. Append-only: rows are inserted, and deleted only by the
-- retention purge (`[audit] retention_days`); a trigger refuses every
-- UPDATE. `id` is the readers' cursor: AUTOINCREMENT never reuses an id,
-- even after the newest rows were purged, and SQLite's one writer commits
-- them in id order. No foreign keys: the trail outlives what it names.
-- `at` is Unix milliseconds. No column ever holds a secret: `target` names
-- a type, a connector id or a key's display prefix.
CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id    TEXT NOT NULL,
    app_id          TEXT,
    at              INTEGER NOT NULL,
    actor_kind      TEXT NOT NULL,
    actor_id        TEXT,
    actor_label     TEXT,
    action          TEXT NOT NULL,
    target          TEXT,
    detail          TEXT,
    client_address  TEXT,
    request_id      TEXT
);
CREATE INDEX audit_log_workspace ON audit_log (workspace_id, id);
CREATE INDEX audit_log_app ON audit_log (app_id, id);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
