//! How the `callApi` proxy calls a type's API (#14): its hosts, how the token
//! is sent, which headers pass and which media types are binary. Data, like
//! the OAuth description, layered the same way: defaults ← provider template
//! ← integration ← operator.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use url::Url;

use crate::template::{self, Piece};

/// Request headers every type lets callers set.
pub const DEFAULT_REQUEST_HEADERS: &[&str] =
    &["accept", "content-type", "if-match", "if-none-match"];

/// Response headers every type shows callers; an entry ending in `*` is a prefix.
pub const DEFAULT_RESPONSE_HEADERS: &[&str] = &[
    "x-ratelimit-*",
    "x-rate-limit-*",
    "ratelimit",
    "ratelimit-*",
    "retry-after",
    "etag",
    "link",
];

/// Media types every type returns as binary (the proxy also treats every
/// non-text type so by itself).
pub const DEFAULT_BINARY_TYPES: &[&str] =
    &["image/*", "application/pdf", "application/octet-stream"];

/// The header that carries the token unless a type says otherwise.
pub const DEFAULT_AUTH_HEADER: &str = "authorization";

/// The token header's value unless a type says otherwise.
pub const DEFAULT_AUTH_VALUE: &str = "Bearer {access_token}";

const TOKEN_PLACEHOLDER: &str = "{access_token}";

/// Headers that never pass between callers and providers, either way:
/// credentials, message framing, hop-by-hop and proxy headers.
const NEVER_PASSED: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "proxy-authenticate",
    "proxy-connection",
    "cookie",
    "set-cookie",
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Prefixes of headers that never pass: CORS belongs to our own server.
const NEVER_PASSED_PREFIXES: &[&str] = &["access-control-", "proxy-"];

fn never_passed(lowercase: &str) -> bool {
    NEVER_PASSED.contains(&lowercase)
        || NEVER_PASSED_PREFIXES
            .iter()
            .any(|p| lowercase.starts_with(p))
}

/// How the proxy calls a type's API (#14), resolved with defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSpec {
    /// Named API roots; the first is the default. `base_url` is an https URL template
    /// (scheme + host + optional base path, no query/fragment), whose `{placeholders}` are
    /// filled from the connection's `connection_config` (validated values).
    /// Empty only for a custom provider without `[providers.X.api]` (or an
    /// operator's `hosts = []`): that type has no proxy.
    pub hosts: Vec<ApiHost>,
    /// How the token is sent; default header `authorization`, value `Bearer {access_token}`.
    pub auth: ApiAuth,
    /// Lowercase request header names callers may set (defaults included:
    /// accept, content-type, if-match, if-none-match; plus per-type extras such as notion-version).
    pub request_headers: Vec<String>,
    /// Lowercase response header names exposed to callers; an entry ending in `*` is a prefix
    /// (defaults: x-ratelimit-*, x-rate-limit-*, ratelimit, ratelimit-*, retry-after, etag, link; plus extras).
    pub response_headers: Vec<String>,
    /// Media-type patterns (`image/*`, `application/pdf`) always returned as binary
    /// (defaults: image/*, application/pdf, application/octet-stream; plus extras); the
    /// proxy also treats every non-text type as binary by itself.
    pub binary_types: Vec<String>,
    /// Whether the proxy may follow same-host redirects (default false).
    pub follow_redirects: bool,
}

/// One named API root of a type.
///
/// `base_url` is `https://` + host [+ `:port`] [+ base path], with
/// `{placeholders}` filled from `connection_config`. A placeholder in the host
/// takes a DNS label or dotted labels, and the host must keep the literal
/// domain written after it (`https://{subdomain}.bamboohr.com`). A
/// placeholder that is the whole host (`https://{instance_url}`) also accepts
/// `https://host` (Salesforce's `instance_url`) and needs `host_suffixes`,
/// the domains it may name. A placeholder in the path takes one path segment
/// of URL-unreserved characters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawApiHost")]
pub struct ApiHost {
    /// The name callers pass as `host` (`default`, `upload`, …).
    pub name: String,
    /// The URL template.
    pub base_url: String,
    /// Domains (each starting with `.`) the filled host must end with; needed
    /// when the host has placeholders and no fixed domain after them.
    pub host_suffixes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApiHost {
    name: String,
    base_url: String,
    #[serde(default)]
    host_suffixes: Vec<String>,
}

impl TryFrom<RawApiHost> for ApiHost {
    type Error = String;

