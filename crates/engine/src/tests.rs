use std::collections::BTreeMap;
use std::sync::Arc;

use connectors_catalog::{Catalog, ProviderConfig, BUILTIN_CATALOG};
use connectors_store::ConnectorKey;
use connectors_testdb::TestDatabase;
use connectors_vault::{KeyRing, Secret};
use connectors_wire::ConnectorStatus;

use super::*;

mod app_users;

/// The engine's one test assembly: the catalog with a custom `acme`, over a
/// fresh database of the backend `CONNECTORS_TEST_BACKEND` names.
async fn engine_with(keys: KeyRing, clock: Clock) -> (Engine, TestDatabase) {
    engine_on(TestDatabase::new(), keys, clock).await
}

/// [`engine_with`] over a given database.
async fn engine_on(db: TestDatabase, keys: KeyRing, clock: Clock) -> (Engine, TestDatabase) {
    let config = EngineConfig {
        clock,
        ..EngineConfig::default()
    };
    engine_configured(db, keys, config).await
}

/// [`engine_on`] with settings of the test's choosing.
async fn engine_configured(
    db: TestDatabase,
    keys: KeyRing,
    config: EngineConfig,
) -> (Engine, TestDatabase) {
    let store = connectors_store::open(db.url()).await.unwrap();
    let engine = Engine::new(
        store,
        acme_catalog("https://id.acme.test/token"),
        Arc::new(keys),
        config,
    );
    (engine, db)
}

/// The built-in catalog plus a custom `acme` whose token endpoint is `token_url`.
fn acme_catalog(token_url: &str) -> Arc<Catalog> {
    let operator: BTreeMap<String, ProviderConfig> = toml::from_str(&format!(
        r#"
        [acme]
        authorization_url = "https://id.acme.test/authorize"
        token_url = "{token_url}"
        client_id = "cid"
        "#
    ))
    .unwrap();
    let operator = operator.into_iter().map(|(k, v)| (k, v.finish())).collect();
    Arc::new(Catalog::load(BUILTIN_CATALOG, &operator).unwrap())
}

fn ring() -> KeyRing {
    KeyRing::from_specs(&[KeyRing::generate_spec("k1").expose()]).unwrap()
}

async fn bootstrapped() -> (Engine, Bootstrap, TestDatabase) {
    bootstrapped_at(Clock::system()).await
}

async fn bootstrapped_at(clock: Clock) -> (Engine, Bootstrap, TestDatabase) {
    let (engine, dir) = engine_with(ring(), clock).await;
    let b = bootstrap(&engine).await;
    (engine, b, dir)
}

async fn bootstrap(engine: &Engine) -> Bootstrap {
    engine
        .bootstrap(&BootstrapRequest {
            workspace_name: "w".into(),
            builder_email: "owner@example.com".into(),
            app_name: "a".into(),
        })
        .await
        .unwrap()
        .unwrap()
}

async fn builder(engine: &Engine, key: &Secret) -> connectors_store::Builder {
    match engine
        .authenticate(Credential::ApiKey(key.expose()))
        .await
        .unwrap()
    {
        Principal::Builder(b) => b,
        other => panic!("{other:?}"),
    }
}

/// The bootstrap builder's checked access to the bootstrap app.
async fn authorized(engine: &Engine, b: &Bootstrap) -> AuthorizedApp {
    let me = engine
        .authenticate(Credential::ApiKey(b.api_key.expose()))
        .await
        .unwrap();
    engine.builder_app(&me, &b.app_id).await.unwrap()
}

/// The bootstrap app's service token, checked.
async fn service(engine: &Engine, b: &Bootstrap) -> ServiceApp {
    let caller = engine
        .authenticate(Credential::Bearer(b.service_token.expose()))
        .await
        .unwrap();
    engine.service_app(&caller, &b.app_id).unwrap()
}

fn ty(t: &str) -> IntegrationType {
    t.parse().unwrap()
}

fn import(app_id: &str, ty: &str, email: Option<&str>, scopes: &[&str]) -> ImportCredentials {
    ImportCredentials {
        app_id: app_id.into(),
        integration_type: ty.into(),
        builder_email: email.map(str::to_string),
        access_token: Secret::new("at-1"),
        refresh_token: Some(Secret::new("rt-1")),
        expires_in: Some(3600),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        connection_config: Some(BTreeMap::from([("team".to_string(), "t1".to_string())])),
    }
}

#[tokio::test]
async fn bootstrap_runs_once() {
    let (engine, _b, _dir) = bootstrapped().await;
    let again = engine
        .bootstrap(&BootstrapRequest {
            workspace_name: "w".into(),
            builder_email: "x@example.com".into(),
            app_name: "a".into(),
        })
        .await
        .unwrap();
    assert!(again.is_none());
}

#[tokio::test]
async fn new_connector_needs_consent_and_is_listed_disconnected() {
    let (engine, b, _dir) = bootstrapped().await;
    let me = authorized(&engine, &b).await;
    let answer = engine
        .set_connector(&me, &ty("acme"), vec!["read".into()])
        .await
        .unwrap();
    let url = answer.redirect_url.unwrap();
    let id = answer.connection_id.unwrap();
    assert_eq!(url, format!("http://127.0.0.1:8044/connect/{id}"));
    assert!(!answer.already_authorized);
    let list = engine.list_connectors(&me).await.unwrap();
    assert_eq!(list.integrations.len(), 1);
    assert_eq!(list.integrations[0].status, ConnectorStatus::Disconnected);
    assert_eq!(list.integrations[0].user_email, None);
    let status = engine.attempt_status(&me, &ty("acme"), &id).await.unwrap();
    assert_eq!(status.status, connectors_wire::AttemptStatus::Pending);
    assert!(engine
        .attempt_status(&me, &ty("googlecalendar"), &id)
        .await
        .is_err());
}

