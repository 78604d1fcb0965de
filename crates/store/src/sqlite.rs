//! The embedded SQLite backend (WAL mode, foreign keys on): connection
//! set-up, migrations and the one statement that differs from PostgreSQL.

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::AnyPool;
use sqlx::Executor;

use crate::sql_store::{conflict, Dialect};
use crate::*;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Run on every new connection to a database file. The `Any` driver only
/// passes SQLite what a URL can say, so the rest is set here. Busy timeout
/// first: switching to WAL may wait for another connection's lock.
const FILE_PRAGMAS: &[&str] = &[
    "PRAGMA busy_timeout = 10000",
    "PRAGMA foreign_keys = ON",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
];

/// Run on every new connection opened from a `sqlite:` URL.
const URL_PRAGMAS: &[&str] = &["PRAGMA busy_timeout = 10000", "PRAGMA foreign_keys = ON"];

/// Bytes escaped in the path of a `sqlite://` URL; `%` included, so no part
/// of a file name is read as an escape.
const PATH_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Starts a transaction that writes: takes the write lock at once, so a
/// transaction that reads before it writes cannot find its snapshot stale
/// (SQLite would fail it with "database is locked" without waiting).
pub(crate) const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// Numbers `sqlite::memory:` databases, one per opened store.
static MEMORY_DATABASES: AtomicUsize = AtomicUsize::new(0);

impl SqlStore {
    /// Opens (creating if needed) the SQLite database file and its directory,
    /// and applies migrations.
    pub async fn open_sqlite(path: &Path) -> Result<Self> {
        Self::open_sqlite_sized(path, DEFAULT_SQLITE_MAX_CONNECTIONS).await
    }

    /// [`SqlStore::open_sqlite`] with a pool of `max_connections`.
    pub async fn open_sqlite_sized(path: &Path, max_connections: u32) -> Result<Self> {
        connect(&file_url(path)?, FILE_PRAGMAS, max_connections).await
    }

    /// Opens a `sqlite:` URL (e.g. `sqlite::memory:` for tests), creating
    /// the database if the URL names no `mode`.
    pub async fn open_sqlite_url(url: &str) -> Result<Self> {
        Self::open_sqlite_url_sized(url, DEFAULT_SQLITE_MAX_CONNECTIONS).await
    }

    /// [`SqlStore::open_sqlite_url`] with a pool of `max_connections`.
    pub async fn open_sqlite_url_sized(url: &str, max_connections: u32) -> Result<Self> {
        // Refuses what sqlx would refuse, before anything is created.
        SqliteConnectOptions::from_str(url)?;
        let rest = url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:");
        let (database, params) = match rest.split_once('?') {
            Some((database, params)) => (database, Some(params)),
            None => (rest, None),
        };
        let url = if database == ":memory:" {
            // sqlx would name a new database for each `:memory:` connection;
            // one shared-cache name gives the whole pool one database.
            let n = MEMORY_DATABASES.fetch_add(1, Ordering::Relaxed);
            format!("sqlite:file:connectors-memory-{n}?mode=memory&cache=shared")
        } else {
            match params {
                Some(p) if p.split('&').any(|kv| kv.starts_with("mode=")) => url.to_string(),
                Some(_) => format!("{url}&mode=rwc"),
                None => format!("{url}?mode=rwc"),
            }
        };
        connect(&url, URL_PRAGMAS, max_connections).await
    }
}

/// A `sqlite://` URL for `path` that the `Any` driver reads back as exactly
/// that file: the directory is created and made absolute and canonical, so
/// URL parsing has no `.`/`..` segment to fold and no host to guess.
fn file_url(path: &Path) -> Result<String> {
    let io_error = |path: &Path, reason| StoreError::Io {
        path: path.to_path_buf(),
        reason,
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let dir = dir.canonicalize().map_err(|e| io_error(dir, e))?;
    let file = path.file_name().ok_or_else(|| {
        io_error(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the path does not end in a file name",
            ),
        )
    })?;
    let full = dir.join(file);
    let text = full.to_str().ok_or_else(|| {
        io_error(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the path is not valid UTF-8",
            ),
        )
    })?;
    Ok(format!(
        "sqlite://{}?mode=rwc",
        utf8_percent_encode(text, PATH_ESCAPES)
    ))
}

