-- Connection events and their webhooks (#15).
--
-- An event is written in the same transaction as the change it reports
-- (the transactional outbox), numbered per app: `apps.event_seq` is taken
-- by an UPDATE of the app's row, which serializes an app's event writers,
-- so an app's numbers commit in order and a reader resuming after a number
-- never skips one that commits later.
ALTER TABLE apps ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 0;

CREATE TABLE events (
    app_id      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    id          TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (app_id, seq)
);
CREATE INDEX events_created ON events (created_at);

-- An app's webhook endpoints; secrets sealed, the previous one kept for an
-- overlap after a rotation so receivers can switch without a gap.
CREATE TABLE webhook_endpoints (
    id                          TEXT PRIMARY KEY,
    app_id                      TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    url                         TEXT NOT NULL,
    description                 TEXT,
    all_events                  INTEGER NOT NULL,
    secret                      TEXT NOT NULL,
    previous_secret             TEXT,
    previous_secret_expires_at  INTEGER,
    disabled_at                 INTEGER,
    disabled_reason             TEXT,
    failing_since               INTEGER,
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL
);
CREATE INDEX webhook_endpoints_app ON webhook_endpoints (app_id);

CREATE TABLE webhook_endpoint_events (
    endpoint_id  TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_type   TEXT NOT NULL,
    PRIMARY KEY (endpoint_id, event_type)
);

-- One message to one endpoint, with its own copy of the event (a test
-- event is in no app's log, and retention may drop the log's copy first).
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    app_id           TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    data             TEXT NOT NULL,
    event_created_at INTEGER NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    claimed_by       TEXT,
    claimed_until    INTEGER,
    last_status      INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_updated ON webhook_deliveries (updated_at);

CREATE TABLE webhook_attempts (
    delivery_id      TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt          INTEGER NOT NULL,
    endpoint_id      TEXT NOT NULL,
    at               INTEGER NOT NULL,
    status_code      INTEGER,
    error            TEXT,
    response_excerpt TEXT,
    duration_ms      INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, at);
