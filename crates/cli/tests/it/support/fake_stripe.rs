//! A fake of Stripe's Claimable Sandboxes API (v2), the one third party the
//! tests cannot reach. It speaks the documented wire format: the three
//! paths, `Authorization: Bearer <platform key>`, a required
//! `Stripe-Version`, JSON bodies, `v2.core.claimable_sandbox` objects (API
//! keys only in the create answer) and `{"error": {type, code, message}}`
//! objects; and it records every request for the tests to inspect.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// The platform key the server under test must send.
pub const PLATFORM_KEY: &str = "sk_test_platform_canary_5Ja9";

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct StripeRequest {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub stripe_version: Option<String>,
    pub content_type: Option<String>,
    pub body: Value,
}

#[derive(Clone, Debug)]
struct Sandbox {
    id: String,
    status: String,
    account: String,
    url: String,
    expires_at: i64,
    prefill: Value,
    refresh_url: String,
}

#[derive(Default)]
struct Inner {
    sandboxes: BTreeMap<String, Sandbox>,
    requests: Vec<StripeRequest>,
    /// `(status, code, message)` answered to every request while set.
    failure: Option<(u16, String, String)>,
    create_delay: Duration,
    link_ttl_secs: i64,
    links: u32,
}

/// The fake; stops when dropped.
pub struct FakeStripe {
    /// `http://127.0.0.1:<port>`, for `[stripe] api_base`.
    pub origin: String,
    inner: Arc<Mutex<Inner>>,
    /// Stops the fake when dropped.
    _served: connectors_testkit::Served,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn rfc3339(unix: i64) -> String {
    connectors_stripe::rfc3339(unix)
}

/// The sandbox's secret key the fake hands out: a canary the tests look for.
pub fn secret_key_of(sandbox_id: &str) -> String {
    format!("sk_test_canary_{sandbox_id}")
}

/// Its publishable key.
pub fn publishable_key_of(sandbox_id: &str) -> String {
    format!("pk_test_{sandbox_id}")
}

fn error(status: u16, kind: &str, code: &str, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        Json(json!({"error": {"type": kind, "code": code, "message": message}})),
    )
        .into_response()
}

impl Sandbox {
    fn object(&self, with_keys: bool) -> Value {
        let keys = if with_keys {
            json!({
                "secret": {"id": format!("sk_id_{}", self.id), "secret_key": {"token": secret_key_of(&self.id)}},
                "publishable": {"id": format!("pk_id_{}", self.id), "publishable_key": {"token": publishable_key_of(&self.id)}},
            })
        } else {
            Value::Null
        };
        let link = if self.status == "unclaimed" {
            json!({"url": self.url, "expires_at": rfc3339(self.expires_at)})
        } else {
            Value::Null
        };
        json!({
            "id": self.id,
            "object": "v2.core.claimable_sandbox",
            "created": rfc3339(unix_now()),
            "livemode": false,
            "status": self.status,
            "prefill": self.prefill,
            "onboarding_link_details": link,
            "sandbox_details": {"account": self.account, "api_keys": keys},
        })
    }
}

