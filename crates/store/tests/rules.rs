//! The store's rules, on the backend `CONNECTORS_TEST_BACKEND` names
//! (`scripts/test` runs them on SQLite and on PostgreSQL): one connector per
//! type, leases with owners, compare-and-swap refreshes, single-use states.

use std::sync::Arc;

use connectors_store::*;
use connectors_testdb::TestDatabase;
use connectors_wire::{AttemptStatus, ConnectorStatus, IntegrationType};

/// The type every rule uses.
fn t() -> IntegrationType {
    "t".parse().unwrap()
}

/// App `a`'s connector of type `t`.
fn key() -> ConnectorKey {
    ConnectorKey::new("a", t())
}

async fn store() -> (Arc<dyn Store>, TestDatabase) {
    let db = TestDatabase::new();
    let store = connectors_store::open(db.url()).await.unwrap();
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
    (store, db)
}

fn creds(access: &str, refresh: Option<&str>) -> CredentialsRow {
    CredentialsRow {
        app_id: "a".into(),
        integration_type: t(),
        holder: Holder::App,
        access_token: access.into(),
        refresh_token: refresh.map(str::to_string),
        token_response: None,
        expires_at_ms: Some(1_000),
        version: 1,
        updated_at: 0,
        refresh_in_flight_since: None,
    }
}

async fn authorize(store: &dyn Store) {
    store
        .save_authorization(&Authorization {
            events: Vec::new(),
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
    let (store, _db) = store().await;
    store
        .upsert_connector_scopes(&key(), &["x".into()], 1)
        .await
        .unwrap();
    store
        .upsert_connector_scopes(&key(), &["y".into()], 2)
        .await
        .unwrap();
    let all = store.list_connectors("a").await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].scopes, ["y"]);
    assert_eq!(all[0].status, ConnectorStatus::Disconnected);
}

#[tokio::test]
async fn lease_is_exclusive_released_only_by_owner_and_taken_over_after_expiry() {
    let (store, _db) = store().await;
    authorize(&*store).await;
    assert!(store
        .acquire_refresh_lease(&key(), "p1", 100, 30)
        .await
        .unwrap());
    assert!(!store
        .acquire_refresh_lease(&key(), "p2", 101, 30)
        .await
        .unwrap());
    store.release_refresh_lease(&key(), "p2").await.unwrap(); // not the owner: no effect
    assert!(!store
        .acquire_refresh_lease(&key(), "p2", 102, 30)
        .await
        .unwrap());
    assert!(
        store
            .acquire_refresh_lease(&key(), "p2", 130, 30)
            .await
            .unwrap(),
        "expired lease is taken over"
    );
    // The old owner's late result is refused: it no longer holds the lease.
    let late = RefreshedCredentials {
        app_id: "a".into(),
        integration_type: t(),
        holder: Holder::App,
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
        .acquire_refresh_lease(&key(), "p2", 132, 30)
        .await
        .unwrap());
    assert!(!store.store_refreshed(&current).await.unwrap());
}

#[tokio::test]
async fn refresh_without_new_refresh_token_keeps_the_old_one() {
    let (store, _db) = store().await;
    authorize(&*store).await;
    assert!(store
        .acquire_refresh_lease(&key(), "p", 100, 30)
        .await
        .unwrap());
    let refreshed = RefreshedCredentials {
        app_id: "a".into(),
        integration_type: t(),
        holder: Holder::App,
        owner: "p".into(),
        expected_version: 1,
        access_token: "sealed-a2".into(),
        refresh_token: None,
        token_response: None,
        expires_at_ms: Some(5_000),
        now: 100,
    };
    assert!(store.store_refreshed(&refreshed).await.unwrap());
    let row = store.get_credentials(&key()).await.unwrap().unwrap();
    assert_eq!(row.access_token, "sealed-a2");
    assert_eq!(row.refresh_token.as_deref(), Some("sealed-r1"));
    assert_eq!(row.version, 2);
    // The lease was released with the store.
    assert!(store
        .acquire_refresh_lease(&key(), "other", 101, 30)
        .await
        .unwrap());
}

#[tokio::test]
async fn state_is_single_use() {
    let (store, _db) = store().await;
    store
        .start_attempt(&AttemptRow {
            connection_id: "c".into(),
            app_id: "a".into(),
            integration_type: t(),
            holder: Holder::App,
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
            return_to: None,
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
    store.fail_attempt("c", "why", 2, &[]).await.unwrap();
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

#[tokio::test]
async fn racing_servers_get_one_lease_and_one_compare_and_swap() {
    let (store, _db) = store().await;
    authorize(&*store).await;
    // Sixteen "replicas" race for the lease at the same instant: one wins.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .acquire_refresh_lease(&key(), &format!("p{i}"), 100, 30)
                .await
                .unwrap()
                .then_some(i)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        winners.extend(t.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    // Each racer tries to store its result from version 1: only the lease
    // owner's lands, once.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .store_refreshed(&RefreshedCredentials {
                    app_id: "a".into(),
                    integration_type: t(),
                    holder: Holder::App,
                    owner: format!("p{i}"),
                    expected_version: 1,
                    access_token: format!("sealed-a-{i}"),
                    refresh_token: Some(format!("sealed-r-{i}")),
                    token_response: None,
                    expires_at_ms: Some(9_000),
                    now: 101,
                })
                .await
                .unwrap()
                .then_some(i)
        }));
    }
    let mut stored = Vec::new();
    for t in tasks {
        stored.extend(t.await.unwrap());
    }
    assert_eq!(stored, winners);
    let row = store.get_credentials(&key()).await.unwrap().unwrap();
    assert_eq!(row.version, 2);
    assert_eq!(row.access_token, format!("sealed-a-{}", winners[0]));
    assert_eq!(
        row.refresh_token,
        Some(format!("sealed-r-{}", winners[0])),
        "the stored refresh token matches its access token"
    );
}

#[tokio::test]
async fn in_flight_mark_needs_the_lease_and_survives_its_owner() {
    let (store, _db) = store().await;
    authorize(&*store).await;
    assert!(
        !store
            .mark_refresh_in_flight(&key(), "p1", 100)
            .await
            .unwrap(),
        "no lease, no mark"
    );
    assert!(store
        .acquire_refresh_lease(&key(), "p1", 100, 30)
        .await
        .unwrap());
    assert!(store
        .mark_refresh_in_flight(&key(), "p1", 100)
        .await
        .unwrap());
    // p1 dies: releasing is its job, so the mark and the lease stay until
    // the lease expires and p2 takes over, finding the mark.
    assert!(!store
        .acquire_refresh_lease(&key(), "p2", 110, 30)
        .await
        .unwrap());
    assert!(store
        .acquire_refresh_lease(&key(), "p2", 130, 30)
        .await
        .unwrap());
    let row = store.get_credentials(&key()).await.unwrap().unwrap();
    assert_eq!(row.refresh_in_flight_since, Some(100));
    assert!(
        !store
            .mark_refresh_in_flight(&key(), "p1", 131)
            .await
            .unwrap(),
        "the old owner lost the lease"
    );
    // A failure recorded by the new owner clears it; so does a stored refresh.
    store
        .record_refresh_failure(&key(), "p2", "invalid_grant", i64::MAX, 131, &[])
        .await
        .unwrap();
    let row = store.get_credentials(&key()).await.unwrap().unwrap();
    assert_eq!(row.refresh_in_flight_since, None);
    assert!(store
        .acquire_refresh_lease(&key(), "p3", 132, 30)
        .await
        .unwrap());
    assert!(store
        .mark_refresh_in_flight(&key(), "p3", 132)
        .await
        .unwrap());
    assert!(store
        .store_refreshed(&RefreshedCredentials {
            app_id: "a".into(),
            integration_type: t(),
            holder: Holder::App,
            owner: "p3".into(),
            expected_version: 1,
            access_token: "sealed-a2".into(),
            refresh_token: None,
            token_response: None,
            expires_at_ms: Some(9_000),
            now: 133,
        })
        .await
        .unwrap());
    let row = store.get_credentials(&key()).await.unwrap().unwrap();
    assert_eq!(row.refresh_in_flight_since, None);
}