    fn try_from(raw: RawApiHost) -> Result<Self, String> {
        let host = ApiHost {
            name: raw.name,
            base_url: raw.base_url,
            host_suffixes: raw
                .host_suffixes
                .iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
        };
        host.check()?;
        Ok(host)
    }
}

/// How the token goes to the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiAuth {
    /// Lowercase header name.
    pub header: String,
    /// Header value; holds `{access_token}` once.
    pub value: String,
}

impl ApiAuth {
    /// The header value with the token in place.
    pub fn value_for(&self, access_token: &str) -> String {
        self.value.replacen(TOKEN_PLACEHOLDER, access_token, 1)
    }
}

/// Why a host could not be chosen or its base URL filled. Each text says
/// what to do next; none holds a `connection_config` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiHostError {
    /// The type declares no API hosts.
    #[error("this connector type declares no API hosts: the server operator declares them under [providers.<type>.api] hosts")]
    NoHosts,
    /// The caller named a host the type does not declare.
    #[error("unknown API host `{}`: use one of {} (or omit `host` for `{}`)", shown(name), list(declared), declared.first().map(String::as_str).unwrap_or_default())]
    UnknownHost {
        /// The name asked for.
        name: String,
        /// The names the type declares, default first.
        declared: Vec<String>,
    },
    /// A placeholder has no value in the connection.
    #[error("API host `{host}` needs `{placeholder}` in the connection's connection_config and it has none: set it on the connector, or connect again if the provider supplies it")]
    MissingValue {
        /// The host's name.
        host: String,
        /// The placeholder's name.
        placeholder: String,
    },
    /// A value would change the URL's shape or leave the allowed domains.
    #[error("connection_config `{placeholder}` cannot be used in API host `{host}`: {reason}; correct it on the connector (or connect again if the provider supplies it)")]
    InvalidValue {
        /// The host's name.
        host: String,
        /// The placeholder's name.
        placeholder: String,
        /// What is wrong.
        reason: String,
    },
    /// The template itself is unusable (catalog or operator configuration).
    #[error("API host `{host}` has an unusable base_url `{base_url}`: {reason}; the server operator fixes it under [providers.<type>.api] hosts")]
    InvalidTemplate {
        /// The host's name.
        host: String,
        /// The template.
        base_url: String,
        /// What is wrong.
        reason: String,
    },
}

/// A caller-supplied name, bounded and escaped for an error text.
fn shown(name: &str) -> String {
    let cut: String = name.chars().take(64).collect();
    let mut out = cut.escape_debug().to_string();
    if name.chars().count() > 64 {
        out.push('…');
    }
    out
}

