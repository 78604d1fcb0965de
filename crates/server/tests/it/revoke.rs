//! Revoking API keys and service tokens (#11.2): through the builder API
//! (own keys, the app's tokens, and the attacks on others'), and through
//! the admin commands of the real binary. A revoked credential's next
//! request is 401 `CREDENTIAL_REVOKED`. The listings also say when each
//! was last used (#12.3).

use axum::body::Body;
use axum::http::Request;
use serde_json::Value;

use crate::support::{call, http_request, in_process, start_server, TestServer, PROVIDERS_TOML};

fn req(method: &str, path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    builder.body(Body::empty()).unwrap()
}

async fn get(t: &TestServer, path: &str, key: &str) -> (u16, Value) {
    let answer = call(&t.router, req("GET", path, &[("api_key", key)])).await;
    (answer.status, answer.json())
}

async fn delete(t: &TestServer, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let answer = call(&t.router, req("DELETE", path, headers)).await;
    (answer.status, answer.json())
}

async fn token(t: &TestServer, service_token: &str) -> (u16, Value) {
    let path = format!("/api/apps/{}/external-auth/tokens/acme_crm", t.app_id());
    let bearer = format!("Bearer {service_token}");
    let answer = call(&t.router, req("GET", &path, &[("authorization", &bearer)])).await;
    (answer.status, answer.json())
}

/// A second workspace with its own builder (and key) and app (and token).
struct Other {
    builder_id: String,
    key: String,
    app_id: String,
    token_id: String,
}

async fn other_workspace(t: &TestServer) -> Other {
    let ws = t.engine.create_workspace("other").await.unwrap();
    let builder = t
        .engine
        .create_builder(&ws.id, "mallory@example.com")
        .await
        .unwrap();
    let key = t.engine.create_api_key(&builder.id).await.unwrap();
    let app = t.engine.create_app(&ws.id, "other app").await.unwrap();
    let token = t.engine.create_service_token(&app.id).await.unwrap();
    Other {
        builder_id: builder.id,
        key: key.secret.expose().to_string(),
        app_id: app.id,
        token_id: token.id,
    }
}

fn ids(list: &Value, field: &str) -> Vec<String> {
    list[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_string())
        .collect()
}

/// Polls `check` (up to 20 s) until it holds: a use is recorded after its
/// request is answered.
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

/// #12.3: `last_used_at` is null until a credential is used, then the
/// second of its use.
#[tokio::test]
async fn listings_say_when_each_credential_was_last_used() {
    let t = in_process().await;
    let key = t.api_key().to_string();
    let tokens_path = format!("/api/apps/{}/service-tokens", t.app_id());
    let (status, tokens) = get(&t, &tokens_path, &key).await;
    assert_eq!(status, 200, "{tokens}");
    let listed = &tokens["service_tokens"][0];
    assert!(listed["last_used_at"].is_null(), "never used: {listed}");
    assert!(listed.as_object().unwrap().contains_key("last_used_at"));

    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(token(&t, t.service_token()).await.0, 404);
    eventually("the key's and the token's use to be listed", || async {
        let (_, keys) = get(&t, "/api/api-keys", &key).await;
        let (_, tokens) = get(&t, &tokens_path, &key).await;
        [&keys["api_keys"][0], &tokens["service_tokens"][0]]
            .iter()
            .all(|c| c["last_used_at"].as_i64().is_some_and(|at| at >= since - 1))
    })
    .await;
}