#[tokio::test]
async fn unreachable_or_unknown_databases_are_clear_errors_without_passwords() {
    let cases = [
        (
            "postgres://app:hunter2-secret@127.0.0.1:1/connectors",
            "127.0.0.1:1, database `connectors`",
        ),
        ("mysql://x@localhost/db", "scheme `mysql`"),
    ];
    for (url, expected) in cases {
        let text = match connectors_store::open(url).await {
            Ok(_) => panic!("{url} opened"),
            Err(e) => e.to_string(),
        };
        assert!(text.contains(expected), "{text}");
        assert!(text.contains("database_url"), "{text}");
        assert!(!text.contains("hunter2"), "password in: {text}");
    }
}

#[tokio::test]
async fn only_one_of_several_starting_servers_bootstraps() {
    let db = TestDatabase::new();
    let store = connectors_store::open(db.url()).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .create_first_workspace(&Workspace {
                    id: format!("w{i}"),
                    name: "first".into(),
                    created_at: 0,
                })
                .await
                .unwrap()
        }));
    }
    let mut created = 0;
    for t in tasks {
        created += usize::from(t.await.unwrap());
    }
    assert_eq!(created, 1);
    assert_eq!(store.list_workspaces().await.unwrap().len(), 1);
}

// Stripe sandboxes: one provisioning claim per app at a time, taken over
// only after it expires; a finished sandbox is never overwritten.

fn sandbox(id: &str) -> StripeSandboxRow {
    StripeSandboxRow {
        app_id: "a".into(),
        sandbox_id: id.into(),
        account_id: Some("acct_1".into()),
        secret_key: Some("sealed-sk".into()),
        publishable_key: Some("pk_test_1".into()),
        status: "unclaimed".into(),
        claim_url: Some("https://claim/1".into()),
        claim_url_expires_at: Some(500),
        refresh_token: "sealed-rt".into(),
        refresh_token_hash: format!("hash-{id}"),
        created_at: 10,
        updated_at: 10,
    }
}

#[tokio::test]
async fn provisioning_is_claimed_once_and_taken_over_only_after_expiry() {
    let (store, _db) = store().await;
    let claim = |owner: &'static str, now: i64| {
        let store = store.clone();
        async move {
            store
                .claim_stripe_provisioning("a", owner, now, 60)
                .await
                .unwrap()
        }
    };
    assert_eq!(claim("p1", 100).await, StripeClaim::Acquired);
    assert_eq!(claim("p2", 120).await, StripeClaim::Busy);
    assert!(store.get_stripe_sandbox("a").await.unwrap().is_none());
    // p1 dies; after its claim expires p2 takes over, and p1 can no longer finish.
    assert_eq!(claim("p2", 160).await, StripeClaim::Acquired);
    assert!(!store
        .finish_stripe_provisioning(&sandbox("clmsbx_1"), "p1")
        .await
        .unwrap());
    assert!(store
        .finish_stripe_provisioning(&sandbox("clmsbx_2"), "p2")
        .await
        .unwrap());
    match claim("p3", 1_000).await {
        StripeClaim::Installed(row) => assert_eq!(*row, sandbox("clmsbx_2")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store
            .stripe_sandbox_by_refresh_hash("hash-clmsbx_2")
            .await
            .unwrap()
            .unwrap()
            .sandbox_id,
        "clmsbx_2"
    );
    store
        .update_stripe_sandbox("a", "clmsbx_2", "claimed", None, None, 20)
        .await
        .unwrap();
    let row = store.get_stripe_sandbox("a").await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.claim_url), ("claimed", None));
    // Stripe deletes sandboxes not claimed in time: a new install replaces it.
    store
        .update_stripe_sandbox("a", "clmsbx_2", "expired", None, None, 30)
        .await
        .unwrap();
    assert_eq!(claim("p5", 1_100).await, StripeClaim::Acquired);
    assert!(store.get_stripe_sandbox("a").await.unwrap().is_none());
    assert!(store.delete_stripe_sandbox("a").await.unwrap());
    assert!(!store.delete_stripe_sandbox("a").await.unwrap());
    assert_eq!(claim("p4", 2_000).await, StripeClaim::Acquired);
}

#[tokio::test]
async fn an_abandoned_claim_frees_the_app_at_once() {
    let (store, _db) = store().await;
    assert_eq!(
        store
            .claim_stripe_provisioning("a", "p1", 0, 60)
            .await
            .unwrap(),
        StripeClaim::Acquired
    );
    store.abandon_stripe_provisioning("a", "p2").await.unwrap();
    assert_eq!(
        store
            .claim_stripe_provisioning("a", "p2", 1, 60)
            .await
            .unwrap(),
        StripeClaim::Busy
    );
    store.abandon_stripe_provisioning("a", "p1").await.unwrap();
    assert_eq!(
        store
            .claim_stripe_provisioning("a", "p2", 2, 60)
            .await
            .unwrap(),
        StripeClaim::Acquired
    );
}

#[tokio::test]
async fn the_secret_key_is_resealed_with_its_app_context() {
    let (store, _db) = store().await;
    store
        .claim_stripe_provisioning("a", "p", 0, 60)
        .await
        .unwrap();
    store
        .finish_stripe_provisioning(&sandbox("clmsbx_1"), "p")
        .await
        .unwrap();
    let changed = store
        .reseal_all(&|context, sealed| Ok(format!("{sealed}+{context}")))
        .await
        .unwrap();
    assert_eq!(changed, 2);
    let row = store.get_stripe_sandbox("a").await.unwrap().unwrap();
    assert_eq!(
        row.secret_key.as_deref(),
        Some("sealed-sk+stripe_sandboxes:a:secret_key")
    );
    assert_eq!(
        row.refresh_token,
        "sealed-rt+stripe_sandboxes:a:refresh_token"
    );
}

fn attempt(id: &str, created_at: i64) -> AttemptRow {
    AttemptRow {
        connection_id: id.into(),
        app_id: "a".into(),
        integration_type: t(),
        holder: Holder::App,
        scopes: vec!["read".into()],
        builder_id: None,
        status: AttemptStatus::Pending,
        status_reason: None,
        state_hash: None,
        pkce_verifier: None,
        browser_hash: None,
        connection_config: None,
        created_at,
        expires_at: created_at + 1_000,
        return_to: None,
    }
}

/// Issue #10: a PUT (scopes, then an attempt) racing a DELETE of the same
/// connector never fails, and never leaves a pending attempt whose
/// connector is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn puts_racing_deletes_never_fail_nor_leave_an_attempt_without_its_connector() {
    let (store, _db) = store().await;
    for round in 0..3 {
        let mut tasks = Vec::new();
        for i in 0..200i64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                if i % 2 == 0 {
                    store
                        .start_attempt(&attempt(&format!("c{round}-{i}"), i))
                        .await
                } else {
                    store
                        .delete_connector(&key(), i, &|_| Vec::new())
                        .await
                        .map(|_| ())
                }
            }));
        }
        let mut failures = Vec::new();
        for task in tasks {
            if let Err(e) = task.await.unwrap() {
                failures.push(e.to_string());
            }
        }
        assert!(
            failures.is_empty(),
            "{} of 200 racing calls failed, e.g. {:?}",
            failures.len(),
            &failures[..failures.len().min(3)]
        );
        let exists = store.get_connector(&key()).await.unwrap().is_some();
        let mut orphans = 0;
        for i in (0..200).step_by(2) {
            let a = store.get_attempt(&format!("c{round}-{i}")).await.unwrap();
            if a.is_some_and(|a| a.status == AttemptStatus::Pending) && !exists {
                orphans += 1;
            }
        }
        assert_eq!(orphans, 0, "pending attempts of a removed connector");
    }
}

