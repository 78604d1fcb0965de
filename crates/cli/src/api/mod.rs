//! The Base44 API as the CLI calls it: app-scoped connector endpoints
//! (protocol.md §1.1), their error texts (§3.9), and response validation.
//!
//! Bodies are deserialized into `connectors_wire` types after
//! [`schema`] has checked them with the npm CLI's rules.

pub mod client;
pub mod schema;

use std::time::Duration;

use connectors_wire::{
    AvailableIntegrations, ConnectorList, Disconnected, OAuthStatusResponse,
    RemoveConnectorResponse, SetConnectorRequest, SetConnectorResponse, StripeInstallResponse,
    StripeRemoveResponse, StripeStatusResponse, WorkspaceConnectionList,
};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, CliError, Hint};
use crate::json::Ordered;
use client::{Auth, Body, Http, Response, TransportError, DEFAULT_TIMEOUT, STRIPE_TIMEOUT};
use schema::Schema;

/// The npm CLI truncates a non-JSON error body to this many characters.
const MAX_RESPONSE_TEXT_CHARS: usize = 500;

/// The text after `Error <context>: ` for an error body, as the npm CLI's
/// `formatApiError` picks it: `message`, else `detail` (strings as they are,
/// anything else pretty JSON), else the whole body as pretty JSON.
pub fn error_text(body: &Ordered) -> String {
    if let Ordered::Object(_) = body {
        let content = match body.get("message") {
            Some(Ordered::Null) | None => body.get("detail"),
            some => some,
        };
        match content {
            Some(Ordered::String(s)) => return s.clone(),
            // `null ?? undefined` is undefined: fall through to the whole body;
            // an explicit `"detail": null` is printed as `null`.
            None => {}
            Some(other) => return other.pretty(),
        }
    }
    match body {
        Ordered::String(s) => s.clone(),
        other => other.pretty(),
    }
}

/// `extra_data.errors[]` as `name: message` lines (all or nothing, as zod's
/// `.catch(undefined)` does).
fn error_details(body: &Ordered) -> Vec<String> {
    let Some(Ordered::Array(errors)) = body.get("extra_data").and_then(|e| e.get("errors")) else {
        return vec![];
    };
    let mut lines = Vec::new();
    for e in errors {
        match (e.get("name"), e.get("message")) {
            (Some(Ordered::String(n)), Some(Ordered::String(m))) => lines.push(format!("{n}: {m}")),
            _ => return vec![],
        }
    }
    lines
}

/// Hints for known `extra_data.reason` values.
fn reason_hints(body: &Ordered) -> Option<Vec<Hint>> {
    match body.get("extra_data").and_then(|e| e.get("reason")) {
        Some(Ordered::String(r)) if r == "requires_backend_platform_app" => Some(vec![
            Hint::new("This feature requires an app created with the Base44 CLI. Remove `base44/.app.jsonc` and run 'base44 link' to connect your project to a CLI-created app."),
            Hint::new("Read more at https://docs.base44.com/developers/backend/overview/introduction"),
        ]),
        _ => None,
    }
}

/// The npm CLI's default hints by status (`ApiError.getDefaultHints`).
pub fn default_hints(status: Option<u16>, using_api_key: bool) -> Vec<Hint> {
    match status {
        Some(400) => vec![Hint::new(
            "The server rejected the request. Check the error message above for details.",
        )],
        Some(401) if using_api_key => vec![Hint::new(
            "The workspace API key (BASE44_API_KEY) was rejected. Verify it is valid and authorized for this app.",
        )],
        Some(401) => vec![Hint::with_command("Try logging in again", "base44 login")],
        Some(403) => vec![Hint::new("You don't have permission to perform this action")],
        Some(404) => vec![Hint::new("The requested resource was not found")],
        Some(422) => vec![Hint::new(
            "The request was rejected due to a validation error. Check the error message above for details.",
        )],
        Some(428) => vec![Hint::new(
            "The server rejected the request due to a precondition failure. Check the error message above for details",
        )],
        Some(s) if s < 500 => vec![],
        _ => vec![Hint::new("Check your network connection and try again")],
    }
}