#[tokio::test]
async fn revoking_the_key_that_asks_refuses_it_from_the_next_request() {
    let t = in_process().await;
    let key = t.api_key().to_string();
    let builder = t
        .engine
        .authenticate(connectors_engine::Credential::ApiKey(&key))
        .await;
    let connectors_engine::Principal::Builder(builder) = builder.unwrap() else {
        panic!("a builder key")
    };
    let spare = t.engine.create_api_key(&builder.id).await.unwrap();
    let spare_key = spare.secret.expose().to_string();

    let (status, list) = get(&t, "/api/api-keys", &key).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["api_keys"].as_array().unwrap().len(), 2, "{list}");
    let text = list.to_string();
    assert!(!text.contains(&key) && !text.contains(&spare_key), "{text}");
    assert!(
        !text.contains(&connectors_vault::hash_token(&key)),
        "{text}"
    );
    assert!(list["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["revoked_at"].is_null() && k["prefix"].as_str().unwrap().starts_with("b44k_")));
    let own_id = ids(&list, "api_keys")
        .into_iter()
        .find(|id| *id != spare.id)
        .unwrap();

    // The key revokes itself: allowed, and answered.
    let (status, done) = delete(&t, &format!("/api/api-keys/{own_id}"), &[("api_key", &key)]).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["id"], own_id.as_str());
    assert_eq!(done["already_revoked"], false);

    // Its next request, by header or bearer, is 401 saying why.
    let (status, refused) = get(&t, "/api/api-keys", &key).await;
    assert_eq!(status, 401, "{refused}");
    assert_eq!(refused["code"], "CREDENTIAL_REVOKED");
    let detail = refused["detail"].as_str().unwrap();
    assert!(
        detail.contains("revoked") && detail.contains("create-api-key"),
        "{detail}"
    );
    let app_path = format!("/api/apps/{}/external-auth/list", t.app_id());
    let bearer = format!("Bearer {key}");
    let answer = call(
        &t.router,
        req("GET", &app_path, &[("authorization", &bearer)]),
    )
    .await;
    assert_eq!(answer.status, 401, "{}", answer.text);

    // The other key still works, sees the revocation, and revoking again
    // changes nothing.
    let (status, list) = get(&t, "/api/api-keys", &spare_key).await;
    assert_eq!(status, 200);
    let revoked = list["api_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == own_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(revoked["revoked_at"], done["revoked_at"]);
    let (status, again) = delete(
        &t,
        &format!("/api/api-keys/{own_id}"),
        &[("api_key", &spare_key)],
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["already_revoked"], true);
    assert_eq!(again["revoked_at"], done["revoked_at"]);
    let answer = call(&t.router, req("GET", &app_path, &[("api_key", &spare_key)])).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn a_revoked_service_token_gets_401_and_the_others_keep_working() {
    let t = in_process().await;
    let key = t.api_key().to_string();
    let app = t.app_id().to_string();
    let second = t.engine.create_service_token(&app).await.unwrap();
    let list_path = format!("/api/apps/{app}/service-tokens");

    let (status, list) = get(&t, &list_path, &key).await;
    assert_eq!(status, 200, "{list}");
    let all = ids(&list, "service_tokens");
    assert_eq!(all.len(), 2, "{list}");
    assert!(!list.to_string().contains(t.service_token()));
    let first = all.iter().find(|id| **id != second.id).unwrap().clone();

    // Before: the token is accepted (404: no connector yet, but not 401).
    assert_eq!(token(&t, t.service_token()).await.0, 404);
    let (status, done) = delete(&t, &format!("{list_path}/{first}"), &[("api_key", &key)]).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["already_revoked"], false);

    let (status, refused) = token(&t, t.service_token()).await;
    assert_eq!(status, 401, "{refused}");
    assert_eq!(refused["code"], "CREDENTIAL_REVOKED");
    assert!(refused["detail"]
        .as_str()
        .unwrap()
        .contains("service token has been revoked"));
    assert_eq!(token(&t, second.secret.expose()).await.0, 404);

    let (_, list) = get(&t, &list_path, &key).await;
    let row = list["service_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == first.as_str())
        .unwrap()
        .clone();
    assert_eq!(row["revoked_at"], done["revoked_at"]);
    let (status, again) = delete(&t, &format!("{list_path}/{first}"), &[("api_key", &key)]).await;
    assert_eq!(
        (status, again["already_revoked"].clone()),
        (200, Value::Bool(true))
    );
}

#[tokio::test]
async fn nobody_revokes_what_is_not_theirs() {
    let t = in_process().await;
    let key = t.api_key().to_string();
    let app = t.app_id().to_string();
    let other = other_workspace(&t).await;
    let (_, own) = get(&t, "/api/api-keys", &key).await;
    let own_key_id = ids(&own, "api_keys").remove(0);
    let (_, own_tokens) = get(&t, &format!("/api/apps/{app}/service-tokens"), &key).await;
    let own_token_id = ids(&own_tokens, "service_tokens").remove(0);
    let other_key_id = t
        .engine
        .list_api_keys(connectors_engine::ApiKeyScope::Operator { workspace_id: None })
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.builder_id == other.builder_id)
        .unwrap()
        .id;

    // Another builder (another workspace) sees only their own key…
    let (status, theirs) = get(&t, "/api/api-keys", &other.key).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&theirs, "api_keys"), vec![other_key_id.clone()]);
    // …and cannot revoke ours: 404, worded exactly like an id that does
    // not exist, so ids cannot be probed.
    let (status, refused) = delete(
        &t,
        &format!("/api/api-keys/{own_key_id}"),
        &[("api_key", &other.key)],
    )
    .await;
    assert_eq!(status, 404, "{refused}");
    let guessed = "0123456789abcdef0123456789abcdef";
    let (status, unknown) = delete(
        &t,
        &format!("/api/api-keys/{guessed}"),
        &[("api_key", &other.key)],
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        refused["detail"]
            .as_str()
            .unwrap()
            .replace(&own_key_id, "ID"),
        unknown["detail"].as_str().unwrap().replace(guessed, "ID")
    );
    assert_eq!(refused["code"], "NOT_FOUND");

    // Our app's tokens: not through their app's path, nor ours.
    for path in [
        format!("/api/apps/{}/service-tokens/{own_token_id}", other.app_id),
        format!("/api/apps/{app}/service-tokens/{own_token_id}"),
    ] {
        let (status, body) = delete(&t, &path, &[("api_key", &other.key)]).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, _) = get(&t, &format!("/api/apps/{app}/service-tokens"), &other.key).await;
    assert_eq!(status, 404);
    // Nor we theirs, through our app.
    let (status, _) = delete(
        &t,
        &format!("/api/apps/{app}/service-tokens/{}", other.token_id),
        &[("api_key", &key)],
    )
    .await;
    assert_eq!(status, 404);

    // A service token revokes nothing: 403 before any lookup.
    let bearer = format!("Bearer {}", t.service_token());
    for path in [
        format!("/api/api-keys/{own_key_id}"),
        format!("/api/api-keys/{guessed}"),
        format!("/api/apps/{app}/service-tokens/{own_token_id}"),
    ] {
        let (status, body) = delete(&t, &path, &[("authorization", &bearer)]).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
    let answer = call(
        &t.router,
        req("GET", "/api/api-keys", &[("authorization", &bearer)]),
    )
    .await;
    assert_eq!(answer.status, 403);
    // Nobody at all: 401.
    let (status, _) = delete(&t, &format!("/api/api-keys/{own_key_id}"), &[]).await;
    assert_eq!(status, 401);

    // After all that, every credential still works.
    assert_eq!(get(&t, "/api/api-keys", &key).await.0, 200);
    assert_eq!(token(&t, t.service_token()).await.0, 404);
    for k in t
        .engine
        .list_api_keys(connectors_engine::ApiKeyScope::Operator { workspace_id: None })
        .await
        .unwrap()
    {
        assert_eq!(k.revoked_at, None, "{}", k.id);
    }
}

fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "admin failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The admin commands of the real binary, against a running server: the
/// server sees the revocation once its cached check ages out.
#[test]
fn admin_commands_list_and_revoke() {
    let server = start_server(PROVIDERS_TOML, &[]);
    let key = server.api_key();
    let app = server.app_id();
    let token = server.service_token();
    let created = stdout(&server.admin(&["create-service-token", "--app-id", &app], None));
    let spare_id = created
        .lines()
        .find_map(|l| l.strip_prefix("service_token_id: "))
        .unwrap()
        .trim()
        .to_string();

    let keys = stdout(&server.admin(&["list-api-keys"], None));
    assert!(!keys.contains(&key), "{keys}");
    assert!(
        !keys.contains(&connectors_vault::hash_token(&key)),
        "{keys}"
    );
    let line = keys
        .lines()
        .find(|l| l.contains("owner=builder@example.com"))
        .unwrap();
    assert!(line.ends_with("revoked_at=-"), "{line}");
    assert!(line.contains(&format!("prefix={}", &key[..10])), "{line}");
    let key_id = line.split_whitespace().nth(1).unwrap().to_string();

    let tokens = stdout(&server.admin(&["list-service-tokens", "--app-id", &app], None));
    assert!(!tokens.contains(&token), "{tokens}");
    assert_eq!(tokens.lines().count(), 2, "{tokens}");
    let token_id = tokens
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
        .find(|id| *id != spare_id)
        .unwrap();

    let list_url = format!("{}/api/apps/{app}/external-auth/list", server.url);
    let token_url = format!(
        "{}/api/apps/{app}/external-auth/tokens/acme_crm",
        server.url
    );
    let bearer = format!("Bearer {token}");
    assert_eq!(
        http_request("GET", &list_url, &[("api_key", &key)], None)
            .unwrap()
            .0,
        200
    );
    assert_eq!(
        http_request("GET", &token_url, &[("authorization", &bearer)], None)
            .unwrap()
            .0,
        404
    );
    // Both uses are listed once recorded (after their answers); the spare
    // token, never used, is not.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let keys = stdout(&server.admin(&["list-api-keys"], None));
        let tokens = stdout(&server.admin(&["list-service-tokens", "--app-id", &app], None));
        let used = |list: &str, id: &str| {
            let line = list.lines().find(|l| l.contains(id)).unwrap().to_string();
            (!line.contains("last_used_at=-"), line)
        };
        let (spare_used, spare) = used(&tokens, &spare_id);
        assert!(!spare_used, "{spare}");
        if used(&keys, &key_id).0 && used(&tokens, &token_id).0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{keys}\n{tokens}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    let done = stdout(&server.admin(&["revoke-api-key", "--id", &key_id], None));
    assert!(
        done.contains(&format!("revoked API key {key_id}")),
        "{done}"
    );
    let done = stdout(&server.admin(&["revoke-service-token", "--id", &token_id], None));
    assert!(
        done.contains(&format!("revoked service token {token_id}")),
        "{done}"
    );

    // Another process wrote the SQLite file: the server's cached check of
    // each credential lasts at most `[cache] max_age_ms` (1 s by default).
    for (url, header) in [
        (&list_url, ("api_key", key.as_str())),
        (&token_url, ("authorization", bearer.as_str())),
    ] {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let body = loop {
            let (status, body) = http_request("GET", url, &[header], None).unwrap();
            if status == 401 {
                break body;
            }
            assert!(std::time::Instant::now() < deadline, "{status} {body}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert!(body.contains("CREDENTIAL_REVOKED"), "{body}");
    }

    // Idempotent, and it says so.
    let again = stdout(&server.admin(&["revoke-api-key", "--id", &key_id], None));
    assert!(again.contains("already revoked"), "{again}");
    let again = stdout(&server.admin(&["revoke-service-token", "--id", &token_id], None));
    assert!(again.contains("already revoked"), "{again}");
    let keys = stdout(&server.admin(&["list-api-keys"], None));
    assert!(!keys.contains("revoked_at=-"), "{keys}");

    // Unknown ids: a failure that says where to look.
    for (command, list) in [
        ("revoke-api-key", "list-api-keys"),
        ("revoke-service-token", "list-service-tokens"),
    ] {
        let output = server.admin(&[command, "--id", "nope"], None);
        assert!(!output.status.success(), "{command}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("`nope`") && stderr.contains(list),
            "{stderr}"
        );
    }
}