/// Issue #10: removing a connector cancels its pending attempts (they stay,
/// failed, so the consent page and the CLI's poll can say why), and a
/// consent finishing afterwards saves nothing: the connector stays removed.
#[tokio::test]
async fn delete_cancels_pending_attempts_and_a_late_consent_saves_nothing() {
    let (store, _db) = store().await;
    store.start_attempt(&attempt("c", 1)).await.unwrap();
    let removed = store
        .delete_connector(&key(), 2, &|_| Vec::new())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(removed.connector.scopes, ["read"]);
    assert!(removed.credentials.is_none());
    let cancelled = store.get_attempt("c").await.unwrap().unwrap();
    assert_eq!(
        cancelled.status,
        AttemptStatus::Failed,
        "the removed connector's attempt is kept, failed"
    );
    assert!(cancelled.was_cancelled_by_removal());
    let saved = store
        .save_authorization(&Authorization {
            events: Vec::new(),
            connection_id: Some("c".into()),
            builder_id: None,
            scopes: vec!["read".into()],
            granted_scopes: vec!["read".into()],
            connection_config: None,
            credentials: creds("sealed-a1", Some("sealed-r1")),
        })
        .await
        .unwrap();
    assert!(!saved, "a consent never brings back a removed connector");
    assert_eq!(store.get_connector(&key()).await.unwrap(), None);
    assert!(store.get_credentials(&key()).await.unwrap().is_none());

    // A later PUT re-creates the connector: the old consent is still not its.
    store.start_attempt(&attempt("c2", 3)).await.unwrap();
    let late = Authorization {
        events: Vec::new(),
        connection_id: Some("c".into()),
        builder_id: None,
        scopes: vec!["read".into()],
        granted_scopes: vec!["read".into()],
        connection_config: None,
        credentials: creds("sealed-a1", Some("sealed-r1")),
    };
    assert!(!store.save_authorization(&late).await.unwrap());
    let connector = store.get_connector(&key()).await.unwrap().unwrap();
    assert_eq!(connector.status, ConnectorStatus::Disconnected);
    assert!(store.get_credentials(&key()).await.unwrap().is_none());
    let current = Authorization {
        events: Vec::new(),
        connection_id: Some("c2".into()),
        ..late
    };
    assert!(store.save_authorization(&current).await.unwrap());
    assert_eq!(
        store.get_connector(&key()).await.unwrap().unwrap().status,
        ConnectorStatus::Active
    );
}

/// Revocation: of racing revocations exactly one revokes; a revoked key or
/// token is still found by its hash, with `revoked_at` set (so the engine
/// can say why it refuses it); listings filter and never carry the hash.
#[tokio::test]
async fn a_credential_is_revoked_once_and_its_lookup_says_so() {
    let (store, _db) = store().await;
    store
        .create_builder(&Builder {
            id: "b".into(),
            workspace_id: "w".into(),
            email: "b@example.com".into(),
            created_at: 0,
        })
        .await
        .unwrap();
    for (id, hash) in [("k1", "hash-k1"), ("k2", "hash-k2")] {
        store
            .create_api_key(&NewApiKey {
                id: id.into(),
                builder_id: "b".into(),
                key_hash: hash.into(),
                display_prefix: "b44k_abcde".into(),
                created_at: 1,
            })
            .await
            .unwrap();
    }
    store
        .create_service_token(&NewServiceToken {
            id: "s1".into(),
            app_id: "a".into(),
            token_hash: "hash-s1".into(),
            display_prefix: "b44s_abcde".into(),
            created_at: 1,
        })
        .await
        .unwrap();

    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let key = store.revoke_api_key("k1", 100 + i).await.unwrap();
            let token = store.revoke_service_token("s1", 100 + i).await.unwrap();
            (key, token)
        }));
    }
    let (mut keys, mut tokens) = (0, 0);
    for t in tasks {
        let (k, s) = t.await.unwrap();
        keys += usize::from(k);
        tokens += usize::from(s);
    }
    assert_eq!((keys, tokens), (1, 1));
    assert!(!store.revoke_api_key("nope", 1).await.unwrap());
    assert!(!store.revoke_service_token("nope", 1).await.unwrap());

    let k1 = store
        .builder_by_api_key_hash("hash-k1")
        .await
        .unwrap()
        .unwrap();
    assert!(k1.revoked_at.is_some());
    let k2 = store
        .builder_by_api_key_hash("hash-k2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(k2.revoked_at, None);
    let s1 = store
        .app_by_service_token_hash("hash-s1")
        .await
        .unwrap()
        .unwrap();
    assert!(s1.revoked_at.is_some());

    let listed = store.list_api_keys(Some("w"), Some("b")).await.unwrap();
    assert_eq!(
        listed.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
        ["k1", "k2"]
    );
    assert_eq!(listed[0].revoked_at, k1.revoked_at);
    assert_eq!(listed[0].builder_email, "b@example.com");
    assert!(store
        .list_api_keys(Some("x"), None)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .list_api_keys(None, Some("x"))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.list_api_keys(None, None).await.unwrap().len(), 2);
    let tokens = store.list_service_tokens(None, Some("a")).await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].workspace_id, "w");
    assert_eq!(tokens[0].revoked_at, s1.revoked_at);
    assert!(store
        .list_service_tokens(Some("x"), None)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.get_api_key("k2").await.unwrap().unwrap().revoked_at,
        None
    );
    assert!(store.get_service_token("nope").await.unwrap().is_none());
}

/// What `/metrics`' refresh-lag gauge reads: the earliest expiry among
/// active connectors' refreshable credentials only.
#[tokio::test]
async fn earliest_refreshable_expiry_counts_active_connectors_only() {
    let (store, _db) = store().await;
    assert_eq!(store.earliest_refreshable_expiry().await.unwrap(), None);
    authorize(&*store).await;
    assert_eq!(
        store.earliest_refreshable_expiry().await.unwrap(),
        Some(1_000)
    );
    store
        .set_connector_status(&key(), ConnectorStatus::Expired, Some("refused"), 10, &[])
        .await
        .unwrap();
    assert_eq!(store.earliest_refreshable_expiry().await.unwrap(), None);
    let pool = store.pool_stats();
    assert!(pool.size >= 1 && pool.idle <= pool.size, "{pool:?}");
}