fn list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ApiSpec {
    /// The host named `name` (None = the default, the first declared).
    pub fn host(&self, name: Option<&str>) -> Result<&ApiHost, ApiHostError> {
        let found = match name {
            None => self.hosts.first(),
            Some(name) => self.hosts.iter().find(|h| h.name == name),
        };
        match (found, name) {
            (Some(host), _) => Ok(host),
            (None, _) if self.hosts.is_empty() => Err(ApiHostError::NoHosts),
            (None, name) => Err(ApiHostError::UnknownHost {
                name: name.unwrap_or_default().to_string(),
                declared: self.hosts.iter().map(|h| h.name.clone()).collect(),
            }),
        }
    }

    /// The host named `name` (None = the default/first), filled from `config`:
    /// Err with a message for the caller (unknown host name listing the declared ones; a
    /// placeholder with no value; a value that would change the URL's shape).
    ///
    /// The URL's path never ends in `/` except for the root: the proxy
    /// appends the caller's path to it.
    pub fn base_url(
        &self,
        name: Option<&str>,
        config: &BTreeMap<String, String>,
    ) -> Result<Url, ApiHostError> {
        self.host(name)?.url(config)
    }

    /// Whether callers may send request header `name` (case-insensitive).
    pub fn allows_request_header(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        !never_passed(&name) && name != self.auth.header && self.request_headers.contains(&name)
    }

    /// Whether callers see response header `name` (case-insensitive).
    pub fn exposes_response_header(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        !never_passed(&name)
            && self
                .response_headers
                .iter()
                .any(|pattern| match pattern.strip_suffix('*') {
                    Some(prefix) => name.starts_with(prefix),
                    None => *pattern == name,
                })
    }

    /// Whether a `content-type` value is declared binary (parameters and case
    /// ignored). Other non-text types are the proxy's own call.
    pub fn is_binary_type(&self, content_type: &str) -> bool {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let Some((kind, _)) = essence.split_once('/') else {
            return false;
        };
        self.binary_types
            .iter()
            .any(|pattern| match pattern.strip_suffix("/*") {
                Some(pattern_kind) => pattern_kind == kind,
                None => *pattern == essence,
            })
    }
}

/// A base URL template taken apart.
struct Parsed<'a> {
    scheme: &'a str,
    /// The host, without the port.
    host: Vec<Piece<'a>>,
    port: Option<&'a str>,
    /// The path without trailing `/`; empty for none.
    path: Vec<Piece<'a>>,
}

impl<'a> Parsed<'a> {
    fn parse(template: &'a str) -> Result<Self, String> {
        if let Some(c) = template.chars().find(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '\\' | '%' | '?' | '#' | '@')
        }) {
            return Err(format!(
                "it may not contain {}: write scheme, host and base path only",
                match c {
                    '?' | '#' => "a query or fragment (`?`, `#`)".to_string(),
                    '@' => "user information (`@`)".to_string(),
                    c => format!("`{}`", c.escape_debug()),
                }
            ));
        }
        let (scheme, rest) = template
            .split_once("://")
            .filter(|(s, _)| matches!(*s, "https" | "http"))
            .ok_or_else(|| "it must start with https://".to_string())?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = path.trim_end_matches('/');
        let (host_text, port) = match authority.rfind(':') {
            Some(i) if !authority.ends_with(']') => {
                let port = &authority[i + 1..];
                if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
                    return Err("its port must be digits (and no placeholder)".into());
                }
                (&authority[..i], Some(port))
            }
            _ => (authority, None),
        };
        if host_text.is_empty() {
            return Err("it has no host".into());
        }
        let host = template::pieces(host_text)?;
        let path = template::pieces(path)?;
        for piece in host.iter().chain(&path) {
            if let Piece::Literal(text) = piece {
                if text.contains('}') {
                    return Err("a `}` has no matching `{`".into());
                }
            }
        }
        let templated_host = host.iter().any(|p| matches!(p, Piece::Placeholder(_)));
        if templated_host
            && host.iter().any(|p| {
                matches!(p, Piece::Literal(t) if !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
            })
        {
            return Err("a host with placeholders may otherwise hold only letters, digits, `-` and `.`".into());
        }
        if let Some(bad) = path_literal_text(&path)
            .split('/')
            .find(|s| *s == "." || *s == "..")
        {
            return Err(format!("its path may not have `{bad}` segments"));
        }
        Ok(Parsed {
            scheme,
            host,
            port,
            path,
        })
    }

    fn host_placeholders(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.host.iter().filter_map(|p| match p {
            Piece::Placeholder(name) => Some(*name),
            Piece::Literal(_) => None,
        })
    }

    /// The placeholder that makes up the whole host, if one does.
    fn whole_host(&self) -> Option<&'a str> {
        match self.host.as_slice() {
            [Piece::Placeholder(name)] => Some(name),
            _ => None,
        }
    }

    /// The fixed text after the host's last placeholder (`.bamboohr.com`),
    /// when the host has placeholders.
    fn fixed_domain(&self) -> Option<&'a str> {
        let last = self
            .host
            .iter()
            .rposition(|p| matches!(p, Piece::Placeholder(_)))?;
        Some(match self.host.get(last + 1) {
            Some(Piece::Literal(text)) => text,
            _ => "",
        })
    }
}

