//! One upstream call, and how far it got ([`Phase`]): the only place the
//! proxy touches the network. No retries here; the engine decides.

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::Method;
use url::{Host, Url};

use crate::policy::{AddressPolicy, PolicyResolver};

/// The operator's `[proxy]` limits.
#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// Which addresses may be called.
    pub policy: AddressPolicy,
    /// Until the connection (and TLS) is up.
    pub connect_timeout: Duration,
    /// Until the whole response is read.
    pub timeout: Duration,
    /// Largest (decoded) response body.
    pub max_response_bytes: usize,
}

/// How far a call got; only [`Phase::NotSent`] proves the upstream never
/// saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Refused by policy, or no connection (DNS, connect, TLS).
    NotSent,
    /// The connection was lost after the request was (being) written and
    /// before a status line.
    SentUnconfirmed,
    /// No complete response before the deadline.
    TimedOut,
    /// A status line came back (any status).
    Responded,
}

impl Phase {
    /// The envelope's `phase`.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::NotSent => "not_sent",
            Phase::SentUnconfirmed => "sent_unconfirmed",
            Phase::TimedOut => "timed_out",
            Phase::Responded => "responded",
        }
    }
}

/// What to send.
#[derive(Debug, Clone)]
pub struct UpstreamCall {
    /// One of [`crate::METHODS`].
    pub method: Method,
    /// From [`crate::join_url`].
    pub url: Url,
    /// Already filtered, with the credential set by the caller.
    pub headers: HeaderMap,
    /// Sent as is (never for GET/HEAD).
    pub body: Option<Vec<u8>>,
    /// Follow redirects to the same scheme, host and port (at most 5).
    pub follow_redirects: bool,
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// How far the call got.
    pub phase: Phase,
    /// The upstream status, when it responded.
    pub status: Option<u16>,
    /// Response headers (lower-case names) minus hop-by-hop, cookies,
    /// framing and CORS ones; the caller then applies its allow-list.
    pub headers: Vec<(String, String)>,
    /// The response's `content-type`.
    pub content_type: Option<String>,
    /// The decoded body (empty unless responded).
    pub body: Vec<u8>,
    /// Why the response is missing or incomplete, in a few words.
    pub error: Option<String>,
    /// Time to the outcome.
    pub elapsed: Duration,
}

impl Outcome {
    /// A 2xx with its whole body.
    pub fn success(&self) -> bool {
        self.phase == Phase::Responded
            && self.error.is_none()
            && self.status.is_some_and(|s| (200..300).contains(&s))
    }

    fn failed(phase: Phase, error: String, started: Instant) -> Self {
        Outcome {
            phase,
            status: None,
            headers: Vec::new(),
            content_type: None,
            body: Vec::new(),
            error: Some(error),
            elapsed: started.elapsed(),
        }
    }
}

/// Response headers never handed to a caller.
pub fn never_exposed(name: &str) -> bool {
    const NAMES: [&str; 12] = [
        "set-cookie",
        "set-cookie2",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "content-encoding",
        "trailer",
        "upgrade",
        "proxy-authenticate",
        "www-authenticate",
        "alt-svc",
    ];
    let name = name.to_ascii_lowercase();
    NAMES.contains(&name.as_str()) || name.starts_with("access-control-")
}

/// The proxy's HTTP clients (one that never follows redirects, one that
/// follows same-origin ones), sharing the address policy.
#[derive(Debug, Clone)]
pub struct Outbound {
    direct: reqwest::Client,
    following: reqwest::Client,
    config: OutboundConfig,
}

