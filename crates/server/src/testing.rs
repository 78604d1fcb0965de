//! A whole server in the test's own process, for the suites of the engine's
//! callers (server, CLI) and for the benchmark: the one place that assembles
//! config, database, key ring, catalog, engine, bootstrap and router the way
//! `connectors-server serve` does.
//!
//! Behind the `test-support` feature; the binary never compiles it.

use std::future::Future;
use std::path::Path;

use connectors_engine::{Bootstrap, BootstrapRequest, Clock, Engine};
use connectors_testdb::TestDatabase;

use crate::config::{Overrides, ServerConfig};
use crate::{app, AppState};

/// The operator config most suites share: a custom provider and two
/// configured built-ins (the CLI's parity suite pushes the same types).
pub const PROVIDERS_TOML: &str = r#"
[providers.acme_crm]
display_name = "Acme CRM"
description = "The test suite's custom OAuth 2.0 provider"
authorization_url = "https://id.acme.test/authorize"
token_url = "https://id.acme.test/token"
client_id = "acme-client"
client_secret = "acme-client-secret-canary"

[providers.googlecalendar]
client_id = "google-client"
client_secret = "google-secret"

[providers.slack]
client_id = "slack-client"
client_secret = "slack-secret"
"#;

/// Where a server that is not on a socket says it lives.
const UNSERVED_URL: &str = "http://connectors.test";

type ConfigText<'a> = Box<dyn FnOnce(&str) -> String + 'a>;

/// Settings of a [`TestServer`]; see [`TestServer::builder`].
pub struct TestServerBuilder<'a> {
    config: ConfigText<'a>,
    public_url: Option<String>,
    serve: bool,
    background_refresh: bool,
    deliveries: bool,
    clock: Clock,
    database_url: Option<String>,
    bootstrap: BootstrapRequest,
}

/// A bootstrapped server over a fresh database; everything stops on drop.
pub struct TestServer {
    // Dropped first: the socket and the background task stop before the
    // database goes away. Sending (or dropping) stops `crate::serve`.
    served: Option<tokio::sync::oneshot::Sender<()>>,
    background: Option<tokio::sync::watch::Sender<bool>>,
    /// Where clients reach it: the socket's origin, or the configured URL.
    pub url: String,
    /// The server's service (for `oneshot` calls that need no socket).
    pub router: crate::Front,
    /// The engine, for set-up the API does not offer.
    pub engine: Engine,
    /// The first workspace, app, builder key and service token.
    pub boot: Bootstrap,
    /// Holds `config.toml` and `data/`.
    pub dir: tempfile::TempDir,
    database_url: String,
    db: Option<TestDatabase>,
}

impl TestServer {
    /// A server with [`PROVIDERS_TOML`], not on a socket, on the database
    /// `CONNECTORS_TEST_BACKEND` names, with the system clock.
    pub fn builder() -> TestServerBuilder<'static> {
        TestServerBuilder {
            config: Box::new(|_| PROVIDERS_TOML.to_string()),
            public_url: None,
            serve: false,
            background_refresh: false,
            deliveries: false,
            clock: Clock::system(),
            database_url: None,
            bootstrap: BootstrapRequest {
                workspace_name: "tests".into(),
                builder_email: "owner@example.com".into(),
                app_name: "test app".into(),
            },
        }
    }

    /// The bootstrapped app's id.
    pub fn app_id(&self) -> &str {
        &self.boot.app_id
    }

    /// The bootstrapped builder's `b44k_` key.
    pub fn api_key(&self) -> &str {
        self.boot.api_key.expose()
    }

    /// The app's `b44s_` service token.
    pub fn service_token(&self) -> &str {
        self.boot.service_token.expose()
    }

    /// The database URL the server uses.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// Whether the server's database holds `needle` anywhere (SQLite: the
    /// files, WAL included; PostgreSQL: every row).
    pub fn database_holds(&self, needle: &str) -> bool {
        if self.database_url.starts_with("postgres") {
            return connectors_testdb::postgres_dump(&self.database_url)
                .expect("dump the test database")
                .contains(needle);
        }
        let file = Path::new(self.database_url.trim_start_matches("sqlite://"));
        std::fs::read_dir(file.parent().expect("database directory"))
            .expect("read the database directory")
            .any(|entry| {
                let bytes =
                    std::fs::read(entry.expect("directory entry").path()).unwrap_or_default();
                bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            })
    }
}