/// The path's literal text with placeholders as `x`, for segment checks.
fn path_literal_text(path: &[Piece]) -> String {
    path.iter()
        .map(|p| match p {
            Piece::Literal(t) => t,
            Piece::Placeholder(_) => "x",
        })
        .collect()
}

/// A suffix `.domain.tld`: a dot, then at least two DNS labels.
fn is_domain_suffix(suffix: &str) -> bool {
    suffix
        .strip_prefix('.')
        .is_some_and(|rest| rest.contains('.') && template::is_host_value(rest))
}

const HOST_VALUE_RULE: &str =
    "a host name part may hold only ASCII letters, digits and `-`, in labels joined by single dots";
const WHOLE_HOST_RULE: &str = "it must be a host name such as `acme.example.com`, or `https://` and one, with no path, port or user information";
const PATH_VALUE_RULE: &str = "a path segment may hold only ASCII letters, digits, `.`, `-`, `_` and `~`, and may not be `.` or `..`";

impl ApiHost {
    /// A host entry (no suffix list).
    pub fn new(name: impl Into<String>, base_url: impl Into<String>) -> Self {
        ApiHost {
            name: name.into(),
            base_url: base_url.into(),
            host_suffixes: Vec::new(),
        }
    }

    fn template_error(&self, reason: impl Into<String>) -> ApiHostError {
        ApiHostError::InvalidTemplate {
            host: self.name.clone(),
            base_url: self.base_url.clone(),
            reason: reason.into(),
        }
    }

    /// Rules for domains that a template alone does not fix.
    fn check_domains(&self, parsed: &Parsed) -> Result<(), String> {
        match parsed.fixed_domain() {
            None if !self.host_suffixes.is_empty() => Err(
                "`host_suffixes` is only for a base_url whose host has a {placeholder}; remove it"
                    .into(),
            ),
            Some(fixed) if !is_domain_suffix(fixed) && self.host_suffixes.is_empty() => {
                Err("its host is filled from connection_config with no fixed domain after the placeholder: add `host_suffixes` (e.g. [\".example.com\"]) naming the domains it may be".into())
            }
            _ => {
                for suffix in &self.host_suffixes {
                    if !is_domain_suffix(suffix) {
                        return Err(format!(
                            "host_suffixes entry `{}` must be a dot and a domain, such as `.example.com`",
                            suffix.escape_debug()
                        ));
                    }
                }
                Ok(())
            }
        }
    }

