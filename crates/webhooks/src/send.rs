//! One signed delivery attempt, through the proxy's outbound client (its
//! address policy at every connection, no redirects, no environment
//! proxies), and what the delivery log keeps of it. No retries here: the
//! engine follows the [`crate::RetrySchedule`].

use std::time::Duration;

use connectors_proxy::{AddressPolicy, Outbound, OutboundConfig, UpstreamCall};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, USER_AGENT};
use reqwest::Method;
use url::Url;

pub use connectors_proxy::Phase;

use crate::secret::SigningKey;
use crate::sign::signature_header;
use crate::target::check_target_url;

/// What [`Attempt::response_excerpt`] keeps of a response body, in bytes.
pub const EXCERPT_BYTES: usize = 1024;

/// What deliveries announce themselves as.
pub const USER_AGENT_VALUE: &str =
    concat!("Base44-Connectors-Webhooks/", env!("CARGO_PKG_VERSION"));

/// The operator's limits for deliveries.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// Deliver to loopback, private and local addresses and over plain
    /// `http` (development and tests only).
    pub allow_private_networks: bool,
    /// Until the connection (and TLS) is up.
    pub connect_timeout: Duration,
    /// Until the whole response is read; then the attempt failed.
    pub timeout: Duration,
    /// Largest response body read; a receiver has nothing to say beyond a
    /// status, so a bigger body is cut off (a 2xx still counts).
    pub max_response_bytes: usize,
}

impl Default for SenderConfig {
    fn default() -> Self {
        Self {
            allow_private_networks: false,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            max_response_bytes: 16 * 1024,
        }
    }
}

/// One event as it is delivered: the same id and body on every attempt,
/// the timestamp of the attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    id: String,
    timestamp: i64,
    body: Vec<u8>,
}

impl Message {
    /// A message `id` (1 to 255 of `A-Z a-z 0-9 _ -`: it is signed between
    /// `.` separators and sent as a header), sent at `timestamp` (Unix
    /// seconds, from the engine's clock), with `body` (the event's JSON,
    /// signed and sent byte for byte).
    pub fn new(
        id: impl Into<String>,
        timestamp: i64,
        body: impl Into<Vec<u8>>,
    ) -> Result<Self, MessageError> {
        let id = id.into();
        let id_ok = (1..=255).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !id_ok {
            return Err(MessageError::Id);
        }
        if timestamp < 0 {
            return Err(MessageError::Timestamp);
        }
        Ok(Self {
            id,
            timestamp,
            body: body.into(),
        })
    }

    /// The `webhook-id`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The `webhook-timestamp`, Unix seconds.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The body as sent.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// Why a [`Message`] cannot be built (a bug in the caller, not in input).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The id is empty, too long or has other characters.
    #[error("a webhook message id is 1 to 255 of `A-Z a-z 0-9 _ -`: generate it as `msg_` and random letters")]
    Id,
    /// Before 1970.
    #[error("a webhook timestamp is Unix seconds, not negative: take it from the clock")]
    Timestamp,
}

/// How one attempt went, for the delivery log.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The receiver answered 2xx: delivered.
    pub delivered: bool,
    /// How far the request got ([`Phase::NotSent`]: the receiver never saw it).
    pub phase: Phase,
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// Why it failed, in a few words, when not for its status alone (never
    /// a secret, nor the URL).
    pub error: Option<String>,
    /// From the start of the attempt to its outcome.
    pub elapsed: Duration,
    /// The start of the response body (at most [`EXCERPT_BYTES`], invalid
    /// UTF-8 replaced), to show the builder what their receiver said.
    pub response_excerpt: String,
    /// A failed attempt's `Retry-After` in seconds (a 429 or 503 asking
    /// for a pause); the date form is not read.
    pub retry_after: Option<Duration>,
}

/// Delivers signed messages.
#[derive(Debug, Clone)]
pub struct Sender {
    outbound: Outbound,
    allow_private_networks: bool,
}

impl Sender {
    /// A sender with `config`'s limits.
    pub fn new(config: SenderConfig) -> Self {
        Self {
            outbound: Outbound::new(OutboundConfig {
                policy: AddressPolicy {
                    allow_private_networks: config.allow_private_networks,
                    setting: "[webhooks] allow_private_networks",
                },
                connect_timeout: config.connect_timeout,
                timeout: config.timeout,
                max_response_bytes: config.max_response_bytes,
            }),
            allow_private_networks: config.allow_private_networks,
        }
    }