impl<'a> TestServerBuilder<'a> {
    /// The whole config file (as operators write it, `[providers]`,
    /// `[oauth]`, `[stripe]`, …), given the server's public URL: that URL
    /// is known before the file is written, so an OAuth server can be told
    /// our callback first.
    pub fn config<'b>(self, config: impl FnOnce(&str) -> String + 'b) -> TestServerBuilder<'b> {
        TestServerBuilder {
            config: Box::new(config),
            public_url: self.public_url,
            serve: self.serve,
            background_refresh: self.background_refresh,
            deliveries: self.deliveries,
            clock: self.clock,
            database_url: self.database_url,
            bootstrap: self.bootstrap,
        }
    }

    /// Only `[providers]` sections (the rest defaults).
    pub fn providers(self, toml: &str) -> TestServerBuilder<'a> {
        let toml = toml.to_string();
        TestServerBuilder {
            config: Box::new(move |_| toml),
            ..self
        }
    }

    /// Serves the router on `127.0.0.1:0`; the origin is also the public URL.
    pub fn serve(mut self) -> Self {
        self.serve = true;
        self
    }

    /// The public URL (default: the socket's origin, or `http://connectors.test`).
    pub fn public_url(mut self, url: &str) -> Self {
        self.public_url = Some(url.to_string());
        self
    }

    /// Runs the background refresh as `serve` does (off by default, so that
    /// only the test's own requests reach a provider).
    pub fn background_refresh(mut self) -> Self {
        self.background_refresh = true;
        self
    }

    /// Runs the webhook delivery worker as `serve` does (off by default:
    /// it polls the database).
    pub fn deliveries(mut self) -> Self {
        self.deliveries = true;
        self
    }

    /// Where the engine reads the time (a [`connectors_engine::TestClock`]'s, to move it).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// A database the caller owns instead of a fresh test database.
    pub fn database_url(mut self, url: &str) -> Self {
        self.database_url = Some(url.to_string());
        self
    }

    /// The names of the bootstrapped workspace, builder and app.
    pub fn bootstrap(mut self, request: BootstrapRequest) -> Self {
        self.bootstrap = request;
        self
    }

    /// Assembles, bootstraps and (if asked) serves the server on the current
    /// tokio runtime.
    ///
    /// # Panics
    /// On any set-up failure: this is test support.
    pub async fn start(self) -> TestServer {
        let dir = tempfile::tempdir().expect("temporary directory");
        let listener = self
            .serve
            .then(|| std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"));
        let bind = listener
            .as_ref()
            .map_or("127.0.0.1:0".parse().expect("an address"), |l| {
                l.local_addr().expect("bound address")
            });
        let public_url = self.public_url.unwrap_or_else(|| match listener {
            Some(_) => format!("http://{bind}"),
            None => UNSERVED_URL.into(),
        });
        let config_path = dir.path().join("config.toml");
        std::fs::write(&config_path, (self.config)(&public_url)).expect("write config.toml");
        let data_dir = dir.path().join("data");
        std::fs::create_dir_all(&data_dir).expect("create the data directory");
        let db = self.database_url.is_none().then(TestDatabase::new);
        let database_url = self
            .database_url
            .unwrap_or_else(|| db.as_ref().expect("a test database").url().to_string());
        let config = ServerConfig::resolve(&Overrides {
            config: Some(config_path),
            bind: Some(bind.to_string()),
            data_dir: Some(data_dir),
            public_url: Some(public_url.clone()),
            database_url: Some(database_url.clone()),
        })
        .unwrap_or_else(|e| panic!("test server config: {e}"));
        let engine = crate::setup::engine_with_clock(&config, &public_url, self.clock)
            .await
            .unwrap_or_else(|e| panic!("test server engine: {e:#}"));
        let boot = engine
            .bootstrap(&self.bootstrap)
            .await
            .expect("bootstrap")
            .expect("a fresh database bootstraps");
        let router = app(
            AppState::new(engine.clone(), config.metrics_bearer.clone()),
            &config.http,
            config.max_body_bytes,
        );
        // Served the way `serve` serves: with the configured `[http]` timeouts.
        let served = listener.map(|listener| {
            listener
                .set_nonblocking(true)
                .expect("non-blocking listener");
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let (router, http) = (router.clone(), config.http.clone());
            spawn(async move {
                let _ = crate::serve(listener, router, &http, async {
                    let _ = rx.await;
                })
                .await;
            });
            tx
        });
        let background = (self.background_refresh || self.deliveries).then(|| {
            let (tx, rx) = tokio::sync::watch::channel(false);
            if self.background_refresh {
                spawn(crate::setup::background_refresh(
                    engine.clone(),
                    config.oauth.clone(),
                    rx.clone(),
                ));
            }
            if self.deliveries {
                spawn(engine.clone().run_deliveries(rx));
            }
            tx
        });
        TestServer {
            served,
            background,
            url: public_url,
            router,
            engine,
            boot,
            dir,
            database_url,
            db,
        }
    }
}

fn spawn(task: impl Future<Output = ()> + Send + 'static) {
    drop(tokio::spawn(task));
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.background.take() {
            let _ = tx.send(true);
        }
        if let Some(tx) = self.served.take() {
            let _ = tx.send(());
        }
        self.db.take();
    }
}
