//! The SQLite store's rules: one connector per type, leases with owners,
//! compare-and-swap refreshes, single-use states.

use connectors_store::*;
use connectors_wire::{AttemptStatus, ConnectorStatus};

async fn store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db.sqlite"))
        .await
        .unwrap();
    store
        .create_workspace(&Workspace {
            id: "w".into(),
            name: "w".into(),
            created_at: 0,
        })
        .await
        .unwrap();
    store
        .create_app(&App {
            id: "a".into(),
            workspace_id: "w".into(),
            name: "a".into(),
            created_at: 0,
        })
        .await
        .unwrap();
    (store, dir)
}

fn creds(access: &str, refresh: Option<&str>) -> CredentialsRow {
    CredentialsRow {
        app_id: "a".into(),
        integration_type: "t".into(),
        access_token: access.into(),
        refresh_token: refresh.map(str::to_string),
        token_response: None,
        expires_at_ms: Some(1_000),
        version: 1,
        updated_at: 0,
    }
}

async fn authorize(store: &SqliteStore) {
    store
        .save_authorization(&Authorization {
            connection_id: None,
            builder_id: None,
            scopes: vec![],
            granted_scopes: vec![],
            connection_config: None,
            credentials: creds("sealed-a1", Some("sealed-r1")),
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn one_connector_per_type_per_app() {
    let (store, _dir) = store().await;
    store
        .upsert_connector_scopes("a", "t", &["x".into()], 1)
        .await
        .unwrap();
    store
        .upsert_connector_scopes("a", "t", &["y".into()], 2)
        .await
        .unwrap();
    let all = store.list_connectors("a").await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].scopes, ["y"]);
    assert_eq!(all[0].status, ConnectorStatus::Disconnected);
}

#[tokio::test]
async fn lease_is_exclusive_released_only_by_owner_and_taken_over_after_expiry() {
    let (store, _dir) = store().await;
    authorize(&store).await;
    assert!(store
        .acquire_refresh_lease("a", "t", "p1", 100, 30)
        .await
        .unwrap());
    assert!(!store
        .acquire_refresh_lease("a", "t", "p2", 101, 30)
        .await
        .unwrap());
    store.release_refresh_lease("a", "t", "p2").await.unwrap(); // not the owner: no effect
    assert!(!store
        .acquire_refresh_lease("a", "t", "p2", 102, 30)
        .await
        .unwrap());
    assert!(
        store
            .acquire_refresh_lease("a", "t", "p2", 130, 30)
            .await
            .unwrap(),
        "expired lease is taken over"
    );
    // The old owner's late result is refused: it no longer holds the lease.
    let late = RefreshedCredentials {
        app_id: "a".into(),
        integration_type: "t".into(),
        owner: "p1".into(),
        expected_version: 1,
        access_token: "sealed-a2".into(),
        refresh_token: None,
        token_response: None,
        expires_at_ms: Some(2_000),
        now: 131,
    };
    assert!(!store.store_refreshed(&late).await.unwrap());
    let current = RefreshedCredentials {
        owner: "p2".into(),
        ..late.clone()
    };
    assert!(store.store_refreshed(&current).await.unwrap());
    // A second store from the same starting version is refused (compare-and-swap).
    assert!(store
        .acquire_refresh_lease("a", "t", "p2", 132, 30)
        .await
        .unwrap());
    assert!(!store.store_refreshed(&current).await.unwrap());
}

#[tokio::test]
async fn refresh_without_new_refresh_token_keeps_the_old_one() {
    let (store, _dir) = store().await;
    authorize(&store).await;
    assert!(store
        .acquire_refresh_lease("a", "t", "p", 100, 30)
        .await
        .unwrap());
    let refreshed = RefreshedCredentials {
        app_id: "a".into(),
        integration_type: "t".into(),
        owner: "p".into(),
        expected_version: 1,
        access_token: "sealed-a2".into(),
        refresh_token: None,
        token_response: None,
        expires_at_ms: Some(5_000),
        now: 100,
    };
    assert!(store.store_refreshed(&refreshed).await.unwrap());
    let row = store.get_credentials("a", "t").await.unwrap().unwrap();
    assert_eq!(row.access_token, "sealed-a2");
    assert_eq!(row.refresh_token.as_deref(), Some("sealed-r1"));
    assert_eq!(row.version, 2);
    // The lease was released with the store.
    assert!(store
        .acquire_refresh_lease("a", "t", "other", 101, 30)
        .await
        .unwrap());
}

#[tokio::test]
async fn state_is_single_use() {
    let (store, _dir) = store().await;
    store
        .create_attempt(&AttemptRow {
            connection_id: "c".into(),
            app_id: "a".into(),
            integration_type: "t".into(),
            scopes: vec![],
            builder_id: None,
            status: AttemptStatus::Pending,
            status_reason: None,
            state_hash: None,
            pkce_verifier: None,
            browser_hash: None,
            connection_config: None,
            created_at: 0,
            expires_at: 1_000,
        })
        .await
        .unwrap();
    let begin = BeginConsent {
        connection_id: "c".into(),
        state_hash: "h".into(),
        pkce_verifier: Some("sealed-v".into()),
        browser_hash: "b".into(),
        connection_config: None,
        expires_at: 600,
        now: 1,
    };
    assert!(store.begin_consent(&begin).await.unwrap());
    assert!(store.attempt_by_state_hash("h").await.unwrap().is_some());
    assert!(store.consume_state("c", "h").await.unwrap());
    assert!(!store.consume_state("c", "h").await.unwrap());
    assert!(store.attempt_by_state_hash("h").await.unwrap().is_none());
    store.fail_attempt("c", "why", 2).await.unwrap();
    let attempt = store.get_attempt("c").await.unwrap().unwrap();
    assert_eq!(attempt.status, AttemptStatus::Failed);
    assert_eq!(
        attempt.pkce_verifier, None,
        "a failed attempt keeps no verifier"
    );
    assert!(
        !store.begin_consent(&begin).await.unwrap(),
        "a failed attempt cannot restart"
    );
}
