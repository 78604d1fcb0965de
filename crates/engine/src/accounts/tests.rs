//! The account use cases on a real database (`CONNECTORS_TEST_BACKEND`
//! picks SQLite or PostgreSQL), with a test clock for every expiry.

use std::sync::Arc;
use std::time::Duration;

use connectors_catalog::{Catalog, BUILTIN_CATALOG};
use connectors_testdb::TestDatabase;
use connectors_vault::KeyRing;

use crate::{AccountError, BootstrapRequest, Engine, EngineConfig, TestClock};

const PASSWORD: &str = "correct horse battery";

/// An engine over `db`, as one replica; replicas share the keys.
async fn replica(db: &TestDatabase, keys: &Arc<KeyRing>, time: &TestClock) -> Engine {
    let store = connectors_store::open(db.url()).await.unwrap();
    let catalog = Catalog::load(BUILTIN_CATALOG, &Default::default()).unwrap();
    Engine::new(
        store,
        Arc::new(catalog),
        keys.clone(),
        EngineConfig {
            public_url: "https://connectors.example".into(),
            clock: time.clock(),
            ..EngineConfig::default()
        },
    )
}

fn keys() -> Arc<KeyRing> {
    Arc::new(KeyRing::from_specs(&[KeyRing::generate_spec("k1").expose()]).unwrap())
}

async fn engine(time: &TestClock) -> (Engine, TestDatabase, crate::Bootstrap) {
    let db = TestDatabase::new();
    let engine = replica(&db, &keys(), time).await;
    let boot = engine
        .bootstrap(&BootstrapRequest {
            workspace_name: "w".into(),
            builder_email: "owner@example.com".into(),
            app_name: "app".into(),
        })
        .await
        .unwrap()
        .unwrap();
    (engine, db, boot)
}

/// The token of an invite link.
fn token(url: &str) -> &str {
    url.rsplit_once("/invite/").expect("an invite link").1
}

#[tokio::test]
async fn an_invite_sets_a_password_once_and_signs_the_builder_in() {
    let time = TestClock::new();
    let (engine, _db, boot) = engine(&time).await;
    let url = boot.login_url.expose();
    assert!(
        url.starts_with("https://connectors.example/invite/"),
        "{url}"
    );
    assert_eq!(token(url).len(), 43, "256 bits, base64url");
    assert_eq!(
        engine.invite_email(token(url)).await.unwrap(),
        "owner@example.com"
    );
    let session = engine
        .accept_invite(token(url), PASSWORD, PASSWORD)
        .await
        .unwrap();
    let signed_in = engine.session(session.id.expose()).await.unwrap().unwrap();
    assert_eq!(signed_in.builder().email, "owner@example.com");
    assert!(matches!(
        signed_in.principal(),
        crate::Principal::Builder(_)
    ));
    // Single use.
    assert!(matches!(
        engine.accept_invite(token(url), PASSWORD, PASSWORD).await,
        Err(AccountError::InviteInvalid)
    ));
    assert!(matches!(
        engine.invite_email(token(url)).await,
        Err(AccountError::InviteInvalid)
    ));
    // The password works; the database holds neither it nor the ids.
    let again = engine
        .sign_in("Owner@Example.com", PASSWORD, Some("192.0.2.1"))
        .await
        .unwrap();
    assert_ne!(again.id.expose(), session.id.expose());
}

#[tokio::test]
async fn a_new_invite_replaces_the_old_one_and_invites_expire() {
    let time = TestClock::new();
    let (engine, _db, boot) = engine(&time).await;
    let ws = boot.workspace_id.clone();
    let second = engine.invite(&ws, "owner@example.com").await.unwrap();
    assert!(!second.created_builder);
    assert!(matches!(
        engine
            .accept_invite(token(boot.login_url.expose()), PASSWORD, PASSWORD)
            .await,
        Err(AccountError::InviteInvalid)
    ));
    let new = engine.invite(&ws, "new@example.com").await.unwrap();
    assert!(new.created_builder);
    time.advance(Duration::from_secs(7 * 24 * 3600));
    assert!(matches!(
        engine
            .accept_invite(token(new.url.expose()), PASSWORD, PASSWORD)
            .await,
        Err(AccountError::InviteInvalid)
    ));
}

