//! App users: minted tokens, the app's own identity provider, and every way
//! a token of one kind must fail as another (issue #13.3).

use std::time::Duration;

use connectors_testkit::fake_oidc::{FakeIdp, Signing};
use connectors_wire::{AppUserSettings, AppUserTokenRequest, IdentityProviderSettings};
use serde_json::{json, Value};

use super::*;

fn mint_request(user_id: &str) -> AppUserTokenRequest {
    AppUserTokenRequest {
        user_id: user_id.into(),
        email: Some("alice@example.com".into()),
        name: Some("Alice".into()),
        expires_in: None,
    }
}

async fn mint(engine: &Engine, b: &Bootstrap, user_id: &str) -> String {
    let app = service(engine, b).await;
    engine
        .mint_app_user_token(&app, &mint_request(user_id))
        .unwrap()
        .access_token
        .expose()
        .to_string()
}

fn unauthorized<T: std::fmt::Debug>(r: Result<T>) {
    assert!(matches!(r, Err(EngineError::Unauthorized)), "{r:?}");
}

#[tokio::test]
async fn a_minted_token_names_its_user_until_it_expires_and_only_in_its_app() {
    let time = TestClock::new();
    let (engine, b, _db) = bootstrapped_at(time.clock()).await;
    let token = mint(&engine, &b, "user-42").await;
    let alice = engine.app_user(&b.app_id, &token).await.unwrap();
    assert_eq!(alice.subject, "user-42");
    assert_eq!(alice.issuer, engine.config().public_url);
    assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
    assert_eq!(alice.id.len(), 32);
    assert!(alice
        .id
        .bytes()
        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
    // The same user again: the same row.
    let again = mint(&engine, &b, "user-42").await;
    assert_eq!(
        engine.app_user(&b.app_id, &again).await.unwrap().id,
        alice.id
    );
    let users = engine
        .list_app_users(&authorized(&engine, &b).await)
        .await
        .unwrap();
    assert_eq!(users.len(), 1);
    // Another app of the same workspace does not take it.
    let other = engine.create_app(&b.workspace_id, "other").await.unwrap();
    unauthorized(engine.app_user(&other.id, &token).await);
    // Expired (the cache never serves past `exp`).
    time.advance(Duration::from_secs(3601));
    unauthorized(engine.app_user(&b.app_id, &token).await);
}

#[tokio::test]
async fn service_tokens_api_keys_and_login_tokens_are_not_user_tokens_nor_the_reverse() {
    let (engine, b, _db) = bootstrapped().await;
    let app = b.app_id.clone();
    unauthorized(engine.app_user(&app, b.service_token.expose()).await);
    unauthorized(engine.app_user(&app, b.api_key.expose()).await);
    // A login token of the builder, signed by the same ring.
    let login = engine
        .keys()
        .sign_access_token(&connectors_vault::AccessClaims {
            sub: b.builder_email.clone(),
            iss: engine.config().public_url.clone(),
            aud: app.clone(),
            iat: engine.now(),
            exp: engine.now() + 600,
            bid: "b".into(),
            sid: "s".into(),
        });
    unauthorized(engine.app_user(&app, login.expose()).await);
    unauthorized(engine.app_user(&app, "eyJhbGciOiJub25lIn0.e30.").await);
    // A user token where a service token is needed: 403; where a builder
    // credential is: 403; garbage: 401.
    let token = mint(&engine, &b, "u1").await;
    let who = engine
        .authenticate_for_app(Credential::Bearer(&token), &app)
        .await
        .unwrap();
    assert!(matches!(&who, Principal::AppUser(u) if u.subject == "u1"));
    assert!(matches!(
        engine.service_app(&who, &app),
        Err(EngineError::ServiceOnly)
    ));
    assert!(matches!(
        engine.builder_app(&who, &app).await,
        Err(EngineError::BuilderOnly)
    ));
    let other = engine.create_app(&b.workspace_id, "other").await.unwrap();
    unauthorized(
        engine
            .authenticate_for_app(Credential::Bearer(&token), &other.id)
            .await,
    );
    unauthorized(
        engine
            .authenticate_for_app(Credential::Bearer("eyJx.eyJ5.zz"), &app)
            .await,
    );
    // Service tokens and API keys still authenticate as themselves.
    let svc = engine
        .authenticate_for_app(Credential::Bearer(b.service_token.expose()), &app)
        .await
        .unwrap();
    assert!(engine.service_app(&svc, &app).is_ok());
}

#[tokio::test]
async fn minting_checks_its_input_and_is_rate_limited_per_app() {
    let (engine, b, _db) = bootstrapped().await;
    let app = service(&engine, &b).await;
    let refused = |r: Result<MintedAppUserToken>, needle: &str| {
        let e = r.unwrap_err().to_string();
        assert!(e.contains(needle), "{e}");
    };
    for (user_id, expires_in, needle) in [
        ("", None, "user_id"),
        ("a\nb", None, "user_id"),
        (&"x".repeat(256) as &str, None, "user_id"),
        ("u", Some(0), "expires_in"),
        ("u", Some(86_401), "expires_in"),
    ] {
        let request = AppUserTokenRequest {
            expires_in,
            ..mint_request(user_id)
        };
        refused(engine.mint_app_user_token(&app, &request), needle);
    }
    let longest = AppUserTokenRequest {
        expires_in: Some(86_400),
        ..mint_request("u")
    };
    assert_eq!(
        engine
            .mint_app_user_token(&app, &longest)
            .unwrap()
            .expires_in,
        86_400
    );
    for _ in 1..MINTS_PER_WINDOW {
        engine
            .mint_app_user_token(&app, &mint_request("u"))
            .unwrap();
    }
    assert!(matches!(
        engine.mint_app_user_token(&app, &mint_request("u")),
        Err(EngineError::TooManyAppUserTokens { .. })
    ));
}

#[tokio::test]
async fn a_minted_token_survives_rotation_while_its_key_stays_in_the_ring() {
    let k1 = KeyRing::generate_spec("k1");
    let k2 = KeyRing::generate_spec("k2");
    let (engine, db) = engine_with(
        KeyRing::from_specs(&[k1.expose()]).unwrap(),
        Clock::system(),
    )
    .await;
    let b = bootstrap(&engine).await;
    let token = mint(&engine, &b, "u1").await;
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
    rotated.rotate_keys().await.unwrap();
    assert!(rotated.app_user(&b.app_id, &token).await.is_ok());
    assert_eq!(rotated.app_user_jwks()["keys"].as_array().unwrap().len(), 2);
    let dropped = reopen(vec![k2.expose().into()]).await;
    unauthorized(dropped.app_user(&b.app_id, &token).await);
}

fn provider_settings(idp: &FakeIdp, audience: &str) -> AppUserSettings {
    AppUserSettings {
        allowed_origins: vec![],
        default_return_url: None,
        identity_provider: Some(IdentityProviderSettings {
            issuer: idp.issuer.clone(),
            jwks_uri: idp.jwks_uri(),
            audience: audience.into(),
            user_id_claim: "sub".into(),
            email_claim: "email".into(),
            algorithms: vec!["EdDSA".into()],
        }),
    }
}

#[tokio::test]
async fn tokens_of_the_apps_identity_provider_are_checked_against_its_keys() {
    let time = TestClock::new();
    let (engine, b, _db) = bootstrapped_at(time.clock()).await;
    let idp = FakeIdp::start("unused", "client-secret");
    let app = b.app_id.clone();
    let now = engine.now();
    let claims = |extra: Value| {
        let mut c = json!({"iss": idp.issuer, "aud": "my-app", "sub": "carol", "email": "c@example.com",
                           "iat": now, "exp": now + 300});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    let good = idp.sign(&claims(json!({})), Signing::Published, "k1");
    // Not trusted yet.
    unauthorized(engine.app_user(&app, &good).await);
    assert_eq!(idp.jwks_requests(), 0);
    let builder = authorized(&engine, &b).await;
    engine
        .put_app_user_settings(&builder, &provider_settings(&idp, "my-app"))
        .await
        .unwrap();
    let carol = engine.app_user(&app, &good).await.unwrap();
    assert_eq!(
        (carol.issuer.as_str(), carol.subject.as_str()),
        (idp.issuer.as_str(), "carol")
    );
    assert_eq!(idp.jwks_requests(), 1);
    // Every forgery is refused.
    let public_x = FakeIdp::public_x();
    let hs_with_public_key = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims(json!({})),
        &jsonwebtoken::EncodingKey::from_secret(public_x.as_bytes()),
    )
    .unwrap();
    use base64::Engine as _;
    let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none"}"#),
        b64(&claims(json!({})).to_string())
    );
    for forged in [
        idp.sign(&claims(json!({})), Signing::Forged, "k1"),
        idp.sign(
            &claims(json!({"aud": "another-app"})),
            Signing::Published,
            "k1",
        ),
        idp.sign(&claims(json!({"exp": now - 61})), Signing::Published, "k1"),
        idp.sign(&claims(json!({"nbf": now + 120})), Signing::Published, "k1"),
        idp.sign(
            &claims(json!({"iss": "https://other.example"})),
            Signing::Published,
            "k1",
        ),
        idp.sign(&claims(json!({"sub": null})), Signing::Published, "k1"),
        idp.sign(&claims(json!({})), Signing::ClientSecret, "k1"),
        hs_with_public_key,
        none,
    ] {
        unauthorized(engine.app_user(&app, &forged).await);
    }
    // Unknown kids: one re-fetch at most every 30 s.
    assert_eq!(idp.jwks_requests(), 1);
    let unknown = |kid: &str| idp.sign(&claims(json!({})), Signing::Published, kid);
    unauthorized(engine.app_user(&app, &unknown("k2")).await);
    unauthorized(engine.app_user(&app, &unknown("k3")).await);
    assert_eq!(idp.jwks_requests(), 1, "fetched less than 30 s ago");
    time.advance(Duration::from_secs(31));
    for kid in ["k4", "k5", "k6"] {
        unauthorized(engine.app_user(&app, &unknown(kid)).await);
    }
    assert_eq!(idp.jwks_requests(), 2, "one re-fetch per 30 s");
    // Another app trusting nobody does not take carol's token.
    let other = engine.create_app(&b.workspace_id, "other").await.unwrap();
    unauthorized(engine.app_user(&other.id, &good).await);
    // Our own issuer's name in a provider token gains nothing.
    let claims_as_us =
        claims(json!({"iss": engine.config().public_url, "typ": "app_user", "aud": app}));
    unauthorized(
        engine
            .app_user(&app, &idp.sign(&claims_as_us, Signing::Published, "k1"))
            .await,
    );
    // Distrusting the provider signs its users out at once.
    engine
        .put_app_user_settings(&builder, &AppUserSettings::default())
        .await
        .unwrap();
    unauthorized(engine.app_user(&app, &good).await);
}
