//! Provider quirks the catalog describes as data, end to end through a real
//! OAuth server and headless Chromium: QuickBooks' company id arrives with
//! the code in the consent callback (`realmId`) and is kept in the
//! connector's `connection_config`, which functions receive with the token.

use connectors_testkit::runtime;
use serde_json::json;

use crate::support::oidc::{consent_until_callback, OidcServer};
use crate::support::{http_request, TestServer, TokenServer};

#[test]
fn quickbooks_realm_id_from_the_callback_reaches_functions() {
    let mut oidc = None;
    let builder = TestServer::builder()
        .config(|public_url| {
            let server = OidcServer::start(json!({
                "port": 0,
                "clients": [{"client_id": "qb-client", "client_secret": "qb-secret",
                    "redirect_uris": [format!("{public_url}/oauth/callback")],
                    "token_endpoint_auth_method": "client_secret_basic"}],
                "scopes": ["openid", "offline_access", "com.intuit.quickbooks.accounting", "extra.read"],
                "pkceRequired": false,
            }));
            // The built-in entry (Basic auth, no PKCE, callback_params), at our OAuth server.
            let config = format!(
                r#"
[providers.quickbooks]
authorization_url = "{}"
token_url = "{}"
client_id = "qb-client"
client_secret = "qb-secret"
required_scopes = ["openid", "offline_access"]
"#,
                server.endpoint("authorization_endpoint"),
                server.endpoint("token_endpoint"),
            );
            oidc = Some(server);
            config
        })
        .serve();
    let server = runtime().block_on(builder.start());
    let _oidc = oidc.expect("the OAuth server started with ours");
    let key = server.api_key().to_string();
    let put = |scopes: &str| -> serde_json::Value {
        let (status, body) = http_request(
            "PUT",
            &format!(
                "{}/api/apps/{}/external-auth/integrations/quickbooks",
                server.url,
                server.app_id()
            ),
            &[("api_key", &key)],
            Some(&format!(r#"{{"scopes": [{scopes}]}}"#)),
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    };
    let consent_with = |answer: serde_json::Value, realm: &str| {
        let (callback, cookie) = consent_until_callback(answer["redirect_url"].as_str().unwrap());
        let (status, page) = http_request(
            "GET",
            &format!("{callback}&realmId={realm}"),
            &[("cookie", &cookie)],
            None,
        )
        .unwrap();
        assert_eq!(status, 200, "{page}");
    };

    consent_with(put(r#""com.intuit.quickbooks.accounting""#), "9130355");
    let (status, body) = server.token("quickbooks");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["connection_config"]["realm_id"], "9130355", "{body}");

    // A value that is no plausible id (a control character) is not kept.
    consent_with(
        put(r#""com.intuit.quickbooks.accounting", "extra.read""#),
        "91%0A30",
    );
    let (status, body) = server.token("quickbooks");
    assert_eq!(status, 200, "{body}");
    assert!(body["connection_config"]["realm_id"].is_null(), "{body}");
}
