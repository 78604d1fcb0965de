//! `OAuthClient` against small token endpoints started by the tests on
//! 127.0.0.1 (never the outside network).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use connectors_catalog::{BodyFormat, ClientAuth, ClientCredentials, OAuthPatch, OAuthSpec};
use connectors_oauth::{Grant, OAuthClient, PkceVerifier, Secret, TokenError};
use tokio::net::TcpListener;

/// One request as the endpoint saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HeaderMap,
    body: String,
}

#[derive(Clone)]
struct Endpoint {
    seen: Arc<Mutex<Vec<Seen>>>,
    status: StatusCode,
    answer: &'static str,
    extra_header: Option<(&'static str, &'static str)>,
}

async fn record(
    State(ep): State<Endpoint>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    ep.seen.lock().unwrap().push(Seen {
        path: uri.path().to_owned(),
        headers,
        body,
    });
    let mut response =
        (ep.status, [("content-type", "application/json")], ep.answer).into_response();
    if let Some((name, value)) = ep.extra_header {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// Starts an endpoint answering every POST with `status` and `answer`.
async fn serve(
    status: StatusCode,
    answer: &'static str,
    extra_header: Option<(&'static str, &'static str)>,
) -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route("/token", post(record))
        .route("/revoke", post(record))
        .with_state(Endpoint {
            seen: seen.clone(),
            status,
            answer,
            extra_header,
        });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, seen)
}

fn spec(addr: SocketAddr, auth: ClientAuth, body: BodyFormat) -> OAuthSpec {
    OAuthPatch {
        authorization_url: Some(format!("http://{addr}/authorize")),
        token_url: Some(format!("http://{addr}/token")),
        revocation_url: Some(format!("http://{addr}/revoke")),
        client_auth: Some(auth),
        token_body: Some(body),
        pkce: Some(true),
        token_headers: Some([("X-Provider".to_string(), "yes".to_string())].into()),
        ..Default::default()
    }
    .resolve()
}

fn client() -> ClientCredentials {
    ClientCredentials {
        client_id: "my client".into(),
        client_secret: Some(Secret::new("top:secret")),
    }
}

