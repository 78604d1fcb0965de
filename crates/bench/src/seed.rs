//! Bulk seeding for `--stored N`: apps, their service tokens, connectors
//! and credentials written straight into the server's database in bulk
//! (SQLite: one transaction of multi-row prepared inserts; PostgreSQL: one
//! transaction of `UNNEST` array inserts), so 1,000,000 connections take
//! minutes, not the hours the engine's one-by-one import would.
//!
//! The rows are real: tokens are sealed with the server's key ring and the
//! associated data the engine uses (`credentials_context`), service tokens
//! are stored as the engine stores them (SHA-256 of a `b44s_` token), so
//! the server reads any seeded connector like one it wrote itself. A bench
//! fixture, not a store API: the SQL follows `crates/store/migrations`.
//!
//! Each growth inserts its new apps in id order (ids are random, as the
//! engine's are): the B-tree inserts stay sequential, which is what makes
//! the bulk load fast; reads are then spread by the random hot set.

use std::time::{Duration, Instant};

use anyhow::Context;
use connectors_store::credentials_context;
use connectors_vault::{generate_token, hash_token, KeyRing, Secret};
use rand::{Rng, RngCore};
use sqlx::{Connection, PgConnection, SqliteConnection};

/// Connectors per seeded app, one of each type.
pub const TYPES_PER_APP: usize = 10;

/// The engine's service-token prefix (`principal::SERVICE_TOKEN_PREFIX`):
/// `authenticate` tells service tokens from API keys by it.
const SERVICE_TOKEN_PREFIX: &str = "b44s_";

/// Apps sealed and inserted per round.
const APPS_PER_CHUNK: usize = 1_000;

/// The integration types of every seeded app (custom providers in the
/// server's config).
pub fn types() -> Vec<String> {
    (0..TYPES_PER_APP).map(|i| format!("seed{i}")).collect()
}

/// The plaintext access token seeded for app number `app` and `ty`, so a
/// read can be checked against it.
pub fn access_token(app: usize, ty: &str) -> String {
    format!("seed-access-{app}-{ty}")
}

/// One seeded app: its id and the service token its functions use.
pub struct SeededApp {
    pub id: String,
    pub token: Secret,
}

enum Db {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// Column values of one bulk insert.
enum Column {
    Text(Vec<String>),
    Int(Vec<i64>),
}

/// Seeds into one database, growing it in steps.
pub struct Seeder {
    db: Db,
    keys: KeyRing,
    workspace_id: String,
    types: Vec<String>,
    /// Every seeded app, in seeding order.
    pub apps: Vec<SeededApp>,
}

impl Seeder {
    /// Opens the (migrated) database of `url`; apps go to `workspace_id`.
    pub async fn connect(url: &str, keys: KeyRing, workspace_id: String) -> anyhow::Result<Self> {
        let db = if url.starts_with("sqlite:") {
            let mut c = SqliteConnection::connect(url)
                .await
                .context("opening the SQLite database to seed")?;
            // Room for the indexes being filled (pages, not rows).
            sqlx::query("PRAGMA cache_size = -262144")
                .execute(&mut c)
                .await?;
            Db::Sqlite(c)
        } else {
            Db::Postgres(
                PgConnection::connect(url)
                    .await
                    .context("opening the PostgreSQL database to seed")?,
            )
        };
        Ok(Self {
            db,
            keys,
            workspace_id,
            types: types(),
            apps: Vec::new(),
        })
    }

    /// Connections stored by the seeded apps.
    pub fn connections(&self) -> usize {
        self.apps.len() * self.types.len()
    }

    /// Adds apps until at least `connections` connections are stored, in
    /// one transaction; how long it took.
    pub async fn grow_to(&mut self, connections: usize) -> anyhow::Result<Duration> {
        let start = Instant::now();
        let want = connections.div_ceil(self.types.len());
        let mut new: Vec<SeededApp> = (self.apps.len()..want)
            .map(|_| SeededApp {
                id: random_hex(12),
                token: generate_token(SERVICE_TOKEN_PREFIX, 32),
            })
            .collect();
        new.sort_by(|a, b| a.id.cmp(&b.id));
        let first = self.apps.len();
        self.begin().await?;
        for (c, chunk) in new.chunks(APPS_PER_CHUNK).enumerate() {
            let from = first + c * APPS_PER_CHUNK;
            self.insert_chunk(from, chunk).await?;
            eprint!(
                "\rseeding: {} / {} connections",
                (from + chunk.len()) * self.types.len(),
                want * self.types.len()
            );
        }
        eprintln!();
        self.commit().await?;
        if let Db::Sqlite(c) = &mut self.db {
            // Into the database file: a server reading past a WAL of the
            // whole load would measure the seeding, not the store.
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(c)
                .await?;
        }
        if let Db::Postgres(c) = &mut self.db {
            // Planner statistics, as autovacuum would have them by now.
            sqlx::query("ANALYZE apps, service_tokens, connectors, credentials")
                .execute(c)
                .await?;
        }
        self.apps.extend(new);
        Ok(start.elapsed())
    }