/// `ApiError.fromHttpError` for a non-2xx response.
pub fn http_error(resp: &Response, context: &str, using_api_key: bool) -> ApiError {
    let parsed = Ordered::parse(&resp.body).ok();
    let (text, details, hints, key_error) = match &parsed {
        Some(body) => {
            let key_error =
                matches!(body.get("error_type"), Some(Ordered::String(t)) if t == "KeyError");
            let (details, hints) = if let Ordered::Object(_) = body {
                (error_details(body), reason_hints(body))
            } else {
                (vec![], None)
            };
            (error_text(body), details, hints, key_error)
        }
        None => {
            let reason = format!("{} {}", resp.status, resp.status_text);
            let head = format!(
                "Request failed with status code {}: {} {}",
                reason.trim(),
                resp.method,
                resp.url
            );
            let body = resp.body.trim();
            let text = if body.is_empty() {
                format!(
                    "{head} — empty body, content-type {}",
                    resp.content_type.as_deref().unwrap_or("absent")
                )
            } else if body.chars().count() > MAX_RESPONSE_TEXT_CHARS {
                let cut: String = body.chars().take(MAX_RESPONSE_TEXT_CHARS).collect();
                format!("{head} — {cut}…")
            } else {
                format!("{head} — {body}")
            };
            (text, vec![], None, false)
        }
    };
    let status = if key_error { 404 } else { resp.status };
    ApiError {
        message: format!("Error {context}: {text}"),
        status: Some(status),
        request_id: resp.request_id.clone(),
        details,
        hints: hints.unwrap_or_else(|| default_hints(Some(status), using_api_key)),
    }
}

/// `ApiError.fromHttpError` for a request that got no response.
pub fn transport_error(err: &TransportError, context: &str) -> ApiError {
    ApiError {
        message: format!("Error {context}: {}", err.message()),
        status: None,
        request_id: None,
        details: vec![],
        hints: default_hints(None, false),
    }
}

/// Validates `value` against `schema` and deserializes it.
pub fn parse_body<T: DeserializeOwned>(
    schema: &Schema,
    value: &Value,
    context: &str,
) -> Result<T, CliError> {
    let issues = schema::validate(schema, value);
    if !issues.is_empty() {
        return Err(CliError::Schema {
            message: format!("{context}:\n{}", schema::prettify(&issues)),
            hints: vec![Hint::new("Fix the schema/data structure errors above")],
        });
    }
    serde_json::from_value(value.clone()).map_err(|e| CliError::Schema {
        message: format!("{context}:\n✖ {e}"),
        hints: vec![Hint::new("Fix the schema/data structure errors above")],
    })
}

/// The body of a 2xx response as JSON.
pub fn json_body(resp: &Response) -> Result<Value, CliError> {
    serde_json::from_str(&resp.body).map_err(|e| {
        CliError::invalid_response(&format!(
            "✖ The body is not JSON ({e}): {} {}",
            resp.method, resp.url
        ))
    })
}

/// The connector endpoints of one app.
#[derive(Clone)]
pub struct AppClient {
    http: Http,
    auth: Auth,
    base: Url,
}

impl AppClient {
    /// A client for app `id`: `new URL("/api/apps/{id}/", BASE44_API_URL)`,
    /// so a path inside `BASE44_API_URL` is dropped, as the npm CLI drops it.
    pub fn new(http: Http, auth: Auth, app_id: &str) -> Result<Self, CliError> {
        let invalid = |e: String| CliError::ConfigInvalid {
            message: format!("Invalid BASE44_API_URL {:?}: {e}", http.api_url),
            hints: vec![Hint::new(
                "Set BASE44_API_URL to a bare origin such as https://app.base44.com",
            )],
        };
        let origin = Url::parse(&http.api_url).map_err(|e| invalid(e.to_string()))?;
        let base = origin
            .join(&format!("/api/apps/{app_id}/"))
            .map_err(|e| invalid(e.to_string()))?;
        Ok(Self { http, auth, base })
    }

    fn using_api_key(&self) -> bool {
        matches!(self.auth, Auth::ApiKey(_))
    }

    fn url(&self, path: &str) -> Url {
        // Paths are built from validated types and fixed segments.
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Body,
        timeout: Duration,
        context: &str,
        schema: Schema,
    ) -> Result<T, CliError> {
        self.call_keeping_body(method, url, body, timeout, context, schema)
            .await
            .map(|(parsed, _)| parsed)
    }

