//! Every built-in integration's consent link and token request, checked
//! against the catalog data and against a table of documented facts.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use connectors_catalog::{
    BodyFormat, Catalog, ClientAuth, ClientCredentials, Integration, OAuthSpec,
};
use connectors_oauth::{
    authorization_url, token_request, AuthorizationRequest, Grant, OAuthError, PkceVerifier,
    Secret, TokenRequest,
};
use url::Url;

const CLIENT_ID: &str = "my-client";
/// Characters that RFC 6749 §2.3.1 form-encodes inside HTTP Basic.
const CLIENT_SECRET: &str = "s3cr:t/+= x";
const REDIRECT: &str = "https://connectors.example.com/api/oauth/callback";
const STATE: &str = "STATE";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn scopes() -> Vec<String> {
    vec!["scope.one".into(), "scope.two".into()]
}

fn client() -> ClientCredentials {
    ClientCredentials {
        client_id: CLIENT_ID.into(),
        client_secret: Some(Secret::new(CLIENT_SECRET)),
    }
}

/// An example value for each connection_config field: its placeholder,
/// which must satisfy its validation pattern.
fn example_config(integration: &Integration) -> BTreeMap<String, String> {
    let mut config = BTreeMap::new();
    for field in &integration.connection_config_fields {
        let value = field.placeholder.clone();
        if let Some(pattern) = &field.validation_pattern {
            let re = regex::Regex::new(pattern).unwrap();
            assert!(
                re.is_match(&value),
                "{}: placeholder `{value}` of `{}` does not match its validation_pattern",
                integration.integration_type,
                field.name
            );
        }
        config.insert(field.name.clone(), value);
    }
    config
}

/// The template filled by plain text replacement (an independent oracle).
fn naive_fill(template: &str, spec: &OAuthSpec, config: &BTreeMap<String, String>) -> String {
    let mut out = template.to_owned();
    for (k, v) in config.iter().chain(&spec.placeholder_defaults) {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    assert!(!out.contains('{'), "unfilled placeholder in {out}");
    out
}

fn pairs(url: &Url) -> Vec<(String, String)> {
    url.query_pairs().into_owned().collect()
}

fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let mut found = pairs.iter().filter(|(n, _)| n == name);
    let first = found.next().map(|(_, v)| v.as_str());
    assert!(found.next().is_none(), "parameter `{name}` appears twice");
    first
}

fn auth_url(integration: &Integration, scopes: &[String]) -> Url {
    let spec = integration.oauth();
    let config = example_config(integration);
    authorization_url(&AuthorizationRequest {
        spec: &spec,
        client_id: CLIENT_ID,
        redirect_uri: REDIRECT,
        scopes,
        state: STATE,
        pkce_challenge: Some(CHALLENGE),
        connection_config: &config,
    })
    .unwrap_or_else(|e| panic!("{}: {e}", integration.integration_type))
}

fn code_request(integration: &Integration) -> TokenRequest {
    let spec = integration.oauth();
    token_request(
        &spec,
        &client(),
        &Grant::AuthorizationCode {
            code: "CODE",
            redirect_uri: REDIRECT,
            pkce_verifier: Some(PkceVerifier::new(Secret::new(VERIFIER))),
        },
        &example_config(integration),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", integration.integration_type))
}

/// The body as name/value pairs, whatever its encoding.
fn body_pairs(request: &TokenRequest) -> Vec<(String, String)> {
    let body = request.body.expose();
    match request.content_type {
        "application/x-www-form-urlencoded" => url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect(),
        "application/json" => {
            let value: serde_json::Value = serde_json::from_str(body).unwrap();
            value
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect()
        }
        other => panic!("unexpected content type {other}"),
    }
}

fn header<'a>(request: &'a TokenRequest, name: &str) -> Vec<&'a str> {
    request
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