    async fn insert_chunk(&mut self, from: usize, chunk: &[SeededApp]) -> anyhow::Result<()> {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis() as i64;
        let now = now_ms / 1000;
        let n = chunk.len();
        let rows = n * self.types.len();
        let text =
            |f: &dyn Fn(usize) -> String, len: usize| Column::Text((0..len).map(f).collect());
        let ints = |v: i64, len: usize| Column::Int(vec![v; len]);

        let apps = vec![
            text(&|i| chunk[i].id.clone(), n),
            text(&|_| self.workspace_id.clone(), n),
            text(&|i| format!("seed-{}", from + i), n),
            ints(now, n),
        ];
        self.insert("apps", &["id", "workspace_id", "name", "created_at"], apps)
            .await?;

        let tokens = vec![
            text(&|_| random_hex(16), n),
            text(&|i| chunk[i].id.clone(), n),
            text(&|i| hash_token(chunk[i].token.expose()), n),
            text(&|i| chunk[i].token.expose().chars().take(10).collect(), n),
            ints(now, n),
        ];
        let names = &["id", "app_id", "token_hash", "display_prefix", "created_at"];
        self.insert("service_tokens", names, tokens).await?;

        let types = self.types.clone();
        let t = types.len();
        let app = |r: usize| chunk[r / t].id.clone();
        let ty = |r: usize| types[r % t].clone();
        let connectors = vec![
            text(&app, rows),
            text(&ty, rows),
            text(&|_| "[]".into(), rows),
            text(&|_| "[]".into(), rows),
            text(&|_| "active".into(), rows),
            ints(now, rows),
            ints(now, rows),
        ];
        let names = &[
            "app_id",
            "integration_type",
            "scopes",
            "granted_scopes",
            "status",
            "created_at",
            "updated_at",
        ];
        self.insert("connectors", names, connectors).await?;

        // Sealed exactly as `Engine::import_credentials` seals them.
        let seal = |r: usize, column: &str, plain: String| {
            let context = credentials_context(&app(r), &ty(r), column);
            self.keys.seal_secret(&Secret::new(plain), &context)
        };
        let mut rng = rand::thread_rng();
        let credentials = vec![
            text(&app, rows),
            text(&ty, rows),
            text(
                &|r| seal(r, "access_token", access_token(from + r / t, &ty(r))),
                rows,
            ),
            text(
                &|r| {
                    seal(
                        r,
                        "refresh_token",
                        format!("seed-refresh-{}-{}", from + r / t, ty(r)),
                    )
                },
                rows,
            ),
            // A day ahead, spread over an hour: far from the refresh margin
            // and the background refresh's window.
            Column::Int(
                (0..rows)
                    .map(|_| now_ms + 86_400_000 + rng.gen_range(0..3_600_000))
                    .collect(),
            ),
            ints(now, rows),
        ];
        let names = &[
            "app_id",
            "integration_type",
            "access_token",
            "refresh_token",
            "expires_at_ms",
            "updated_at",
        ];
        self.insert("credentials", names, credentials).await
    }

    async fn begin(&mut self) -> anyhow::Result<()> {
        match &mut self.db {
            Db::Sqlite(c) => {
                sqlx::query("BEGIN IMMEDIATE").execute(c).await?;
            }
            Db::Postgres(c) => {
                sqlx::query("BEGIN").execute(c).await?;
            }
        }
        Ok(())
    }

    async fn commit(&mut self) -> anyhow::Result<()> {
        match &mut self.db {
            Db::Sqlite(c) => {
                sqlx::query("COMMIT").execute(c).await?;
            }
            Db::Postgres(c) => {
                sqlx::query("COMMIT").execute(c).await?;
            }
        }
        Ok(())
    }

    /// Inserts rows given column by column: SQLite in multi-row `VALUES`
    /// statements (the same text for every full batch, so one prepared
    /// statement), PostgreSQL as one `UNNEST` of arrays.
    async fn insert(
        &mut self,
        table: &str,
        names: &[&str],
        columns: Vec<Column>,
    ) -> anyhow::Result<()> {
        let len = match &columns[0] {
            Column::Text(v) => v.len(),
            Column::Int(v) => v.len(),
        };
        let context = || format!("seeding {table}");
        match &mut self.db {
            Db::Sqlite(conn) => {
                // SQLite binds at most 32,766 parameters per statement.
                let per = 4_000 / names.len();
                for start in (0..len).step_by(per) {
                    let end = (start + per).min(len);
                    let row = format!("({})", vec!["?"; names.len()].join(","));
                    let sql = format!(
                        "INSERT INTO {table} ({}) VALUES {}",
                        names.join(","),
                        vec![row; end - start].join(",")
                    );
                    let mut q = sqlx::query(&sql);
                    for r in start..end {
                        for column in &columns {
                            q = match column {
                                Column::Text(v) => q.bind(v[r].as_str()),
                                Column::Int(v) => q.bind(v[r]),
                            };
                        }
                    }
                    q.execute(&mut *conn).await.with_context(context)?;
                }
            }
            Db::Postgres(conn) => {
                let arrays: Vec<String> = columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| match c {
                        Column::Text(_) => format!("${}::text[]", i + 1),
                        Column::Int(_) => format!("${}::bigint[]", i + 1),
                    })
                    .collect();
                let sql = format!(
                    "INSERT INTO {table} ({}) SELECT * FROM UNNEST({})",
                    names.join(","),
                    arrays.join(",")
                );
                let mut q = sqlx::query(&sql);
                for column in columns {
                    q = match column {
                        Column::Text(v) => q.bind(v),
                        Column::Int(v) => q.bind(v),
                    };
                }
                q.execute(&mut *conn).await.with_context(context)?;
            }
        }
        Ok(())
    }
}

/// `bytes` random bytes in hex, like the engine's ids.
fn random_hex(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut raw);
    raw.iter().map(|b| format!("{b:02x}")).collect()
}
