//! App users over HTTP (issue #13.3): the published keys, minting with the
//! service token, the builder's settings and list, and every way a token of
//! one kind must fail as another: a user token where a service token is
//! needed is 403, garbage and forgeries are 401.

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use base64::Engine as _;
use connectors_engine::TestClock;
use connectors_testkit::fake_oidc::{FakeIdp, Signing};
use serde_json::{json, Value};

use crate::support::{call, Answer, TestServer};

async fn send(
    t: &TestServer,
    method: &str,
    path: &str,
    auth: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    for (k, v) in auth {
        request = request.header(*k, *v);
    }
    let body = match body {
        Some(v) => {
            request = request.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    call(&t.router, request.body(body).unwrap()).await
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn mint_for(t: &TestServer, app_id: &str, service_token: &str, body: Value) -> Answer {
    let path = format!("/api/apps/{app_id}/app-user-tokens");
    send(
        t,
        "POST",
        &path,
        &[("authorization", &bearer(service_token))],
        Some(body),
    )
    .await
}

async fn mint(t: &TestServer, user_id: &str) -> String {
    let a = mint_for(
        t,
        t.app_id(),
        t.service_token(),
        json!({"user_id": user_id, "email": "u@example.com"}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.headers["cache-control"], "no-store");
    let v = a.json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    v["access_token"].as_str().unwrap().to_owned()
}

fn detail(a: &Answer) -> String {
    a.json()["detail"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn minted_tokens_verify_with_the_published_keys() {
    let t = TestServer::builder().start().await;
    let keys = send(&t, "GET", "/.well-known/jwks.json", &[], None).await;
    assert_eq!(keys.status, 200);
    assert_eq!(keys.headers["cache-control"], "public, max-age=300");
    let jwk = keys.json()["keys"][0].clone();
    assert_eq!(
        (
            jwk["kty"].as_str(),
            jwk["alg"].as_str(),
            jwk["use"].as_str()
        ),
        (Some("OKP"), Some("EdDSA"), Some("sig"))
    );
    assert!(jwk.get("d").is_none());
    let token = mint(&t, "user-42").await;
    let key = jsonwebtoken::DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap();
    let mut check = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    check.set_audience(&[t.app_id()]);
    let claims = jsonwebtoken::decode::<Value>(&token, &key, &check)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], "user-42");
    assert_eq!(claims["typ"], "app_user");
    assert_eq!(claims["email"], "u@example.com");
    assert_eq!(
        jsonwebtoken::decode_header(&token).unwrap().kid.as_deref(),
        jwk["kid"].as_str()
    );
}

#[tokio::test]
async fn a_user_token_is_not_a_service_token_nor_a_builder_credential_nor_the_reverse() {
    let time = TestClock::new();
    let t = TestServer::builder().clock(time.clock()).start().await;
    let app = t.app_id().to_owned();
    let user = mint(&t, "alice").await;
    let mint_path = format!("/api/apps/{app}/app-user-tokens");
    let body = Some(json!({"user_id": "x"}));
    // A user token where a service token is needed: 403, the SDK's text.
    let a = send(
        &t,
        "POST",
        &mint_path,
        &[("authorization", &bearer(&user))],
        body.clone(),
    )
    .await;
    assert_eq!(a.status, 403, "{}", a.text);
    assert_eq!(
        a.json(),
        json!({"detail": "This endpoint is only accessible to service tokens"})
    );
    // …and on builder routes.
    for path in [
        "app-user-settings",
        "app-users",
        "service-tokens",
        "external-auth/list",
    ] {
        let a = send(
            &t,
            "GET",
            &format!("/api/apps/{app}/{path}"),
            &[("authorization", &bearer(&user))],
            None,
        )
        .await;
        assert_eq!(a.status, 403, "{path}: {}", a.text);
    }
    // Builder credentials on the mint route: 403.
    let (login, _) = crate::device_login::login(&t, &time).await;
    for auth in [
        ("api_key", t.api_key().to_owned()),
        ("authorization", bearer(t.api_key())),
        ("authorization", bearer(&login)),
    ] {
        let a = send(&t, "POST", &mint_path, &[(auth.0, &auth.1)], body.clone()).await;
        assert_eq!(a.status, 403, "{auth:?}: {}", a.text);
    }
    // Another app's user token or service token, a forged or an unsigned
    // token, nothing: 401.
    let other = t
        .engine
        .create_app(&t.boot.workspace_id, "other")
        .await
        .unwrap();
    let other_token = t.engine.create_service_token(&other.id).await.unwrap();
    let other_token = other_token.secret.expose().to_owned();
    let a = mint_for(&t, &other.id, &other_token, json!({"user_id": "bob"})).await;
    let bobs = a.json()["access_token"].as_str().unwrap().to_owned();
    let mut parts: Vec<String> = user.split('.').map(str::to_owned).collect();
    let b64 = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&parts[1])
            .unwrap(),
    )
    .unwrap();
    let mut for_other = claims.clone();
    for_other["aud"] = json!(other.id);
    let none = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(&claims.to_string()));
    parts[1] = b64(&for_other.to_string());
    let resigned_claims = parts.join(".");
    for (what, auth) in [
        ("another app's user", Some(bearer(&bobs))),
        ("another app's service token", Some(bearer(&other_token))),
        ("claims edited", Some(bearer(&resigned_claims))),
        ("alg none", Some(bearer(&none))),
        (
            "garbage JWT",
            Some(bearer("eyJhbGciOiJFZERTQSJ9.eyJ9.AAAA")),
        ),
        ("no credential", None),
    ] {
        let headers: Vec<(&str, &str)> =
            auth.iter().map(|a| ("authorization", a.as_str())).collect();
        let a = send(&t, "POST", &mint_path, &headers, body.clone()).await;
        assert_eq!(a.status, 401, "{what}: {}", a.text);
        assert_eq!(detail(&a), "Unauthorized", "{what}");
    }
    // The builder's list shows the users seen, keyed by subject.
    let a = send(
        &t,
        "GET",
        &format!("/api/apps/{app}/app-users"),
        &[("api_key", t.api_key())],
        None,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let users = a.json()["app_users"].clone();
    assert_eq!(users.as_array().unwrap().len(), 1, "{users}");
    assert_eq!(users[0]["subject"], "alice");
    assert_eq!(users[0]["issuer"], t.engine.config().public_url);
    // Expired: 401.
    time.advance(Duration::from_secs(3601));
    let a = send(
        &t,
        "POST",
        &mint_path,
        &[("authorization", &bearer(&user))],
        body,
    )
    .await;
    assert_eq!(a.status, 401, "{}", a.text);
}

#[tokio::test]
async fn mint_bodies_are_checked_and_mints_are_rate_limited() {
    let t = TestServer::builder().start().await;
    for (body, needle) in [
        (json!({"user_id": ""}), "user_id"),
        (json!({"user_id": "a\u{7}"}), "user_id"),
        (json!({"user_id": "u", "expires_in": 86_401}), "expires_in"),
        (json!({"user_id": "u", "expires_in": 0}), "expires_in"),
        (json!({"user_id": "u", "ttl": 5}), "ttl"),
        (json!({"email": "u@example.com"}), "user_id"),
    ] {
        let a = mint_for(&t, t.app_id(), t.service_token(), body.clone()).await;
        assert_eq!(a.status, 400, "{body}: {}", a.text);
        assert!(detail(&a).contains(needle), "{body}: {}", a.text);
    }
    for i in 0..connectors_engine::MINTS_PER_WINDOW {
        let a = mint_for(
            &t,
            t.app_id(),
            t.service_token(),
            json!({"user_id": format!("u{i}")}),
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.text);
    }
    let a = mint_for(
        &t,
        t.app_id(),
        t.service_token(),
        json!({"user_id": "one more"}),
    )
    .await;
    assert_eq!(a.status, 429, "{}", a.text);
    assert_eq!(a.json()["code"], "RATE_LIMITED");
}

#[tokio::test]
async fn settings_are_checked_and_the_apps_provider_is_trusted_through_its_keys() {
    let time = TestClock::new();
    let t = TestServer::builder().clock(time.clock()).start().await;
    let app = t.app_id().to_owned();
    let settings_path = format!("/api/apps/{app}/app-user-settings");
    let key = [("api_key", t.api_key())];
    let a = send(&t, "GET", &settings_path, &key, None).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(
        a.json(),
        json!({"allowed_origins": [], "default_return_url": null, "identity_provider": null})
    );
    // The service token is not a builder credential.
    let a = send(
        &t,
        "GET",
        &settings_path,
        &[("authorization", &bearer(t.service_token()))],
        None,
    )
    .await;
    assert_eq!(a.status, 403, "{}", a.text);
    for bad in [
        json!({"allowed_origins": ["https://app.example.com/path"]}),
        json!({"allowed_origins": ["http://app.example.com"]}),
        json!({"allowed_origins": ["https://app.example.com"], "default_return_url": "https://evil.example/"}),
        json!({"identity_provider": {"issuer": "https://idp.example", "jwks_uri": "https://idp.example/jwks", "audience": "a", "algorithms": ["HS256"]}}),
        json!({"identity_provider": {"issuer": "http://idp.example", "jwks_uri": "https://idp.example/jwks", "audience": "a"}}),
        json!({"allowed_origins": "https://app.example.com"}),
        json!({"unknown": 1}),
    ] {
        let a = send(&t, "PUT", &settings_path, &key, Some(bad.clone())).await;
        assert_eq!(a.status, 400, "{bad}: {}", a.text);
        assert_eq!(a.json()["code"], "INVALID_INPUT", "{bad}");
    }
    let idp = FakeIdp::start("unused", "client-secret");
    let put = json!({
        "allowed_origins": ["https://App.Example.com:443", "http://localhost:5173"],
        "default_return_url": "https://app.example.com/done",
        "identity_provider": {"issuer": idp.issuer, "jwks_uri": idp.jwks_uri(), "audience": "my-app"},
    });
    let a = send(&t, "PUT", &settings_path, &key, Some(put)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let stored = a.json();
    assert_eq!(
        stored["allowed_origins"],
        json!(["https://app.example.com", "http://localhost:5173"])
    );
    assert_eq!(stored["identity_provider"]["user_id_claim"], "sub");
    assert_eq!(
        stored["identity_provider"]["algorithms"],
        json!(["RS256", "ES256", "EdDSA"])
    );
    assert_eq!(
        send(&t, "GET", &settings_path, &key, None).await.json(),
        stored
    );

    // carol's token from the app's own provider names a user of this app:
    // on the service-only route she gets 403, not 401.
    let now = t.engine.config().clock.now_secs();
    let claims = |extra: Value| {
        let mut c = json!({"iss": idp.issuer, "aud": "my-app", "sub": "carol", "iat": now, "exp": now + 300});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let mint_path = format!("/api/apps/{app}/app-user-tokens");
    let as_carol = |token: String| {
        let t = &t;
        let mint_path = mint_path.clone();
        async move {
            send(
                t,
                "POST",
                &mint_path,
                &[("authorization", &bearer(&token))],
                Some(json!({"user_id": "x"})),
            )
            .await
            .status
        }
    };
    assert_eq!(
        as_carol(idp.sign(&claims(json!({})), Signing::Published, "k1")).await,
        403
    );
    assert_eq!(idp.jwks_requests(), 1);
    let hs_public = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims(json!({})),
        &jsonwebtoken::EncodingKey::from_secret(FakeIdp::public_x().as_bytes()),
    )
    .unwrap();
    for (what, token) in [
        (
            "forged signature",
            idp.sign(&claims(json!({})), Signing::Forged, "k1"),
        ),
        (
            "expired",
            idp.sign(&claims(json!({"exp": now - 120})), Signing::Published, "k1"),
        ),
        (
            "not yet valid",
            idp.sign(&claims(json!({"nbf": now + 120})), Signing::Published, "k1"),
        ),
        (
            "wrong audience",
            idp.sign(
                &claims(json!({"aud": "other-app"})),
                Signing::Published,
                "k1",
            ),
        ),
        (
            "untrusted issuer",
            idp.sign(
                &claims(json!({"iss": "https://idp.example"})),
                Signing::Published,
                "k1",
            ),
        ),
        ("HS256 with the public key", hs_public),
        (
            "unknown kid",
            idp.sign(&claims(json!({})), Signing::Published, "k2"),
        ),
        (
            "another unknown kid",
            idp.sign(&claims(json!({})), Signing::Published, "k3"),
        ),
    ] {
        assert_eq!(as_carol(token).await, 401, "{what}");
    }
    assert_eq!(
        idp.jwks_requests(),
        1,
        "no re-fetch within 30 s of the last"
    );
    time.advance(Duration::from_secs(31));
    for kid in ["k4", "k5"] {
        assert_eq!(
            as_carol(idp.sign(&claims(json!({"exp": now + 400})), Signing::Published, kid)).await,
            401
        );
    }
    assert_eq!(idp.jwks_requests(), 2, "one re-fetch per 30 s");
    let a = send(&t, "GET", &format!("/api/apps/{app}/app-users"), &key, None).await;
    let users = a.json()["app_users"].clone();
    assert_eq!(users.as_array().unwrap().len(), 1, "{users}");
    assert_eq!(
        (users[0]["issuer"].as_str(), users[0]["subject"].as_str()),
        (Some(idp.issuer.as_str()), Some("carol"))
    );
}