/// Issue #11.3: the background scan returns only what it may refresh now,
/// in expiry order; an expired connector and a failure waiting out its
/// backoff stay out (migration 0008 keeps them out of the index it reads),
/// and come back with a re-consent and when the retry time comes.
#[tokio::test]
async fn the_refresh_scan_skips_expired_and_backing_off_connectors() {
    let (store, _db) = store().await;
    let of = |name: &str| ConnectorKey::new("a", name.parse().unwrap());
    let authorize_as = |name: &'static str, expires_at_ms: i64| {
        let store = store.clone();
        async move {
            let mut credentials = creds("sealed-a1", Some("sealed-r1"));
            credentials.integration_type = name.parse().unwrap();
            credentials.expires_at_ms = Some(expires_at_ms);
            store
                .save_authorization(&Authorization {
                    events: Vec::new(),
                    connection_id: None,
                    builder_id: None,
                    scopes: vec![],
                    granted_scopes: vec![],
                    connection_config: None,
                    credentials,
                })
                .await
                .unwrap();
        }
    };
    authorize_as("plain", 3_000).await;
    authorize_as("failing", 1_000).await;
    authorize_as("refused", 2_000).await;
    authorize_as("later", 900_000).await;
    let names = |keys: Vec<ConnectorKey>| -> Vec<String> {
        keys.iter()
            .map(|k| k.integration_type.to_string())
            .collect()
    };
    let due = |now: i64| {
        let store = store.clone();
        async move { names(store.credentials_due(10_000, now, 10).await.unwrap()) }
    };
    assert_eq!(due(1).await, ["failing", "refused", "plain"]);
    // A transient failure: retried from second 50 on.
    store
        .record_refresh_failure(&of("failing"), "p", "503", 50, 1, &[])
        .await
        .unwrap();
    // A refusal, as the engine records it: no retry, the connector expired.
    store
        .record_refresh_failure(&of("refused"), "p", "invalid_grant", i64::MAX, 1, &[])
        .await
        .unwrap();
    store
        .set_connector_status(&of("refused"), ConnectorStatus::Expired, Some("no"), 1, &[])
        .await
        .unwrap();
    assert_eq!(due(2).await, ["plain"]);
    assert_eq!(
        store.earliest_refreshable_expiry().await.unwrap(),
        Some(1_000)
    );
    assert_eq!(due(50).await, ["failing", "plain"]);
    assert_eq!(
        names(store.credentials_due(10_000, 50, 1).await.unwrap()),
        ["failing"]
    );
    // An expired connector stays out even once its retry time has come.
    store
        .set_connector_status(&of("failing"), ConnectorStatus::Expired, Some("no"), 3, &[])
        .await
        .unwrap();
    assert_eq!(due(50).await, ["plain"]);
    // A new consent (here an import) brings the refused one back.
    authorize_as("refused", 2_000).await;
    assert_eq!(due(50).await, ["refused", "plain"]);
}

// Device login: device codes, refresh-token families (#12)

async fn device_store() -> (Arc<dyn Store>, TestDatabase) {
    let (store, db) = store().await;
    store
        .create_builder(&Builder {
            id: "b".into(),
            workspace_id: "w".into(),
            email: "b@example.com".into(),
            created_at: 0,
        })
        .await
        .unwrap();
    (store, db)
}

fn device_code(hash: &str, user_code: &str, expires_at: i64) -> DeviceCodeRow {
    DeviceCodeRow {
        device_code_hash: hash.into(),
        user_code: user_code.into(),
        client_id: "base44_cli".into(),
        scope: "apps:read".into(),
        status: DeviceCodeStatus::Pending,
        builder_id: None,
        interval_secs: 5,
        last_poll_at: None,
        created_at: 0,
        expires_at,
    }
}

fn rt(hash: &str) -> NewRefreshToken {
    NewRefreshToken {
        token_hash: hash.into(),
        expires_at: 1_000_000,
    }
}

#[tokio::test]
async fn a_device_code_is_decided_once_before_expiry_and_redeemed_once() {
    let (store, _db) = device_store().await;
    store
        .create_device_code(&device_code("d1", "BCDFGHJK", 1_000))
        .await
        .unwrap();
    // One pending request per user code.
    let twin = store
        .create_device_code(&device_code("d2", "BCDFGHJK", 1_000))
        .await;
    assert!(matches!(twin, Err(StoreError::Conflict(_))), "{twin:?}");
    // Not approved yet: nothing to redeem.
    assert!(store
        .redeem_device_code("d1", "f0", &rt("r0"), 10)
        .await
        .unwrap()
        .is_none());
    // Approval after expiry loses; before, exactly one decision wins.
    assert!(!store
        .decide_device_code("BCDFGHJK", DeviceDecision::Approve("b"), 1_000)
        .await
        .unwrap());
    let (approve, deny) = tokio::join!(
        store.decide_device_code("BCDFGHJK", DeviceDecision::Approve("b"), 10),
        store.decide_device_code("BCDFGHJK", DeviceDecision::Deny("b"), 10),
    );
    assert!(approve.unwrap() ^ deny.unwrap());
    let row = store.device_code_by_hash("d1").await.unwrap().unwrap();
    if row.status == DeviceCodeStatus::Approved {
        // Racing polls: one login.
        let (ra, rb) = (rt("ra"), rt("rb"));
        let (a, b) = tokio::join!(
            store.redeem_device_code("d1", "fa", &ra, 20),
            store.redeem_device_code("d1", "fb", &rb, 20),
        );
        let logins: Vec<_> = [a.unwrap(), b.unwrap()].into_iter().flatten().collect();
        assert_eq!(logins.len(), 1);
        assert_eq!(logins[0].builder.email, "b@example.com");
    } else {
        assert_eq!(row.status, DeviceCodeStatus::Denied);
    }
    // Polls closer than the gap are not recorded.
    assert!(store.record_device_poll("d1", 100, 4_000).await.unwrap());
    assert!(!store.record_device_poll("d1", 3_000, 4_000).await.unwrap());
    assert!(store.record_device_poll("d1", 4_100, 4_000).await.unwrap());
    assert_eq!(store.purge_device_codes(1_001).await.unwrap(), 1);
}

#[tokio::test]
async fn refresh_tokens_rotate_once_and_a_late_replay_revokes_the_login() {
    let (store, _db) = device_store().await;
    store
        .create_device_code(&device_code("d1", "BCDFGHJK", 1_000))
        .await
        .unwrap();
    store
        .decide_device_code("BCDFGHJK", DeviceDecision::Approve("b"), 0)
        .await
        .unwrap();
    let login = store
        .redeem_device_code("d1", "f1", &rt("r1"), 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(login.id, "f1");

    // Concurrent exchanges of one token: one rotation, the rest recent.
    let (na, nb, nc) = (rt("r2a"), rt("r2b"), rt("r2c"));
    let (a, b, c) = tokio::join!(
        store.rotate_refresh_token("r1", &na, 100, 5_000),
        store.rotate_refresh_token("r1", &nb, 100, 5_000),
        store.rotate_refresh_token("r1", &nc, 100, 5_000),
    );
    let outcomes = [a.unwrap(), b.unwrap(), c.unwrap()];
    let winners: Vec<usize> = (0..3)
        .filter(|i| matches!(outcomes[*i], RotateOutcome::Rotated(_)))
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == RotateOutcome::RotatedRecently)
            .count(),
        2
    );
    let next = ["r2a", "r2b", "r2c"][winners[0]];
    assert_eq!(
        store
            .rotate_refresh_token("nope", &rt("x"), 100, 5_000)
            .await
            .unwrap(),
        RotateOutcome::Unknown
    );
    // A replay after the grace revokes the login: the new token dies too.
    assert_eq!(
        store
            .rotate_refresh_token("r1", &rt("r3"), 6_000, 5_000)
            .await
            .unwrap(),
        RotateOutcome::Reused
    );
    assert_eq!(
        store
            .rotate_refresh_token(next, &rt("r4"), 6_001, 5_000)
            .await
            .unwrap(),
        RotateOutcome::Revoked
    );
    assert!(store
        .login_family("f1")
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some());
    assert_eq!(
        store.revoke_logins("b", 7_000).await.unwrap(),
        0,
        "already revoked"
    );
}

/// A builder `b` in workspace `w`.
async fn builder(store: &dyn Store) -> Builder {
    let b = Builder {
        id: "b".into(),
        workspace_id: "w".into(),
        email: "Owner@Example.com".into(),
        created_at: 0,
    };
    store.create_builder(&b).await.unwrap();
    b
}

fn invite(token_hash: &str, expires_at: i64) -> NewInvite {
    NewInvite {
        token_hash: token_hash.into(),
        builder_id: "b".into(),
        created_at: 0,
        expires_at,
    }
}