    /// POSTs `message` to `url` once, signed with each of `keys` (the
    /// endpoint's current secret, and its previous one while a rotation
    /// overlaps). A 3xx is a failure: redirects are not followed.
    pub async fn send(&self, url: &Url, message: &Message, keys: &[SigningKey]) -> Attempt {
        // Checked when saved; checked again, since the operator's policy may
        // have changed since.
        if let Err(refused) = check_target_url(url.as_str(), self.allow_private_networks) {
            return not_sent(refused.to_string());
        }
        if keys.is_empty() {
            return not_sent("the endpoint has no signing secret: rotate its secret".into());
        }
        let signatures = signature_header(keys, message.id(), message.timestamp(), message.body());
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        for (name, value) in [
            ("webhook-id", message.id().to_string()),
            ("webhook-timestamp", message.timestamp().to_string()),
            ("webhook-signature", signatures),
        ] {
            let value =
                HeaderValue::try_from(value).expect("ids, digits and base64 are header values");
            headers.insert(name, value);
        }
        let outcome = self
            .outbound
            .send(UpstreamCall {
                method: Method::POST,
                url: url.clone(),
                headers,
                body: Some(message.body().to_vec()),
                follow_redirects: false,
            })
            .await;
        let delivered = outcome.phase == Phase::Responded
            && outcome.status.is_some_and(|s| (200..300).contains(&s));
        let error = match outcome.status {
            Some(status @ 300..=399) => Some(format!(
                "answered {status}, a redirect, which webhooks do not follow: set the endpoint's URL to where it redirects"
            )),
            // A body too large or cut off does not undo a 2xx.
            _ if delivered => None,
            _ => outcome.error,
        };
        let retry_after = (!delivered)
            .then(|| {
                outcome
                    .headers
                    .iter()
                    .find(|(name, _)| name == "retry-after")
                    .and_then(|(_, value)| value.trim().parse::<u64>().ok())
                    .map(Duration::from_secs)
            })
            .flatten();
        Attempt {
            delivered,
            phase: outcome.phase,
            status: outcome.status,
            error,
            elapsed: outcome.elapsed,
            response_excerpt: excerpt(&outcome.body),
            retry_after,
        }
    }
}

fn not_sent(error: String) -> Attempt {
    Attempt {
        delivered: false,
        phase: Phase::NotSent,
        status: None,
        error: Some(error),
        elapsed: Duration::ZERO,
        response_excerpt: String::new(),
        retry_after: None,
    }
}

/// The first [`EXCERPT_BYTES`] of `body` as text, cut on a character.
fn excerpt(body: &[u8]) -> String {
    let head = &body[..body.len().min(EXCERPT_BYTES + 4)];
    let mut text = String::from_utf8_lossy(head).into_owned();
    let mut end = text.len().min(EXCERPT_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_header_and_signature_safe() {
        assert!(Message::new("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", 1, "{}").is_ok());
        assert!(Message::new("0b5c-9e1f_A", 0, "").is_ok());
        for id in ["", "msg.1", "msg 1", "msg\n1", "msgé", &"a".repeat(256)] {
            assert_eq!(Message::new(id, 1, "{}"), Err(MessageError::Id), "{id:?}");
        }
        assert_eq!(
            Message::new("msg_1", -1, "{}"),
            Err(MessageError::Timestamp)
        );
    }

    #[test]
    fn the_excerpt_is_cut_on_a_character() {
        assert_eq!(excerpt(b""), "");
        assert_eq!(excerpt(b"ok"), "ok");
        let long = "é".repeat(EXCERPT_BYTES);
        let cut = excerpt(long.as_bytes());
        assert_eq!(cut.len(), EXCERPT_BYTES);
        assert!(cut.chars().all(|c| c == 'é'));
        let odd = format!("a{long}");
        assert_eq!(excerpt(odd.as_bytes()).len(), EXCERPT_BYTES - 1);
        assert_eq!(excerpt(&[b'x', 0xff, b'y']), "x\u{fffd}y");
    }
}
