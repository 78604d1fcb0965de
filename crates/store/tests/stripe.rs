//! The Stripe sandbox rules: one provisioning claim per app at a time, taken
//! over only after it expires; a finished sandbox is never overwritten.

use connectors_store::*;

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
    let (store, _dir) = store().await;
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
    let (store, _dir) = store().await;
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
    let (store, _dir) = store().await;
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