#[tokio::test]
async fn an_invite_is_used_once_even_by_racing_servers_and_replaces_the_older_ones() {
    let (store, _db) = store().await;
    builder(&*store).await;
    store.create_invite(&invite("old", 100)).await.unwrap();
    store.create_invite(&invite("new", 100)).await.unwrap();
    assert!(store.invite_builder("old", 1).await.unwrap().is_none());
    assert!(
        store.invite_builder("new", 100).await.unwrap().is_none(),
        "expired"
    );
    assert_eq!(
        store.invite_builder("new", 1).await.unwrap().unwrap().id,
        "b"
    );
    store.create_session("s1", "b", 1).await.unwrap();
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.accept_invite("new", &format!("hash{i}"), 2).await })
        })
        .collect();
    let mut winners = 0;
    for racer in racers {
        if racer.await.unwrap().unwrap().is_some() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    let logins = store.builder_logins("owner@EXAMPLE.com").await.unwrap();
    assert_eq!(logins.len(), 1);
    assert!(logins[0]
        .password_hash
        .as_deref()
        .unwrap()
        .starts_with("hash"));
    assert!(
        store.get_session("s1").await.unwrap().is_none(),
        "a new password ends sessions"
    );
}

#[tokio::test]
async fn sessions_are_found_touched_swept_and_deleted() {
    let (store, _db) = store().await;
    builder(&*store).await;
    store.create_session("s1", "b", 10).await.unwrap();
    store.create_session("s2", "b", 10).await.unwrap();
    store.touch_session("s1", 50).await.unwrap();
    let s1 = store.get_session("s1").await.unwrap().unwrap();
    assert_eq!(
        (s1.created_at, s1.last_seen_at, s1.builder.id.as_str()),
        (10, 50, "b")
    );
    // Idle since before 20: s2 goes, s1 stays.
    assert_eq!(store.delete_stale_sessions(20, 0).await.unwrap(), 1);
    assert!(store.get_session("s2").await.unwrap().is_none());
    // Created before 11: s1 goes too.
    assert_eq!(store.delete_stale_sessions(0, 11).await.unwrap(), 1);
    store.create_session("s3", "b", 60).await.unwrap();
    assert!(store.delete_session("s3").await.unwrap());
    assert!(!store.delete_session("s3").await.unwrap());
}

#[tokio::test]
async fn sign_in_failures_are_counted_per_key_within_the_window() {
    let (store, _db) = store().await;
    let both = ["account:a".to_string(), "address:1".to_string()];
    store.record_signin_failure(&both, 100, 0).await.unwrap();
    store
        .record_signin_failure(&both[..1], 200, 0)
        .await
        .unwrap();
    assert_eq!(
        store.signin_failures("account:a", 0).await.unwrap(),
        (2, Some(100))
    );
    assert_eq!(
        store.signin_failures("address:1", 0).await.unwrap(),
        (1, Some(100))
    );
    assert_eq!(
        store.signin_failures("account:a", 100).await.unwrap(),
        (1, Some(200))
    );
    assert_eq!(
        store.signin_failures("account:b", 0).await.unwrap(),
        (0, None)
    );
    // Recording forgets what is older than the window.
    store
        .record_signin_failure(&both[1..], 300, 150)
        .await
        .unwrap();
    assert_eq!(
        store.signin_failures("account:a", 0).await.unwrap(),
        (1, Some(200))
    );
    // Clearing forgets one key's failures, whatever their age, and only its.
    store.clear_signin_failures("account:a").await.unwrap();
    assert_eq!(
        store.signin_failures("account:a", 0).await.unwrap(),
        (0, None)
    );
    assert_eq!(
        store.signin_failures("address:1", 0).await.unwrap(),
        (1, Some(300))
    );
}

/// Last use (#12.3): recorded at most once per granularity, once among
/// racing recorders, never for a revoked credential; the lookups and the
/// listings read it. On PostgreSQL a recorded use announces nothing (it
/// changes no checked principal), while a revocation still does.
#[tokio::test]
async fn a_use_is_recorded_once_per_granularity_and_never_after_revocation() {
    let (store, _db) = store().await;
    store
        .create_builder(&Builder {
            id: "b".into(),
            workspace_id: "w".into(),
            email: "b@example.com".into(),
            created_at: 0,
        })
        .await
        .unwrap();
    store
        .create_api_key(&NewApiKey {
            id: "k1".into(),
            builder_id: "b".into(),
            key_hash: "hash-k1".into(),
            display_prefix: "b44k_abcde".into(),
            created_at: 1,
        })
        .await
        .unwrap();
    store
        .create_service_token(&NewServiceToken {
            id: "s1".into(),
            app_id: "a".into(),
            token_hash: "hash-s1".into(),
            display_prefix: "b44s_abcde".into(),
            created_at: 1,
        })
        .await
        .unwrap();
    authorize(&*store).await;
    let mut feed = store.change_feed().await.unwrap();

    let owner = store
        .builder_by_api_key_hash("hash-k1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((owner.id.as_str(), owner.last_used_at), ("k1", None));
    let token = store
        .app_by_service_token_hash("hash-s1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((token.id.as_str(), token.last_used_at), ("s1", None));
    assert_eq!(
        store.list_api_keys(None, None).await.unwrap()[0].last_used_at,
        None
    );

    // Racing recorders (replicas) write once.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let k = store.record_api_key_use("k1", 1_000, 60).await.unwrap();
            let s = store
                .record_service_token_use("s1", 1_000, 60)
                .await
                .unwrap();
            (k, s)
        }));
    }
    let (mut keys, mut tokens) = (0, 0);
    for t in tasks {
        let (k, s) = t.await.unwrap();
        keys += usize::from(k);
        tokens += usize::from(s);
    }
    assert_eq!((keys, tokens), (1, 1));

    // Within the granularity: nothing written; past it: written.
    assert!(!store.record_api_key_use("k1", 1_060, 60).await.unwrap());
    assert!(!store
        .record_service_token_use("s1", 1_060, 60)
        .await
        .unwrap());
    let last_used = |store: Arc<dyn Store>| async move {
        (
            store.get_api_key("k1").await.unwrap().unwrap().last_used_at,
            store
                .get_service_token("s1")
                .await
                .unwrap()
                .unwrap()
                .last_used_at,
        )
    };
    assert_eq!(last_used(store.clone()).await, (Some(1_000), Some(1_000)));
    assert!(store.record_api_key_use("k1", 1_061, 60).await.unwrap());
    assert!(store
        .record_service_token_use("s1", 1_061, 60)
        .await
        .unwrap());
    assert_eq!(last_used(store.clone()).await, (Some(1_061), Some(1_061)));
    assert_eq!(
        store
            .builder_by_api_key_hash("hash-k1")
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(1_061)
    );
    assert_eq!(
        store.list_service_tokens(None, Some("a")).await.unwrap()[0].last_used_at,
        Some(1_061)
    );
    assert!(!store.record_api_key_use("nope", 1_061, 60).await.unwrap());
    assert!(!store
        .record_service_token_use("nope", 1_061, 60)
        .await
        .unwrap());

    if let Some(feed) = feed.as_mut() {
        // The recorded uses above were not announced: the first change
        // heard is the connector's, made after them.
        store
            .set_connector_status(&key(), ConnectorStatus::Expired, None, 2_000, &[])
            .await
            .unwrap();
        let next = tokio::time::timeout(std::time::Duration::from_secs(20), feed.next());
        assert_eq!(next.await.unwrap().unwrap(), Change::Connector(key()));
    }

    // Revoked: a later use is not recorded.
    assert!(store.revoke_api_key("k1", 2_000).await.unwrap());
    assert!(store.revoke_service_token("s1", 2_000).await.unwrap());
    assert!(!store.record_api_key_use("k1", 5_000, 60).await.unwrap());
    assert!(!store
        .record_service_token_use("s1", 5_000, 60)
        .await
        .unwrap());
    assert_eq!(last_used(store.clone()).await, (Some(1_061), Some(1_061)));
    if let Some(feed) = feed.as_mut() {
        for _ in 0..2 {
            let next = tokio::time::timeout(std::time::Duration::from_secs(20), feed.next());
            assert_eq!(next.await.unwrap().unwrap(), Change::Credentials);
        }
    }
}

