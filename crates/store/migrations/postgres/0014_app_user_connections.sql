-- PostgreSQL mirror of migrations/sqlite/0014_app_user_connections.sql.

-- App users' own connections of workspace connectors (#13.4): rows of the
-- connector tables under the slot `{type}~{connector id}~{user id}`; this
-- column names the user, so deleting the user (or the app) deletes their
-- connections and credentials, and an app's shared connections are those
-- without one.
ALTER TABLE connectors ADD COLUMN app_user_id TEXT
    REFERENCES app_users(id) ON DELETE CASCADE;
CREATE INDEX connectors_app_user ON connectors (app_user_id)
    WHERE app_user_id IS NOT NULL;

-- Where the user's browser goes after consent: an URL on one of the app's
-- allowed origins, chosen when the consent started.
ALTER TABLE oauth_attempts ADD COLUMN return_to TEXT;
