//! Query plans of the hot and background statements (issue #11.3): each
//! finds its rows through an index on both backends, so the token path,
//! the background refresh and start-up stay flat with the number of stored
//! connections. PostgreSQL runs with `enable_seqscan = off`, so a table
//! without a usable index still shows a `Seq Scan`; SQLite's plan says
//! `SCAN <table>` for a whole-table read.

use sqlx::Row;

use crate::sql_store::*;
use crate::SqlStore;

/// A parameter of the right type for each placeholder.
#[derive(Clone, Copy)]
enum P {
    Text,
    Int,
}
use P::{Int, Text};

/// Every statement checked, with its parameters' types.
const STATEMENTS: &[(&str, &str, &[P])] = &[
    ("start-up: is_empty", IS_EMPTY, &[]),
    ("api-key lookup", API_KEY_OWNER, &[Text]),
    ("service-token lookup", SERVICE_TOKEN_OWNER, &[Text]),
    ("record api-key use", RECORD_API_KEY_USE, &[Int, Text, Int]),
    (
        "record service-token use",
        RECORD_SERVICE_TOKEN_USE,
        &[Int, Text, Int],
    ),
    ("get_connector", CONNECTOR_BY_KEY, &[Text, Text]),
    ("list_connectors", CONNECTORS_OF_APP, &[Text]),
    ("credentials_health", CREDENTIALS_HEALTH_OF_APP, &[Text]),
    ("get_credentials", CREDENTIALS_BY_KEY, &[Text, Text]),
    ("attempt by state hash", ATTEMPT_BY_STATE_HASH, &[Text]),
    (
        "acquire_refresh_lease",
        ACQUIRE_LEASE,
        &[Text, Int, Text, Text, Int, Text],
    ),
    (
        "mark_refresh_in_flight",
        MARK_IN_FLIGHT,
        &[Int, Text, Text, Text],
    ),
    ("release_refresh_lease", RELEASE_LEASE, &[Text, Text, Text]),
    (
        "store_refreshed",
        STORE_REFRESHED,
        &[Text, Text, Text, Int, Int, Int, Text, Text, Int, Text],
    ),
    (
        "record_refresh_failure",
        RECORD_REFRESH_FAILURE,
        &[Text, Int, Int, Text, Text, Text],
    ),
    (
        "set_connector_status",
        SET_CONNECTOR_STATUS,
        &[Text, Text, Int, Text, Text],
    ),
    ("credentials_due", CREDENTIALS_DUE, &[Int, Int, Int, Int]),
    ("refresh-lag gauge", EARLIEST_REFRESHABLE, &[]),
    ("list_apps of a workspace", APPS_OF_WORKSPACE, &[Text]),
    // The audit trail's pages and purge (#15.5).
    (
        "audit of a workspace, after",
        crate::audit::AUDIT_OF_WORKSPACE_AFTER,
        &[Text, Int, Int],
    ),
    (
        "audit of a workspace, before",
        crate::audit::AUDIT_OF_WORKSPACE_BEFORE,
        &[Text, Int, Int],
    ),
    (
        "audit of an app, after",
        crate::audit::AUDIT_OF_APP_AFTER,
        &[Text, Int, Int],
    ),
    (
        "audit of an app, before",
        crate::audit::AUDIT_OF_APP_BEFORE,
        &[Text, Int, Int],
    ),
    ("audit purge", crate::audit::PURGE_AUDIT, &[Int]),
];

/// Statements that must read through these very indexes: the partial ones
/// hold only the rows the statement may return (issue #11.3), so expired or
/// backing-off connections are never walked past.
const NAMED_INDEXES: &[(&str, &[&str])] = &[
    ("credentials_due", &["credentials_due", "credentials_retry"]),
    (
        "refresh-lag gauge",
        &["credentials_due", "credentials_retry"],
    ),
    ("list_apps of a workspace", &["apps_workspace"]),
    ("audit of a workspace, after", &["audit_log_workspace"]),
    ("audit of a workspace, before", &["audit_log_workspace"]),
    ("audit of an app, after", &["audit_log_app"]),
    ("audit of an app, before", &["audit_log_app"]),
    ("audit purge", &["audit_log_at"]),
];

/// Statements that must find their one row by the table's primary key
/// (`id`): the recorded uses of a credential, not its lookup by hash.
const PRIMARY_KEY_READS: &[(&str, &str)] = &[
    ("record api-key use", "api_keys"),
    ("record service-token use", "service_tokens"),
];