fn workspace_connector(id: &str, name: &str) -> WorkspaceConnectorRow {
    WorkspaceConnectorRow {
        id: id.into(),
        workspace_id: "w".into(),
        integration_type: t(),
        name: name.into(),
        client_id: "client".into(),
        client_secret: Some("sealed-secret".into()),
        scopes: vec!["read".into()],
        connection_config: [("account".to_string(), "xy12345".to_string())].into(),
        builder_enabled: true,
        per_user_enabled: false,
        created_at: 1,
        updated_at: 1,
    }
}

/// #13: workspace connectors have unique names; an app's connection of one
/// lives beside the app's own connector of the same type without touching
/// it, is not among the app's own connectors, and goes (with its
/// credentials, its pending attempts failed) when the connector is deleted.
#[tokio::test]
async fn workspace_connections_are_separate_and_go_with_their_connector() {
    let (store, _db) = store().await;
    let id = "0123456789abcdef01234567";
    store
        .create_workspace_connector(&workspace_connector(id, "Calendar"), &[])
        .await
        .unwrap();
    let dup = store
        .create_workspace_connector(
            &workspace_connector("aaaaaaaaaaaaaaaaaaaaaaaa", "Calendar"),
            &[],
        )
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let read = store.get_workspace_connector(id).await.unwrap().unwrap();
    assert_eq!(read, workspace_connector(id, "Calendar"));
    let mut renamed = read.clone();
    renamed.name = "Cal".into();
    renamed.per_user_enabled = true;
    assert!(store
        .update_workspace_connector(&renamed, &[])
        .await
        .unwrap());
    assert_eq!(
        store.list_workspace_connectors("w").await.unwrap(),
        [renamed.clone()]
    );

    // The app's own connector and its workspace connection, same type.
    authorize(&*store).await;
    let shared = ConnectorKey::workspace("a", t(), id);
    assert_eq!(shared.slot(), format!("t~{id}"));
    assert_eq!(
        ConnectorKey::from_slot("a", &shared.slot()),
        Some(shared.clone())
    );
    let mut shared_attempt = attempt("s", 1);
    shared_attempt.holder = shared.holder.clone();
    store.start_attempt(&shared_attempt).await.unwrap();
    assert_eq!(store.get_attempt("s").await.unwrap().unwrap().key(), shared);
    let mut second = attempt("s2", 1);
    second.holder = shared.holder.clone();
    store.start_attempt(&second).await.unwrap();
    let mut credentials = creds("sealed-shared", Some("sealed-r"));
    credentials.holder = shared.holder.clone();
    assert!(store
        .save_authorization(&Authorization {
            events: Vec::new(),
            connection_id: Some("s".into()),
            builder_id: None,
            scopes: vec!["read".into()],
            granted_scopes: vec!["read".into()],
            connection_config: None,
            credentials,
        })
        .await
        .unwrap());
    let own: Vec<_> = store.list_connectors("a").await.unwrap();
    assert_eq!(own.len(), 1, "the app's own connectors only: {own:?}");
    assert_eq!(own[0].key(), key());
    let connections = store.list_workspace_connections("a").await.unwrap();
    assert_eq!(connections.len(), 1);
    assert_eq!(connections[0].key(), shared);
    assert_eq!(
        store
            .get_credentials(&shared)
            .await
            .unwrap()
            .unwrap()
            .access_token,
        "sealed-shared"
    );
    assert_eq!(
        store.connections_of_workspace_connector(id).await.unwrap(),
        std::slice::from_ref(&shared)
    );
    // PostgreSQL announces the connection's own key (a slot the feed could
    // not read would empty every replica's whole cache instead).
    if let Some(mut feed) = store.change_feed().await.unwrap() {
        store
            .set_connector_status(&shared, ConnectorStatus::Expired, None, 4, &[])
            .await
            .unwrap();
        loop {
            let next = tokio::time::timeout(std::time::Duration::from_secs(20), feed.next());
            let change = next.await.unwrap().unwrap();
            assert_ne!(change, Change::Everything);
            if change == Change::Connector(shared.clone()) {
                break;
            }
        }
    }

    assert!(store
        .delete_workspace_connector(id, 5, &[], &|_| Vec::new())
        .await
        .unwrap());
    assert!(!store
        .delete_workspace_connector(id, 6, &[], &|_| Vec::new())
        .await
        .unwrap());
    assert_eq!(store.get_connector(&shared).await.unwrap(), None);
    assert!(store.get_credentials(&shared).await.unwrap().is_none());
    assert!(store
        .get_attempt("s2")
        .await
        .unwrap()
        .unwrap()
        .was_cancelled_by_removal());
    assert!(
        store.get_credentials(&key()).await.unwrap().is_some(),
        "the app's own connector is untouched"
    );
}

/// A slot we do not write is corrupt, never misread as another connector.
#[test]
fn slots_read_back_only_in_the_shapes_we_write() {
    let id = "0123456789abcdef01234567";
    for bad in [
        "t~".to_string(),
        "t~xyz".into(),
        format!("~{id}"),
        "t~0123456789ABCDEF01234567".into(),
        format!("t~{id}~"),
        format!("t~{id}~U"),
        format!("t~{id}~u~x"),
        format!("t~{id}~{}", "u".repeat(65)),
    ] {
        assert_eq!(ConnectorKey::from_slot("a", &bad), None, "{bad}");
    }
    assert_eq!(ConnectorKey::from_slot("a", "t"), Some(key()));
    let user = ConnectorKey::app_user("a", t(), id, "0f1e");
    assert_eq!(user.slot(), format!("t~{id}~0f1e"));
    assert_eq!(
        ConnectorKey::from_slot("a", &user.slot()),
        Some(user.clone())
    );
    assert_eq!(user.workspace_connector_id(), Some(id));
    assert_eq!(user.app_user_id(), Some("0f1e"));
}

fn app_user(id: &str, subject: &str, email: Option<&str>, now: i64) -> AppUserRow {
    AppUserRow {
        id: id.into(),
        app_id: "a".into(),
        issuer: "https://c.example".into(),
        subject: subject.into(),
        email: email.map(str::to_owned),
        name: None,
        created_at: now,
        last_seen_at: now,
    }
}