async fn connect(
    url: &str,
    pragmas: &'static [&'static str],
    max_connections: u32,
) -> Result<SqlStore> {
    sqlx::any::install_default_drivers();
    let options = AnyConnectOptions::from_str(url)?;
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                for pragma in pragmas {
                    conn.execute(*pragma).await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(SqlStore::new(pool, Dialect::Sqlite))
}

/// One statement: SQLite runs writers one at a time.
pub(crate) async fn create_first_workspace(pool: &AnyPool, w: &Workspace) -> Result<bool> {
    let n = sqlx::query(
        "INSERT INTO workspaces (id, name, created_at) SELECT $1, $2, $3 \
         WHERE NOT EXISTS (SELECT 1 FROM workspaces)",
    )
    .bind(&w.id)
    .bind(&w.name)
    .bind(w.created_at)
    .execute(pool)
    .await
    .map_err(|e| conflict(e, "workspace"))?
    .rows_affected();
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use sqlx::AnyConnection;
    use sqlx::Row;

    use super::*;

    async fn pragma(conn: &mut AnyConnection, name: &str) -> String {
        let row = sqlx::query(&format!("PRAGMA {name}"))
            .fetch_one(conn)
            .await
            .unwrap();
        row.try_get::<String, _>(0)
            .or_else(|_| row.try_get::<i64, _>(0).map(|n| n.to_string()))
            .unwrap()
    }

    /// Several connections of the pool at once, so set-up is checked on
    /// more than the first.
    async fn connections(store: &SqlStore) -> Vec<sqlx::pool::PoolConnection<sqlx::Any>> {
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(store.pool().acquire().await.unwrap());
        }
        held
    }

    #[tokio::test]
    async fn a_file_gets_wal_foreign_keys_and_a_busy_timeout_on_every_connection() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqlStore::open_sqlite(&dir.path().join("db.sqlite"))
            .await
            .unwrap();
        for mut conn in connections(&store).await {
            assert_eq!(pragma(&mut conn, "journal_mode").await, "wal");
            assert_eq!(pragma(&mut conn, "foreign_keys").await, "1");
            assert_eq!(pragma(&mut conn, "busy_timeout").await, "10000");
            assert_eq!(pragma(&mut conn, "synchronous").await, "1", "NORMAL");
        }
    }

    #[tokio::test]
    async fn the_pool_has_the_size_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let default = SqlStore::open_sqlite(&path).await.unwrap();
        assert_eq!(
            default.pool().options().get_max_connections(),
            DEFAULT_SQLITE_MAX_CONNECTIONS
        );
        let sized = SqlStore::open_sqlite_sized(&path, 3).await.unwrap();
        assert_eq!(sized.pool().options().get_max_connections(), 3);
    }

    #[tokio::test]
    async fn odd_file_names_open_the_very_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub dir/x/../100%41 ?#é.db");
        let store = SqlStore::open_sqlite(&path).await.unwrap();
        assert!(store.is_empty().await.unwrap());
        assert!(dir.path().join("sub dir/100%41 ?#é.db").is_file());
    }

    #[tokio::test]
    async fn an_uncreatable_directory_is_an_io_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let err = SqlStore::open_sqlite(&file.join("db.sqlite"))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&file.display().to_string()),
            "{err}"
        );
    }

    #[tokio::test]
    async fn memory_databases_are_one_per_store_shared_by_its_connections() {
        let a = SqlStore::open_sqlite_url("sqlite::memory:").await.unwrap();
        let b = SqlStore::open_sqlite_url("sqlite::memory:").await.unwrap();
        a.create_workspace(&Workspace {
            id: "w".into(),
            name: "w".into(),
            created_at: 0,
        })
        .await
        .unwrap();
        for mut conn in connections(&a).await {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspaces")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(n, 1);
            assert_eq!(pragma(&mut conn, "foreign_keys").await, "1");
            assert_eq!(pragma(&mut conn, "busy_timeout").await, "10000");
        }
        assert!(b.is_empty().await.unwrap());
    }

    /// 0005 dropped `api_keys.last_used_at` and 0011 brought it back
    /// (written coarsely), for service tokens too.
    #[tokio::test]
    async fn keys_and_tokens_have_a_last_used_column() {
        let store = SqlStore::open_sqlite_url("sqlite::memory:").await.unwrap();
        for table in ["api_keys", "service_tokens"] {
            let columns: Vec<String> =
                sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                    .fetch_all(store.pool())
                    .await
                    .unwrap();
            assert!(
                columns.contains(&"last_used_at".to_string()),
                "{table}: {columns:?}"
            );
        }
    }
}