/// Whether `plan` reads `table` through its primary key (`id`, the first
/// column, so SQLite's first automatic index).
fn reads_primary_key(dialect: Dialect, table: &str, plan: &[String]) -> bool {
    let wanted = match dialect {
        Dialect::Sqlite => format!("USING INDEX sqlite_autoindex_{table}_1 (id=?)"),
        Dialect::Postgres => format!("Index Scan using {table}_pkey on {table}"),
    };
    plan.iter().any(|line| line.contains(&wanted))
}

/// Subqueries of the statements above: SQLite's plan says `SCAN <alias>`
/// for reading their (limited) results, which is no table scan.
const SUBQUERIES: &[&str] = &["first_try", "retry", "due"];

/// Tables that grow with the number of stored connections (or apps).
const BIG_TABLES: &[&str] = &[
    "credentials",
    "connectors",
    "oauth_attempts",
    "service_tokens",
    "api_keys",
    "apps",
    "builders",
    "audit_log",
];

async fn plan(store: &SqlStore, sql: &str, params: &[P]) -> Vec<String> {
    let mut conn = store.pool().acquire().await.unwrap();
    let explain = match store.dialect() {
        Dialect::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
        Dialect::Postgres => {
            sqlx::query("SET enable_seqscan = off")
                .execute(&mut *conn)
                .await
                .unwrap();
            format!("EXPLAIN {sql}")
        }
    };
    let mut query = sqlx::query(&explain);
    for p in params {
        query = match p {
            Text => query.bind("x"),
            Int => query.bind(1_i64),
        };
    }
    let rows = query.fetch_all(&mut *conn).await.unwrap();
    let column = match store.dialect() {
        Dialect::Sqlite => "detail",
        Dialect::Postgres => "QUERY PLAN",
    };
    rows.iter()
        .map(|r| r.try_get::<String, _>(column).unwrap())
        .collect()
}

/// The line of `plan` that reads a whole big table, if any.
fn full_scan(dialect: Dialect, plan: &[String]) -> Option<String> {
    plan.iter()
        .find(|line| match dialect {
            // `SCAN <table or alias>`, unless it walks an index or reads a subquery's rows.
            Dialect::Sqlite => line
                .trim()
                .strip_prefix("SCAN ")
                .is_some_and(|what| !what.contains("INDEX") && !SUBQUERIES.contains(&what.trim())),
            Dialect::Postgres => BIG_TABLES
                .iter()
                .any(|table| line.contains(&format!("Seq Scan on {table}"))),
        })
        .cloned()
}

async fn open(url: &str) -> SqlStore {
    match url.strip_prefix("sqlite://") {
        Some(path) => SqlStore::open_sqlite(std::path::Path::new(path))
            .await
            .unwrap(),
        None => SqlStore::open_postgres(url).await.unwrap(),
    }
}

#[tokio::test]
async fn hot_and_background_statements_use_indexes() {
    let db = connectors_testdb::TestDatabase::new();
    let store = open(db.url()).await;
    let mut report = String::new();
    let mut scans = Vec::new();
    for (name, sql, params) in STATEMENTS {
        let lines = plan(&store, sql, params).await;
        report.push_str(&format!("{name}:\n  {}\n", lines.join("\n  ")));
        if let Some(line) = full_scan(store.dialect(), &lines) {
            // `is_empty` reads at most one row of the few workspaces.
            if *name != "start-up: is_empty" {
                scans.push(format!("{name}: {line}"));
            }
        }
        if let Some((_, table)) = PRIMARY_KEY_READS.iter().find(|(n, _)| n == name) {
            if !reads_primary_key(store.dialect(), table, &lines) {
                scans.push(format!("{name}: does not read {table} by its primary key"));
            }
        }
        let wanted = NAMED_INDEXES.iter().find(|(n, _)| n == name);
        for index in wanted.map_or(&[][..], |(_, indexes)| indexes) {
            if !lines.iter().any(|line| line.contains(index)) {
                scans.push(format!("{name}: does not use index {index}"));
            }
        }
    }
    // Printed so `cargo test -- --nocapture` shows every plan.
    println!("{report}");
    assert!(
        scans.is_empty(),
        "full-table scans or missing indexes:\n{}\n\n{report}",
        scans.join("\n")
    );
}