#[tokio::test]
async fn passwords_are_checked_before_the_invite_is_used() {
    let time = TestClock::new();
    let (engine, _db, boot) = engine(&time).await;
    let t = token(boot.login_url.expose());
    for (password, confirm, text) in [
        ("short", "short", "at least 12 characters"),
        (PASSWORD, "correct horse battery!", "differ"),
    ] {
        let e = engine
            .accept_invite(t, password, confirm)
            .await
            .unwrap_err();
        assert!(e.to_string().contains(text), "{e}");
    }
    let long = "x".repeat(2000);
    assert!(matches!(
        engine.accept_invite(t, &long, &long).await,
        Err(AccountError::PasswordTooLong)
    ));
    engine.accept_invite(t, PASSWORD, PASSWORD).await.unwrap();
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_account_then_allowed_after_the_window() {
    let time = TestClock::new();
    let (engine, _db, boot) = engine(&time).await;
    engine
        .accept_invite(token(boot.login_url.expose()), PASSWORD, PASSWORD)
        .await
        .unwrap();
    // An unknown email and a wrong password read the same.
    let unknown = engine
        .sign_in("nobody@example.com", PASSWORD, None)
        .await
        .unwrap_err();
    let wrong = engine
        .sign_in("owner@example.com", "wrong password!", None)
        .await
        .unwrap_err();
    assert_eq!(unknown.to_string(), wrong.to_string());
    for _ in 1..10 {
        let e = engine
            .sign_in("owner@example.com", "wrong password!", Some("192.0.2.1"))
            .await
            .unwrap_err();
        assert!(matches!(e, AccountError::BadCredentials), "{e}");
    }
    let limited = engine
        .sign_in("owner@example.com", PASSWORD, Some("192.0.2.9"))
        .await
        .unwrap_err();
    assert!(
        matches!(limited, AccountError::RateLimited { minutes: 15, .. }),
        "{limited}"
    );
    assert!(limited.to_string().contains("Try again in 15 minutes"));
    time.advance(Duration::from_secs(15 * 60));
    engine
        .sign_in("owner@example.com", PASSWORD, Some("192.0.2.9"))
        .await
        .unwrap();
}

/// Nine typos, a sign-in, one more typo: not a lock-out. The account's
/// count starts again at each sign-in; the address's does not.
#[tokio::test]
async fn a_sign_in_clears_the_account_count_but_not_the_address_count() {
    let time = TestClock::new();
    let (engine, _db, boot) = engine(&time).await;
    engine
        .accept_invite(token(boot.login_url.expose()), PASSWORD, PASSWORD)
        .await
        .unwrap();
    let address = Some("203.0.113.5");
    let typo = || engine.sign_in("Owner@example.com ", "wrong password!", address);
    for _ in 0..9 {
        assert!(matches!(typo().await, Err(AccountError::BadCredentials)));
    }
    engine
        .sign_in("owner@example.com", PASSWORD, address)
        .await
        .unwrap();
    for _ in 0..9 {
        assert!(matches!(typo().await, Err(AccountError::BadCredentials)));
    }
    engine
        .sign_in("owner@example.com", PASSWORD, address)
        .await
        .unwrap();
    // The address kept all 18 failures: 12 more reach its limit of 30,
    // and then even the right password is refused from there.
    let limit = 10 * crate::ADDRESS_LIMIT_FACTOR;
    for i in 18..limit {
        let email = format!("guess{i}@example.com");
        assert!(matches!(
            engine.sign_in(&email, "guess guess guess", address).await,
            Err(AccountError::BadCredentials)
        ));
    }
    assert!(matches!(
        engine.sign_in("owner@example.com", PASSWORD, address).await,
        Err(AccountError::RateLimited { .. })
    ));
    // The account itself is not limited: from another address it signs in.
    engine
        .sign_in("owner@example.com", PASSWORD, Some("203.0.113.6"))
        .await
        .unwrap();
    // And ten typos in a row still lock the account, sign-ins or not.
    for _ in 0..10 {
        assert!(matches!(
            engine
                .sign_in("owner@example.com", "wrong password!", None)
                .await,
            Err(AccountError::BadCredentials)
        ));
    }
    assert!(matches!(
        engine.sign_in("owner@example.com", PASSWORD, None).await,
        Err(AccountError::RateLimited { .. })
    ));
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_address_across_accounts() {
    let time = TestClock::new();
    let (engine, _db, boot) = engine(&time).await;
    engine
        .accept_invite(token(boot.login_url.expose()), PASSWORD, PASSWORD)
        .await
        .unwrap();
    let limit = 10 * crate::ADDRESS_LIMIT_FACTOR;
    for i in 0..limit {
        let email = format!("guess{}@example.com", i % 5);
        assert!(matches!(
            engine
                .sign_in(&email, "guess guess guess", Some("198.51.100.7"))
                .await,
            Err(AccountError::BadCredentials)
        ));
    }
    assert!(matches!(
        engine
            .sign_in("owner@example.com", PASSWORD, Some("198.51.100.7"))
            .await,
        Err(AccountError::RateLimited { .. })
    ));
    // Another address is not limited by it.
    engine
        .sign_in("owner@example.com", PASSWORD, Some("198.51.100.8"))
        .await
        .unwrap();
}

#[tokio::test]
async fn sessions_end_when_idle_at_their_maximum_age_and_at_sign_out() {
    let time = TestClock::new();
    let (engine, _db, boot) = engine(&time).await;
    let first = engine
        .accept_invite(token(boot.login_url.expose()), PASSWORD, PASSWORD)
        .await
        .unwrap();
    // Idle: 12 h without use.
    time.advance(Duration::from_secs(12 * 3600));
    assert!(engine.session(first.id.expose()).await.unwrap().is_none());
    // Used every 11 h, it still ends 7 days after sign-in.
    let s = engine
        .sign_in("owner@example.com", PASSWORD, None)
        .await
        .unwrap();
    for _ in 0..15 {
        time.advance(Duration::from_secs(11 * 3600));
        assert!(engine.session(s.id.expose()).await.unwrap().is_some());
    }
    time.advance(Duration::from_secs(11 * 3600));
    assert!(engine.session(s.id.expose()).await.unwrap().is_none());
    // Sign-out.
    let s = engine
        .sign_in("owner@example.com", PASSWORD, None)
        .await
        .unwrap();
    engine.sign_out(s.id.expose()).await.unwrap();
    assert!(engine.session(s.id.expose()).await.unwrap().is_none());
    assert!(engine.session("not a session").await.unwrap().is_none());
}

#[tokio::test]
async fn a_new_password_ends_the_old_sessions() {
    let time = TestClock::new();
    let (engine, _db, boot) = engine(&time).await;
    let old = engine
        .accept_invite(token(boot.login_url.expose()), PASSWORD, PASSWORD)
        .await
        .unwrap();
    let invite = engine
        .invite(&boot.workspace_id, "owner@example.com")
        .await
        .unwrap();
    engine
        .accept_invite(
            token(invite.url.expose()),
            "another good password",
            "another good password",
        )
        .await
        .unwrap();
    assert!(engine.session(old.id.expose()).await.unwrap().is_none());
    assert!(matches!(
        engine.sign_in("owner@example.com", PASSWORD, None).await,
        Err(AccountError::BadCredentials)
    ));
}

#[tokio::test]
async fn csrf_tokens_are_bound_to_their_session_or_cookie() {
    let time = TestClock::new();
    let (engine, _db, boot) = engine(&time).await;
    let a = engine
        .accept_invite(token(boot.login_url.expose()), PASSWORD, PASSWORD)
        .await
        .unwrap();
    let b = engine
        .sign_in("owner@example.com", PASSWORD, None)
        .await
        .unwrap();
    let a = engine.session(a.id.expose()).await.unwrap().unwrap();
    let b = engine.session(b.id.expose()).await.unwrap().unwrap();
    assert!(a.csrf_matches(a.csrf_token()));
    assert!(!a.csrf_matches(b.csrf_token()));
    let (cookie, token) = engine.anonymous_csrf();
    let (other_cookie, _) = engine.anonymous_csrf();
    assert!(engine.anonymous_csrf_matches(cookie.expose(), &token));
    assert!(!engine.anonymous_csrf_matches(other_cookie.expose(), &token));
    assert!(!engine.anonymous_csrf_matches(cookie.expose(), cookie.expose()));
}

#[tokio::test]
async fn replicas_share_sessions_csrf_tokens_and_the_failure_limit() {
    let time = TestClock::new();
    let db = TestDatabase::new();
    let keys = keys();
    let a = replica(&db, &keys, &time).await;
    let b = replica(&db, &keys, &time).await;
    let boot = a
        .bootstrap(&BootstrapRequest {
            workspace_name: "w".into(),
            builder_email: "owner@example.com".into(),
            app_name: "app".into(),
        })
        .await
        .unwrap()
        .unwrap();
    let session = b
        .accept_invite(token(boot.login_url.expose()), PASSWORD, PASSWORD)
        .await
        .unwrap();
    assert!(a.session(session.id.expose()).await.unwrap().is_some());
    let (cookie, csrf) = a.anonymous_csrf();
    assert!(b.anonymous_csrf_matches(cookie.expose(), &csrf));
    for i in 0..10 {
        let replica = if i % 2 == 0 { &a } else { &b };
        assert!(matches!(
            replica
                .sign_in("owner@example.com", "wrong password!", None)
                .await,
            Err(AccountError::BadCredentials)
        ));
    }
    assert!(matches!(
        a.sign_in("owner@example.com", PASSWORD, None).await,
        Err(AccountError::RateLimited { .. })
    ));
    b.sign_out(session.id.expose()).await.unwrap();
    assert!(a.session(session.id.expose()).await.unwrap().is_none());
}