    /// Checks the entry as configured: name, template shape, domains, and a
    /// fill with sample values.
    fn check(&self) -> Result<(), String> {
        let name = &self.name;
        if name.is_empty()
            || name.len() > 40
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err(format!(
                "API host name `{}` must match ^[a-z0-9_-]+$ and be at most 40 bytes (e.g. `default`, `upload`)",
                name.escape_debug()
            ));
        }
        let problem = |reason: String| {
            format!(
                "API host `{name}`: base_url `{}` is not usable: {reason}",
                self.base_url.escape_debug()
            )
        };
        let parsed = Parsed::parse(&self.base_url).map_err(problem)?;
        self.check_domains(&parsed).map_err(problem)?;
        // The last host placeholder carries an allowed domain when nothing
        // fixed follows it; every other placeholder takes a plain label.
        let open_ended = parsed.fixed_domain() == Some("");
        let last_host = parsed.host_placeholders().last();
        let mut sample = BTreeMap::new();
        for piece in parsed.host.iter().chain(&parsed.path) {
            if let Piece::Placeholder(n) = piece {
                sample.insert(n.to_string(), "a".to_string());
            }
        }
        if let (true, Some(last), Some(suffix)) =
            (open_ended, last_host, self.host_suffixes.first())
        {
            sample.insert(last.to_string(), format!("a{suffix}"));
        }
        match self.url(&sample) {
            Ok(_) => Ok(()),
            Err(ApiHostError::InvalidTemplate { reason, .. })
            | Err(ApiHostError::InvalidValue { reason, .. }) => Err(problem(reason)),
            Err(other) => Err(problem(other.to_string())),
        }
    }

    /// This host's base URL, filled from `config` (see [`ApiHost`] for the rules).
    pub fn url(&self, config: &BTreeMap<String, String>) -> Result<Url, ApiHostError> {
        let parsed = Parsed::parse(&self.base_url).map_err(|r| self.template_error(r))?;
        self.check_domains(&parsed)
            .map_err(|r| self.template_error(r))?;
        let value = |name: &str| {
            config
                .get(name)
                .map(String::as_str)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ApiHostError::MissingValue {
                    host: self.name.clone(),
                    placeholder: name.to_string(),
                })
        };
        let invalid = |placeholder: &str, reason: &str| ApiHostError::InvalidValue {
            host: self.name.clone(),
            placeholder: placeholder.to_string(),
            reason: reason.to_string(),
        };
        let whole = parsed.whole_host();
        let mut filled = format!("{}://", parsed.scheme);
        for piece in &parsed.host {
            match piece {
                Piece::Literal(text) => filled.push_str(text),
                Piece::Placeholder(name) => {
                    let mut v = value(name)?;
                    if whole.is_some() {
                        if let Some(rest) = strip_prefix_ignore_case(v, "https://") {
                            v = rest.strip_suffix('/').unwrap_or(rest);
                        }
                    }
                    if !template::is_host_value(v) {
                        let rule = if whole.is_some() {
                            WHOLE_HOST_RULE
                        } else {
                            HOST_VALUE_RULE
                        };
                        return Err(invalid(name, rule));
                    }
                    filled.push_str(v);
                }
            }
        }
        if let Some(port) = parsed.port {
            filled.push(':');
            filled.push_str(port);
        }
        let mut path = String::new();
        for piece in &parsed.path {
            match piece {
                Piece::Literal(text) => path.push_str(text),
                Piece::Placeholder(name) => {
                    let v = value(name)?;
                    if !template::is_unreserved_value(v) {
                        return Err(invalid(name, PATH_VALUE_RULE));
                    }
                    path.push_str(v);
                }
            }
        }
        filled.push_str(&path);
        // Past here a failure is the host's values (if it has any) or the template's.
        let blame = |reason: String| match parsed.host_placeholders().next() {
            Some(name) => invalid(name, &reason),
            None => self.template_error(reason),
        };
        let url = template::check_endpoint(&filled).map_err(&blame)?;
        if url.query().is_some() {
            return Err(blame("it would add a query".into()));
        }
        let want_path = if path.is_empty() { "/" } else { path.as_str() };
        if url.path() != want_path {
            return Err(blame("it would change the URL's path".into()));
        }
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if let Some(fixed) = parsed.fixed_domain().filter(|f| !f.is_empty()) {
            if !host.ends_with(&fixed.to_ascii_lowercase()) {
                return Err(blame(format!("the host would not end with `{fixed}`")));
            }
        }
        if !self.host_suffixes.is_empty()
            && !self
                .host_suffixes
                .iter()
                .any(|s| host.ends_with(s.as_str()))
        {
            return Err(blame(format!(
                "the host must end with one of {}",
                list(&self.host_suffixes)
            )));
        }
        Ok(url)
    }
}

fn strip_prefix_ignore_case<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    value
        .get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .map(|_| &value[prefix.len()..])
}

/// The token part of a layer: either field may be left to the layer below.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawApiAuth")]
pub struct ApiAuthPatch {
    /// Header name (lowercased).
    pub header: Option<String>,
    /// Header value holding `{access_token}`.
    pub value: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApiAuth {
    header: Option<String>,
    value: Option<String>,
}

impl TryFrom<RawApiAuth> for ApiAuthPatch {
    type Error = String;