fn basic_header() -> String {
    // form-urlencoded id and secret (RFC 6749 §2.3.1), then base64.
    format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:s3cr%3At%2F%2B%3D+x"))
    )
}

/// What the providers document (providers.md and the providers' docs), per type:
/// (client auth, body format, PKCE, scope parameter, scope separator, client id parameter).
type Row = (
    ClientAuth,
    BodyFormat,
    bool,
    &'static str,
    &'static str,
    &'static str,
);

fn documented(integration_type: &str) -> Option<Row> {
    use BodyFormat::{Form, Json};
    use ClientAuth::{ClientSecretBasic as Basic, ClientSecretPost as Post};
    let standard = |pkce| (Post, Form, pkce, "scope", " ", "client_id");
    Some(match integration_type {
        "airtable" => (Basic, Form, true, "scope", " ", "client_id"),
        "bamboohr" => (Post, Json, false, "scope", " ", "client_id"),
        "box" | "clickup" | "contentful" | "discord" | "hubspot" | "linkedin" | "splitwise"
        | "typeform" => standard(false),
        "calendly" | "databricks" | "dropbox" | "github" | "gitlab" | "hugging_face"
        | "salesforce" => standard(true),
        "gmail"
        | "googleads"
        | "google_analytics"
        | "googlebigquery"
        | "googlecalendar"
        | "google_classroom"
        | "googledocs"
        | "googledrive"
        | "googlemeet"
        | "google_search_console"
        | "googlesheets"
        | "googleslides"
        | "googletasks" => standard(true),
        "microsoft_teams" | "one_drive" | "outlook" | "share_point" => standard(true),
        "instagram" | "wrike" => (Post, Form, false, "scope", ",", "client_id"),
        "linear" => (Post, Form, true, "scope", ",", "client_id"),
        "notion" => (Basic, Json, false, "scope", " ", "client_id"),
        "quickbooks" => (Basic, Form, false, "scope", " ", "client_id"),
        "slack" => (Post, Form, false, "user_scope", ",", "client_id"),
        "slackbot" => (Post, Form, false, "scope", ",", "client_id"),
        "snowflake" | "supabase" => (Basic, Form, true, "scope", " ", "client_id"),
        "square" => (Post, Json, false, "scope", " ", "client_id"),
        "tiktok" => (Post, Form, false, "scope", ",", "client_key"),
        "wix" => (Post, Json, false, "scope", " ", "appId"),
        _ => return None,
    })
}