fn form(body: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

fn oauth() -> OAuthClient {
    OAuthClient::new(Duration::from_secs(5))
}

const TOKENS: &str = r#"{"access_token":"AT-123","refresh_token":"RT-456","expires_in":3600,"token_type":"Bearer","scope":"a b"}"#;

#[tokio::test]
async fn exchange_sends_basic_auth_and_a_form() {
    let (addr, seen) = serve(StatusCode::OK, TOKENS, None).await;
    let spec = spec(addr, ClientAuth::ClientSecretBasic, BodyFormat::Form);
    let verifier = PkceVerifier::new(Secret::new("VERIFIER"));
    let set = oauth()
        .exchange(
            &spec,
            &client(),
            Grant::AuthorizationCode {
                code: "CODE",
                redirect_uri: "https://me.example/cb",
                pkce_verifier: Some(verifier),
            },
            &BTreeMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(set.access_token.expose(), "AT-123");
    assert_eq!(set.refresh_token.unwrap().expose(), "RT-456");
    assert_eq!(set.expires_in, Some(3600));
    assert_eq!(set.scope, Some(vec!["a".to_string(), "b".to_string()]));

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let req = &seen[0];
    assert_eq!(req.path, "/token");
    // RFC 6749 §2.3.1: form-encode id and secret, then Basic.
    let expected = format!("Basic {}", STANDARD.encode("my+client:top%3Asecret"));
    assert_eq!(req.headers["authorization"], expected.as_str());
    assert_eq!(
        req.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(req.headers["accept"], "application/json");
    assert_eq!(req.headers["x-provider"], "yes");
    let body = form(&req.body);
    assert_eq!(
        body,
        [
            ("grant_type", "authorization_code"),
            ("code", "CODE"),
            ("redirect_uri", "https://me.example/cb"),
            ("code_verifier", "VERIFIER"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<BTreeMap<_, _>>()
    );
}

#[tokio::test]
async fn refresh_posts_credentials_in_a_json_body() {
    let (addr, seen) = serve(StatusCode::OK, r#"{"access_token":"AT-2"}"#, None).await;
    let spec = spec(addr, ClientAuth::ClientSecretPost, BodyFormat::Json);
    let refresh = Secret::new("RT-OLD");
    let set = oauth()
        .exchange(
            &spec,
            &client(),
            Grant::RefreshToken {
                refresh_token: &refresh,
                scopes: None,
            },
            &BTreeMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(set.access_token.expose(), "AT-2");
    assert!(set.refresh_token.is_none(), "the caller keeps the old one");
    let seen = seen.lock().unwrap().clone();
    let req = &seen[0];
    assert!(req.headers.get("authorization").is_none());
    assert_eq!(req.headers["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "grant_type": "refresh_token", "refresh_token": "RT-OLD",
            "client_id": "my client", "client_secret": "top:secret"
        })
    );
}

#[tokio::test]
async fn provider_refusal_is_permanent_and_outage_transient() {
    let refresh = Secret::new("RT-OLD");
    let grant = || Grant::RefreshToken {
        refresh_token: &refresh,
        scopes: None,
    };
    let (addr, _) = serve(
        StatusCode::BAD_REQUEST,
        r#"{"error":"invalid_grant","error_description":"expired"}"#,
        None,
    )
    .await;
    let spec_ = spec(addr, ClientAuth::ClientSecretBasic, BodyFormat::Form);
    let err = oauth()
        .exchange(&spec_, &client(), grant(), &BTreeMap::new())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        TokenError::Permanent {
            error: "invalid_grant".into(),
            description: Some("expired".into())
        }
    );

    let (addr, _) = serve(StatusCode::SERVICE_UNAVAILABLE, "<html>down</html>", None).await;
    let spec_ = spec(addr, ClientAuth::ClientSecretBasic, BodyFormat::Form);
    let err = oauth()
        .exchange(&spec_, &client(), grant(), &BTreeMap::new())
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::Transient { .. }), "{err:?}");
    assert!(err.to_string().contains("503"), "{err}");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (target, target_seen) = serve(StatusCode::OK, TOKENS, None).await;
    let location: &'static str = Box::leak(format!("http://{target}/token").into_boxed_str());
    let (addr, seen) = serve(
        StatusCode::TEMPORARY_REDIRECT,
        "",
        Some(("location", location)),
    )
    .await;
    let spec = spec(addr, ClientAuth::ClientSecretPost, BodyFormat::Form);
    let refresh = Secret::new("RT-OLD");
    let err = oauth()
        .exchange(
            &spec,
            &client(),
            Grant::RefreshToken {
                refresh_token: &refresh,
                scopes: None,
            },
            &BTreeMap::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, TokenError::Transient { .. }), "{err:?}");
    assert!(err.to_string().contains("307"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert!(
        target_seen.lock().unwrap().is_empty(),
        "the redirect was followed"
    );
}

#[tokio::test]
async fn a_silent_server_times_out_quickly() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts connections and never answers.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let spec = spec(addr, ClientAuth::ClientSecretBasic, BodyFormat::Form);
    let refresh = Secret::new("RT-OLD");
    let started = Instant::now();
    let err = OAuthClient::new(Duration::from_millis(300))
        .exchange(
            &spec,
            &client(),
            Grant::RefreshToken {
                refresh_token: &refresh,
                scopes: None,
            },
            &BTreeMap::new(),
        )
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let TokenError::Transient { reason, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("did not answer"), "{reason}");
    assert!(!format!("{err:?}").contains("RT-OLD"));
}

#[tokio::test]
async fn a_closed_port_is_transient() {
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let spec = spec(addr, ClientAuth::ClientSecretBasic, BodyFormat::Form);
    let refresh = Secret::new("RT-OLD");
    let err = OAuthClient::new(Duration::from_secs(2))
        .exchange(
            &spec,
            &client(),
            Grant::RefreshToken {
                refresh_token: &refresh,
                scopes: None,
            },
            &BTreeMap::new(),
        )
        .await
        .unwrap_err();
    let TokenError::Transient { reason, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("could not connect"), "{reason}");
}

#[tokio::test]
async fn configuration_errors_are_transient_and_say_what_to_set() {
    let spec = OAuthPatch {
        authorization_url: Some("https://{subdomain}.example.com/authorize".into()),
        token_url: Some("https://{subdomain}.example.com/token".into()),
        ..Default::default()
    }
    .resolve();
    let refresh = Secret::new("RT-OLD");
    let err = oauth()
        .exchange(
            &spec,
            &client(),
            Grant::RefreshToken {
                refresh_token: &refresh,
                scopes: None,
            },
            &BTreeMap::new(),
        )
        .await
        .unwrap_err();
    let TokenError::Transient { reason, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("subdomain"), "{reason}");
}

#[tokio::test]
async fn revoke_uses_rfc7009_with_client_auth() {
    let (addr, seen) = serve(StatusCode::OK, "", None).await;
    let spec_ = spec(addr, ClientAuth::ClientSecretBasic, BodyFormat::Json);
    oauth()
        .revoke(
            &spec_,
            &client(),
            &Secret::new("RT-456"),
            "refresh_token",
            &BTreeMap::new(),
        )
        .await
        .unwrap();
    let requests = seen.lock().unwrap().clone();
    let req = &requests[0];
    assert_eq!(req.path, "/revoke");
    assert_eq!(
        req.headers["authorization"],
        format!("Basic {}", STANDARD.encode("my+client:top%3Asecret")).as_str()
    );
    // RFC 7009 bodies are forms whatever the token body format.
    assert_eq!(
        req.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(
        form(&req.body),
        [("token", "RT-456"), ("token_type_hint", "refresh_token")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>()
    );

    // No revocation endpoint: nothing to do.
    let mut without = spec_.clone();
    without.revocation_url = None;
    oauth()
        .revoke(
            &without,
            &client(),
            &Secret::new("RT-456"),
            "",
            &BTreeMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);

    // A refusal is classified like token errors.
    let (addr, _) = serve(
        StatusCode::BAD_REQUEST,
        r#"{"error":"unsupported_token_type"}"#,
        None,
    )
    .await;
    let err = oauth()
        .revoke(
            &spec(addr, ClientAuth::ClientSecretPost, BodyFormat::Form),
            &client(),
            &Secret::new("RT-456"),
            "",
            &BTreeMap::new(),
        )
        .await
        .unwrap_err();
    assert!(err.is_permanent(), "{err:?}");
}
