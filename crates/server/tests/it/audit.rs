//! The audit trail (#15.5), over real HTTP so the client address is the
//! socket's: a push, a key made on the dashboard and sign-ins are recorded
//! with their actors, addresses and request ids; the API reads them by
//! cursor for the workspace's builders only; no secret is ever in an entry;
//! every other audited use case records its entry; old entries are purged.

use std::collections::BTreeMap;

use connectors_engine::{AuditOf, BootstrapRequest, RequestContext, TestClock};
use serde_json::Value;

use crate::signin::{hidden, PASSWORD};
use crate::support::TestServer;

/// A browser and API client over a real socket: a cookie jar, the
/// server's origin on every request, and the `X-Request-ID` the test picks.
struct Web {
    client: reqwest::Client,
    base: String,
    jar: BTreeMap<String, String>,
}

struct Reply {
    status: u16,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

impl Web {
    fn new(server: &TestServer) -> Self {
        Self {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: server.url.clone(),
            jar: BTreeMap::new(),
        }
    }

    async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        request_id: Option<&str>,
        headers: &[(&str, &str)],
        form: Option<&[(&str, &str)]>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("origin", &self.base);
        if !self.jar.is_empty() {
            let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.header("cookie", cookies.join("; "));
        }
        if let Some(id) = request_id {
            request = request.header("x-request-id", id);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(form) = form {
            let body = form
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{k}={}",
                        percent_encoding::utf8_percent_encode(
                            v,
                            percent_encoding::NON_ALPHANUMERIC
                        )
                    )
                })
                .collect::<Vec<_>>()
                .join("&");
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body);
        }
        let response = request.send().await.unwrap();
        for set in response.headers().get_all("set-cookie") {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_string(), value.to_string());
            }
        }
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        Reply { status, text }
    }

    async fn get(&mut self, path: &str) -> Reply {
        self.send(reqwest::Method::GET, path, None, &[], None).await
    }

    async fn post(&mut self, path: &str, request_id: &str, form: &[(&str, &str)]) -> Reply {
        self.send(
            reqwest::Method::POST,
            path,
            Some(request_id),
            &[],
            Some(form),
        )
        .await
    }

    /// `GET` with a builder API key (or a bearer).
    async fn api(&mut self, path: &str, credential: (&str, &str)) -> Reply {
        self.send(reqwest::Method::GET, path, None, &[credential], None)
            .await
    }

    /// Signs in through the form.
    async fn sign_in(&mut self, email: &str, password: &str, request_id: &str) -> Reply {
        let page = self.get("/signin").await;
        assert_eq!(page.status, 200, "{}", page.text);
        let csrf = hidden(&page.text, "csrf");
        self.post(
            "/signin",
            request_id,
            &[
                ("csrf", &csrf),
                ("next", "/"),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }
}

fn key(server: &TestServer) -> (&'static str, String) {
    ("api_key", server.api_key().to_string())
}

async fn served() -> TestServer {
    TestServer::builder()
        .bootstrap(BootstrapRequest {
            workspace_name: "Acme workspace".into(),
            builder_email: "owner@example.com".into(),
            app_name: "Acme app".into(),
        })
        .serve()
        .start()
        .await
}

/// Every entry of a trail, page by page, `limit` at a time.
async fn read_all(web: &mut Web, path: &str, credential: (&str, &str), limit: u32) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut after = 0;
    loop {
        let page = web
            .api(&format!("{path}?after={after}&limit={limit}"), credential)
            .await;
        assert_eq!(page.status, 200, "{}", page.text);
        let page = page.json();
        let got = page["entries"].as_array().unwrap().clone();
        assert!(got.len() <= limit as usize);
        entries.extend(got);
        after = page["next_cursor"].as_i64().unwrap();
        if page["has_more"] == false {
            return entries;
        }
    }
}

fn find<'a>(entries: &'a [Value], action: &str, request_id: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["action"] == action && e["request_id"] == request_id)
        .unwrap_or_else(|| panic!("no {action} of request {request_id} in {entries:#?}"))
}