#[test]
fn every_integration_builds_the_documented_requests() {
    let catalog = Catalog::builtin();
    let mut checked = 0;
    for integration in catalog.iter() {
        let t = integration.integration_type.as_str();
        let spec = integration.oauth();
        let config = example_config(integration);

        // The documented facts agree with the catalog data.
        let row = documented(t).unwrap_or_else(|| {
            panic!("`{t}` has no row in `documented`: add what its provider documents")
        });
        let data = (
            spec.client_auth,
            spec.token_body,
            spec.pkce,
            spec.scope_param.as_str(),
            spec.scope_separator.as_str(),
            spec.client_id_param.as_str(),
        );
        assert_eq!(data, row, "{t}: catalog differs from the documented facts");

        // Consent link.
        let url = auth_url(integration, &scopes());
        let expected = Url::parse(&naive_fill(&spec.authorization_url, &spec, &config)).unwrap();
        assert_eq!(url.scheme(), "https", "{t}");
        assert_eq!(url.host_str(), expected.host_str(), "{t}");
        assert_eq!(url.path(), expected.path(), "{t}");
        let q = pairs(&url);
        for (name, value) in expected.query_pairs() {
            if spec.authorization_params.contains_key(name.as_ref()) {
                continue;
            }
            assert_eq!(
                get(&q, &name),
                Some(value.as_ref()),
                "{t}: template parameter {name}"
            );
        }
        assert_eq!(get(&q, "response_type"), Some("code"), "{t}");
        assert_eq!(get(&q, &spec.client_id_param), Some(CLIENT_ID), "{t}");
        if spec.client_id_param != "client_id" {
            assert_eq!(get(&q, "client_id"), None, "{t}");
        }
        assert_eq!(get(&q, "redirect_uri"), Some(REDIRECT), "{t}");
        assert_eq!(get(&q, "state"), Some(STATE), "{t}");
        let mut want_scopes = scopes();
        for s in &spec.required_scopes {
            if !want_scopes.contains(s) {
                want_scopes.push(s.clone());
            }
        }
        assert_eq!(
            get(&q, &spec.scope_param),
            Some(want_scopes.join(&spec.scope_separator).as_str()),
            "{t}: scopes"
        );
        if spec.scope_param != "scope" {
            assert_eq!(get(&q, "scope"), None, "{t}");
        }
        if spec.pkce {
            assert_eq!(get(&q, "code_challenge"), Some(CHALLENGE), "{t}");
            assert_eq!(get(&q, "code_challenge_method"), Some("S256"), "{t}");
        } else {
            assert_eq!(get(&q, "code_challenge"), None, "{t}");
            assert_eq!(get(&q, "code_challenge_method"), None, "{t}");
        }
        for (name, value) in &spec.authorization_params {
            assert_eq!(get(&q, name), Some(value.as_str()), "{t}: {name}");
        }
        assert!(
            !url.as_str().contains("s3cr"),
            "{t}: secret in the consent link"
        );

        // Without builder scopes only the required ones are asked for.
        let bare = pairs(&auth_url(integration, &[]));
        if spec.required_scopes.is_empty() {
            assert_eq!(get(&bare, &spec.scope_param), None, "{t}");
        } else {
            assert_eq!(
                get(&bare, &spec.scope_param),
                Some(spec.required_scopes.join(&spec.scope_separator).as_str()),
                "{t}"
            );
        }

        // Authorization-code token request.
        let request = code_request(integration);
        let expected = Url::parse(&naive_fill(&spec.token_url, &spec, &config)).unwrap();
        assert_eq!(
            Url::parse(&request.url).unwrap(),
            expected,
            "{t}: token URL"
        );
        let body = body_pairs(&request);
        match spec.token_body {
            BodyFormat::Form => {
                assert_eq!(
                    request.content_type, "application/x-www-form-urlencoded",
                    "{t}"
                )
            }
            BodyFormat::Json => assert_eq!(request.content_type, "application/json", "{t}"),
        }
        assert_eq!(get(&body, "grant_type"), Some("authorization_code"), "{t}");
        assert_eq!(get(&body, "code"), Some("CODE"), "{t}");
        assert_eq!(get(&body, "redirect_uri"), Some(REDIRECT), "{t}");
        assert_eq!(
            get(&body, "code_verifier"),
            spec.pkce.then_some(VERIFIER),
            "{t}: code_verifier iff PKCE"
        );
        match spec.client_auth {
            ClientAuth::ClientSecretBasic => {
                assert_eq!(header(&request, "Authorization"), [basic_header()], "{t}");
                assert_eq!(get(&body, "client_secret"), None, "{t}");
                assert_eq!(get(&body, &spec.client_id_param), None, "{t}");
            }
            ClientAuth::ClientSecretPost => {
                assert!(header(&request, "Authorization").is_empty(), "{t}");
                assert_eq!(get(&body, &spec.client_id_param), Some(CLIENT_ID), "{t}");
                assert_eq!(get(&body, "client_secret"), Some(CLIENT_SECRET), "{t}");
            }
        }
        assert_eq!(header(&request, "Accept"), ["application/json"], "{t}");
        for (name, value) in &spec.token_headers {
            assert_eq!(
                header(&request, name),
                [value.as_str()],
                "{t}: header {name}"
            );
        }
        for (name, value) in &spec.token_params {
            assert_eq!(get(&body, name), Some(value.as_str()), "{t}: {name}");
        }
        let debug = format!("{request:?}");
        assert!(
            !debug.contains("s3cr") && !debug.contains("CODE"),
            "{t}: {debug}"
        );

        // Refresh-token request.
        let refresh = Secret::new("REFRESH-TOKEN");
        let request = token_request(
            &spec,
            &client(),
            &Grant::RefreshToken {
                refresh_token: &refresh,
                scopes: None,
            },
            &config,
        )
        .unwrap();
        let body = body_pairs(&request);
        assert_eq!(get(&body, "grant_type"), Some("refresh_token"), "{t}");
        assert_eq!(get(&body, "refresh_token"), Some("REFRESH-TOKEN"), "{t}");
        assert_eq!(get(&body, "scope"), None, "{t}");
        assert_eq!(get(&body, "code_verifier"), None, "{t}");

        checked += 1;
    }
    assert!(checked >= 40, "only {checked} integrations checked");
}

