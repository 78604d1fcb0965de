//! Throwaway databases for tests and the benchmark: each [`TestDatabase`]
//! is a fresh SQLite file or a fresh PostgreSQL database with a random
//! name, dropped with the value, so test runs never share state.
//!
//! Which backend the tests use is `CONNECTORS_TEST_BACKEND` (`sqlite`, the
//! default, or `postgres`); PostgreSQL is reached through
//! `CONNECTORS_TEST_POSTGRES_URL` (default [`DEFAULT_ADMIN_URL`], the
//! machine's trust-auth server), whose database is only used to create and
//! drop the throwaway ones.
#![deny(missing_docs)]

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Row};

/// The PostgreSQL server the tests use unless `CONNECTORS_TEST_POSTGRES_URL` says otherwise.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A storage backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A file.
    Sqlite,
    /// A server.
    Postgres,
}

impl Backend {
    /// The backend chosen by `CONNECTORS_TEST_BACKEND`.
    pub fn from_env() -> Backend {
        match std::env::var("CONNECTORS_TEST_BACKEND").as_deref() {
            Ok("postgres") | Ok("postgresql") => Backend::Postgres,
            Ok("sqlite") | Ok("") | Err(_) => Backend::Sqlite,
            Ok(other) => panic!("CONNECTORS_TEST_BACKEND=`{other}`: use sqlite or postgres"),
        }
    }
}

/// The URL of the PostgreSQL database used to create and drop test databases.
pub fn admin_url() -> String {
    std::env::var("CONNECTORS_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.into())
}

/// A fresh database, dropped (PostgreSQL) or deleted (SQLite) on drop.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    postgres_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A fresh database of the backend chosen by `CONNECTORS_TEST_BACKEND`.
    pub fn new() -> TestDatabase {
        Self::of(Backend::from_env())
    }

    /// A fresh database of `backend`. Panics with what to do if PostgreSQL is down.
    pub fn of(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
                TestDatabase {
                    url,
                    postgres_name: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let (name, url) =
                    create_postgres_database("connectors_test").unwrap_or_else(|e| panic!("{e}"));
                TestDatabase {
                    url,
                    postgres_name: Some(name),
                    _dir: None,
                }
            }
        }
    }

    /// The database URL, as `database_url` takes it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether this is a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        self.postgres_name.is_some()
    }
}

impl Default for TestDatabase {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = &self.postgres_name {
            let _ = drop_postgres_database(name);
        }
    }
}

/// Runs `f` on a private runtime in its own thread: callable from sync code
/// and from inside another runtime alike (tests use both).
fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>> + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(f())
    })
    .join()
    .expect("database helper thread")
}

async fn admin_connection(url: String) -> Result<sqlx::PgConnection, String> {
    let options = PgConnectOptions::from_str(&url)
        .map_err(|e| format!("the PostgreSQL admin URL is not a PostgreSQL URL: {e}"))?;
    let host = format!("{}:{}", options.get_host(), options.get_port());
    options.connect().await.map_err(|e| {
        format!(
            "cannot reach PostgreSQL at {host} ({e}); start it (scripts/ensure-system-deps does) \
             or point CONNECTORS_TEST_POSTGRES_URL (tests) / --postgres-url (bench) at one"
        )
    })
}

/// Creates a database named `<prefix>_<random>` on the test server; answers its name and URL.
pub fn create_postgres_database(prefix: &str) -> Result<(String, String), String> {
    create_postgres_database_on(&admin_url(), prefix)
}

/// Creates a database named `<prefix>_<random>` on the server of `admin`
/// (a URL of an existing database); answers its name and URL.
pub fn create_postgres_database_on(admin: &str, prefix: &str) -> Result<(String, String), String> {
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let created = name.clone();
    let admin = admin.to_string();
    let url = admin.clone();
    blocking(move || {
        Box::pin(async move {
            let mut conn = admin_connection(url).await?;
            sqlx::query(&format!("CREATE DATABASE \"{created}\""))
                .execute(&mut conn)
                .await
                .map_err(|e| format!("creating test database {created}: {e}"))?;
            let _ = conn.close().await;
            Ok::<_, String>(())
        })
    })?;
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin.as_str(), String::new()),
    };
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    Ok((name.clone(), format!("{base}/{name}{query}")))
}

/// Drops a database made by [`create_postgres_database`], closing its connections.
pub fn drop_postgres_database(name: &str) -> Result<(), String> {
    drop_postgres_database_on(&admin_url(), name)
}

/// Drops a database made by [`create_postgres_database_on`] with the same `admin`.
pub fn drop_postgres_database_on(admin: &str, name: &str) -> Result<(), String> {
    let name = name.to_string();
    let url = admin.to_string();
    blocking(move || {
        Box::pin(async move {
            let mut conn = admin_connection(url).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .map_err(|e| format!("dropping test database {name}: {e}"))?;
            let _ = conn.close().await;
            Ok(())
        })
    })
}

/// Every row of every table of a PostgreSQL database as text, one per line:
/// what a search for leaked secrets needs to read.
pub fn postgres_dump(url: &str) -> Result<String, String> {
    let url = url.to_string();
    blocking(move || {
        Box::pin(async move {
            let options = PgConnectOptions::from_str(&url).map_err(|e| e.to_string())?;
            let mut conn = options.connect().await.map_err(|e| e.to_string())?;
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_all(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
            let mut out = String::new();
            for table in tables {
                let rows = sqlx::query(&format!("SELECT t::text AS line FROM \"{table}\" t"))
                    .fetch_all(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
                for row in rows {
                    let line: String = row.try_get("line").map_err(|e| e.to_string())?;
                    out.push_str(&table);
                    out.push(' ');
                    out.push_str(&line);
                    out.push('\n');
                }
            }
            let _ = conn.close().await;
            Ok(out)
        })
    })
}