/// Acceptance of #15: the audit trail shows the push, the key creation
/// and the sign-in with their actors, client addresses and request ids.
#[tokio::test]
async fn the_audit_trail_shows_the_push_the_key_creation_and_the_sign_in_with_their_actors() {
    let server = served().await;
    let app = server.app_id().to_string();
    let workspace = server.boot.workspace_id.clone();
    let mut web = Web::new(&server);

    // The builder sets a password with the invite link (signed in).
    let invite = server
        .boot
        .login_url
        .expose()
        .strip_prefix(&server.url)
        .unwrap()
        .to_string();
    let page = web.get(&invite).await;
    let csrf = hidden(&page.text, "csrf");
    let set = web
        .post(
            &invite,
            "invite-1",
            &[
                ("csrf", &csrf),
                ("password", PASSWORD),
                ("confirm_password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.text);

    // A push: PUT integrations with the builder's API key.
    let (name, value) = key(&server);
    let put = web
        .client
        .put(format!(
            "{}/api/apps/{app}/external-auth/integrations/googlecalendar",
            server.url
        ))
        .header("api_key", server.api_key())
        .header("x-request-id", "push-1")
        .json(&serde_json::json!({"scopes": ["https://www.googleapis.com/auth/calendar.readonly"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);

    // An API key made on the dashboard (shown once).
    let overview = format!("/apps/{app}/editor/workspace/overview");
    let page = web.get(&overview).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let create = format!("{overview}/api-keys");
    let at = page.text.find(&format!("action=\"{create}\"")).unwrap();
    let csrf = hidden(&page.text[at..], "csrf");
    let made = web.post(&create, "key-1", &[("csrf", &csrf)]).await;
    assert_eq!(made.status, 200, "{}", made.text);
    let at = made.text.find("id=\"new-secret\"").unwrap();
    let rest = &made.text[at..];
    let value_at = rest.find("value=\"").unwrap() + 7;
    let new_key = rest[value_at..value_at + rest[value_at..].find('"').unwrap()].to_string();
    assert!(new_key.starts_with("b44k_"), "{new_key}");

    // A sign-in in another browser, and a failed one.
    let mut other = Web::new(&server);
    let signed = other
        .sign_in("owner@example.com", PASSWORD, "signin-1")
        .await;
    assert_eq!(signed.status, 303, "{}", signed.text);
    let session = other.jar.get("b44_session").cloned().unwrap();
    let mut stranger = Web::new(&server);
    let refused = stranger
        .sign_in("Owner@Example.com", "not the password at all", "signin-bad")
        .await;
    assert_eq!(refused.status, 401, "{}", refused.text);

    // The app's trail: the push, by the builder, from the socket's address.
    let app_trail = read_all(
        &mut web,
        &format!("/api/apps/{app}/audit"),
        (name, &value),
        50,
    )
    .await;
    let push = find(&app_trail, "connector.set", "push-1");
    assert_eq!(push["actor"]["kind"], "builder", "{push}");
    assert_eq!(push["actor"]["label"], "owner@example.com", "{push}");
    assert_eq!(push["app_id"], app.as_str());
    assert_eq!(push["target"], "googlecalendar");
    assert_eq!(push["client_address"], "127.0.0.1");
    assert!(
        push["detail"]
            .as_str()
            .unwrap()
            .contains("calendar.readonly"),
        "{push}"
    );
    assert!(
        time::OffsetDateTime::parse(
            push["at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok(),
        "{push}"
    );
    // The bootstrap's service token: the operator's, outside any request.
    let boot_token = app_trail
        .iter()
        .find(|e| e["action"] == "service_token.created")
        .unwrap_or_else(|| panic!("{app_trail:#?}"));
    assert_eq!(boot_token["actor"]["kind"], "operator");
    assert_eq!(boot_token["client_address"], "local");
    assert!(boot_token["request_id"].is_null());
    assert!(
        app_trail.iter().all(|e| e["app_id"] == app.as_str()),
        "only the app's entries: {app_trail:#?}"
    );

    // The workspace's: the key creation and the sign-ins too.
    let ws_path = format!("/api/workspace/{workspace}/audit");
    let trail = read_all(&mut web, &ws_path, (name, &value), 200).await;
    let made = find(&trail, "api_key.created", "key-1");
    assert_eq!(made["actor"]["kind"], "builder");
    assert_eq!(made["actor"]["label"], "owner@example.com");
    assert_eq!(made["client_address"], "127.0.0.1");
    assert_eq!(made["target"], format!("{}…", &new_key[..10]));
    assert!(made["app_id"].is_null());
    let signin = find(&trail, "signin.succeeded", "signin-1");
    assert_eq!(signin["actor"]["label"], "owner@example.com");
    assert_eq!(signin["client_address"], "127.0.0.1");
    let invited = find(&trail, "signin.succeeded", "invite-1");
    assert!(invited["detail"].as_str().unwrap().contains("invite"));
    let failed = find(&trail, "signin.failed", "signin-bad");
    assert_eq!(failed["actor"]["kind"], "anonymous");
    assert!(failed["actor"]["id"].is_null());
    assert_eq!(failed["actor"]["label"], "Owner@Example.com");
    assert_eq!(failed["client_address"], "127.0.0.1");
    assert!(trail.iter().any(|e| e["request_id"] == "push-1"));
    let ids: Vec<i64> = trail.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");

    // Paging two at a time reads the same entries; the last cursor resumes
    // with only what happened since.
    let paged = read_all(&mut web, &ws_path, (name, &value), 2).await;
    assert_eq!(paged, trail);
    let last = *ids.last().unwrap();
    let since = web
        .api(&format!("{ws_path}?after={last}"), (name, &value))
        .await
        .json();
    assert_eq!(since["entries"], serde_json::json!([]));
    assert_eq!(since["next_cursor"], last);
    assert_eq!(since["has_more"], false);
    let removed = web
        .send(
            reqwest::Method::DELETE,
            &format!("/api/apps/{app}/external-auth/integrations/googlecalendar/remove"),
            Some("remove-1"),
            &[(name, &value)],
            None,
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    let since = web
        .api(&format!("{ws_path}?after={last}"), (name, &value))
        .await
        .json();
    let new = since["entries"].as_array().unwrap();
    assert_eq!(new.len(), 1, "{since}");
    assert_eq!(new[0]["action"], "connector.removed");
    assert_eq!(new[0]["request_id"], "remove-1");

    // No secret in any entry: keys, tokens, the password, the session, the
    // invite link.
    let everything = web
        .api(&format!("{ws_path}?limit=200"), (name, &value))
        .await
        .text;
    for secret in [
        server.api_key(),
        server.service_token(),
        &new_key,
        PASSWORD,
        &session,
        server.boot.login_url.expose(),
        invite.trim_start_matches("/invite/"),
    ] {
        assert!(!everything.contains(secret), "a secret in the trail");
    }

    // The dashboard's pages show the same, newest first, without secrets.
    let page = web
        .get(&format!("/apps/{app}/editor/workspace/audit"))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    for text in [
        "<caption>",
        "Set a connector",
        "owner@example.com",
        "push-1",
        "127.0.0.1",
    ] {
        assert!(page.text.contains(text), "{text} on {}", page.text);
    }
    let page = web.get("/workspace/audit").await;
    assert_eq!(page.status, 200, "{}", page.text);
    for text in [
        "Failed to sign in",
        "Created an API key",
        "key-1",
        "Acme app",
    ] {
        assert!(page.text.contains(text), "{text} on {}", page.text);
    }
    assert!(!page.text.contains(&new_key) && !page.text.contains(server.api_key()));
    let home = web.get("/").await;
    assert!(
        home.text.contains("href=\"/workspace/audit\""),
        "{}",
        home.text
    );
}

/// Only the workspace's builders read its trail: another workspace's
/// builder gets "not found", a service token 403, no credential 401; a bad
/// cursor or page size is a 400 that says what to send.
#[tokio::test]
async fn only_the_workspaces_builders_read_the_trail_and_bad_queries_are_refused() {
    let server = served().await;
    let app = server.app_id().to_string();
    let workspace = server.boot.workspace_id.clone();
    let engine = &server.engine;
    let theirs = engine.create_workspace("Theirs").await.unwrap();
    let them = engine
        .create_builder(&theirs.id, "them@example.com")
        .await
        .unwrap();
    let their_key = engine.create_api_key(&them.id).await.unwrap();
    let mut web = Web::new(&server);
    let app_path = format!("/api/apps/{app}/audit");
    let ws_path = format!("/api/workspace/{workspace}/audit");
    for path in [&app_path, &ws_path] {
        let other = web.api(path, ("api_key", their_key.secret.expose())).await;
        assert_eq!(other.status, 404, "{path}: {}", other.text);
        let service = web
            .api(
                path,
                (
                    "authorization",
                    &format!("Bearer {}", server.service_token()),
                ),
            )
            .await;
        assert_eq!(service.status, 403, "{path}: {}", service.text);
        let nobody = web.get(path).await;
        assert_eq!(nobody.status, 401, "{path}: {}", nobody.text);
        for (query, names) in [
            ("limit=0", "`limit`"),
            ("limit=201", "`limit`"),
            ("limit=ten", "`limit`"),
            ("after=-3", "`after`"),
            ("after=x", "`after`"),
            ("before=3", "`before`"),
            ("limit=1&limit=2", "twice"),
        ] {
            let bad = web
                .api(&format!("{path}?{query}"), ("api_key", server.api_key()))
                .await;
            assert_eq!(bad.status, 400, "{path}?{query}: {}", bad.text);
            let detail = bad.json()["detail"].as_str().unwrap().to_string();
            assert!(detail.contains(names), "{query}: {detail}");
        }
    }
    // Their own trail has their key, not ours.
    let theirs_trail = web
        .api(
            &format!("/api/workspace/{}/audit", theirs.id),
            ("api_key", their_key.secret.expose()),
        )
        .await;
    assert_eq!(theirs_trail.status, 200, "{}", theirs_trail.text);
    let entries = theirs_trail.json()["entries"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 1, "{entries:#?}");
    assert_eq!(entries[0]["action"], "api_key.created");
    assert_eq!(entries[0]["actor"]["kind"], "operator");
    // Another workspace's app page is "not found" on the dashboard too.
    let path = crate::signin::invite_path(&server);
    let mut browser = crate::signin::Browser::new(&server);
    crate::signin::accept_invite(&mut browser, &path).await;
    let their_app = engine.create_app(&theirs.id, "Their app").await.unwrap();
    let page = browser
        .get(&format!("/apps/{}/editor/workspace/audit", their_app.id))
        .await;
    assert_eq!(page.status, 404, "{}", page.text);
}

/// Every audited use case records its entry once, by its actor; the
/// operator's commands (outside any request) as `operator` from `local`.
#[tokio::test]
async fn every_audited_use_case_records_its_entry() {
    let clock = TestClock::new();
    let server = TestServer::builder()
        .clock(clock.clock())
        .bootstrap(BootstrapRequest {
            workspace_name: "w".into(),
            builder_email: "owner@example.com".into(),
            app_name: "app".into(),
        })
        .start()
        .await;
    let engine = &server.engine;
    let ws = server.boot.workspace_id.clone();
    let owner = engine
        .authenticate(connectors_engine::Credential::ApiKey(server.api_key()))
        .await
        .unwrap();
    let app = engine.builder_app(&owner, server.app_id()).await.unwrap();
    let context = RequestContext {
        request_id: Some("req-7".into()),
        client_address: Some("192.0.2.9".into()),
    };
    context
        .scope(async {
            let workspace = engine.builder_workspace(&owner, &ws).unwrap();
            let created = engine
                .create_workspace_connector(
                    &workspace,
                    serde_json::from_value(serde_json::json!({
                        "integration_type": "googlecalendar", "name": "Sales calendar",
                        "client_id": "ws-client", "client_secret": "ws-secret-canary",
                        "scopes": ["calendar.read"]
                    }))
                    .unwrap(),
                )
                .await
                .unwrap();
            engine
                .update_workspace_connector(
                    &workspace,
                    &created.id,
                    serde_json::from_value(serde_json::json!({
                        "client_secret": "ws-secret-canary-2", "name": "Sales cal"
                    }))
                    .unwrap(),
                )
                .await
                .unwrap();
            engine
                .delete_workspace_connector(&workspace, &created.id)
                .await
                .unwrap();
            let token = engine.create_app_service_token(&app).await.unwrap();
            engine
                .revoke_service_token(&token.id, connectors_engine::ServiceTokenScope::App(&app))
                .await
                .unwrap();
            let key = engine.create_own_api_key(&owner).await.unwrap();
            engine
                .revoke_api_key(&key.id, connectors_engine::ApiKeyScope::Caller(&owner))
                .await
                .unwrap();
            // Revoking again changes nothing and records nothing.
            engine
                .revoke_api_key(&key.id, connectors_engine::ApiKeyScope::Caller(&owner))
                .await
                .unwrap();
            engine
                .put_app_user_settings(
                    &app,
                    &serde_json::from_value(serde_json::json!({
                        "allowed_origins": ["https://app.example.com"]
                    }))
                    .unwrap(),
                )
                .await
                .unwrap();
        })
        .await;
    // The operator's commands: no request.
    engine
        .create_api_key_for(&ws, "owner@example.com")
        .await
        .unwrap();
    engine
        .revoke_logins_for(&ws, "owner@example.com")
        .await
        .unwrap();

    let workspace = engine.builder_workspace(&owner, &ws).unwrap();
    let log = engine
        .read_audit(AuditOf::Workspace(&workspace), None, Some(200))
        .await
        .unwrap();
    let actions: Vec<(&str, &str, Option<&str>)> = log
        .entries
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.actor.kind.as_str(),
                e.client_address.as_deref(),
            )
        })
        .collect();
    let ours = Some("192.0.2.9");
    assert_eq!(
        actions,
        [
            ("api_key.created", "operator", Some("local")),
            ("service_token.created", "operator", Some("local")),
            ("workspace_connector.created", "builder", ours),
            ("workspace_connector.updated", "builder", ours),
            ("workspace_connector.deleted", "builder", ours),
            ("service_token.created", "builder", ours),
            ("service_token.revoked", "builder", ours),
            ("api_key.created", "builder", ours),
            ("api_key.revoked", "builder", ours),
            ("app_user_settings.updated", "builder", ours),
            ("api_key.created", "operator", Some("local")),
            ("login.revoked", "operator", Some("local")),
        ]
    );
    let updated = &log.entries[3];
    assert_eq!(updated.request_id.as_deref(), Some("req-7"));
    let detail = updated.detail.as_deref().unwrap();
    assert!(
        detail.contains("client_secret") && detail.contains("name"),
        "{detail}"
    );
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains("ws-secret-canary"), "{text}");

    // The retention: entries older than the days kept are purged.
    clock.advance(std::time::Duration::from_secs(3 * 86_400));
    engine
        .create_api_key_for(&ws, "owner@example.com")
        .await
        .unwrap();
    assert_eq!(engine.purge_audit(2).await.unwrap(), actions.len() as u64);
    let left = engine
        .read_audit(AuditOf::Workspace(&workspace), None, None)
        .await
        .unwrap();
    assert_eq!(left.entries.len(), 1);
    assert!(left.next_cursor > log.next_cursor, "ids are never reused");
}

/// The dashboard pages back through a long trail 50 at a time, newest
/// first, by cursor.
#[tokio::test]
async fn the_dashboard_pages_back_through_older_entries() {
    let server = crate::support::in_process().await;
    let owner = server
        .engine
        .authenticate(connectors_engine::Credential::ApiKey(server.api_key()))
        .await
        .unwrap();
    let app = server
        .engine
        .builder_app(&owner, server.app_id())
        .await
        .unwrap();
    for _ in 0..60 {
        server.engine.create_app_service_token(&app).await.unwrap();
    }
    let path = crate::signin::invite_path(&server);
    let mut browser = crate::signin::Browser::new(&server);
    crate::signin::accept_invite(&mut browser, &path).await;
    let base = format!("/apps/{}/editor/workspace/audit", server.app_id());
    let first = browser.get(&base).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(
        first.text.matches("<tr>").count(),
        51,
        "a header and 50 rows"
    );
    let at = first.text.find("?before=").expect("an Older entries link");
    let rest = &first.text[at..];
    let link = &rest[..rest.find('"').unwrap()];
    assert!(first.text.contains("Older entries"));
    let older = browser.get(&format!("{base}{link}")).await;
    assert_eq!(older.status, 200, "{}", older.text);
    // 61 tokens (the bootstrap's among them): 11 older ones.
    assert_eq!(older.text.matches("<tr>").count(), 12, "{}", older.text);
    assert!(older.text.contains("Newest entries"));
    assert!(!older.text.contains("?before="), "no older page");
    let bad = browser.get(&format!("{base}?before=yesterday")).await;
    assert_eq!(bad.status, 400, "{}", bad.text);
}