#[tokio::test]
async fn granted_scopes_are_already_authorized_and_others_need_consent() {
    let (engine, b, _dir) = bootstrapped().await;
    let me = authorized(&engine, &b).await;
    engine
        .import_credentials(import(
            &b.app_id,
            "acme",
            Some("owner@example.com"),
            &["a", "b"],
        ))
        .await
        .unwrap();
    let answer = engine
        .set_connector(&me, &ty("acme"), vec!["a".into()])
        .await
        .unwrap();
    assert!(answer.already_authorized);
    assert_eq!(answer.redirect_url, None);
    let answer = engine
        .set_connector(&me, &ty("acme"), vec!["c".into()])
        .await
        .unwrap();
    assert!(answer.redirect_url.is_some());
    // Re-scoping keeps the old credentials working until new consent succeeds.
    let token = engine
        .connector_token(&service(&engine, &b).await, &ty("acme"))
        .await
        .unwrap();
    assert_eq!(token.access_token, "at-1");
    assert_eq!(token.connection_config.unwrap()["team"], "t1");
}

#[tokio::test]
async fn another_builders_connector_is_different_user() {
    let (engine, b, _dir) = bootstrapped().await;
    let other = engine
        .create_builder(
            &builder(&engine, &b.api_key).await.workspace_id,
            "other@example.com",
        )
        .await
        .unwrap();
    engine
        .import_credentials(import(&b.app_id, "acme", Some("other@example.com"), &["a"]))
        .await
        .unwrap();
    let me = authorized(&engine, &b).await;
    let answer = engine
        .set_connector(&me, &ty("acme"), vec!["z".into()])
        .await
        .unwrap();
    assert_eq!(answer.error.as_deref(), Some("different_user"));
    assert_eq!(
        answer.other_user_email.as_deref(),
        Some("other@example.com")
    );
    assert!(answer.error_message.unwrap().contains("other@example.com"));
    // The same scopes are fine for anyone: nothing to consent.
    let answer = engine
        .set_connector(&me, &ty("acme"), vec!["a".into()])
        .await
        .unwrap();
    assert!(answer.already_authorized);
    let _ = other;
}

#[tokio::test]
async fn unconfigured_builtin_and_unknown_types_are_refused_clearly() {
    let (engine, b, _dir) = bootstrapped().await;
    let me = authorized(&engine, &b).await;
    let err = engine
        .set_connector(&me, &ty("googlecalendar"), vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::ProviderNotConfigured(..)),
        "{err}"
    );
    assert!(err.to_string().contains("[providers.googlecalendar]"));
    assert!(err
        .to_string()
        .contains("CONNECTORS_PROVIDER_GOOGLECALENDAR_CLIENT_ID"));
    let err = engine
        .set_connector(&me, &ty("googlecalender"), vec![])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("did you mean `googlecalendar`"),
        "{err}"
    );
    let err = engine
        .set_connector(&me, &ty("stripe"), vec![])
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::StripeIsNotOAuth));
    let err = engine
        .set_connector(&me, &ty("acme"), vec!["a b".into()])
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::InvalidScopes(_)));
    assert!(engine
        .list_connectors(&me)
        .await
        .unwrap()
        .integrations
        .is_empty());
}

#[tokio::test]
async fn remove_deletes_connector_and_credentials() {
    let (engine, b, _dir) = bootstrapped().await;
    engine
        .import_credentials(import(&b.app_id, "acme", None, &[]))
        .await
        .unwrap();
    let me = authorized(&engine, &b).await;
    engine.remove_connector(&me, &ty("acme")).await.unwrap();
    assert!(engine
        .store()
        .get_credentials(&ConnectorKey::new(b.app_id.clone(), ty("acme")))
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        engine
            .connector_token(&service(&engine, &b).await, &ty("acme"))
            .await,
        Err(EngineError::ConnectorNotFound(_))
    ));
    assert!(matches!(
        engine.remove_connector(&me, &ty("acme")).await,
        Err(EngineError::ConnectorNotFound(_))
    ));
}