fn integration(t: &str) -> Integration {
    Catalog::builtin().get(t).unwrap().clone()
}

#[test]
fn google_asks_for_offline_access_and_consent() {
    for t in ["googlecalendar", "gmail", "googledrive", "googlesheets"] {
        let url = auth_url(
            &integration(t),
            &["https://www.googleapis.com/auth/calendar".into()],
        );
        assert!(url
            .as_str()
            .starts_with("https://accounts.google.com/o/oauth2/v2/auth?"));
        let q = pairs(&url);
        assert_eq!(get(&q, "access_type"), Some("offline"));
        assert_eq!(get(&q, "prompt"), Some("consent"));
        assert_eq!(get(&q, "include_granted_scopes"), Some("true"));
        assert_eq!(get(&q, "code_challenge_method"), Some("S256"));
        assert_eq!(
            get(&q, "scope"),
            Some("https://www.googleapis.com/auth/calendar")
        );
        let request = code_request(&integration(t));
        assert_eq!(request.url, "https://oauth2.googleapis.com/token");
    }
}

#[test]
fn slack_user_scopes_go_in_user_scope_comma_separated() {
    let url = auth_url(
        &integration("slack"),
        &["chat:write".into(), "channels:read".into()],
    );
    assert_eq!(url.host_str(), Some("slack.com"));
    assert_eq!(url.path(), "/oauth/v2/authorize");
    let q = pairs(&url);
    assert_eq!(get(&q, "user_scope"), Some("chat:write,channels:read"));
    assert_eq!(get(&q, "scope"), None);
    assert_eq!(get(&q, "code_challenge"), None);
    assert!(url
        .as_str()
        .contains("user_scope=chat%3Awrite%2Cchannels%3Aread"));

    let bot = pairs(&auth_url(
        &integration("slackbot"),
        &["chat:write".into(), "im:read".into()],
    ));
    assert_eq!(get(&bot, "scope"), Some("chat:write,im:read"));
    assert_eq!(get(&bot, "user_scope"), None);
}

#[test]
fn tiktok_uses_client_key_and_commas() {
    let t = integration("tiktok");
    let q = pairs(&auth_url(
        &t,
        &["user.info.basic".into(), "video.list".into()],
    ));
    assert_eq!(get(&q, "client_key"), Some(CLIENT_ID));
    assert_eq!(get(&q, "client_id"), None);
    assert_eq!(get(&q, "scope"), Some("user.info.basic,video.list"));
    assert_eq!(get(&q, "code_challenge"), None);
    let body = body_pairs(&code_request(&t));
    assert_eq!(get(&body, "client_key"), Some(CLIENT_ID));
    assert_eq!(get(&body, "client_id"), None);
    assert_eq!(get(&body, "client_secret"), Some(CLIENT_SECRET));
}