    fn try_from(raw: RawApiAuth) -> Result<Self, String> {
        let header = raw.header.map(|h| h.to_ascii_lowercase());
        if let Some(h) = &header {
            check_header_name(h, "auth.header")?;
            if h != DEFAULT_AUTH_HEADER && never_passed(h) {
                return Err(format!(
                    "auth.header `{h}` is a framing, cookie or hop-by-hop header; name the header the provider reads the token from"
                ));
            }
        }
        if let Some(v) = &raw.value {
            if v.matches(TOKEN_PLACEHOLDER).count() != 1
                || v.replacen(TOKEN_PLACEHOLDER, "", 1).contains(['{', '}'])
            {
                return Err(format!(
                    "auth.value must hold `{TOKEN_PLACEHOLDER}` exactly once and no other placeholder (e.g. \"{DEFAULT_AUTH_VALUE}\")"
                ));
            }
            if !v
                .bytes()
                .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
            {
                return Err("auth.value may hold only printable ASCII, spaces and tabs".into());
            }
        }
        Ok(ApiAuthPatch {
            header,
            value: raw.value,
        })
    }
}

/// The `api` table of a catalog entry, a provider template or
/// `[providers.X.api]`. Each field a layer sets replaces the layer below
/// (lists included); the defaults are always added when resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiPatch {
    /// API roots; the first is the default.
    #[serde(default, deserialize_with = "de_hosts")]
    pub hosts: Option<Vec<ApiHost>>,
    /// How the token is sent.
    pub auth: Option<ApiAuthPatch>,
    /// Extra request headers callers may set (lowercased).
    #[serde(default, deserialize_with = "de_request_headers")]
    pub request_headers: Option<Vec<String>>,
    /// Extra response headers (or `prefix*`) callers see (lowercased).
    #[serde(default, deserialize_with = "de_response_headers")]
    pub response_headers: Option<Vec<String>>,
    /// Extra media types (or `type/*`) returned as binary (lowercased).
    #[serde(default, deserialize_with = "de_binary_types")]
    pub binary_types: Option<Vec<String>>,
    /// Whether same-host redirects are followed.
    pub follow_redirects: Option<bool>,
}

impl ApiPatch {
    /// `self` with every field that `top` sets replaced by `top`'s value.
    pub fn overlay(mut self, top: &ApiPatch) -> ApiPatch {
        if top.hosts.is_some() {
            self.hosts = top.hosts.clone();
        }
        if top.request_headers.is_some() {
            self.request_headers = top.request_headers.clone();
        }
        if top.response_headers.is_some() {
            self.response_headers = top.response_headers.clone();
        }
        if top.binary_types.is_some() {
            self.binary_types = top.binary_types.clone();
        }
        if top.follow_redirects.is_some() {
            self.follow_redirects = top.follow_redirects;
        }
        if let Some(top_auth) = &top.auth {
            let mut auth = self.auth.take().unwrap_or_default();
            if top_auth.header.is_some() {
                auth.header = top_auth.header.clone();
            }
            if top_auth.value.is_some() {
                auth.value = top_auth.value.clone();
            }
            self.auth = Some(auth);
        }
        self
    }

    /// Fills defaults for everything left unset.
    pub fn resolve(&self) -> ApiSpec {
        let auth = self.auth.clone().unwrap_or_default();
        ApiSpec {
            hosts: self.hosts.clone().unwrap_or_default(),
            auth: ApiAuth {
                header: auth.header.unwrap_or_else(|| DEFAULT_AUTH_HEADER.into()),
                value: auth.value.unwrap_or_else(|| DEFAULT_AUTH_VALUE.into()),
            },
            request_headers: with_defaults(DEFAULT_REQUEST_HEADERS, &self.request_headers),
            response_headers: with_defaults(DEFAULT_RESPONSE_HEADERS, &self.response_headers),
            binary_types: with_defaults(DEFAULT_BINARY_TYPES, &self.binary_types),
            follow_redirects: self.follow_redirects.unwrap_or(false),
        }
    }
}