impl FakeStripe {
    pub fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            link_ttl_secs: 3600,
            ..Inner::default()
        }));
        let router = Router::new()
            .route("/v2/core/claimable_sandboxes", post(create))
            .route("/v2/core/claimable_sandboxes/{id}", get(retrieve))
            .route(
                "/v2/core/claimable_sandboxes/{id}/renew_onboarding_link",
                post(renew),
            )
            .fallback(|| async {
                error(
                    404,
                    "invalid_request_error",
                    "resource_missing",
                    "Unrecognized request URL",
                )
            })
            .layer(axum::middleware::from_fn_with_state(inner.clone(), check))
            .with_state(inner.clone());
        let served = connectors_testkit::serve(router);
        Self {
            origin: served.url.clone(),
            inner,
            _served: served,
        }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<StripeRequest> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// How many sandboxes were created.
    pub fn created(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/v2/core/claimable_sandboxes")
            .count()
    }

    /// Answers every request with this error until cleared.
    pub fn fail(&self, failure: Option<(u16, &str, &str)>) {
        self.inner.lock().unwrap().failure =
            failure.map(|(s, c, m)| (s, c.to_string(), m.to_string()));
    }

    /// Makes creation slow, so that concurrent installs overlap.
    pub fn set_create_delay(&self, delay: Duration) {
        self.inner.lock().unwrap().create_delay = delay;
    }

    /// Sets a sandbox's status, as its claimer would.
    pub fn set_status(&self, id: &str, status: &str) {
        self.inner
            .lock()
            .unwrap()
            .sandboxes
            .get_mut(id)
            .expect("known sandbox")
            .status = status.to_string();
    }

    /// Deletes a sandbox, as Stripe does with one left unclaimed too long.
    pub fn forget(&self, id: &str) {
        self.inner.lock().unwrap().sandboxes.remove(id);
    }

    /// Expires a sandbox's onboarding link.
    pub fn expire_link(&self, id: &str) {
        self.inner
            .lock()
            .unwrap()
            .sandboxes
            .get_mut(id)
            .expect("known sandbox")
            .expires_at = unix_now() - 1;
    }

    /// The current onboarding link and refresh URL of a sandbox.
    pub fn link(&self, id: &str) -> (String, String) {
        let inner = self.inner.lock().unwrap();
        let s = &inner.sandboxes[id];
        (s.url.clone(), s.refresh_url.clone())
    }

    /// The ids of the sandboxes, oldest first.
    pub fn sandbox_ids(&self) -> Vec<String> {
        let inner = self.inner.lock().unwrap();
        let mut ids: Vec<String> = inner.sandboxes.keys().cloned().collect();
        ids.sort_by_key(|id| {
            id.trim_start_matches("clmsbx_test_")
                .parse::<u32>()
                .unwrap_or(0)
        });
        ids
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

/// Records the request and checks what Stripe checks first: the key, the
/// version header, and a JSON body on POST.
async fn check(
    State(inner): Shared,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let recorded = StripeRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        authorization: header("authorization"),
        stripe_version: header("stripe-version"),
        content_type: header("content-type"),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    };
    let failure = {
        let mut inner = inner.lock().unwrap();
        inner.requests.push(recorded.clone());
        inner.failure.clone()
    };
    if recorded.authorization.as_deref() != Some(&format!("Bearer {PLATFORM_KEY}")) {
        return error(
            401,
            "invalid_request_error",
            "api_key_invalid",
            "Invalid API Key provided",
        );
    }
    if recorded.stripe_version.is_none() {
        return error(
            400,
            "invalid_request_error",
            "stripe_version_required",
            "The v2 API requires a Stripe-Version header",
        );
    }
    if parts.method == Method::POST
        && !recorded
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json"))
    {
        return error(
            400,
            "invalid_request_error",
            "invalid_content_type",
            "v2 requests take a JSON body",
        );
    }
    if let Some((status, code, message)) = failure {
        return error(status, "invalid_request_error", &code, &message);
    }
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    ))
    .await
}

async fn create(State(inner): Shared, _headers: HeaderMap, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(refresh_url) = body["onboarding_link_details"]["refresh_url"].as_str() else {
        return error(
            400,
            "invalid_request_error",
            "parameter_missing",
            "onboarding_link_details.refresh_url is required",
        );
    };
    let prefill = body["prefill"].clone();
    for field in ["email", "name", "country"] {
        if !prefill[field].is_string() {
            return error(
                400,
                "invalid_request_error",
                "parameter_missing",
                &format!("prefill.{field} is required"),
            );
        }
    }
    let delay = inner.lock().unwrap().create_delay;
    tokio::time::sleep(delay).await;
    let mut inner = inner.lock().unwrap();
    let n = inner.sandboxes.len() + 1;
    inner.links += 1;
    let sandbox = Sandbox {
        id: format!("clmsbx_test_{n}"),
        status: "unclaimed".into(),
        account: format!("acct_test_{n}"),
        url: format!(
            "https://dashboard.stripe.com/claim_sandbox/link{}",
            inner.links
        ),
        expires_at: unix_now() + inner.link_ttl_secs,
        prefill,
        refresh_url: refresh_url.to_string(),
    };
    inner.sandboxes.insert(sandbox.id.clone(), sandbox.clone());
    Json(sandbox.object(true)).into_response()
}

async fn retrieve(State(inner): Shared, Path(id): Path<String>) -> Response {
    match inner.lock().unwrap().sandboxes.get(&id) {
        Some(s) => Json(s.object(false)).into_response(),
        None => error(
            404,
            "invalid_request_error",
            "resource_missing",
            &format!("No such claimable sandbox: '{id}'"),
        ),
    }
}

async fn renew(State(inner): Shared, Path(id): Path<String>, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut inner = inner.lock().unwrap();
    inner.links += 1;
    let (links, ttl) = (inner.links, inner.link_ttl_secs);
    let Some(s) = inner.sandboxes.get_mut(&id) else {
        return error(
            404,
            "invalid_request_error",
            "resource_missing",
            &format!("No such claimable sandbox: '{id}'"),
        );
    };
    if s.status != "unclaimed" {
        return error(
            400,
            "invalid_request_error",
            "sandbox_already_claimed",
            "This sandbox has already been claimed",
        );
    }
    if let Some(url) = body["onboarding_link_details"]["refresh_url"].as_str() {
        s.refresh_url = url.to_string();
    }
    s.url = format!("https://dashboard.stripe.com/claim_sandbox/link{links}");
    s.expires_at = unix_now() + ttl;
    Json(s.object(false)).into_response()
}