#[test]
fn notion_uses_basic_json_and_owner_user() {
    let n = integration("notion");
    let q = pairs(&auth_url(&n, &[]));
    assert_eq!(get(&q, "owner"), Some("user"));
    assert_eq!(get(&q, "scope"), None);
    let request = code_request(&n);
    assert_eq!(request.url, "https://api.notion.com/v1/oauth/token");
    assert_eq!(request.content_type, "application/json");
    assert_eq!(header(&request, "Authorization"), [basic_header()]);
    let body: serde_json::Value = serde_json::from_str(request.body.expose()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "grant_type": "authorization_code",
            "code": "CODE",
            "redirect_uri": REDIRECT,
        })
    );
}

#[test]
fn linkedin_sends_no_pkce() {
    let l = integration("linkedin");
    let q = pairs(&auth_url(&l, &["openid".into(), "profile".into()]));
    assert_eq!(get(&q, "code_challenge"), None);
    assert_eq!(get(&q, "code_challenge_method"), None);
    assert_eq!(get(&q, "scope"), Some("openid profile"));
    assert_eq!(get(&body_pairs(&code_request(&l)), "code_verifier"), None);
}

#[test]
fn microsoft_fills_the_tenant_and_adds_offline_access() {
    let o = integration("outlook");
    let url = auth_url(
        &o,
        &[
            "Mail.Read".into(),
            "offline_access".into(),
            "User.Read".into(),
        ],
    );
    assert!(url
        .as_str()
        .starts_with("https://login.microsoftonline.com/common/oauth2/v2.0/authorize?"));
    let q = pairs(&url);
    assert_eq!(get(&q, "scope"), Some("Mail.Read offline_access User.Read"));
    assert_eq!(get(&q, "response_mode"), Some("query"));
    let q = pairs(&auth_url(&o, &["Mail.Read".into()]));
    assert_eq!(get(&q, "scope"), Some("Mail.Read offline_access"));
    assert_eq!(
        code_request(&o).url,
        "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    );

    // A tenant in connection_config wins over the default.
    let spec = o.oauth();
    let config: BTreeMap<String, String> =
        [("tenant".to_string(), "contoso.onmicrosoft.com".to_string())].into();
    let url = authorization_url(&AuthorizationRequest {
        spec: &spec,
        client_id: CLIENT_ID,
        redirect_uri: REDIRECT,
        scopes: &[],
        state: STATE,
        pkce_challenge: Some(CHALLENGE),
        connection_config: &config,
    })
    .unwrap();
    assert_eq!(url.path(), "/contoso.onmicrosoft.com/oauth2/v2.0/authorize");
}

#[test]
fn github_asks_for_json() {
    let request = code_request(&integration("github"));
    assert_eq!(request.url, "https://github.com/login/oauth/access_token");
    assert_eq!(header(&request, "Accept"), ["application/json"]);
    assert_eq!(request.headers.len(), 1, "{:?}", request.headers);
}

#[test]
fn templated_hosts_need_their_value() {
    for t in ["bamboohr", "snowflake", "databricks"] {
        let i = integration(t);
        let spec = i.oauth();
        let empty = BTreeMap::new();
        let err = authorization_url(&AuthorizationRequest {
            spec: &spec,
            client_id: CLIENT_ID,
            redirect_uri: REDIRECT,
            scopes: &[],
            state: STATE,
            pkce_challenge: Some(CHALLENGE),
            connection_config: &empty,
        })
        .unwrap_err();
        let field = &i.connection_config_fields[0].name;
        assert!(
            matches!(&err, OAuthError::MissingPlaceholder { name, .. } if name == field),
            "{t}: {err}"
        );
        assert!(err.to_string().contains(field.as_str()));
        let code = token_request(
            &spec,
            &client(),
            &Grant::AuthorizationCode {
                code: "CODE",
                redirect_uri: REDIRECT,
                pkce_verifier: Some(PkceVerifier::new(Secret::new(VERIFIER))),
            },
            &empty,
        );
        assert!(
            matches!(code, Err(OAuthError::MissingPlaceholder { .. })),
            "{t}"
        );
    }
    // BambooHR keeps the token URL's own query.
    let request = code_request(&integration("bamboohr"));
    assert_eq!(
        request.url,
        "https://mycompany.bamboohr.com/token.php?request=token"
    );
}

#[test]
fn client_secret_rules() {
    let grant = Grant::AuthorizationCode {
        code: "CODE",
        redirect_uri: REDIRECT,
        pkce_verifier: Some(PkceVerifier::new(Secret::new(VERIFIER))),
    };
    let public = ClientCredentials {
        client_id: CLIENT_ID.into(),
        client_secret: None,
    };
    let none = BTreeMap::new();
    // Basic needs a secret.
    let err = token_request(&integration("notion").oauth(), &public, &grant, &none).unwrap_err();
    assert!(
        matches!(err, OAuthError::MissingClientSecret { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("client_secret"), "{err}");
    // A public client is fine in the body with PKCE...
    let request = token_request(&integration("gitlab").oauth(), &public, &grant, &none).unwrap();
    let body = body_pairs(&request);
    assert_eq!(get(&body, "client_id"), Some(CLIENT_ID));
    assert_eq!(get(&body, "client_secret"), None);
    // ... but not without it.
    let err = token_request(&integration("hubspot").oauth(), &public, &grant, &none).unwrap_err();
    assert!(
        matches!(err, OAuthError::MissingClientSecret { .. }),
        "{err}"
    );
    // PKCE providers need the verifier.
    let no_verifier = Grant::AuthorizationCode {
        code: "CODE",
        redirect_uri: REDIRECT,
        pkce_verifier: None,
    };
    assert_eq!(
        token_request(
            &integration("gitlab").oauth(),
            &client(),
            &no_verifier,
            &none
        )
        .unwrap_err(),
        OAuthError::MissingPkce { what: "verifier" }
    );
    assert!(token_request(
        &integration("hubspot").oauth(),
        &client(),
        &no_verifier,
        &none
    )
    .is_ok());
}

#[test]
fn refresh_with_scopes_uses_the_separator() {
    let refresh = Secret::new("R");
    let narrowed = vec!["a".to_string(), "b".to_string()];
    let grant = Grant::RefreshToken {
        refresh_token: &refresh,
        scopes: Some(&narrowed),
    };
    let none = BTreeMap::new();
    let body = body_pairs(
        &token_request(&integration("linear").oauth(), &client(), &grant, &none).unwrap(),
    );
    assert_eq!(get(&body, "scope"), Some("a,b"));
    let body = body_pairs(
        &token_request(&integration("outlook").oauth(), &client(), &grant, &none).unwrap(),
    );
    // With the provider's required scopes (Microsoft: offline_access).
    assert_eq!(get(&body, "scope"), Some("a b offline_access"));
}

#[test]
fn microsoft_refreshes_repeat_the_consented_scopes() {
    let catalog = connectors_catalog::Catalog::builtin();
    for integration in catalog.iter() {
        let microsoft = integration
            .oauth()
            .token_url
            .contains("login.microsoftonline.com");
        assert_eq!(
            integration.oauth().refresh_scopes,
            microsoft,
            "{}",
            integration.integration_type
        );
    }
}

#[test]
fn callback_values_are_data() {
    // QuickBooks sends the company id with the code, not in the token answer.
    let spec = integration("quickbooks").oauth();
    assert_eq!(
        spec.callback_params.get("realm_id").map(String::as_str),
        Some("realmId")
    );
    // The others read nothing from the callback but code and state.
    for integration in connectors_catalog::Catalog::builtin().iter() {
        if integration.integration_type != "quickbooks" {
            assert!(
                integration.oauth().callback_params.is_empty(),
                "{}",
                integration.integration_type
            );
        }
    }
}
