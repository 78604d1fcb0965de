//! Scale-out: three `connectors-server` processes on one PostgreSQL database
//! (always PostgreSQL, whatever `CONNECTORS_TEST_BACKEND` says), with the
//! same config and encryption keys, as `docs/deployment.md` describes.
//! A real OAuth server (`oidc-provider`) counts the refreshes; replicas are
//! killed with SIGKILL in the middle of a refresh through the debug-build
//! hook `CONNECTORS_TEST_PAUSE_REFRESH`.
//!
//! Every test here is named `replicas_*`: `scripts/test` skips them in its
//! second (PostgreSQL) pass, since they use PostgreSQL in both.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::support::oidc::{consent, consent_until_callback, OidcServer};
use crate::support::{
    free_port, http_request, spread_tokens, start_replica, start_server_on_with, ServerProcess,
    TokenServer,
};
use connectors_testdb::{Backend, TestDatabase};
use connectors_vault::KeyRing;
use serde_json::{json, Value};

const TYPE: &str = "oidc_custom";

/// The OAuth server, the replicas and their database (dropped last).
struct Cluster {
    oidc: OidcServer,
    servers: Vec<ServerProcess>,
    _db: TestDatabase,
}

/// `n` replicas on one fresh PostgreSQL database. They share one config
/// (public URL: the first replica, standing for the load balancer; the same
/// encryption key) and `env[i]` is added to replica `i`'s environment.
fn cluster(n: usize, access_ttl: u64, extra_oauth: &str, env: &[&[(&str, &str)]]) -> Cluster {
    let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
    let public = format!("http://127.0.0.1:{}", ports[0]);
    let oidc = OidcServer::start(json!({
        "port": 0,
        "clients": [{"client_id": "custom-client", "client_secret": "custom-secret",
            "redirect_uris": [format!("{public}/oauth/callback")],
            "token_endpoint_auth_method": "client_secret_basic"}],
        "scopes": ["openid", "offline_access", "contacts.read", "contacts.write"],
        "accessTokenTtl": access_ttl,
        "rotateRefreshToken": true,
        "pkceRequired": true,
    }));
    let background = if extra_oauth.contains("background_refresh") {
        ""
    } else {
        "background_refresh = false"
    };
    let key = KeyRing::generate_spec("k1");
    let config = format!(
        r#"
public_url = "{public}"

[encryption]
keys = ["{key}"]

[oauth]
{background}
provider_timeout_secs = 2
refresh_attempts = 2
{extra_oauth}

[providers.{TYPE}]
display_name = "OIDC test provider"
authorization_url = "{auth}"
token_url = "{token}"
revocation_url = "{revoke}"
client_id = "custom-client"
client_secret = "custom-secret"
client_auth = "client_secret_basic"
required_scopes = ["openid", "offline_access"]
"#,
        key = key.expose(),
        auth = oidc.endpoint("authorization_endpoint"),
        token = oidc.endpoint("token_endpoint"),
        revoke = oidc.endpoint("revocation_endpoint"),
    );
    let db = TestDatabase::of(Backend::Postgres);
    let env_of = |i: usize| {
        let mut e = vec![("CONNECTORS_DATABASE_URL", db.url())];
        e.extend_from_slice(env.get(i).copied().unwrap_or_default());
        e
    };
    let first = start_server_on_with(ports[0], &config, &env_of(0));
    let boot = first.boot.clone();
    let mut servers = vec![first];
    for (i, port) in ports.iter().enumerate().skip(1) {
        servers.push(start_replica(*port, &config, &env_of(i), boot.clone()));
    }
    Cluster {
        oidc,
        servers,
        _db: db,
    }
}

