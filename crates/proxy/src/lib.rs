//! The `callApi` proxy's outbound side (#14), with no knowledge of apps,
//! tokens or the catalog: the engine decides *what* to call; this crate
//! checks a caller's path and headers before any I/O ([`request`]), keeps
//! every connection off private networks ([`policy`]), makes one upstream
//! call and says honestly how far it got ([`send`], [`Phase`]), and turns
//! the answer's bytes into the SDK's envelope fields ([`body`]).

pub mod body;
pub mod policy;
pub mod request;
pub mod send;

pub use body::{encode_body, EncodedBody};
pub use policy::AddressPolicy;
pub use request::{
    check_path, check_request_header, join_url, never_forwarded, query_pairs, RequestError, METHODS,
};
pub use send::{never_exposed, Outbound, OutboundConfig, Outcome, Phase, UpstreamCall};
