//! `/metrics` access (issue #11.4): open when `[metrics]` sets no token;
//! with one, refused without it or with another (401 in the error shape),
//! served with it. The refresh families are checked after real refreshes
//! in `provider_faults.rs`.

use connectors_server::testing::{TestServer, PROVIDERS_TOML};
use connectors_testkit::{http_request, runtime};

const TOKEN: &str = "metrics-token-canary-5d1e0b";

fn scrape(server: &TestServer, authorization: Option<&str>) -> (u16, String) {
    let headers: Vec<(&str, &str)> = authorization
        .map(|a| vec![("authorization", a)])
        .unwrap_or_default();
    http_request("GET", &format!("{}/metrics", server.url), &headers, None).unwrap()
}

#[test]
fn metrics_are_open_without_a_configured_token() {
    let server = runtime().block_on(TestServer::builder().serve().start());
    let (status, text) = scrape(&server, None);
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("# TYPE connectors_refreshes counter"),
        "{text}"
    );
    assert!(text.contains("connectors_db_pool_idle"), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[test]
fn metrics_ask_for_the_configured_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    for config in [
        format!("{PROVIDERS_TOML}\n[metrics]\nbearer_token = \"{TOKEN}\"\n"),
        {
            let file = dir.path().join("metrics-token");
            std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
            format!(
                "{PROVIDERS_TOML}\n[metrics]\nbearer_token_file = \"{}\"\n",
                file.display()
            )
        },
    ] {
        let server = runtime().block_on(TestServer::builder().config(|_| config).serve().start());
        for refused in [
            None,
            Some("Bearer wrong-token"),
            Some(&format!("Bearer {TOKEN}x")[..]),
            Some(&format!("Basic {TOKEN}")[..]),
        ] {
            let (status, body) = scrape(&server, refused);
            assert_eq!(status, 401, "{refused:?}: {body}");
            let json: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(json["code"], "UNAUTHORIZED", "{body}");
            assert!(!body.contains(TOKEN), "{body}");
        }
        let (status, text) = scrape(&server, Some(&format!("Bearer {TOKEN}")));
        assert_eq!(status, 200, "{text}");
        assert!(text.contains("connectors_refresh_lag_seconds 0"), "{text}");
        // The refused scrapes were counted under the route, not a path.
        assert!(
            text.contains(
                "connectors_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"401\"} 4"
            ),
            "{text}"
        );
        assert!(!text.contains(TOKEN), "{text}");
    }
}

#[test]
fn a_bad_metrics_section_is_a_config_error() {
    use connectors_server::config::FileConfig;
    let error = FileConfig::parse("[metrics]\nbearer = \"x\"\n", "c.toml").unwrap_err();
    assert!(error.0.starts_with("c.toml:2:1:"), "{}", error.0);
}

/// The counters are created up front from `openapi.json`'s templates (so
/// that recording takes no lock): every route must count under exactly the
/// template axum matched, and a request under each shows up once.
#[test]
fn every_route_counts_under_its_openapi_template() {
    use axum::body::Body;
    use axum::http::Request;

    use crate::support::call;

    runtime().block_on(async {
        let server = TestServer::builder().start().await;
        let doc: serde_json::Value =
            serde_json::from_str(connectors_server::routes::OPENAPI).unwrap();
        let mut expected = Vec::new();
        for (template, item) in doc["paths"].as_object().unwrap() {
            let path = template.replace(['{', '}'], "");
            for method in item.as_object().unwrap().keys() {
                let method = method.to_uppercase();
                let request = Request::builder()
                    .method(method.as_str())
                    .uri(&path)
                    .body(Body::empty())
                    .unwrap();
                call(&server.router, request).await;
                expected.push((method, template.clone()));
            }
        }
        // An extension method shares the `other` label.
        let request = Request::builder()
            .method("PURGE")
            .uri("/healthz")
            .body(Body::empty())
            .unwrap();
        assert_eq!(call(&server.router, request).await.status, 405);
        expected.push(("other".into(), "/healthz".into()));
        let request = Request::get("/metrics").body(Body::empty()).unwrap();
        let text = call(&server.router, request).await.text;
        for (method, route) in expected {
            let labels = format!("{{method=\"{method}\",route=\"{route}\"");
            assert!(
                text.contains(&format!("connectors_http_requests_total{labels},status=\"")),
                "{method} {route}:\n{text}"
            );
            assert!(
                text.contains(&format!(
                    "connectors_http_request_duration_seconds_count{labels}}} 1\n"
                )),
                "{method} {route}:\n{text}"
            );
        }
    });
}