fn put_connector(server: &ServerProcess) -> Value {
    put_connector_with(server, r#"{"scopes": ["contacts.read"]}"#)
}

fn put_connector_with(server: &ServerProcess, body: &str) -> Value {
    let key = server.api_key();
    let (status, body) = http_request(
        "PUT",
        &format!(
            "{}/api/apps/{}/external-auth/integrations/{TYPE}",
            server.url,
            server.app_id()
        ),
        &[("api_key", &key)],
        Some(body),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn builder_get(server: &ServerProcess, path: &str) -> Value {
    let key = server.api_key();
    let (_, body) = http_request(
        "GET",
        &format!("{}/api/apps/{}/{path}", server.url, server.app_id()),
        &[("api_key", &key)],
        None,
    )
    .unwrap();
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

/// A builder's `DELETE /api/apps/{app}/{path}`, which must succeed.
fn builder_delete(server: &ServerProcess, path: &str) {
    let key = server.api_key();
    let (status, body) = http_request(
        "DELETE",
        &format!("{}/api/apps/{}/{path}", server.url, server.app_id()),
        &[("api_key", &key)],
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
}

fn status_on(server: &ServerProcess) -> Option<String> {
    builder_get(server, "external-auth/list")["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["integration_type"] == TYPE)
        .map(|i| i["status"].as_str().unwrap().to_string())
}

/// Consents through the first replica's consent link in headless Chromium.
fn authorize(c: &Cluster) -> String {
    consent_to(c, put_connector(&c.servers[0]))
}

/// Consents to what a PUT answered (its consent link).
fn consent_to(c: &Cluster, answer: Value) -> String {
    let page =
        consent(json!({"url": answer["redirect_url"], "login": "alice", "timeoutMs": 30000}));
    assert_eq!(page["heading"], "Authorization complete", "{page}");
    let (status, body) = c.servers[0].token(TYPE);
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

fn counter(stats: &Value, group: &str, name: &str) -> u64 {
    stats[group][name].as_u64().unwrap_or(0)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn replicas_refresh_exactly_once_across_three_servers() {
    let _alone = crate::support::one_load_test_at_a_time();
    let c = cluster(3, 4, "", &[]);
    authorize(&c);
    let servers: Vec<&ServerProcess> = c.servers.iter().collect();
    let runtime = runtime();
    // Keep-alive connections to every replica, opened while the token is fresh.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1000)
        .build()
        .unwrap();
    let warm = runtime.block_on(spread_tokens(&client, &servers, TYPE, 1000));
    assert!(warm.iter().all(|(status, _)| *status == 200));
    let mut previous = c.servers[0].token(TYPE).1["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    c.oidc.control("POST", "reset", None);
    for round in 1..=50u64 {
        // As in oauth_e2e: a 4 s token is due 3 s after it was issued.
        std::thread::sleep(Duration::from_millis(3200));
        let started = Instant::now();
        let answers = runtime.block_on(spread_tokens(&client, &servers, TYPE, 1000));
        eprintln!(
            "round {round}: 1000 requests over 3 replicas in {:?}",
            started.elapsed()
        );
        let stats = c.oidc.stats();
        assert_eq!(
            counter(&stats, "token_requests", "refresh_token"),
            round,
            "round {round}: {stats}"
        );
        assert_eq!(
            counter(&stats, "refresh_errors", "invalid_grant"),
            0,
            "{stats}"
        );
        assert!(
            answers.iter().all(|(status, _)| *status == 200),
            "round {round}: not all 200"
        );
        let tokens: BTreeSet<&str> = answers.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            tokens.len(),
            1,
            "round {round}: replicas served different tokens"
        );
        let new = tokens.into_iter().next().unwrap().to_string();
        assert_ne!(new, previous, "round {round}: the token was not refreshed");
        previous = new;
    }
    let info = c
        .oidc
        .introspect("custom-client", "custom-secret", true, &previous);
    assert_eq!(info["active"], true, "{info}");
}

#[test]
fn replicas_background_refresh_runs_everywhere_without_doing_it_twice() {
    let c = cluster(
        3,
        4,
        "background_refresh = true\nbackground_interval_secs = 1\nbackground_window_secs = 2",
        &[],
    );
    let first = authorize(&c);
    c.oidc.control("POST", "reset", None);
    // Nobody asks for tokens: the three background tasks keep the token
    // fresh, each lifetime refreshed once (due 2 s after issue) by whichever
    // replica takes the lease; a second refresh of the same token would
    // redeem a rotated refresh token (invalid_grant).
    std::thread::sleep(Duration::from_secs(9));
    let stats = c.oidc.stats();
    let refreshes = counter(&stats, "token_requests", "refresh_token");
    assert!(
        (2..=5).contains(&refreshes),
        "{refreshes} refreshes in 9 s of 4 s tokens refreshed 2 s early: {stats}"
    );
    assert_eq!(
        counter(&stats, "refresh_errors", "invalid_grant"),
        0,
        "{stats}"
    );
    for server in &c.servers {
        let (status, body) = server.token(TYPE);
        assert_eq!(status, 200, "{body}");
        assert_ne!(body["access_token"], first.as_str());
    }
    // Three reads of a fresh token refresh nothing; the background tasks
    // keep running meanwhile (a 4 s token is due every 2 s), so one of
    // theirs may land during the reads.
    let after = counter(&c.oidc.stats(), "token_requests", "refresh_token");
    assert!(
        after <= refreshes + 1,
        "reading a fresh token refreshes nothing: {refreshes} before the reads, {after} after"
    );
}

/// Sends a token request to `server` in the background and waits until its
/// log shows the refresh paused at the hook's point.
fn pause_a_refresh_on(server: &ServerProcess) {
    let bearer = format!("Bearer {}", server.service_token());
    let url = format!(
        "{}/api/apps/{}/external-auth/tokens/{TYPE}",
        server.url,
        server.app_id()
    );
    std::thread::spawn(move || {
        // Never answered: the process is killed while it holds the lease.
        let _ = http_request("GET", &url, &[("authorization", &bearer)], None);
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.logs().contains("CONNECTORS_TEST_PAUSE_REFRESH") {
        assert!(
            Instant::now() < deadline,
            "the refresh did not pause: {}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Three replicas with 4 s tokens and 3 s leases; the third pauses its
/// refreshes at `point`. Returns the cluster with the connector authorized,
/// the counters reset and the token due for refresh.
fn cluster_with_a_replica_pausing_at(point: &str) -> (Cluster, String) {
    let pause = [("CONNECTORS_TEST_PAUSE_REFRESH", point)];
    let c = cluster(3, 4, "lease_secs = 3", &[&[], &[], &pause]);
    let first = authorize(&c);
    c.oidc.control("POST", "reset", None);
    std::thread::sleep(Duration::from_millis(3200));
    (c, first)
}

#[test]
fn replicas_take_over_a_lease_whose_holder_died_before_calling_the_provider() {
    let (mut c, first) = cluster_with_a_replica_pausing_at("before_provider");
    pause_a_refresh_on(&c.servers[2]);
    c.servers[2].kill();
    assert_eq!(
        counter(&c.oidc.stats(), "token_requests", "refresh_token"),
        0,
        "the dead replica never reached the provider"
    );
    // The others wait for the dead holder's lease to expire, then one of
    // them refreshes, once, and all serve its token.
    let survivors: Vec<&ServerProcess> = c.servers[..2].iter().collect();
    let started = Instant::now();
    let answers = runtime().block_on(spread_tokens(
        &reqwest::Client::new(),
        &survivors,
        TYPE,
        100,
    ));
    eprintln!("served after the takeover in {:?}", started.elapsed());
    assert!(
        answers.iter().all(|(status, _)| *status == 200),
        "{answers:?}"
    );
    let tokens: BTreeSet<&str> = answers.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    let fresh = tokens.into_iter().next().unwrap().to_string();
    assert_ne!(fresh, first);
    let stats = c.oidc.stats();
    assert_eq!(
        counter(&stats, "token_requests", "refresh_token"),
        1,
        "{stats}"
    );
    assert_eq!(
        counter(&stats, "refresh_errors", "invalid_grant"),
        0,
        "{stats}"
    );
    assert_eq!(
        c.oidc
            .introspect("custom-client", "custom-secret", true, &fresh)["active"],
        true
    );
    // The credential row is whole: the next expiry refreshes normally.
    std::thread::sleep(Duration::from_millis(3200));
    let (status, body) = c.servers[1].token(TYPE);
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["access_token"], fresh.as_str());
    let stats = c.oidc.stats();
    assert_eq!(
        counter(&stats, "token_requests", "refresh_token"),
        2,
        "{stats}"
    );
    assert_eq!(
        counter(&stats, "refresh_errors", "invalid_grant"),
        0,
        "{stats}"
    );
    assert_eq!(status_on(&c.servers[0]).as_deref(), Some("active"));
}

#[test]
fn replicas_mark_expired_when_the_holder_died_after_the_provider_rotated() {
    let (mut c, _first) = cluster_with_a_replica_pausing_at("after_provider");
    pause_a_refresh_on(&c.servers[2]);
    assert_eq!(
        counter(&c.oidc.stats(), "token_requests", "refresh_token"),
        1,
        "the provider answered (and rotated) before the replica stopped"
    );
    c.servers[2].kill();
    // The answer is lost with the process: whoever takes the lease over
    // finds the in-flight mark, is refused the old refresh token, and says
    // why instead of leaving the connector silently broken.
    let (status, body) = c.servers[0].token(TYPE);
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "REAUTHORIZATION_REQUIRED", "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("stopped in the middle of refreshing") && detail.contains("invalid_grant"),
        "{detail}"
    );
    assert_eq!(status_on(&c.servers[1]).as_deref(), Some("expired"));
    let (status, body) = c.servers[1].token(TYPE);
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("stopped in the middle of refreshing"));
    assert_eq!(
        counter(&c.oidc.stats(), "token_requests", "refresh_token"),
        2,
        "one refused attempt, then no more"
    );
    // Consent again (through any replica) heals it.
    authorize(&c);
    assert_eq!(status_on(&c.servers[1]).as_deref(), Some("active"));
    assert_eq!(c.servers[1].token(TYPE).0, 200);
}

#[test]
fn replicas_consent_started_on_one_completes_on_another() {
    let c = cluster(3, 3600, "", &[]);
    let answer = put_connector(&c.servers[0]);
    let id = answer["connection_id"].as_str().unwrap().to_string();
    let (callback, cookie) = consent_until_callback(answer["redirect_url"].as_str().unwrap());
    // The browser was sent to the first replica; the load balancer hands the
    // callback to the second.
    let (_, path) = callback
        .strip_prefix("http://")
        .unwrap()
        .split_once('/')
        .unwrap();
    let on_second = format!("{}/{path}", c.servers[1].url);
    let (status, page) = http_request("GET", &on_second, &[("cookie", &cookie)], None).unwrap();
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Authorization complete"), "{page}");
    // The third sees it done and serves the token.
    let status = builder_get(
        &c.servers[2],
        &format!("external-auth/status?integration_type={TYPE}&connection_id={id}"),
    );
    assert_eq!(status["status"], "ACTIVE", "{status}");
    let (code, body) = c.servers[2].token(TYPE);
    assert_eq!(code, 200, "{body}");
    let info = c.oidc.introspect(
        "custom-client",
        "custom-secret",
        true,
        body["access_token"].as_str().unwrap(),
    );
    assert_eq!(info["active"], true, "{info}");
    // Replaying the callback on the third replica fails: the state was used.
    let on_third = format!("{}/{path}", c.servers[2].url);
    let (status, page) = http_request("GET", &on_third, &[("cookie", &cookie)], None).unwrap();
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("already used"), "{page}");
}

#[test]
fn replicas_unreachable_database_stops_the_start_with_what_to_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::support::server_bin())
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .args([
            "--database-url",
            "postgres://app:hunter2-canary@127.0.0.1:1/connectors",
        ])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("cannot connect to PostgreSQL at 127.0.0.1:1, database `connectors`")
            && text.contains("check database_url"),
        "{text}"
    );
    assert!(
        !text.contains("hunter2"),
        "the password was printed: {text}"
    );
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn replicas_starting_together_on_an_empty_database_bootstrap_once() {
    let db = TestDatabase::of(Backend::Postgres);
    let key = KeyRing::generate_spec("k1");
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut children: Vec<std::process::Child> = dirs
        .iter()
        .zip(&ports)
        .map(|(dir, port)| {
            std::process::Command::new(crate::support::server_bin())
                .args([
                    "serve",
                    "--bind",
                    &format!("127.0.0.1:{port}"),
                    "--data-dir",
                ])
                .arg(dir.path())
                .arg("--bootstrap-file")
                .arg(dir.path().join("bootstrap.json"))
                .env("CONNECTORS_DATABASE_URL", db.url())
                .env("CONNECTORS_ENCRYPTION_KEYS", key.expose())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    for port in &ports {
        while !matches!(
            crate::support::http_get(&format!("http://127.0.0.1:{port}/healthz")),
            Ok((200, _))
        ) {
            assert!(Instant::now() < deadline, "replica on {port} not healthy");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    for child in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }
    let bootstrapped = dirs
        .iter()
        .filter(|d| d.path().join("bootstrap.json").exists())
        .count();
    assert_eq!(bootstrapped, 1, "exactly one replica bootstraps");
    let rows = connectors_testdb::postgres_dump(db.url()).unwrap();
    let workspaces = rows
        .lines()
        .filter(|l| l.starts_with("workspaces "))
        .count();
    assert_eq!(workspaces, 1, "{rows}");
}

/// One token read by a [`Readers`] thread.
struct Read {
    started: Instant,
    replica: usize,
    status: u16,
    token: String,
}

/// A thread per replica reading the token continuously (one request after
/// another), logging every answer, while the test changes state elsewhere.
struct Readers {
    log: std::sync::Arc<std::sync::Mutex<Vec<Read>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    replicas: usize,
}

impl Readers {
    fn start(c: &Cluster) -> Self {
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let threads = c
            .servers
            .iter()
            .enumerate()
            .map(|(replica, server)| {
                let (url, app, bearer) = (
                    server.url.clone(),
                    server.app_id(),
                    format!("Bearer {}", server.service_token()),
                );
                let (log, stop) = (log.clone(), stop.clone());
                std::thread::spawn(move || {
                    let url = format!("{url}/api/apps/{app}/external-auth/tokens/{TYPE}");
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let started = Instant::now();
                        let (status, body) =
                            http_request("GET", &url, &[("authorization", &bearer)], None).unwrap();
                        let body: Value = serde_json::from_str(&body).unwrap_or_default();
                        let token = body["access_token"].as_str().unwrap_or_default().into();
                        log.lock().unwrap().push(Read {
                            started,
                            replica,
                            status,
                            token,
                        });
                    }
                })
            })
            .collect();
        Self {
            log,
            stop,
            threads,
            replicas: c.servers.len(),
        }
    }

    /// Waits until every replica answered `is_new` to a read started after
    /// `changed`; then checks that no read started later than `changed +
    /// bound` got `is_old`.
    fn follow(
        &self,
        what: &str,
        changed: Instant,
        bound: Duration,
        is_new: impl Fn(&Read) -> bool,
        is_old: impl Fn(&Read) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let seen: BTreeSet<usize> = self
                .log
                .lock()
                .unwrap()
                .iter()
                .filter(|r| r.started > changed && is_new(r))
                .map(|r| r.replica)
                .collect();
            if seen.len() == self.replicas {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: replicas {seen:?} only show it after 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = self.log.lock().unwrap();
        let late: Vec<String> = log
            .iter()
            .filter(|r| r.started > changed + bound && is_old(r))
            .map(|r| {
                format!(
                    "replica {} answered {} {} ms after the change",
                    r.replica,
                    r.status,
                    (r.started - changed).as_millis()
                )
            })
            .collect();
        assert!(late.is_empty(), "{what}: {late:?}");
        let reads = log.iter().filter(|r| r.started > changed).count();
        eprintln!("{what}: followed on every replica ({reads} reads since the change)");
    }

    fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.threads {
            t.join().unwrap();
        }
    }
}

/// Token reads are answered from each replica's cache; a change made on one
/// replica (or by the provider) is followed by all three within the
/// configured bound (`[cache] max_age_ms`), here because PostgreSQL
/// announces every change: re-consent, an `expired` mark, removal, and
/// revocation of the service token, while every replica is read continuously.
#[test]
fn replicas_cached_reads_follow_every_change_within_the_bound() {
    let bound = Duration::from_millis(1000);
    // 8 s tokens: due for refresh 6 s after they are issued (a quarter of
    // the lifetime is the margin), so the provider's refusal shows quickly.
    let c = cluster(3, 8, "\n[cache]\nmax_age_ms = 1000\n", &[]);
    let first = authorize(&c);
    let readers = Readers::start(&c);

    // More scopes: a new consent replaces the active connector's tokens.
    let more = put_connector_with(
        &c.servers[1],
        r#"{"scopes": ["contacts.read", "contacts.write"]}"#,
    );
    let changed = {
        let second = consent_to(&c, more);
        assert_ne!(second, first);
        Instant::now()
    };
    readers.follow(
        "re-consent",
        changed,
        bound,
        |r| r.status == 200 && r.token != first,
        |r| r.token == first,
    );

    // The provider forgets the grant: the next refresh (on whichever replica
    // reads first once the token is due) is refused and marks it expired.
    c.oidc.control("POST", "revoke-grants", None);
    let deadline = Instant::now() + Duration::from_secs(60);
    let changed = loop {
        let log = readers.log.lock().unwrap();
        if let Some(r) = log.iter().find(|r| r.status == 409) {
            break r.started;
        }
        drop(log);
        assert!(Instant::now() < deadline, "no refresh was refused in 60 s");
        std::thread::sleep(Duration::from_millis(20));
    };
    readers.follow(
        "expired",
        changed,
        bound,
        |r| r.status == 409,
        |r| r.status == 200,
    );

    authorize(&c);
    builder_delete(
        &c.servers[1],
        &format!("external-auth/integrations/{TYPE}/remove"),
    );
    readers.follow(
        "removed",
        Instant::now(),
        bound,
        |r| r.status == 404,
        |r| r.status == 200,
    );

    let list = builder_get(&c.servers[2], "service-tokens");
    let id = list["service_tokens"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    builder_delete(&c.servers[2], &format!("service-tokens/{id}"));
    readers.follow(
        "service token revoked",
        Instant::now(),
        bound,
        |r| r.status == 401,
        |r| r.status != 401,
    );
    readers.stop();
}

/// #15: three replicas deliver 200 events (workspace connector changes,
/// made through all three) to one receiver: each exactly once, never two
/// sends of one event at a time, the signatures valid; the app's log has
/// them all, numbered in order. Then a replica is killed while the
/// receiver holds its delivery: another takes the delivery over once the
/// claim lapses, and the event arrives.
#[test]
fn replicas_deliver_every_event_once_at_a_time_and_survive_a_kill() {
    use crate::webhooks::{verify, Receiver};
    use sqlx::Connection;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let receiver = Receiver::start(&rt);
    let mut c = cluster(
        3,
        3600,
        "\n[webhooks]\nallow_private_networks = true\nretry_schedule_secs = [0, 0, 0, 0, 0, 0]\n\
         poll_interval_ms = 20\nconnect_timeout_secs = 1\ntimeout_secs = 2\nbatch = 8\n",
        &[],
    );
    let s0 = &c.servers[0];
    let (key, app, workspace) = (
        s0.api_key(),
        s0.app_id(),
        s0.boot["workspace_id"].as_str().unwrap().to_string(),
    );
    let call = |server: &ServerProcess, method: &str, path: &str, body: Value| {
        let (status, text) = http_request(
            method,
            &format!("{}{path}", server.url),
            &[("api_key", &key), ("content-type", "application/json")],
            Some(&body.to_string()),
        )
        .unwrap();
        (
            status,
            serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
        )
    };
    let (status, created) = call(
        s0,
        "POST",
        &format!("/api/apps/{app}/webhooks"),
        json!({ "url": receiver.url, "event_types": ["workspace_connector.created.v1", "workspace_connector.updated.v1"] }),
    );
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_string();
    let (status, connector) = call(
        &c.servers[1],
        "POST",
        &format!("/api/workspace/{workspace}/connectors"),
        json!({ "integration_type": TYPE, "name": "n0", "client_id": "cid", "client_secret": "s3cret" }),
    );
    assert_eq!(status, 201, "{connector}");
    let id = connector["id"].as_str().unwrap().to_string();
    for i in 1..200 {
        let server = &c.servers[i % 3];
        let (status, body) = call(
            server,
            "PUT",
            &format!("/api/workspace/{workspace}/connectors/{id}"),
            json!({ "name": format!("n{i}") }),
        );
        assert_eq!(status, 200, "{body}");
    }
    let seen = receiver.wait_for("200 distinct events", 200, |_| true);
    let ids: BTreeSet<&str> = seen.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids.len(), 200, "each event once: {} deliveries", seen.len());
    assert_eq!(receiver.overlaps(), 0, "an event was sent twice at once");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for d in &seen {
        verify(&secret, d, now).expect("signed");
    }
    // The log: all 200, in order, the same ids.
    let page = builder_get(&c.servers[2], "events?limit=200");
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 200, "{page}");
    let cursors: Vec<i64> = events
        .iter()
        .map(|e| e["cursor"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
    let names: Vec<String> = events
        .iter()
        .map(|e| e["data"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, (0..200).map(|i| format!("n{i}")).collect::<Vec<_>>());
    let logged: BTreeSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(logged, ids);

    // A replica dies while the receiver holds its delivery.
    receiver.hold();
    let (status, body) = call(
        &c.servers[0],
        "PUT",
        &format!("/api/workspace/{workspace}/connectors/{id}"),
        json!({ "name": "last" }),
    );
    assert_eq!(status, 200, "{body}");
    let held = receiver.wait_for("the held delivery", 201, |_| true);
    let event_id = held.last().unwrap().id.clone();
    let claimer: String = rt.block_on(async {
        sqlx::any::install_default_drivers();
        let mut db = sqlx::AnyConnection::connect(c._db.url()).await.unwrap();
        sqlx::query_scalar("SELECT claimed_by FROM webhook_deliveries WHERE event_id = $1")
            .bind(&event_id)
            .fetch_one(&mut db)
            .await
            .unwrap()
    });
    let pid: u32 = claimer.split('-').next().unwrap().parse().unwrap();
    let victim = c
        .servers
        .iter()
        .position(|s| s.child.id() == pid)
        .expect("the claimer is one of the replicas");
    c.servers[victim].kill();
    receiver.release();
    let again = receiver.wait_for("the event, delivered by another replica", 2, |d| {
        d.id == event_id
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    verify(&secret, &again[1], now).expect("signed");
    assert_eq!(again[1].json()["data"]["name"], "last");
    assert_eq!(receiver.overlaps(), 0);
    drop(rt);
}