#[tokio::test]
async fn app_users_are_keyed_by_issuer_and_subject_never_by_email() {
    let (store, _db) = store().await;
    let first = store
        .upsert_app_user(&app_user("u1", "alice", Some("a@x.example"), 1))
        .await
        .unwrap();
    assert_eq!(first, app_user("u1", "alice", Some("a@x.example"), 1));
    // Seen again under a new email and a fresh id: same row, same id.
    let again = store
        .upsert_app_user(&app_user("u2", "alice", Some("new@x.example"), 5))
        .await
        .unwrap();
    assert_eq!(again.id, "u1");
    assert_eq!(again.created_at, 1);
    assert_eq!(
        (again.email.as_deref(), again.last_seen_at),
        (Some("new@x.example"), 5)
    );
    // The same email under another subject, or the same subject of another
    // issuer, is another user.
    let bob = store
        .upsert_app_user(&app_user("u3", "bob", Some("new@x.example"), 6))
        .await
        .unwrap();
    assert_eq!(bob.id, "u3");
    let mut other_issuer = app_user("u4", "alice", None, 7);
    other_issuer.issuer = "https://idp.example".into();
    assert_eq!(store.upsert_app_user(&other_issuer).await.unwrap().id, "u4");
    let users = store.list_app_users("a").await.unwrap();
    assert_eq!(
        users.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        ["u1", "u3", "u4"]
    );
    assert_eq!(store.get_app_user("u3").await.unwrap(), Some(bob));
    assert_eq!(
        store
            .app_user_by_subject("a", "https://c.example", "alice")
            .await
            .unwrap()
            .map(|u| u.id),
        Some("u1".into())
    );
    assert!(store
        .app_user_by_subject("a", "https://c.example", "carol")
        .await
        .unwrap()
        .is_none());
    // A user of an app that does not exist is refused.
    let mut stray = app_user("u5", "x", None, 1);
    stray.app_id = "nope".into();
    assert!(matches!(
        store.upsert_app_user(&stray).await,
        Err(StoreError::Conflict(_))
    ));
    // Settings: none, then set, then replaced.
    assert_eq!(store.app_user_settings("a").await.unwrap(), None);
    let settings = AppUserSettingsRow {
        app_id: "a".into(),
        allowed_origins: vec!["https://app.example".into()],
        default_return_url: Some("https://app.example/done".into()),
        identity_provider: Some(IdentityProviderRow {
            issuer: "https://idp.example".into(),
            jwks_uri: "https://idp.example/jwks".into(),
            audience: "app".into(),
            user_id_claim: "sub".into(),
            email_claim: "email".into(),
            algorithms: vec!["RS256".into(), "EdDSA".into()],
        }),
        updated_at: 3,
    };
    store.put_app_user_settings(&settings).await.unwrap();
    assert_eq!(
        store.app_user_settings("a").await.unwrap().as_ref(),
        Some(&settings)
    );
    let cleared = AppUserSettingsRow {
        identity_provider: None,
        default_return_url: None,
        allowed_origins: vec![],
        updated_at: 4,
        ..settings
    };
    store.put_app_user_settings(&cleared).await.unwrap();
    assert_eq!(store.app_user_settings("a").await.unwrap(), Some(cleared));
}

/// #13.4: an app user's connection is listed as theirs only (not among the
/// app's own connectors nor its shared connections), beside another
/// user's, and goes with its workspace connector.
#[tokio::test]
async fn app_user_connections_are_each_users_own() {
    let (store, _db) = store().await;
    let id = "0123456789abcdef01234567";
    store
        .create_workspace_connector(&workspace_connector(id, "Calendar"), &[])
        .await
        .unwrap();
    let alice = store
        .upsert_app_user(&app_user("aaaa", "alice", None, 1))
        .await
        .unwrap();
    let bob = store
        .upsert_app_user(&app_user("bbbb", "bob", None, 1))
        .await
        .unwrap();
    for (n, user) in [&alice, &bob].into_iter().enumerate() {
        let key = ConnectorKey::app_user("a", t(), id, &user.id);
        let mut a = attempt(&format!("u{n}"), 1);
        a.holder = key.holder.clone();
        a.return_to = Some("https://app.example/after".into());
        store.start_attempt(&a).await.unwrap();
        let read = store.get_attempt(&format!("u{n}")).await.unwrap().unwrap();
        assert_eq!(read.key(), key);
        assert_eq!(read.return_to.as_deref(), Some("https://app.example/after"));
    }
    let users = store.list_app_user_connections("a").await.unwrap();
    assert_eq!(users.len(), 2, "{users:?}");
    assert!(store
        .list_workspace_connections("a")
        .await
        .unwrap()
        .is_empty());
    assert!(store.list_connectors("a").await.unwrap().is_empty());
    assert_eq!(
        store
            .connections_of_workspace_connector(id)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(store
        .delete_workspace_connector(id, 2, &[], &|_| Vec::new())
        .await
        .unwrap());
    assert!(store
        .list_app_user_connections("a")
        .await
        .unwrap()
        .is_empty());
}

/// The proxy's monthly quota: racing replicas never count past the limit,
/// months are apart, and a refund gives one call back.
#[tokio::test]
async fn proxy_calls_are_counted_up_to_the_limit_across_racers() {
    let (store, _db) = store().await;
    let takes = (0..10).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.take_proxy_call("a", "2026-12", 3).await.unwrap() })
    });
    let mut taken = 0;
    for t in takes {
        taken += usize::from(t.await.unwrap());
    }
    assert_eq!(taken, 3);
    assert!(store.take_proxy_call("a", "2027-01", 3).await.unwrap());
    store.refund_proxy_call("a", "2026-12").await.unwrap();
    assert!(store.take_proxy_call("a", "2026-12", 3).await.unwrap());
    assert!(!store.take_proxy_call("a", "2026-12", 3).await.unwrap());
}

fn event(scope: EventScope, id: &str, ty: &str, at: i64) -> NewEvent {
    NewEvent {
        scope,
        id: id.into(),
        event_type: ty.into(),
        data: format!(r#"{{"n":"{id}"}}"#),
        created_at: at,
    }
}

fn endpoint(id: &str, types: Option<Vec<String>>) -> WebhookEndpointRow {
    WebhookEndpointRow {
        id: id.into(),
        app_id: "a".into(),
        url: "https://example.com/hook".into(),
        description: None,
        event_types: types,
        secret: "sealed".into(),
        previous_secret: None,
        previous_secret_expires_at: None,
        disabled_at: None,
        disabled_reason: None,
        failing_since: None,
        created_at: 1,
        updated_at: 1,
    }
}

/// #15: events are written with their change or not at all, numbered per
/// app in order; each queues one delivery per endpoint that wants it; a
/// claimed delivery goes to one claimer until its claim lapses; the
/// claimer records attempts, and a day of failures disables the endpoint.
#[tokio::test]
async fn events_go_with_their_change_and_deliveries_to_one_claimer() {
    let (store, _db) = store().await;
    store
        .create_webhook_endpoint(&endpoint("we_all", None))
        .await
        .unwrap();
    store
        .create_webhook_endpoint(&endpoint(
            "we_some",
            Some(vec!["connector.expired.v1".into()]),
        ))
        .await
        .unwrap();
    let app = || EventScope::App("a".into());
    // A consent that no longer applies writes neither its change nor its event.
    let refused = store
        .save_authorization(&Authorization {
            events: vec![event(app(), "evt_lost", "connector.connected.v1", 1)],
            connection_id: Some("gone".into()),
            builder_id: None,
            scopes: vec![],
            granted_scopes: vec![],
            connection_config: None,
            credentials: creds("x", None),
        })
        .await
        .unwrap();
    assert!(!refused);
    store
        .write_events(&[
            event(app(), "evt_1", "connector.connected.v1", 2),
            event(app(), "evt_2", "connector.expired.v1", 3),
        ])
        .await
        .unwrap();
    store
        .write_events(&[event(
            EventScope::Workspace("w".into()),
            "evt_3",
            "workspace_connector.created.v1",
            4,
        )])
        .await
        .unwrap();
    let log = store.list_events("a", 0, 10).await.unwrap();
    let ids: Vec<&str> = log.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["evt_1", "evt_2", "evt_3"]);
    let seqs: Vec<i64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(store.list_events("a", 2, 10).await.unwrap()[0].id, "evt_3");

    // we_all: 3 deliveries; we_some: 1. Two claimers split them.
    let first = store.claim_deliveries("r1", 10, 30_000, 3).await.unwrap();
    let second = store.claim_deliveries("r2", 10, 30_000, 10).await.unwrap();
    assert_eq!(first.len() + second.len(), 4, "{first:?} {second:?}");
    for d in &first {
        assert!(!second.iter().any(|s| s.id == d.id), "claimed twice: {d:?}");
    }
    assert!(store
        .claim_deliveries("r3", 10, 30_000, 10)
        .await
        .unwrap()
        .is_empty());
    // A lapsed claim is taken over; the old claimer can no longer record.
    let taken = store
        .claim_deliveries("r3", 40_001, 30_000, 10)
        .await
        .unwrap();
    assert_eq!(taken.len(), 4);
    let d = &taken[0];
    let attempt = |owner: &str, delivered: bool, at: i64| DeliveryAttempt {
        delivery_id: d.id.clone(),
        endpoint_id: d.endpoint_id.clone(),
        owner: owner.into(),
        attempt: 1,
        at,
        status_code: Some(if delivered { 200 } else { 500 }),
        error: None,
        response_excerpt: None,
        duration_ms: 5,
        delivered,
        next_attempt_at: Some(at),
        disable_after_ms: 1_000,
        disable_now: None,
    };
    assert!(!store
        .finish_delivery(&attempt("r1", true, 40_002))
        .await
        .unwrap());
    assert!(store
        .finish_delivery(&attempt("r3", false, 40_002))
        .await
        .unwrap());
    let log = store.delivery_log(&d.endpoint_id, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].delivery_status, "pending");
    // Failing for longer than `disable_after_ms` disables the endpoint.
    let again = store
        .claim_deliveries("r4", 40_003, 30_000, 10)
        .await
        .unwrap();
    let d2 = again.iter().find(|x| x.id == d.id).expect("due again");
    let mut later = attempt("r4", false, 41_003);
    later.attempt = 2;
    later.delivery_id = d2.id.clone();
    assert!(store.finish_delivery(&later).await.unwrap());
    let row = store
        .get_webhook_endpoint(&d.endpoint_id)
        .await
        .unwrap()
        .unwrap();
    assert!(row.disabled_at.is_some(), "{row:?}");
    assert_eq!(row.failing_since, Some(40_002));
    // Retention: events and deliveries untouched since before the cut go,
    // a disabled endpoint's pending ones too; the endpoints stay.
    // Before 4: evt_1 and evt_2, and evt_2's untouched delivery to the
    // disabled endpoint (the enabled one's is still owed).
    assert_eq!(store.purge_events(4).await.unwrap(), 3);
    let left = store.list_events("a", 0, 10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, "evt_3");
    assert_eq!(store.purge_events(i64::MAX).await.unwrap(), 3);
    let owed = store
        .claim_deliveries("r5", i64::MAX / 4, 1, 10)
        .await
        .unwrap();
    assert_eq!(owed.len(), 1, "{owed:?}");
    assert_eq!(owed[0].endpoint_id, "we_some");
    assert!(store.list_events("a", 0, 10).await.unwrap().is_empty());
    assert!(store
        .delivery_log(&d.endpoint_id, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .get_webhook_endpoint("we_all")
        .await
        .unwrap()
        .is_some());
}