impl Outbound {
    /// Clients for `config`.
    pub fn new(config: OutboundConfig) -> Self {
        let build = |redirects: reqwest::redirect::Policy| {
            reqwest::Client::builder()
                .use_rustls_tls()
                .dns_resolver(std::sync::Arc::new(PolicyResolver(config.policy)))
                // The environment's proxies would be the ones checked.
                .no_proxy()
                .connect_timeout(config.connect_timeout)
                .redirect(redirects)
                .user_agent(concat!("connectors-proxy/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("the rustls HTTP client builds")
        };
        let same_origin = reqwest::redirect::Policy::custom(|attempt| {
            let first = attempt.previous().first();
            let same = first.is_some_and(|f| {
                f.scheme() == attempt.url().scheme()
                    && f.host_str() == attempt.url().host_str()
                    && f.port_or_known_default() == attempt.url().port_or_known_default()
            });
            if same && attempt.previous().len() <= 5 {
                attempt.follow()
            } else {
                attempt.stop()
            }
        });
        Self {
            direct: build(reqwest::redirect::Policy::none()),
            following: build(same_origin),
            config,
        }
    }

    /// The limits in force.
    pub fn config(&self) -> &OutboundConfig {
        &self.config
    }

    /// Makes `call` once.
    pub async fn send(&self, call: UpstreamCall) -> Outcome {
        let started = Instant::now();
        if let Some(refused) = self.refused_literal(&call.url) {
            return Outcome::failed(Phase::NotSent, refused, started);
        }
        let client = if call.follow_redirects {
            &self.following
        } else {
            &self.direct
        };
        let mut request = client.request(call.method, call.url).headers(call.headers);
        if let Some(body) = call.body {
            request = request.body(body);
        }
        let deadline = tokio::time::Instant::now() + self.config.timeout;
        let response = match tokio::time::timeout_at(deadline, request.send()).await {
            Err(_) => {
                return Outcome::failed(
                    Phase::TimedOut,
                    format!("no response within {} s", self.config.timeout.as_secs_f32()),
                    started,
                )
            }
            Ok(Err(e)) => {
                let phase = if e.is_connect() || e.is_builder() {
                    Phase::NotSent
                } else if e.is_timeout() {
                    Phase::TimedOut
                } else {
                    Phase::SentUnconfirmed
                };
                return Outcome::failed(phase, reason(&e), started);
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(name, _)| !never_exposed(name.as_str()))
            .filter_map(|(name, value)| {
                Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
            })
            .collect();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut outcome = Outcome {
            phase: Phase::Responded,
            status: Some(status),
            headers,
            content_type,
            body: Vec::new(),
            error: None,
            elapsed: Duration::ZERO,
        };
        let mut response = response;
        loop {
            match tokio::time::timeout_at(deadline, response.chunk()).await {
                Err(_) => {
                    outcome.phase = Phase::TimedOut;
                    outcome.status = None;
                    outcome.body.clear();
                    outcome.error = Some(format!(
                        "the response did not finish within {} s",
                        self.config.timeout.as_secs_f32()
                    ));
                    break;
                }
                Ok(Err(e)) => {
                    outcome.body.clear();
                    outcome.error = Some(format!("the response body was cut off: {}", reason(&e)));
                    break;
                }
                Ok(Ok(None)) => break,
                Ok(Ok(Some(chunk))) => {
                    if outcome.body.len() + chunk.len() > self.config.max_response_bytes {
                        outcome.body.clear();
                        outcome.error = Some(format!(
                            "response too large (over {} bytes)",
                            self.config.max_response_bytes
                        ));
                        break;
                    }
                    outcome.body.extend_from_slice(&chunk);
                }
            }
        }
        outcome.elapsed = started.elapsed();
        outcome
    }

    /// A literal IP host is never resolved, so the policy is applied here.
    fn refused_literal(&self, url: &Url) -> Option<String> {
        let ip = match url.host()? {
            Host::Ipv4(ip) => std::net::IpAddr::V4(ip),
            Host::Ipv6(ip) => std::net::IpAddr::V6(ip),
            Host::Domain(_) => return None,
        };
        (!self.config.policy.allows(ip)).then(|| {
            format!(
                "{ip} is on a private or reserved network, which is not called (an operator may set `{} = true` for development)",
                self.config.policy.setting
            )
        })
    }
}

/// The innermost cause of `e`, which names what failed (refused, reset,
/// certificate) without any request data.
fn reason(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(next) = source.source() {
        source = next;
    }
    let inner = source.to_string();
    if e.is_connect() {
        format!("could not connect: {inner}")
    } else {
        inner
    }
}