#[tokio::test]
async fn expired_connector_asks_for_reauthorization() {
    let (engine, b, _dir) = bootstrapped().await;
    engine
        .import_credentials(import(&b.app_id, "acme", None, &[]))
        .await
        .unwrap();
    engine
        .store()
        .set_connector_status(
            &ConnectorKey::new(b.app_id.clone(), ty("acme")),
            ConnectorStatus::Expired,
            Some("invalid_grant"),
            engine.now(),
            &[],
        )
        .await
        .unwrap();
    let err = engine
        .connector_token(&service(&engine, &b).await, &ty("acme"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("base44 connectors push"), "{err}");
    assert_eq!(err.code(), Some("REAUTHORIZATION_REQUIRED"));
}

#[tokio::test]
async fn principals_reach_only_what_they_own() {
    let (engine, b, _dir) = bootstrapped().await;
    let service = engine
        .authenticate(Credential::Bearer(b.service_token.expose()))
        .await
        .unwrap();
    assert!(engine.service_app(&service, &b.app_id).is_ok());
    assert!(matches!(
        engine.service_app(&service, "other"),
        Err(EngineError::Unauthorized)
    ));
    assert!(matches!(
        engine.builder_app(&service, &b.app_id).await,
        Err(EngineError::BuilderOnly)
    ));
    // A service token in the api_key header is not a credential.
    assert!(engine
        .authenticate(Credential::ApiKey(b.service_token.expose()))
        .await
        .is_err());
    let me = engine
        .authenticate(Credential::Bearer(b.api_key.expose()))
        .await
        .unwrap();
    assert!(matches!(
        engine.service_app(&me, &b.app_id),
        Err(EngineError::ServiceOnly)
    ));
    let other_ws = engine.create_workspace("other").await.unwrap();
    let stranger = engine
        .create_builder(&other_ws.id, "s@example.com")
        .await
        .unwrap();
    let key = engine.create_api_key(&stranger.id).await.unwrap();
    let stranger = engine
        .authenticate(Credential::ApiKey(key.secret.expose()))
        .await
        .unwrap();
    assert!(matches!(
        engine.builder_app(&stranger, &b.app_id).await,
        Err(EngineError::AppNotFound(_))
    ));
    assert!(engine
        .authenticate(Credential::ApiKey("b44k_nope"))
        .await
        .is_err());
    assert!(engine.authenticate(Credential::None).await.is_err());
}

#[tokio::test]
async fn rotation_reseals_and_old_key_can_go() {
    let old = KeyRing::generate_spec("k1");
    let new = KeyRing::generate_spec("k2");
    let (engine, db) = engine_with(
        KeyRing::from_specs(&[old.expose()]).unwrap(),
        Clock::system(),
    )
    .await;
    let b = engine
        .bootstrap(&BootstrapRequest {
            workspace_name: "w".into(),
            builder_email: "o@example.com".into(),
            app_name: "a".into(),
        })
        .await
        .unwrap()
        .unwrap();
    engine
        .import_credentials(import(&b.app_id, "acme", None, &[]))
        .await
        .unwrap();
    // A webhook endpoint's secret is re-sealed too.
    let owner = engine.operator_webhook_owner(&b.app_id).await.unwrap();
    let endpoint = engine
        .create_webhook_endpoint(
            owner,
            connectors_wire::events::CreateWebhookEndpoint {
                url: "https://example.com/hook".into(),
                event_types: vec![],
                description: None,
            },
        )
        .await
        .unwrap()
        .endpoint
        .id;
    let store = connectors_store::open(db.url()).await.unwrap();
    let rotated = Engine::new(
        store.clone(),
        Arc::new(engine.catalog().clone()),
        Arc::new(KeyRing::from_specs(&[new.expose(), old.expose()]).unwrap()),
        EngineConfig::default(),
    );
    assert_eq!(rotated.rotate_keys().await.unwrap(), 3);
    assert_eq!(rotated.rotate_keys().await.unwrap(), 0);
    let new_only = Engine::new(
        store,
        Arc::new(engine.catalog().clone()),
        Arc::new(KeyRing::from_specs(&[new.expose()]).unwrap()),
        EngineConfig::default(),
    );
    assert_eq!(
        new_only
            .connector_token(&service(&new_only, &b).await, &ty("acme"))
            .await
            .unwrap()
            .access_token,
        "at-1"
    );
    let owner = new_only.operator_webhook_owner(&b.app_id).await.unwrap();
    new_only
        .rotate_webhook_secret(owner, &endpoint, Default::default())
        .await
        .expect("the endpoint's secret opens under the new key alone");
}

#[tokio::test]
async fn a_consent_link_fails_once_the_clock_passes_its_ttl() {
    let time = TestClock::new();
    let (engine, b, _db) = bootstrapped_at(time.clock()).await;
    let me = authorized(&engine, &b).await;
    let id = engine
        .set_connector(&me, &ty("acme"), vec!["read".into()])
        .await
        .unwrap()
        .connection_id
        .unwrap();
    let acme = ty("acme");
    let status = || engine.attempt_status(&me, &acme, &id);
    let ttl = engine.config().attempt_ttl_secs.unsigned_abs();
    time.advance(std::time::Duration::from_secs(ttl - 60));
    assert_eq!(
        status().await.unwrap().status,
        connectors_wire::AttemptStatus::Pending
    );
    time.advance(std::time::Duration::from_secs(61));
    assert_eq!(
        status().await.unwrap().status,
        connectors_wire::AttemptStatus::Failed
    );
}

#[tokio::test]
async fn a_token_without_refresh_token_expires_by_the_engine_clock() {
    let time = TestClock::new();
    let (engine, b, _db) = bootstrapped_at(time.clock()).await;
    let mut no_refresh = import(&b.app_id, "acme", None, &[]);
    no_refresh.refresh_token = None;
    engine.import_credentials(no_refresh).await.unwrap();
    time.advance(std::time::Duration::from_secs(3000));
    let token = engine
        .connector_token(&service(&engine, &b).await, &ty("acme"))
        .await
        .unwrap();
    assert_eq!(token.access_token, "at-1");
    time.advance(std::time::Duration::from_secs(601));
    let err = engine
        .connector_token(&service(&engine, &b).await, &ty("acme"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("REAUTHORIZATION_REQUIRED"), "{err}");
    let list = engine
        .list_connectors(&authorized(&engine, &b).await)
        .await
        .unwrap();
    assert_eq!(list.integrations[0].status, ConnectorStatus::Expired);
}

/// Issue #10: a consent link or callback whose connector was removed in the
/// meantime is refused with a page that says so, and does not bring the
/// connector back.
#[tokio::test]
async fn consent_for_a_removed_connector_is_refused_and_does_not_recreate_it() {
    let (engine, b, _dir) = bootstrapped().await;
    let me = authorized(&engine, &b).await;
    // One link whose consent started before the removal, one that never opened.
    let started = engine
        .set_connector(&me, &ty("acme"), vec!["read".into()])
        .await
        .unwrap()
        .connection_id
        .unwrap();
    let unopened = engine
        .set_connector(&me, &ty("acme"), vec!["read".into()])
        .await
        .unwrap()
        .connection_id
        .unwrap();
    let ConnectPage::Redirect { url, binding, .. } =
        engine.open_consent(&started, None).await.unwrap()
    else {
        panic!("acme has no form")
    };
    let state = url
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("state="))
        .unwrap()
        .to_string();
    engine.remove_connector(&me, &ty("acme")).await.unwrap();

    let page = engine.open_consent(&unopened, None).await.unwrap_err();
    assert!(matches!(page, ConsentError::ConnectorRemoved), "{page:?}");
    assert!(page.to_string().contains("removed"), "{page}");
    let binding = binding.expose().to_string();
    let callback = engine
        .finish_consent(
            CallbackParams {
                state: Some(state),
                code: Some("code".into()),
                ..Default::default()
            },
            |id| (id == started).then(|| binding.clone()),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(callback, ConsentError::ConnectorRemoved),
        "{callback:?}"
    );
    assert!(engine
        .list_connectors(&me)
        .await
        .unwrap()
        .integrations
        .is_empty());
    let status = engine
        .attempt_status(&me, &ty("acme"), &unopened)
        .await
        .unwrap();
    assert_eq!(status.status, connectors_wire::AttemptStatus::Failed);
}

/// Waits (polling, up to 20 s) until `check` holds.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !check().await {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Marks a connector expired through a store of its own, as another process
/// (an admin command, another replica) would: the engine under test hears
/// of it only through the database.
async fn expire_elsewhere(url: &str, app_id: &str, ty: &IntegrationType, now: i64) {
    connectors_store::open(url)
        .await
        .unwrap()
        .set_connector_status(
            &ConnectorKey::new(app_id, ty.clone()),
            ConnectorStatus::Expired,
            Some("invalid_grant"),
            now,
            &[],
        )
        .await
        .unwrap();
}

/// Reads until a read is answered from the cache (on PostgreSQL the cache
/// is bypassed until its change feed is open).
async fn until_cached(engine: &Engine, app: &ServiceApp, ty: &IntegrationType) {
    eventually("a token read answered from the cache", || async {
        let before = engine.metrics().await.unwrap().cache.hits;
        engine.connector_token(app, ty).await.unwrap();
        engine.metrics().await.unwrap().cache.hits > before
    })
    .await;
}

#[tokio::test]
async fn a_cached_token_never_outlives_a_change_made_through_the_engine() {
    let time = TestClock::new();
    let (engine, b, _db) = bootstrapped_at(time.clock()).await;
    engine
        .import_credentials(import(&b.app_id, "acme", None, &[]))
        .await
        .unwrap();
    let app = service(&engine, &b).await;
    let acme = ty("acme");
    until_cached(&engine, &app, &acme).await;
    let token = || engine.connector_token(&app, &acme);
    assert_eq!(token().await.unwrap().access_token, "at-1");

    // Re-authorized (the consent's and the import's write path): the new token at once.
    let mut again = import(&b.app_id, "acme", None, &[]);
    again.access_token = Secret::new("at-2");
    engine.import_credentials(again).await.unwrap();
    assert_eq!(token().await.unwrap().access_token, "at-2");

    // Removed: not found at once.
    until_cached(&engine, &app, &acme).await;
    let me = authorized(&engine, &b).await;
    engine.remove_connector(&me, &acme).await.unwrap();
    assert!(matches!(
        token().await,
        Err(EngineError::ConnectorNotFound(_))
    ));

    // A service token revoked through the engine is refused at once, though
    // it was just checked (and cached).
    let bearer = Credential::Bearer(b.service_token.expose());
    engine
        .authenticate(Credential::Bearer(b.service_token.expose()))
        .await
        .unwrap();
    let listed = engine
        .list_service_tokens(ServiceTokenScope::Operator { app_id: None })
        .await
        .unwrap();
    engine
        .revoke_service_token(&listed[0].id, ServiceTokenScope::Operator { app_id: None })
        .await
        .unwrap();
    assert!(matches!(
        engine.authenticate(bearer).await,
        Err(EngineError::ServiceTokenRevoked)
    ));
}

#[tokio::test]
async fn a_change_behind_the_engines_back_is_seen_within_the_maximum_age_or_at_once_on_postgres() {
    let time = TestClock::new();
    // A minute, so that real time (the test clock runs on top of it) cannot
    // age the entry while the test looks.
    let config = EngineConfig {
        clock: time.clock(),
        cache: CacheConfig {
            max_age_ms: 60_000,
            ..CacheConfig::default()
        },
        ..EngineConfig::default()
    };
    let (engine, db) = engine_configured(TestDatabase::new(), ring(), config).await;
    let b = bootstrap(&engine).await;
    engine
        .import_credentials(import(&b.app_id, "acme", None, &[]))
        .await
        .unwrap();
    let app = service(&engine, &b).await;
    let acme = ty("acme");
    until_cached(&engine, &app, &acme).await;
    // Another process (an admin command) marks the connector expired.
    expire_elsewhere(db.url(), &b.app_id, &acme, engine.now()).await;
    let expired = || async {
        matches!(
            engine.connector_token(&app, &acme).await,
            Err(EngineError::NeedsReauthorization { .. })
        )
    };
    if db.is_postgres() {
        // The trigger's NOTIFY reaches the engine's feed: no clock needed.
        eventually("the announced change to reach the cache", expired).await;
    } else {
        // Nothing announces it: the cached answer stands until its age runs out.
        assert!(!expired().await);
        time.advance(std::time::Duration::from_secs(60));
        assert!(expired().await);
    }
}

#[tokio::test]
async fn a_token_within_its_refresh_margin_is_never_answered_from_the_cache() {
    let time = TestClock::new();
    let (engine, b, _db) = bootstrapped_at(time.clock()).await;
    let mut short = import(&b.app_id, "acme", None, &[]);
    short.refresh_token = None;
    engine.import_credentials(short).await.unwrap();
    let app = service(&engine, &b).await;
    let acme = ty("acme");
    until_cached(&engine, &app, &acme).await;
    // Into the margin (60 s before the 3600 s expiry): the engine's own
    // path decides, which here (no refresh token) still serves the token...
    time.advance(std::time::Duration::from_secs(3590));
    let hits = engine.metrics().await.unwrap().cache.hits;
    assert!(engine.connector_token(&app, &acme).await.is_ok());
    assert_eq!(engine.metrics().await.unwrap().cache.hits, hits);
    // ...and once expired, asks for consent instead of a cached answer.
    time.advance(std::time::Duration::from_secs(10));
    assert!(matches!(
        engine.connector_token(&app, &acme).await,
        Err(EngineError::NeedsReauthorization { .. })
    ));
}

/// PostgreSQL only: the connection that LISTENs is killed; the engine
/// notices, empties and bypasses its cache, listens again, and from then on
/// hears of other processes' changes as before.
#[tokio::test]
async fn a_killed_listen_connection_empties_the_cache_until_the_feed_is_back() {
    use sqlx::Connection;
    let time = TestClock::new();
    let db = TestDatabase::of(connectors_testdb::Backend::Postgres);
    let (engine, _db) = engine_on(db, ring(), time.clock()).await;
    let b = bootstrap(&engine).await;
    engine
        .import_credentials(import(&b.app_id, "acme", None, &[]))
        .await
        .unwrap();
    let app = service(&engine, &b).await;
    let acme = ty("acme");
    until_cached(&engine, &app, &acme).await;

    let mut admin = sqlx::PgConnection::connect(_db.url()).await.unwrap();
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(killed, [true], "one LISTEN connection");
    eventually("the engine to notice the lost feed", || async {
        engine.metrics().await.unwrap().cache.resets == 1
    })
    .await;
    // Back, and following changes again: cached, then invalidated by
    // another process's change without any clock movement.
    until_cached(&engine, &app, &acme).await;
    expire_elsewhere(_db.url(), &b.app_id, &acme, engine.now()).await;
    eventually(
        "the change after reconnecting to reach the cache",
        || async {
            matches!(
                engine.connector_token(&app, &acme).await,
                Err(EngineError::NeedsReauthorization { .. })
            )
        },
    )
    .await;
}

/// A provider token endpoint whose first call waits until the test lets it
/// answer; every call gets new tokens, numbered in arrival order.
#[derive(Clone, Default)]
struct StallingProvider {
    calls: Arc<std::sync::atomic::AtomicUsize>,
    first_arrived: Arc<tokio::sync::Notify>,
    release_first: Arc<tokio::sync::Notify>,
}

impl StallingProvider {
    fn router(&self) -> axum::Router {
        async fn token(
            axum::extract::State(p): axum::extract::State<StallingProvider>,
        ) -> impl axum::response::IntoResponse {
            let n = p.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            if n == 1 {
                p.first_arrived.notify_one();
                p.release_first.notified().await;
            }
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                format!(
                    r#"{{"access_token":"at-provider-{n}","refresh_token":"rt-provider-{n}","token_type":"Bearer","expires_in":3600}}"#
                ),
            )
        }
        axum::Router::new()
            .route("/token", axum::routing::post(token))
            .with_state(self.clone())
    }

    fn calls(&self) -> usize {
        self.calls.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// An engine (one server) on the database at `url`, whose `acme` takes
/// tokens from `token_url`.
async fn engine_at_provider(
    url: &str,
    token_url: &str,
    keys: Arc<KeyRing>,
    clock: Clock,
) -> Engine {
    let store = connectors_store::open(url).await.unwrap();
    let config = EngineConfig {
        clock,
        ..EngineConfig::default()
    };
    Engine::new(store, acme_catalog(token_url), keys, config)
}

/// Issue #11.4, the `lost_race` outcome: a refresh whose provider answers
/// after its lease passed to another server loses. The other server's
/// tokens stand, the late answer is dropped (never stored, never served)
/// and counted, and the credentials are stored once.
#[tokio::test]
async fn a_refresh_that_outlives_its_lease_loses_to_the_next_holder() {
    let provider = StallingProvider::default();
    let served = connectors_testkit::serve(provider.router());
    let token_url = format!("{}/token", served.url);
    let time = TestClock::new();
    let db = TestDatabase::new();
    let keys = Arc::new(ring());
    let slow = engine_at_provider(db.url(), &token_url, keys.clone(), time.clock()).await;
    let other = engine_at_provider(db.url(), &token_url, keys, time.clock()).await;
    let b = slow
        .bootstrap(&BootstrapRequest {
            workspace_name: "w".into(),
            builder_email: "owner@example.com".into(),
            app_name: "a".into(),
        })
        .await
        .unwrap()
        .unwrap();
    // Expires in an hour (`import`).
    slow.import_credentials(import(&b.app_id, "acme", None, &[]))
        .await
        .unwrap();
    let (margin, lease) = (slow.config().refresh_margin_secs, slow.config().lease_secs);
    assert!(margin > lease + 2, "the old token must outlive the lease");
    // Inside the refresh margin: the next read refreshes.
    time.advance(std::time::Duration::from_secs((3600 - margin + 1) as u64));
    let acme = ty("acme");
    let (slow_app, other_app) = (service(&slow, &b).await, service(&other, &b).await);
    let (slow_answer, other_answer) = tokio::join!(slow.connector_token(&slow_app, &acme), async {
        // The slow server's provider call is under way, holding the lease:
        // let the lease expire; the other server takes it and refreshes.
        provider.first_arrived.notified().await;
        time.advance(std::time::Duration::from_secs(lease as u64 + 1));
        let answer = other.connector_token(&other_app, &acme).await;
        provider.release_first.notify_one();
        answer
    });
    assert_eq!(provider.calls(), 2);
    assert_eq!(other_answer.unwrap().access_token, "at-provider-2");
    // The slow server serves a token that is still good, never its late one.
    let served_slow = slow_answer.unwrap().access_token;
    assert!(
        ["at-1", "at-provider-2"].contains(&served_slow.as_str()),
        "{served_slow}"
    );
    assert_eq!(
        slow.metrics().await.unwrap().refreshes,
        RefreshCounts {
            lost_race: 1,
            ..RefreshCounts::default()
        }
    );
    assert_eq!(
        other.metrics().await.unwrap().refreshes,
        RefreshCounts {
            ok: 1,
            ..RefreshCounts::default()
        }
    );
    // Stored once (import = 1, the other server's refresh = 2), with the
    // other server's tokens; nobody calls the provider again for them.
    let key = ConnectorKey::new(b.app_id.clone(), acme.clone());
    let stored = slow.store().get_credentials(&key).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    let open = |sealed: &str, what: &str| {
        slow.keys()
            .open_secret(sealed, &key.credentials_context(what))
            .unwrap()
            .expose()
            .to_string()
    };
    assert_eq!(open(&stored.access_token, "access_token"), "at-provider-2");
    assert_eq!(
        open(stored.refresh_token.as_deref().unwrap(), "refresh_token"),
        "rt-provider-2"
    );
    for engine in [&slow, &other] {
        let app = service(engine, &b).await;
        let token = engine.connector_token(&app, &acme).await.unwrap();
        assert_eq!(token.access_token, "at-provider-2");
    }
    assert_eq!(provider.calls(), 2);
}

/// `base44 login` across a key rotation: an access token verifies while the
/// key that signed it stays in the ring; once it is dropped the token is
/// refused, and the refresh token (in the database) still gets a new one.
#[tokio::test]
async fn login_tokens_survive_rotation_while_their_key_stays_in_the_ring() {
    let k1 = KeyRing::generate_spec("k1");
    let k2 = KeyRing::generate_spec("k2");
    let (engine, db) = engine_with(
        KeyRing::from_specs(&[k1.expose()]).unwrap(),
        Clock::system(),
    )
    .await;
    let b = bootstrap(&engine).await;
    let start = engine
        .start_device_login(CLI_CLIENT_ID, None)
        .await
        .unwrap();
    let builder = engine
        .store()
        .find_builder(&b.workspace_id, &b.builder_email)
        .await
        .unwrap()
        .unwrap();
    engine
        .decide_device_login(&start.user_code, &builder, true)
        .await
        .unwrap();
    let tokens = engine
        .poll_device_login(CLI_CLIENT_ID, start.device_code.expose())
        .await
        .unwrap();
    let bearer = |t: &IssuedTokens| t.access_token.expose().to_string();
    let reopen = |specs: Vec<String>| {
        let url = db.url().to_string();
        async move {
            Engine::new(
                connectors_store::open(&url).await.unwrap(),
                acme_catalog("https://id.acme.test/token"),
                Arc::new(KeyRing::from_specs(&specs).unwrap()),
                EngineConfig::default(),
            )
        }
    };
    let rotated = reopen(vec![k2.expose().into(), k1.expose().into()]).await;
    let who = rotated
        .authenticate(Credential::Bearer(&bearer(&tokens)))
        .await
        .unwrap();
    assert!(matches!(who, Principal::Builder(b) if b.email == "owner@example.com"));

    let dropped = reopen(vec![k2.expose().into()]).await;
    let refused = dropped
        .authenticate(Credential::Bearer(&bearer(&tokens)))
        .await;
    assert!(
        matches!(refused, Err(EngineError::Unauthorized)),
        "{refused:?}"
    );
    let renewed = dropped
        .refresh_login(CLI_CLIENT_ID, tokens.refresh_token.expose())
        .await
        .unwrap();
    dropped
        .authenticate(Credential::Bearer(&bearer(&renewed)))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_dashboard_reads_credentials_health_without_a_token_and_reconnects() {
    let (engine, b, _dir) = bootstrapped().await;
    let me = authorized(&engine, &b).await;
    let before_ms = engine.now_ms();
    engine
        .import_credentials(import(&b.app_id, "acme", Some("owner@example.com"), &["a"]))
        .await
        .unwrap();
    let after_ms = engine.now_ms();
    let now = engine.now();
    let key = ConnectorKey::new(b.app_id.as_str(), ty("acme"));
    engine
        .store()
        .record_refresh_failure(&key, "nobody", "the provider said 503", now + 60, now, &[])
        .await
        .unwrap();

    let view = engine.app_overview(&me).await.unwrap();
    let [acme] = view.connectors.as_slice() else {
        panic!("{view:?}")
    };
    assert_eq!(acme.status, ConnectorStatus::Active);
    assert!(acme.configured);
    assert_eq!(
        acme.authorized_by_email.as_deref(),
        Some("owner@example.com")
    );
    let health = acme.credentials.as_ref().expect("credentials");
    let expires = health.expires_at_ms.expect("an expiry");
    assert!(
        (before_ms..=after_ms).contains(&(expires - 3_600_000)),
        "{expires}"
    );
    assert_eq!(
        health.last_refresh_error.as_deref(),
        Some("the provider said 503")
    );
    assert_eq!(health.refresh_failures, 1);
    assert_eq!(health.next_refresh_at, Some(now + 60));
    let google = view
        .providers
        .iter()
        .find(|p| p.integration_type == "googlecalendar")
        .unwrap();
    assert!(!google.configured);
    assert_eq!(google.env_prefix, "CONNECTORS_PROVIDER_GOOGLECALENDAR");
    assert!(view
        .providers
        .iter()
        .any(|p| p.integration_type == "acme" && p.custom));
    assert_eq!(view.service_tokens.len(), 1);
    assert_eq!(view.api_keys.len(), 1);
    assert!(matches!(view.stripe, Ok(None)));
    let shown = format!("{view:?}");
    assert!(
        !shown.contains("at-1") && !shown.contains("rt-1"),
        "{shown}"
    );

    // Reconnect starts a consent although the connector is active and has
    // its scopes; the connector keeps working meanwhile.
    let answer = engine.reconnect_connector(&me, &ty("acme")).await.unwrap();
    assert!(answer.redirect_url.is_some(), "{answer:?}");
    let token = engine
        .connector_token(&service(&engine, &b).await, &ty("acme"))
        .await
        .unwrap();
    assert_eq!(token.access_token, "at-1");
    assert!(matches!(
        engine.reconnect_connector(&me, &ty("slack")).await,
        Err(EngineError::ConnectorNotFound(_))
    ));

    // Another builder's connector is theirs to reconnect.
    let workspace = builder(&engine, &b.api_key).await.workspace_id;
    engine
        .create_builder(&workspace, "other@example.com")
        .await
        .unwrap();
    engine
        .import_credentials(import(&b.app_id, "acme", Some("other@example.com"), &["a"]))
        .await
        .unwrap();
    let answer = engine.reconnect_connector(&me, &ty("acme")).await.unwrap();
    assert_eq!(answer.error.as_deref(), Some("different_user"));
    assert_eq!(answer.redirect_url, None);
}

/// Waits until no last-use write is in flight.
async fn last_use_settled(engine: &Engine) {
    eventually("the last-use writes to land", || async {
        engine.inner.last_use.settled()
    })
    .await;
}

fn last_use_writes(engine: &Engine) -> u64 {
    engine
        .inner
        .last_use
        .written
        .load(std::sync::atomic::Ordering::SeqCst)
}

/// The recorded last use of the bootstrap's API key and service token.
async fn last_used(engine: &Engine) -> (Option<i64>, Option<i64>) {
    let keys = engine
        .list_api_keys(ApiKeyScope::Operator { workspace_id: None })
        .await
        .unwrap();
    let tokens = engine
        .list_service_tokens(ServiceTokenScope::Operator { app_id: None })
        .await
        .unwrap();
    (keys[0].last_used_at, tokens[0].last_used_at)
}

/// #12.3: a credential's use is recorded when its check reads the database,
/// at most once per granularity; a revoked credential's use never is.
#[tokio::test]
async fn last_use_is_written_once_per_granularity_and_never_for_a_revoked_credential() {
    let time = TestClock::new();
    let (engine, b, _db) = bootstrapped_at(time.clock()).await;
    let key = || engine.authenticate(Credential::ApiKey(b.api_key.expose()));
    let token = || engine.authenticate(Credential::Bearer(b.service_token.expose()));
    assert_eq!(last_used(&engine).await, (None, None));

    let first = engine.now();
    for _ in 0..3 {
        key().await.unwrap();
        token().await.unwrap();
    }
    last_use_settled(&engine).await;
    assert_eq!(last_use_writes(&engine), 2);
    let (Some(k), Some(t)) = last_used(&engine).await else {
        panic!("no last use recorded")
    };
    assert!(k >= first && k <= engine.now(), "{k} {first}");
    assert!(t >= first && t <= engine.now(), "{t} {first}");

    // Used again within the granularity, past the cache's age (so the
    // database is read): not written.
    time.advance(std::time::Duration::from_secs(30));
    key().await.unwrap();
    token().await.unwrap();
    last_use_settled(&engine).await;
    assert_eq!(last_use_writes(&engine), 2);
    assert_eq!(last_used(&engine).await, (Some(k), Some(t)));

    // Past the granularity: written again.
    time.advance(std::time::Duration::from_secs(
        LAST_USE_GRANULARITY_SECS.unsigned_abs() - 29,
    ));
    let second = engine.now();
    key().await.unwrap();
    token().await.unwrap();
    last_use_settled(&engine).await;
    assert_eq!(last_use_writes(&engine), 4);
    let (Some(k), Some(t)) = last_used(&engine).await else {
        panic!("the last use vanished")
    };
    assert!(k >= second && t >= second, "{k} {t} {second}");

    // Revoked: refused, and its use is not recorded.
    let listed = engine
        .list_api_keys(ApiKeyScope::Operator { workspace_id: None })
        .await
        .unwrap();
    engine
        .revoke_api_key(&listed[0].id, ApiKeyScope::Operator { workspace_id: None })
        .await
        .unwrap();
    let listed = engine
        .list_service_tokens(ServiceTokenScope::Operator { app_id: None })
        .await
        .unwrap();
    engine
        .revoke_service_token(&listed[0].id, ServiceTokenScope::Operator { app_id: None })
        .await
        .unwrap();
    time.advance(std::time::Duration::from_secs(600));
    assert!(matches!(key().await, Err(EngineError::ApiKeyRevoked)));
    assert!(matches!(
        token().await,
        Err(EngineError::ServiceTokenRevoked)
    ));
    last_use_settled(&engine).await;
    assert_eq!(last_use_writes(&engine), 4);
    assert_eq!(last_used(&engine).await, (Some(k), Some(t)));
}

/// A last-use write that waits for a lock or fails neither holds up nor
/// fails the request; the failure is logged, and a later use records.
#[tokio::test]
async fn a_waiting_or_failing_last_use_write_never_holds_up_nor_fails_the_request() {
    use sqlx::{Connection, Executor};
    let logs = connectors_testkit::CapturedLogs::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber(tracing::Level::DEBUG));
    tracing::callsite::rebuild_interest_cache();
    let time = TestClock::new();
    let (engine, db) = engine_with(ring(), time.clock()).await;
    let b = bootstrap(&engine).await;
    let key = || engine.authenticate(Credential::ApiKey(b.api_key.expose()));
    let token = || engine.authenticate(Credential::Bearer(b.service_token.expose()));
    // Another process holds the write locks (SQLite: the database's; PostgreSQL: the rows').
    let mut other = sqlx::AnyConnection::connect(db.url()).await.unwrap();
    let mut locks = other.begin().await.unwrap();
    for table in ["api_keys", "service_tokens"] {
        locks
            .execute(format!("UPDATE {table} SET display_prefix = display_prefix").as_str())
            .await
            .unwrap();
    }
    // Bounded, so that a request waiting for its write fails rather than hangs.
    let bound = std::time::Duration::from_secs(30);
    let waited = "the request waited for its last-use write";
    tokio::time::timeout(bound, key())
        .await
        .expect(waited)
        .unwrap();
    tokio::time::timeout(bound, token())
        .await
        .expect(waited)
        .unwrap();
    assert!(
        !engine.inner.last_use.settled(),
        "the writes wait for the locks"
    );
    locks.rollback().await.unwrap();
    last_use_settled(&engine).await;
    assert_eq!(last_use_writes(&engine), 2);

    // Writes refused by the database: the requests are answered all the same.
    let refuse: &[&str] = if db.is_postgres() {
        &[
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
            "CREATE TRIGGER refuse_key BEFORE UPDATE OF last_used_at ON api_keys \
             FOR EACH ROW EXECUTE FUNCTION refuse()",
            "CREATE TRIGGER refuse_token BEFORE UPDATE OF last_used_at ON service_tokens \
             FOR EACH ROW EXECUTE FUNCTION refuse()",
        ]
    } else {
        &[
            "CREATE TRIGGER refuse_key BEFORE UPDATE OF last_used_at ON api_keys \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
            "CREATE TRIGGER refuse_token BEFORE UPDATE OF last_used_at ON service_tokens \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
        ]
    };
    for sql in refuse {
        other.execute(*sql).await.unwrap();
    }
    let before = last_used(&engine).await;
    time.advance(std::time::Duration::from_secs(120));
    key().await.unwrap();
    token().await.unwrap();
    last_use_settled(&engine).await;
    assert_eq!(last_use_writes(&engine), 2);
    assert_eq!(last_used(&engine).await, before);
    let text = logs.text();
    let warned: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("could not record when a credential was last used"))
        .collect();
    assert_eq!(warned.len(), 2, "{text}");
    assert!(!text.contains(b.api_key.expose()) && !text.contains(b.service_token.expose()));

    // Once the database takes writes again, the next read records.
    for sql in ["DROP TRIGGER refuse_key", "DROP TRIGGER refuse_token"] {
        let sql = match db.is_postgres() {
            true if sql.ends_with("key") => format!("{sql} ON api_keys"),
            true => format!("{sql} ON service_tokens"),
            false => sql.to_string(),
        };
        other.execute(sql.as_str()).await.unwrap();
    }
    time.advance(std::time::Duration::from_secs(2));
    key().await.unwrap();
    token().await.unwrap();
    last_use_settled(&engine).await;
    assert_eq!(last_use_writes(&engine), 4);
}
