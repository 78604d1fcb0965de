//! A real OAuth 2.0 / OpenID server (`oidc-provider` from npm) and the
//! headless-Chromium consent driver, both from `tests/js`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::{http_request, js_dir};

pub struct OidcServer {
    child: Child,
    pub info: serde_json::Value,
}

impl OidcServer {
    /// Starts `tests/js/oidc-server.mjs` with `config` (see that file).
    pub fn start(config: serde_json::Value) -> OidcServer {
        let mut child = Command::new("node")
            .arg(js_dir().join("oidc-server.mjs"))
            .arg(config.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start oidc-server.mjs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let info: serde_json::Value = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("oidc-server.mjs said {line:?}: {e}"));
        OidcServer { child, info }
    }

    pub fn endpoint(&self, name: &str) -> String {
        self.info[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {}", self.info))
            .to_string()
    }

    pub fn control(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let url = format!(
            "{}/{}",
            self.endpoint("control").trim_end_matches('/'),
            path
        );
        let body = body.map(|b| b.to_string());
        let (status, text) = http_request(method, &url, &[], body.as_deref()).unwrap();
        assert!(
            (200..300).contains(&status),
            "control {path}: {status} {text}"
        );
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }

    pub fn stats(&self) -> serde_json::Value {
        self.control("GET", "stats", None)
    }

    /// RFC 7662 introspection, authenticating as the client does
    /// (`basic`: HTTP Basic, else credentials in the body).
    pub fn introspect(
        &self,
        client_id: &str,
        client_secret: &str,
        basic: bool,
        token: &str,
    ) -> serde_json::Value {
        use base64::Engine as _;
        let url = self.endpoint("introspection_endpoint");
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_once('/').unwrap();
        let (auth, body) = if basic {
            let b = base64::engine::general_purpose::STANDARD
                .encode(format!("{client_id}:{client_secret}"));
            (
                format!("Authorization: Basic {b}\r\n"),
                format!("token={token}"),
            )
        } else {
            (
                String::new(),
                format!("token={token}&client_id={client_id}&client_secret={client_secret}"),
            )
        };
        let raw = format!(
            "POST /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{auth}content-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let text = crate::raw_http(host, &raw).unwrap();
        let json = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        serde_json::from_str(json).unwrap_or_else(|e| panic!("introspection answer {text:?}: {e}"))
    }
}

impl Drop for OidcServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `tests/js/consent.mjs` (headless Chromium) with `args`.
/// Logs in as alice and consents at `url`, stopping where the provider
/// redirects back to us: (the callback URL, the browser's cookies for it as
/// a `Cookie` header), for a test to deliver — or tamper with — itself.
pub fn consent_until_callback(url: &str) -> (String, String) {
    let page = consent(serde_json::json!({"url": url, "login": "alice", "stopAtCallback": true}));
    let callback = page["callbackUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("{page}"))
        .to_string();
    let cookie = page["cookies"]
        .as_array()
        .unwrap_or_else(|| panic!("{page}"))
        .iter()
        .map(|c| {
            format!(
                "{}={}",
                c["name"].as_str().unwrap(),
                c["value"].as_str().unwrap()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    (callback, cookie)
}

pub fn consent(args: serde_json::Value) -> serde_json::Value {
    run_browser_script("consent.mjs", &args)
}

/// Runs one of the headless-Chromium scripts of `tests/js` with its JSON
/// argument and returns the one JSON line it prints (a panic naming what
/// it printed otherwise).
pub fn run_browser_script(script: &str, args: &serde_json::Value) -> serde_json::Value {
    let out = Command::new("node")
        .arg(js_dir().join(script))
        .arg(args.to_string())
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "{script} said {stdout:?} ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}