fn audit_entry(app_id: Option<&str>, action: &str, at: i64) -> NewAuditEntry {
    NewAuditEntry {
        workspace_id: "w".into(),
        app_id: app_id.map(str::to_string),
        at,
        actor_kind: "builder".into(),
        actor_id: Some("b".into()),
        actor_label: Some("b@example.com".into()),
        action: action.into(),
        target: Some("t".into()),
        detail: None,
        client_address: Some("127.0.0.1".into()),
        request_id: Some("req-1".into()),
    }
}

/// The audit trail: ids grow with every append, a workspace reads its apps'
/// and its own entries, an app only its own, both by cursor either way, and
/// the purge takes only what is older than the retention.
#[tokio::test]
async fn the_audit_trail_is_read_by_cursor_per_workspace_and_per_app() {
    let (store, _db) = store().await;
    let first = store
        .append_audit(&audit_entry(None, "signin.succeeded", 1_000))
        .await
        .unwrap();
    let second = store
        .append_audit(&audit_entry(Some("a"), "connector.set", 2_000))
        .await
        .unwrap();
    let mut other = audit_entry(Some("other-app"), "connector.set", 3_000);
    other.workspace_id = "other".into();
    let third = store.append_audit(&other).await.unwrap();
    assert!(first < second && second < third);

    let after = |after, limit| AuditPage::After { after, limit };
    let all = store
        .list_audit(AuditScope::Workspace("w"), after(0, 10))
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        [first, second]
    );
    assert_eq!(all[1].entry, audit_entry(Some("a"), "connector.set", 2_000));
    let page = store
        .list_audit(AuditScope::Workspace("w"), after(0, 1))
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    let rest = store
        .list_audit(AuditScope::Workspace("w"), after(page[0].id, 10))
        .await
        .unwrap();
    assert_eq!(rest.iter().map(|r| r.id).collect::<Vec<_>>(), [second]);
    let app = store
        .list_audit(AuditScope::App("a"), after(0, 10))
        .await
        .unwrap();
    assert_eq!(app.iter().map(|r| r.id).collect::<Vec<_>>(), [second]);

    let before = |before, limit| AuditPage::Before { before, limit };
    let newest = store
        .list_audit(AuditScope::Workspace("w"), before(None, 1))
        .await
        .unwrap();
    assert_eq!(newest.iter().map(|r| r.id).collect::<Vec<_>>(), [second]);
    let older = store
        .list_audit(AuditScope::Workspace("w"), before(Some(second), 10))
        .await
        .unwrap();
    assert_eq!(older.iter().map(|r| r.id).collect::<Vec<_>>(), [first]);

    assert_eq!(store.purge_audit(2_000).await.unwrap(), 1);
    let left = store
        .list_audit(AuditScope::Workspace("w"), after(0, 10))
        .await
        .unwrap();
    assert_eq!(left.iter().map(|r| r.id).collect::<Vec<_>>(), [second]);
    // An id is never reused, even after the newest rows were purged.
    store.purge_audit(i64::MAX).await.unwrap();
    let next = store
        .append_audit(&audit_entry(None, "signin.succeeded", 4_000))
        .await
        .unwrap();
    assert!(next > third);
}

/// Rows are appended and purged, never changed: the database refuses an
/// UPDATE, whoever runs it.
#[tokio::test]
async fn an_audit_entry_cannot_be_updated() {
    let (store, db) = store().await;
    store
        .append_audit(&audit_entry(Some("a"), "connector.set", 1))
        .await
        .unwrap();
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(db.url()).await.unwrap();
    let refused = sqlx::query("UPDATE audit_log SET action = 'nothing.happened'")
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("append-only"), "{refused}");
    pool.close().await;
}

/// A reader following the trail while many appends race (replicas) sees
/// every entry exactly once, in id order. (The window in which PostgreSQL
/// could commit an id after a larger one, which the append's advisory lock
/// closes, is too narrow for this test to hit reliably without it.)
#[tokio::test]
async fn a_reader_following_racing_appends_misses_none() {
    let (store, _db) = store().await;
    const N: usize = 60;
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writers: Vec<_> = (0..N)
        .map(|i| {
            let (store, done) = (store.clone(), done.clone());
            tokio::spawn(async move {
                let id = store
                    .append_audit(&audit_entry(Some("a"), "connector.set", i as i64))
                    .await
                    .unwrap();
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                id
            })
        })
        .collect();
    let mut seen = Vec::new();
    let mut cursor = 0;
    loop {
        // Read before reading the page: an empty page after every writer
        // finished means the trail is read to its end.
        let finished = done.load(std::sync::atomic::Ordering::SeqCst) == N;
        let page = store
            .list_audit(
                AuditScope::App("a"),
                AuditPage::After {
                    after: cursor,
                    limit: 7,
                },
            )
            .await
            .unwrap();
        if page.is_empty() && finished {
            break;
        }
        for row in page {
            assert!(row.id > cursor);
            cursor = row.id;
            seen.push(row.id);
        }
        tokio::task::yield_now().await;
    }
    let mut written: Vec<i64> = Vec::new();
    for w in writers {
        written.push(w.await.unwrap());
    }
    written.sort_unstable();
    assert_eq!(seen, written);
}