    /// [`Self::call`], also answering the validated JSON body as received.
    async fn call_keeping_body<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Body,
        timeout: Duration,
        context: &str,
        schema: Schema,
    ) -> Result<(T, Value), CliError> {
        let resp = self
            .http
            .send(method, url, body, &self.auth, timeout)
            .await
            .map_err(|e| CliError::Api(transport_error(&e, context)))?;
        if !resp.ok() {
            return Err(CliError::Api(http_error(
                &resp,
                context,
                self.using_api_key(),
            )));
        }
        let value = json_body(&resp)?;
        let parsed = parse_body(&schema, &value, "Invalid response from server")?;
        Ok((parsed, value))
    }

    /// `GET external-auth/list`.
    pub async fn list_connectors(&self) -> Result<ConnectorList, CliError> {
        self.call(
            Method::GET,
            self.url("external-auth/list"),
            Body::Empty,
            DEFAULT_TIMEOUT,
            "listing connectors",
            schema::bodies::connector_list(),
        )
        .await
    }

    /// `PUT external-auth/integrations/{type}` with `{scopes}`.
    pub async fn set_connector(
        &self,
        integration_type: &str,
        scopes: &[String],
    ) -> Result<SetConnectorResponse, CliError> {
        let body = serde_json::to_string(&SetConnectorRequest {
            scopes: scopes.to_vec(),
        })
        .unwrap_or_else(|_| "{\"scopes\":[]}".into());
        self.call(
            Method::PUT,
            self.url(&format!("external-auth/integrations/{integration_type}")),
            Body::Json(body),
            DEFAULT_TIMEOUT,
            "setting connector",
            schema::bodies::set_connector(),
        )
        .await
    }

    /// `GET external-auth/status?integration_type=…&connection_id=…`.
    pub async fn oauth_status(
        &self,
        integration_type: &str,
        connection_id: &str,
    ) -> Result<OAuthStatusResponse, CliError> {
        let mut url = self.url("external-auth/status");
        url.query_pairs_mut()
            .append_pair("integration_type", integration_type)
            .append_pair("connection_id", connection_id);
        self.call(
            Method::GET,
            url,
            Body::Empty,
            DEFAULT_TIMEOUT,
            "checking OAuth status",
            schema::bodies::oauth_status(),
        )
        .await
    }

    /// `DELETE external-auth/integrations/{type}/remove`.
    pub async fn remove_connector(
        &self,
        integration_type: &str,
    ) -> Result<RemoveConnectorResponse, CliError> {
        self.call(
            Method::DELETE,
            self.url(&format!(
                "external-auth/integrations/{integration_type}/remove"
            )),
            Body::Empty,
            DEFAULT_TIMEOUT,
            "removing connector",
            schema::bodies::remove_connector(),
        )
        .await
    }

    /// `external-auth/connectors/{connector_id}[/{rest}]`; the id is one
    /// percent-encoded segment, whatever the user typed.
    fn connector_url(&self, connector_id: &str, rest: Option<&str>) -> Url {
        let mut url = self.url("external-auth/connectors/");
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(connector_id);
            segments.extend(rest);
        }
        url
    }

    /// `GET external-auth/connectors`: the app's connections of workspace
    /// connectors, plus the raw body for `--json`.
    pub async fn workspace_connections(
        &self,
    ) -> Result<(WorkspaceConnectionList, Value), CliError> {
        self.call_keeping_body(
            Method::GET,
            self.url("external-auth/connectors"),
            Body::Empty,
            DEFAULT_TIMEOUT,
            "listing workspace connections",
            schema::bodies::workspace_connection_list(),
        )
        .await
    }

    /// `PUT external-auth/connectors/{connector_id}[?reconnect=true]`.
    pub async fn connect_workspace_connector(
        &self,
        connector_id: &str,
        reconnect: bool,
    ) -> Result<SetConnectorResponse, CliError> {
        let mut url = self.connector_url(connector_id, None);
        if reconnect {
            url.query_pairs_mut().append_pair("reconnect", "true");
        }
        self.call(
            Method::PUT,
            url,
            Body::Empty,
            DEFAULT_TIMEOUT,
            &format!("connecting workspace connector {connector_id}"),
            schema::bodies::set_connector(),
        )
        .await
    }

    /// `GET external-auth/connectors/{connector_id}/status?connection_id=…`.
    pub async fn workspace_connection_status(
        &self,
        connector_id: &str,
        connection_id: &str,
    ) -> Result<OAuthStatusResponse, CliError> {
        let mut url = self.connector_url(connector_id, Some("status"));
        url.query_pairs_mut()
            .append_pair("connection_id", connection_id);
        self.call(
            Method::GET,
            url,
            Body::Empty,
            DEFAULT_TIMEOUT,
            "checking OAuth status",
            schema::bodies::oauth_status(),
        )
        .await
    }

    /// `DELETE external-auth/connectors/{connector_id}`.
    pub async fn disconnect_workspace_connector(
        &self,
        connector_id: &str,
    ) -> Result<Disconnected, CliError> {
        self.call(
            Method::DELETE,
            self.connector_url(connector_id, None),
            Body::Empty,
            DEFAULT_TIMEOUT,
            &format!("disconnecting workspace connector {connector_id}"),
            schema::bodies::disconnected(),
        )
        .await
    }

    /// `GET external-auth/available-integrations`, plus the raw body (the
    /// `--json` output keeps a validation key absent when it was absent).
    pub async fn available_integrations(&self) -> Result<(AvailableIntegrations, Value), CliError> {
        self.call_keeping_body(
            Method::GET,
            self.url("external-auth/available-integrations"),
            Body::Empty,
            DEFAULT_TIMEOUT,
            "listing available integrations",
            schema::bodies::available_integrations(),
        )
        .await
    }

    /// `GET payments/stripe/status`.
    pub async fn stripe_status(&self) -> Result<StripeStatusResponse, CliError> {
        self.call(
            Method::GET,
            self.url("payments/stripe/status"),
            Body::Empty,
            STRIPE_TIMEOUT,
            "checking Stripe integration status",
            schema::bodies::stripe_status(),
        )
        .await
    }

    /// `POST payments/stripe/install`.
    pub async fn stripe_install(&self) -> Result<StripeInstallResponse, CliError> {
        self.call(
            Method::POST,
            self.url("payments/stripe/install"),
            Body::Empty,
            STRIPE_TIMEOUT,
            "installing Stripe",
            schema::bodies::stripe_install(),
        )
        .await
    }

    /// `DELETE payments/stripe`.
    pub async fn stripe_remove(&self) -> Result<StripeRemoveResponse, CliError> {
        self.call(
            Method::DELETE,
            self.url("payments/stripe"),
            Body::Empty,
            STRIPE_TIMEOUT,
            "removing Stripe integration",
            schema::bodies::stripe_remove(),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(body: &str) -> String {
        error_text(&Ordered::parse(body).unwrap())
    }

    #[test]
    fn error_text_selection() {
        assert_eq!(text(r#"{"detail":"Unauthorized"}"#), "Unauthorized");
        assert_eq!(text(r#"{"message":"m","detail":"d"}"#), "m");
        assert_eq!(text(r#"{"message":null,"detail":"d"}"#), "d");
        assert_eq!(text(r#"{"detail":null}"#), "null");
        assert_eq!(text(r#"{"message":null}"#), "{\n  \"message\": null\n}");
        assert_eq!(
            text(r#"{"detail":[{"loc":["body"],"msg":"x"}]}"#),
            "[\n  {\n    \"loc\": [\n      \"body\"\n    ],\n    \"msg\": \"x\"\n  }\n]"
        );
        assert_eq!(text(r#"{"error":"x"}"#), "{\n  \"error\": \"x\"\n}");
        assert_eq!(text(r#""plain""#), "plain");
        assert_eq!(text("5"), "5");
    }

    fn response(status: u16, body: &str, ct: Option<&str>) -> Response {
        Response {
            status,
            status_text: reqwest::StatusCode::from_u16(status)
                .unwrap()
                .canonical_reason()
                .unwrap_or("")
                .into(),
            content_type: ct.map(str::to_string),
            request_id: Some("rid".into()),
            body: body.into(),
            method: Method::GET,
            url: Url::parse("http://h/api/apps/a/external-auth/list").unwrap(),
        }
    }

    #[test]
    fn http_error_texts_and_hints() {
        let e = http_error(
            &response(401, r#"{"detail":"Unauthorized"}"#, None),
            "listing connectors",
            true,
        );
        assert_eq!(e.message, "Error listing connectors: Unauthorized");
        assert_eq!(e.status, Some(401));
        assert!(e.hints[0].message.starts_with("The workspace API key"));

        let e = http_error(
            &response(502, "<html>bad</html>", None),
            "listing connectors",
            false,
        );
        assert_eq!(
            e.message,
            "Error listing connectors: Request failed with status code 502 Bad Gateway: GET http://h/api/apps/a/external-auth/list — <html>bad</html>"
        );
        assert_eq!(
            e.hints[0].message,
            "Check your network connection and try again"
        );

        let e = http_error(&response(500, "", Some("text/plain")), "x", false);
        assert!(
            e.message.ends_with("— empty body, content-type text/plain"),
            "{}",
            e.message
        );

        let e = http_error(
            &response(
                422,
                r#"{"detail":"bad","extra_data":{"errors":[{"name":"a","message":"b"}]}}"#,
                None,
            ),
            "setting connector",
            false,
        );
        assert_eq!(e.details, vec!["a: b"]);
        assert!(e.hints[0].message.contains("validation error"));

        let e = http_error(
            &response(500, r#"{"detail":"k","error_type":"KeyError"}"#, None),
            "x",
            false,
        );
        assert_eq!(e.status, Some(404));
        assert_eq!(e.hints[0].message, "The requested resource was not found");

        let e = http_error(&response(409, r#"{"detail":"c"}"#, None), "x", false);
        assert!(e.hints.is_empty());
    }
}
