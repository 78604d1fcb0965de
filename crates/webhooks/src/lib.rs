//! The outbound side of webhooks, in the Standard Webhooks format, so that
//! an app verifies our deliveries with any of the spec's libraries.
//!
//! The engine decides what to send, to whom and when; this crate only knows
//! how: an endpoint's `whsec_` secret ([`secret`]), the `v1` signature
//! ([`sign`]), which URLs may receive webhooks ([`target`]), when to try
//! again ([`schedule`]) and one signed POST that reports how it went
//! ([`send`]), through the proxy's address policy. It knows nothing of
//! apps, storage or HTTP servers.
#![deny(missing_docs)]

pub mod schedule;
pub mod secret;
pub mod send;
pub mod sign;
pub mod target;

pub use schedule::RetrySchedule;
pub use secret::{SecretError, SigningKey};
pub use send::{Attempt, Message, MessageError, Phase, Sender, SenderConfig};
pub use sign::{VerifyError, DEFAULT_TOLERANCE};
pub use target::{check_target_url, TargetError};