fn with_defaults(defaults: &[&str], extras: &Option<Vec<String>>) -> Vec<String> {
    let mut out: Vec<String> = defaults.iter().map(|d| d.to_string()).collect();
    for extra in extras.iter().flatten() {
        if !out.contains(extra) {
            out.push(extra.clone());
        }
    }
    out
}

/// Header names: `[a-z0-9_.-]`, as providers write them (`intuit_tid`).
fn check_header_name(name: &str, field: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 100
        || !name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
    {
        return Err(format!(
            "{field}: `{}` is not a header name: use ASCII letters, digits, `-`, `_` and `.`",
            name.escape_debug()
        ));
    }
    Ok(())
}

fn de_hosts<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<ApiHost>>, D::Error> {
    let hosts = Vec::<ApiHost>::deserialize(d)?;
    for (i, host) in hosts.iter().enumerate() {
        if hosts[..i].iter().any(|h| h.name == host.name) {
            return Err(serde::de::Error::custom(format!(
                "API host `{}` is declared twice: give each host its own name",
                host.name
            )));
        }
    }
    Ok(Some(hosts))
}

#[derive(Deserialize)]
#[serde(try_from = "String")]
struct RequestHeader(String);

impl TryFrom<String> for RequestHeader {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        let name = name.to_ascii_lowercase();
        check_header_name(&name, "request_headers")?;
        if never_passed(&name) {
            return Err(format!(
                "request_headers: `{name}` never passes to a provider (credentials, framing, hop-by-hop and CORS headers are the proxy's); remove it"
            ));
        }
        Ok(RequestHeader(name))
    }
}

#[derive(Deserialize)]
#[serde(try_from = "String")]
struct ResponseHeader(String);

impl TryFrom<String> for ResponseHeader {
    type Error = String;

    fn try_from(pattern: String) -> Result<Self, String> {
        let pattern = pattern.to_ascii_lowercase();
        let (name, prefix) = match pattern.strip_suffix('*') {
            Some(prefix) => (prefix, true),
            None => (pattern.as_str(), false),
        };
        check_header_name(name, "response_headers")?;
        let hides_secret = match prefix {
            false => never_passed(name),
            true => {
                NEVER_PASSED.iter().any(|n| n.starts_with(name))
                    || NEVER_PASSED_PREFIXES
                        .iter()
                        .any(|p| p.starts_with(name) || name.starts_with(p))
            }
        };
        if hides_secret {
            return Err(format!(
                "response_headers: `{pattern}` would show cookies, credentials, framing, hop-by-hop or CORS headers, which never pass; name the headers you need"
            ));
        }
        Ok(ResponseHeader(pattern))
    }
}

#[derive(Deserialize)]
#[serde(try_from = "String")]
struct MediaType(String);

impl TryFrom<String> for MediaType {
    type Error = String;

    fn try_from(pattern: String) -> Result<Self, String> {
        let pattern = pattern.to_ascii_lowercase();
        let token = |t: &str| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
        };
        match pattern.split_once('/') {
            Some((kind, sub)) if token(kind) && (sub == "*" || token(sub)) => {
                Ok(MediaType(pattern))
            }
            _ => Err(format!(
                "binary_types: `{}` is not a media type such as `application/pdf` or `image/*`",
                pattern.escape_debug()
            )),
        }
    }
}

fn de_request_headers<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let list = Vec::<RequestHeader>::deserialize(d)?;
    Ok(Some(list.into_iter().map(|h| h.0).collect()))
}

fn de_response_headers<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let list = Vec::<ResponseHeader>::deserialize(d)?;
    Ok(Some(list.into_iter().map(|h| h.0).collect()))
}

fn de_binary_types<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let list = Vec::<MediaType>::deserialize(d)?;
    Ok(Some(list.into_iter().map(|t| t.0).collect()))
}
