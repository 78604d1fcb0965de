use super::*;

#[test]
fn builtin_catalog_loads_and_validates() {
    let catalog = Catalog::builtin();
    assert!(catalog.get("googlecalendar").is_some());
    assert!(
        catalog.get("stripe").is_none(),
        "stripe is provisioned, not listed"
    );
}

#[test]
fn share_point_has_its_site_field() {
    let catalog = Catalog::builtin();
    let sp = catalog.get("share_point").unwrap().to_wire();
    let field = &sp.connection_config_fields[0];
    assert_eq!(field.name, "subdomain");
    assert_eq!(
        field.validation_pattern.as_deref(),
        Some("^[a-zA-Z0-9/_-]+$")
    );
    assert_eq!(
        field.validation_error.as_deref(),
        Some("Please enter a valid SharePoint site path")
    );
}

#[test]
fn operator_adds_custom_provider_and_overrides_builtin() {
    let operator: BTreeMap<String, ProviderConfig> = toml::from_str(
        r#"
        [acme_crm]
        display_name = "Acme CRM"
        authorization_url = "https://id.acme.test/authorize"
        token_url = "https://id.acme.test/token"
        client_id = "cid"
        client_secret = "csecret"
        client_auth = "client_secret_basic"

        [googlecalendar]
        authorization_url = "http://127.0.0.1:9/auth"
        client_id = "g"
        "#,
    )
    .unwrap();
    let operator = operator.into_iter().map(|(k, v)| (k, v.finish())).collect();
    let catalog = Catalog::load(BUILTIN_CATALOG, &operator).unwrap();
    let acme = catalog.get("acme_crm").unwrap();
    assert!(acme.custom);
    assert_eq!(acme.display_name, "Acme CRM");
    assert_eq!(acme.oauth().client_auth, ClientAuth::ClientSecretBasic);
    assert_eq!(acme.client.as_ref().unwrap().client_id, "cid");
    let google = catalog.get("googlecalendar").unwrap().oauth();
    assert_eq!(google.authorization_url, "http://127.0.0.1:9/auth");
    assert_eq!(google.token_url, "https://oauth2.googleapis.com/token");
    assert_eq!(google.authorization_params["access_type"], "offline");
    assert!(catalog
        .available()
        .integrations
        .iter()
        .any(|i| i.integration_type == "acme_crm"));
}

#[test]
fn custom_provider_errors_say_what_to_add() {
    let mut operator = BTreeMap::new();
    operator.insert("acme".to_string(), ProviderConfig::default());
    let err = Catalog::load(BUILTIN_CATALOG, &operator)
        .unwrap_err()
        .to_string();
    assert!(err.contains("authorization_url"), "{err}");
    let mut operator = BTreeMap::new();
    operator.insert("Bad Name".to_string(), ProviderConfig::default());
    assert!(Catalog::load(BUILTIN_CATALOG, &operator).is_err());
}

#[test]
fn suggests_close_types() {
    let catalog = Catalog::builtin();
    assert_eq!(catalog.suggest("googlecalender"), Some("googlecalendar"));
    assert_eq!(catalog.suggest("zzzzzzzzzzzzzz"), None);
}

/// Base44's "Available connectors" table, in order, without the types that
/// are not OAuth catalogue entries here (stripe, x, googlemaps, jira).
const EXPECTED_TYPES: &[&str] = &[
    "airtable",
    "bamboohr",
    "box",
    "calendly",
    "clickup",
    "contentful",
    "databricks",
    "discord",
    "dropbox",
    "github",
    "gitlab",
    "gmail",
    "googleads",
    "google_analytics",
    "googlebigquery",
    "googlecalendar",
    "google_classroom",
    "googledocs",
    "googledrive",
    "googlemeet",
    "google_search_console",
    "googlesheets",
    "googleslides",
    "googletasks",
    "hubspot",
    "hugging_face",
    "instagram",
    "linear",
    "linkedin",
    "microsoft_teams",
    "one_drive",
    "notion",
    "outlook",
    "quickbooks",
    "salesforce",
    "share_point",
    "slack",
    "slackbot",
    "snowflake",
    "splitwise",
    "square",
    "supabase",
    "tiktok",
    "typeform",
    "wix",
    "wrike",
];

fn placeholders(text: &str) -> Vec<String> {
    let re = regex::Regex::new(r"\{([^{}]*)\}").unwrap();
    re.captures_iter(text).map(|c| c[1].to_string()).collect()
}

#[test]
fn builtin_catalog_has_exactly_the_expected_types_in_order() {
    let catalog = Catalog::builtin();
    let types: Vec<&str> = catalog
        .iter()
        .map(|i| i.integration_type.as_str())
        .collect();
    assert_eq!(types, EXPECTED_TYPES);
    for absent in ["stripe", "x", "googlemaps", "jira"] {
        assert!(catalog.get(absent).is_none(), "{absent} must not be listed");
    }
}

#[test]
fn display_names_follow_base44() {
    let catalog = Catalog::builtin();
    for (t, name) in [
        ("bamboohr", "BambooHR"),
        ("googlecalendar", "Google Calendar"),
        ("hugging_face", "Hugging Face"),
        ("instagram", "Instagram Business"),
        ("one_drive", "Microsoft OneDrive"),
        ("share_point", "SharePoint"),
        ("slack", "Slack User"),
        ("slackbot", "Slack Bot"),
        ("googleads", "Google Ads"),
    ] {
        assert_eq!(catalog.get(t).unwrap().display_name, name, "{t}");
    }
    let slack = catalog.get("slack").unwrap();
    assert_eq!(
        slack.description,
        "Send messages and interact with Slack as yourself (user integration)"
    );
    assert!(slack.connection_config_fields.is_empty());
    let calendar = catalog.get("googlecalendar").unwrap();
    assert_eq!(
        calendar.description,
        "Access and manage Google Calendar events"
    );
    assert!(calendar.connection_config_fields.is_empty());
}

#[test]
fn every_entry_is_described() {
    for i in Catalog::builtin().iter() {
        let t = &i.integration_type;
        assert!(!i.custom, "{t}");
        assert!(!i.display_name.trim().is_empty(), "{t}: empty display_name");
        assert!(!i.description.trim().is_empty(), "{t}: empty description");
        assert!(
            !i.description.ends_with('.'),
            "{t}: descriptions carry no final period"
        );
        for field in &i.connection_config_fields {
            assert!(!field.name.is_empty(), "{t}");
            assert!(!field.display_name.is_empty(), "{t}.{}", field.name);
            assert!(!field.description.is_empty(), "{t}.{}", field.name);
            assert!(!field.placeholder.is_empty(), "{t}.{}", field.name);
            if let Some(pattern) = &field.validation_pattern {
                assert!(
                    pattern.starts_with('^') && pattern.ends_with('$'),
                    "{t}.{}",
                    field.name
                );
                assert!(field.validation_error.is_some(), "{t}.{}", field.name);
                let re = regex::Regex::new(pattern).unwrap();
                assert!(
                    re.is_match(&field.placeholder),
                    "{t}.{}: placeholder fails",
                    field.name
                );
            }
        }
    }
}

#[test]
fn urls_are_https_and_placeholders_resolve() {
    for i in Catalog::builtin().iter() {
        let t = &i.integration_type;
        let spec = i.oauth();
        let fields: Vec<&str> = i
            .connection_config_fields
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        let mut urls = vec![&spec.authorization_url, &spec.token_url];
        urls.extend(spec.revocation_url.as_ref());
        for url in urls {
            assert!(url.starts_with("https://"), "{t}: `{url}` is not https");
            let host = url["https://".len()..].split('/').next().unwrap();
            assert!(!host.is_empty(), "{t}: `{url}` has no host");
            for name in placeholders(url) {
                assert!(
                    fields.contains(&name.as_str())
                        || spec.placeholder_defaults.contains_key(&name),
                    "{t}: `{{{name}}}` in `{url}` is neither a config field nor defaulted"
                );
            }
        }
    }
}

#[test]
fn connection_config_fields_that_feed_urls_are_host_safe() {
    let catalog = Catalog::builtin();
    for (t, field, good, bad) in [
        ("bamboohr", "subdomain", "mycompany", "evil.com/x"),
        ("snowflake", "subdomain", "xy12345.us-east-1", "evil.com#"),
        (
            "databricks",
            "workspace_host",
            "dbc-a1b2c3d4-e5f6.cloud.databricks.com",
            "attacker.example.com",
        ),
        (
            "databricks",
            "workspace_host",
            "adb-1234567890123456.7.azuredatabricks.net",
            "x/y",
        ),
    ] {
        let i = catalog.get(t).unwrap();
        let f = i
            .connection_config_fields
            .iter()
            .find(|f| f.name == field)
            .unwrap();
        assert!(f.required, "{t}.{field}");
        let re = regex::Regex::new(f.validation_pattern.as_deref().unwrap()).unwrap();
        assert!(re.is_match(good), "{t}.{field} rejects {good}");
        assert!(!re.is_match(bad), "{t}.{field} accepts {bad}");
    }
    let sf = catalog.get("salesforce").unwrap();
    assert!(
        sf.connection_config_fields.is_empty(),
        "instance_url comes from the token"
    );
}

#[test]
fn slack_user_reads_the_authed_user_token() {
    let catalog = Catalog::builtin();
    let spec = catalog.get("slack").unwrap().oauth();
    assert_eq!(
        spec.authorization_url,
        "https://slack.com/oauth/v2/authorize"
    );
    assert_eq!(spec.token_url, "https://slack.com/api/oauth.v2.access");
    assert_eq!(spec.scope_param, "user_scope");
    assert_eq!(spec.scope_separator, ",");
    assert!(!spec.pkce);
    let tr = &spec.token_response;
    assert_eq!(tr.access_token, "authed_user.access_token");
    assert_eq!(tr.refresh_token, "authed_user.refresh_token");
    assert_eq!(tr.expires_in, "authed_user.expires_in");
    assert_eq!(tr.scope, "authed_user.scope");
    assert_eq!(tr.success_flag.as_deref(), Some("ok"));
    assert_eq!(tr.connection_config["team_id"], "team.id");
    assert_eq!(tr.connection_config["team_name"], "team.name");
    assert_eq!(tr.connection_config["user_id"], "authed_user.id");

    let bot = catalog.get("slackbot").unwrap().oauth();
    assert_eq!(bot.scope_param, "scope");
    assert_eq!(bot.scope_separator, ",");
    assert_eq!(bot.token_response.access_token, "access_token");
    assert_eq!(bot.token_response.success_flag.as_deref(), Some("ok"));
    assert_eq!(bot.token_response.connection_config["team_id"], "team.id");
    assert_eq!(
        bot.token_response.connection_config["bot_user_id"],
        "bot_user_id"
    );
    assert!(!bot.token_response.connection_config.contains_key("user_id"));
}

#[test]
fn tiktok_uses_client_key_and_commas() {
    let spec = Catalog::builtin().get("tiktok").unwrap().oauth();
    assert_eq!(spec.client_id_param, "client_key");
    assert_eq!(spec.scope_separator, ",");
    assert_eq!(spec.token_body, BodyFormat::Form);
}

#[test]
fn notion_uses_basic_auth_and_json() {
    let spec = Catalog::builtin().get("notion").unwrap().oauth();
    assert_eq!(spec.client_auth, ClientAuth::ClientSecretBasic);
    assert_eq!(spec.token_body, BodyFormat::Json);
    assert_eq!(spec.authorization_params["owner"], "user");
    assert!(spec.revocation_url.is_none());
    for key in ["workspace_id", "workspace_name", "bot_id"] {
        assert_eq!(spec.token_response.connection_config[key], key);
    }
}

#[test]
fn linkedin_has_no_pkce() {
    let spec = Catalog::builtin().get("linkedin").unwrap().oauth();
    assert!(!spec.pkce);
}

#[test]
fn microsoft_types_share_tenant_and_offline_access() {
    let catalog = Catalog::builtin();
    for t in ["share_point", "one_drive", "outlook", "microsoft_teams"] {
        let spec = catalog.get(t).unwrap().oauth();
        assert!(
            spec.required_scopes.iter().any(|s| s == "offline_access"),
            "{t}"
        );
        assert_eq!(spec.placeholder_defaults["tenant"], "common", "{t}");
        assert!(spec.authorization_url.contains("/{tenant}/"), "{t}");
        assert!(spec.token_url.contains("/{tenant}/"), "{t}");
        assert_eq!(spec.authorization_params["response_mode"], "query", "{t}");
        assert!(spec.rotating_refresh_tokens, "{t}");
    }
}

#[test]
fn google_types_share_the_google_template() {
    let catalog = Catalog::builtin();
    let google: Vec<_> = catalog
        .iter()
        .filter(|i| i.integration_type.starts_with("google") || i.integration_type == "gmail")
        .collect();
    assert_eq!(google.len(), 13);
    for i in google {
        let spec = i.oauth();
        assert_eq!(
            spec.token_url, "https://oauth2.googleapis.com/token",
            "{}",
            i.integration_type
        );
        assert_eq!(spec.authorization_params["access_type"], "offline");
        assert_eq!(spec.authorization_params["prompt"], "consent");
        assert!(spec.revocation_url.is_some());
    }
}

#[test]
fn provider_quirks_are_data() {
    let catalog = Catalog::builtin();
    let spec = |t: &str| catalog.get(t).unwrap().oauth();

    let sf = spec("salesforce");
    assert_eq!(
        sf.token_response.connection_config["instance_url"],
        "instance_url"
    );
    assert!(sf.required_scopes.iter().any(|s| s == "refresh_token"));
    assert!(sf.revocation_url.is_some());

    assert_eq!(spec("github").token_headers["Accept"], "application/json");
    assert!(spec("gitlab").rotating_refresh_tokens);
    assert!(spec("discord").revocation_url.is_some());
    let airtable = spec("airtable");
    assert_eq!(airtable.client_auth, ClientAuth::ClientSecretBasic);
    assert!(airtable.rotating_refresh_tokens);
    assert!(airtable.pkce);
    assert_eq!(
        spec("dropbox").authorization_params["token_access_type"],
        "offline"
    );
    assert!(spec("box").rotating_refresh_tokens);
    assert_eq!(spec("linear").scope_separator, ",");
    assert_eq!(spec("square").token_body, BodyFormat::Json);
    let qb = spec("quickbooks");
    assert_eq!(qb.client_auth, ClientAuth::ClientSecretBasic);
    assert!(qb.rotating_refresh_tokens);

    let snowflake = spec("snowflake");
    assert_eq!(
        snowflake.authorization_url,
        "https://{subdomain}.snowflakecomputing.com/oauth/authorize"
    );
    assert_eq!(
        snowflake.token_url,
        "https://{subdomain}.snowflakecomputing.com/oauth/token-request"
    );
    assert_eq!(
        spec("databricks").authorization_url,
        "https://{workspace_host}/oidc/v1/authorize"
    );
}

// ---------------------------------------------------------------------------
// The API description (#14)
// ---------------------------------------------------------------------------

fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Values providers put in connection_config through the token response or
/// the consent callback, as they really look.
const PROVIDER_SUPPLIED: &[(&str, &str)] = &[
    ("instance_url", "https://acme.my.salesforce.com"),
    ("host", "app-eu.wrike.com"),
];

#[test]
fn every_builtin_type_has_https_hosts_whose_placeholders_fill() {
    for i in Catalog::builtin().iter() {
        let t = &i.integration_type;
        let api = i.api();
        let oauth = i.oauth();
        assert!(!api.hosts.is_empty(), "{t}: no API hosts");
        let mut names: Vec<&str> = api.hosts.iter().map(|h| h.name.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), api.hosts.len(), "{t}: host names repeat");
        // Builder fields hold their placeholder; provider-supplied values their real shape.
        let mut values: BTreeMap<String, String> = i
            .connection_config_fields
            .iter()
            .map(|f| (f.name.clone(), f.placeholder.clone()))
            .collect();
        for host in &api.hosts {
            assert!(
                host.base_url.starts_with("https://"),
                "{t}.{}: `{}` is not https",
                host.name,
                host.base_url
            );
            for name in placeholders(&host.base_url) {
                let from_provider = oauth.token_response.connection_config.contains_key(&name)
                    || oauth.callback_params.contains_key(&name);
                if from_provider {
                    let (_, sample) = PROVIDER_SUPPLIED
                        .iter()
                        .find(|(k, _)| *k == name)
                        .unwrap_or_else(|| {
                            panic!("{t}: add a sample of `{name}` to PROVIDER_SUPPLIED")
                        });
                    values.insert(name.clone(), sample.to_string());
                } else {
                    assert!(
                        values.contains_key(&name),
                        "{t}.{}: `{{{name}}}` is neither a connection_config field nor provider-supplied",
                        host.name
                    );
                }
            }
        }
        for host in &api.hosts {
            let url = api
                .base_url(Some(&host.name), &values)
                .unwrap_or_else(|e| panic!("{t}.{}: {e}", host.name));
            assert_eq!(url.scheme(), "https", "{t}.{}", host.name);
            assert!(
                url.path() == "/" || !url.path().ends_with('/'),
                "{t}.{}: {url}",
                host.name
            );
        }
        assert_eq!(
            api.base_url(None, &values).unwrap(),
            api.base_url(Some(&api.hosts[0].name), &values).unwrap(),
            "{t}: the first host is the default"
        );
        assert_eq!(
            api.hosts[0].name, "default",
            "{t}: the first host is named default"
        );
        assert!(!api.follow_redirects, "{t}");
        for header in &api.request_headers {
            assert!(api.allows_request_header(header), "{t}: {header}");
        }
    }
}

#[test]
fn builtin_api_roots_follow_the_providers_docs() {
    let catalog = Catalog::builtin();
    let url = |t: &str, host: Option<&str>, cfg: &[(&str, &str)]| {
        catalog
            .get(t)
            .unwrap()
            .api()
            .base_url(host, &config(cfg))
            .unwrap()
            .to_string()
    };
    assert_eq!(url("gmail", None, &[]), "https://gmail.googleapis.com/");
    assert_eq!(
        url("googlecalendar", None, &[]),
        "https://www.googleapis.com/calendar/v3"
    );
    assert_eq!(
        url("googledrive", Some("upload"), &[]),
        "https://www.googleapis.com/upload/drive/v3"
    );
    assert_eq!(url("dropbox", None, &[]), "https://api.dropboxapi.com/2");
    assert_eq!(
        url("dropbox", Some("content"), &[]),
        "https://content.dropboxapi.com/2"
    );
    assert_eq!(
        url("box", Some("upload"), &[]),
        "https://upload.box.com/api/2.0"
    );
    assert_eq!(url("slack", None, &[]), "https://slack.com/api");
    assert_eq!(
        url("slackbot", Some("files"), &[]),
        "https://files.slack.com/"
    );
    for t in ["outlook", "microsoft_teams", "one_drive", "share_point"] {
        assert_eq!(url(t, None, &[]), "https://graph.microsoft.com/", "{t}");
    }
    assert_eq!(
        url("bamboohr", None, &[("subdomain", "acme")]),
        "https://api.bamboohr.com/api/gateway.php/acme/v1"
    );
    assert_eq!(
        url("snowflake", None, &[("subdomain", "xy12345.us-east-1")]),
        "https://xy12345.us-east-1.snowflakecomputing.com/"
    );
    assert_eq!(
        url(
            "salesforce",
            None,
            &[("instance_url", "https://acme.my.salesforce.com")]
        ),
        "https://acme.my.salesforce.com/"
    );
    assert_eq!(
        url(
            "salesforce",
            None,
            &[("instance_url", "HTTPS://ACME.my.salesforce.com/")]
        ),
        "https://acme.my.salesforce.com/"
    );
    assert_eq!(
        url("wrike", None, &[("host", "www.wrike.com")]),
        "https://www.wrike.com/api/v4"
    );
    let notion = catalog.get("notion").unwrap().api();
    assert!(notion.allows_request_header("Notion-Version"));
    let github = catalog.get("github").unwrap().api();
    assert!(github.allows_request_header("X-GitHub-Api-Version"));
    let hubspot = catalog.get("hubspot").unwrap().api();
    assert!(hubspot.exposes_response_header("X-HubSpot-RateLimit-Secondly-Remaining"));
    let clickup = catalog.get("clickup").unwrap().api();
    assert_eq!(clickup.auth.header, "authorization");
    assert_eq!(clickup.auth.value_for("tok"), "tok");
    assert_eq!(
        catalog.get("gmail").unwrap().api().auth.value_for("tok"),
        "Bearer tok"
    );
}

#[test]
fn hostile_values_never_change_the_url() {
    let catalog = Catalog::builtin();
    let hostile = [
        "evil.com#",
        "evil.com/",
        "a/b",
        "x@y",
        "..",
        ".",
        "%2e",
        "%2e%2e",
        "bücher",
        "a b",
        "a\\b",
        "a?b=c",
        "a:443",
        "a\nb",
        "evil.com\u{3002}x",
    ];
    for (t, host, field) in [
        ("bamboohr", "default", "subdomain"),
        ("bamboohr", "company", "subdomain"),
        ("snowflake", "default", "subdomain"),
        ("salesforce", "default", "instance_url"),
        ("databricks", "default", "workspace_host"),
        ("wrike", "default", "host"),
    ] {
        let api = catalog.get(t).unwrap().api();
        // Harmless in one path segment, but not in a host.
        let in_host = !(t == "bamboohr" && host == "default");
        let host_only: &[&str] = if in_host { &["a..b", "a_b", "-."] } else { &[] };
        for &value in hostile.iter().chain(host_only) {
            let err = api
                .base_url(Some(host), &config(&[(field, value)]))
                .unwrap_err();
            assert!(
                matches!(&err, ApiHostError::InvalidValue { placeholder, host: h, .. } if placeholder == field && h == host),
                "{t}.{host} {value:?}: {err:?}"
            );
            let text = err.to_string();
            assert!(text.contains(&format!("`{field}`")), "{text}");
            assert!(text.contains("correct it on the connector"), "{text}");
            if value.len() >= 3 {
                assert!(!text.contains(value), "values stay out of messages: {text}");
            }
        }
        // Empty or absent: missing, with a next step.
        for cfg in [config(&[(field, "")]), config(&[])] {
            let err = api.base_url(Some(host), &cfg).unwrap_err();
            assert_eq!(
                err,
                ApiHostError::MissingValue {
                    host: host.into(),
                    placeholder: field.into()
                }
            );
            assert!(err.to_string().contains("set it on the connector"), "{err}");
        }
    }
    // A whole-host value must stay under the declared domains.
    let sf = catalog.get("salesforce").unwrap().api();
    for value in [
        "evil.com",
        "https://evil.com",
        "acme.salesforce.com.evil.com",
        "salesforce.com",
        "evilsalesforce.com",
        "127.0.0.1",
        "https://acme.my.salesforce.com/services",
        "http://acme.my.salesforce.com",
        "https://user@acme.my.salesforce.com",
        "https://acme.my.salesforce.com:8443",
        "//acme.my.salesforce.com",
    ] {
        let err = sf
            .base_url(None, &config(&[("instance_url", value)]))
            .unwrap_err();
        assert!(
            matches!(err, ApiHostError::InvalidValue { .. }),
            "{value}: {err:?}"
        );
    }
    let err = sf
        .base_url(None, &config(&[("instance_url", "https://evil.com")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("must end with one of `.salesforce.com`, `.force.com`"),
        "{err}"
    );
    let snowflake = catalog.get("snowflake").unwrap().api();
    let err = snowflake
        .base_url(None, &config(&[("subdomain", "myorg-my_account")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("letters, digits and `-`"), "{err}");
}

#[test]
fn unknown_host_names_are_refused_listing_the_declared_ones() {
    let dropbox = Catalog::builtin().get("dropbox").unwrap().api();
    let err = dropbox.base_url(Some("uploads"), &config(&[])).unwrap_err();
    assert_eq!(
        err,
        ApiHostError::UnknownHost {
            name: "uploads".into(),
            declared: vec!["default".into(), "content".into()]
        }
    );
    assert_eq!(
        err.to_string(),
        "unknown API host `uploads`: use one of `default`, `content` (or omit `host` for `default`)"
    );
    // Names are matched exactly; odd ones are escaped and cut in the text.
    assert!(dropbox.base_url(Some("Content"), &config(&[])).is_err());
    let odd = format!("a\n`{}", "x".repeat(100));
    let text = dropbox.host(Some(&odd)).unwrap_err().to_string();
    assert!(text.contains("a\\n`"), "{text}");
    assert!(
        text.contains('…') && !text.contains(&"x".repeat(70)),
        "{text}"
    );
}

#[test]
fn headers_pass_only_as_declared() {
    let catalog = Catalog::builtin();
    let notion = catalog.get("notion").unwrap().api();
    for ok in [
        "accept",
        "Content-Type",
        "IF-MATCH",
        "if-none-match",
        "notion-version",
    ] {
        assert!(notion.allows_request_header(ok), "{ok}");
    }
    for refused in [
        "authorization",
        "Authorization",
        "cookie",
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "x-forwarded-for",
        "x-github-api-version",
        "notion-version-x",
        "",
    ] {
        assert!(!notion.allows_request_header(refused), "{refused}");
    }
    let hubspot = catalog.get("hubspot").unwrap().api();
    for shown in [
        "X-RateLimit-Remaining",
        "x-rate-limit-reset",
        "RateLimit",
        "RateLimit-Policy",
        "Retry-After",
        "ETag",
        "Link",
        "X-HubSpot-RateLimit-Daily-Remaining",
        "x-hubspot-correlation-id",
    ] {
        assert!(hubspot.exposes_response_header(shown), "{shown}");
    }
    for hidden in [
        "set-cookie",
        "Set-Cookie",
        "access-control-allow-origin",
        "content-length",
        "transfer-encoding",
        "x-hubspot-correlation-id-2",
        "server",
        "x-ratelimit",
    ] {
        assert!(!hubspot.exposes_response_header(hidden), "{hidden}");
    }
    assert!(hubspot.is_binary_type("image/png"));
    assert!(hubspot.is_binary_type("Application/PDF; name=x.pdf"));
    assert!(hubspot.is_binary_type("application/octet-stream"));
    assert!(!hubspot.is_binary_type("application/json"));
    assert!(!hubspot.is_binary_type("imagex/png"));
    assert!(!hubspot.is_binary_type("garbage"));
}

fn operator(text: &str) -> BTreeMap<String, ProviderConfig> {
    let parsed: BTreeMap<String, ProviderConfig> = toml::from_str(text).unwrap();
    parsed.into_iter().map(|(k, v)| (k, v.finish())).collect()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_custom_provider_that_declares_only_hosts_gets_the_defaults() {
    let operator = operator(
        r#"
        [acme]
        authorization_url = "https://id.acme.example/authorize"
        token_url = "https://id.acme.example/token"
        [acme.api]
        hosts = [{ name = "default", base_url = "https://api.acme.example/" }]

        [bare]
        authorization_url = "https://id.bare.example/authorize"
        token_url = "https://id.bare.example/token"
        "#,
    );
    let catalog = Catalog::load(BUILTIN_CATALOG, &operator).unwrap();
    let api = catalog.get("acme").unwrap().api();
    assert_eq!(
        api,
        ApiSpec {
            hosts: vec![ApiHost::new("default", "https://api.acme.example/")],
            auth: ApiAuth {
                header: "authorization".into(),
                value: "Bearer {access_token}".into()
            },
            request_headers: strings(&["accept", "content-type", "if-match", "if-none-match"]),
            response_headers: strings(&[
                "x-ratelimit-*",
                "x-rate-limit-*",
                "ratelimit",
                "ratelimit-*",
                "retry-after",
                "etag",
                "link"
            ]),
            binary_types: strings(&["image/*", "application/pdf", "application/octet-stream"]),
            follow_redirects: false,
        }
    );
    // The trailing slash is dropped so the caller's path can be appended.
    assert_eq!(
        api.base_url(None, &config(&[])).unwrap().as_str(),
        "https://api.acme.example/"
    );
    let bare = catalog.get("bare").unwrap().api();
    assert!(bare.hosts.is_empty());
    let err = bare.base_url(None, &config(&[])).unwrap_err();
    assert_eq!(err, ApiHostError::NoHosts);
    assert!(
        err.to_string().contains("[providers.<type>.api] hosts"),
        "{err}"
    );
}

#[test]
fn api_layers_overlay_field_by_field() {
    let catalog_toml = r#"
        [providers.p]
        authorization_url = "https://id.p.example/authorize"
        token_url = "https://id.p.example/token"
        [providers.p.api]
        hosts = [{ name = "default", base_url = "https://api.p.example/v1" }]
        request_headers = ["x-a"]
        response_headers = ["x-p-*"]
        auth = { header = "x-token", value = "Token {access_token}" }

        [[integrations]]
        type = "one"
        display_name = "One"
        description = "One"
        provider = "p"
        [integrations.api]
        request_headers = ["X-B"]
        auth = { value = "Bearer {access_token}" }
        binary_types = ["application/zip"]

        [[integrations]]
        type = "two"
        display_name = "Two"
        description = "Two"
        provider = "p"
    "#;
    let catalog = Catalog::load(catalog_toml, &BTreeMap::new()).unwrap();
    let one = catalog.get("one").unwrap().api();
    assert_eq!(
        one.hosts,
        [ApiHost::new("default", "https://api.p.example/v1")]
    );
    assert!(one.allows_request_header("x-b") && !one.allows_request_header("x-a"));
    assert!(one.exposes_response_header("x-p-remaining"));
    assert_eq!(one.auth.header, "x-token");
    assert_eq!(one.auth.value_for("t"), "Bearer t");
    assert!(one.is_binary_type("application/zip") && one.is_binary_type("image/gif"));
    let two = catalog.get("two").unwrap().api();
    assert!(two.allows_request_header("x-a"));
    assert_eq!(two.auth.value_for("t"), "Token t");

    // The operator overlays the built-in catalog the same way.
    let operator = operator(
        r#"
        [outlook.api]
        request_headers = ["x-anchormailbox"]
        follow_redirects = true
        [github.api]
        hosts = [{ name = "default", base_url = "https://github.acme.example/api/v3" }]
        [gmail.api]
        hosts = []
        "#,
    );
    let catalog = Catalog::load(BUILTIN_CATALOG, &operator).unwrap();
    let outlook = catalog.get("outlook").unwrap().api();
    assert_eq!(outlook.hosts[0].base_url, "https://graph.microsoft.com");
    assert!(outlook.allows_request_header("x-anchormailbox"));
    assert!(!outlook.allows_request_header("consistencylevel"));
    assert!(outlook.allows_request_header("accept"));
    assert!(outlook.exposes_response_header("request-id"));
    assert!(outlook.follow_redirects);
    let teams = catalog.get("microsoft_teams").unwrap().api();
    assert!(teams.allows_request_header("consistencylevel") && !teams.follow_redirects);
    let github = catalog.get("github").unwrap().api();
    assert_eq!(
        github.base_url(None, &config(&[])).unwrap().as_str(),
        "https://github.acme.example/api/v3"
    );
    assert!(github.allows_request_header("x-github-api-version"));
    assert!(catalog.get("gmail").unwrap().api().hosts.is_empty());
}

fn api_error(api_toml: &str) -> String {
    let text = format!(
        "[acme]\nauthorization_url = \"https://id.acme.example/a\"\ntoken_url = \"https://id.acme.example/t\"\n[acme.api]\n{api_toml}\n"
    );
    match toml::from_str::<BTreeMap<String, ProviderConfig>>(&text) {
        Ok(parsed) => match Catalog::load(BUILTIN_CATALOG, &parsed) {
            Ok(_) => panic!("accepted: {api_toml}"),
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    }
}

#[test]
fn unusable_api_configuration_is_refused_with_what_to_fix() {
    for (api_toml, expected) in [
        (
            r#"hosts = [{ name = "default", base_url = "http://api.acme.example" }]"#,
            "plain http is accepted only for loopback hosts",
        ),
        (
            r#"hosts = [{ name = "default", base_url = "ftp://api.acme.example" }]"#,
            "it must start with https://",
        ),
        (
            r#"hosts = [{ name = "default", base_url = "api.acme.example" }]"#,
            "it must start with https://",
        ),
        (
            r#"hosts = [{ name = "default", base_url = "https://api.acme.example/v1?key=1" }]"#,
            "a query or fragment",
        ),
        (
            r#"hosts = [{ name = "default", base_url = "https://u:p@api.acme.example" }]"#,
            "user information",
        ),
        (
            r#"hosts = [{ name = "default", base_url = "https://api.acme.example/a/../b" }]"#,
            "`..` segments",
        ),
        (
            r#"hosts = [{ name = "default", base_url = "https://api.acme.example:{port}" }]"#,
            "port must be digits",
        ),
        (
            r#"hosts = [{ name = "default", base_url = "https://{tenant}" }]"#,
            "add `host_suffixes`",
        ),
        (
            r#"hosts = [{ name = "default", base_url = "https://{tenant}x.example.com" }]"#,
            "add `host_suffixes`",
        ),
        (
            r#"hosts = [{ name = "default", base_url = "https://{tenant}.com" }]"#,
            "add `host_suffixes`",
        ),
        (
            r#"hosts = [{ name = "default", base_url = "https://api.acme.example", host_suffixes = [".acme.example"] }]"#,
            "remove it",
        ),
        (
            r#"hosts = [{ name = "default", base_url = "https://{t}", host_suffixes = ["acme.example"] }]"#,
            "must be a dot and a domain",
        ),
        (
            r#"hosts = [{ name = "default", base_url = "https://{t.oops}.acme.example" }]"#,
            "is not a placeholder name",
        ),
        (
            r#"hosts = [{ name = "Default", base_url = "https://api.acme.example" }]"#,
            "must match ^[a-z0-9_-]+$",
        ),
        (
            r#"hosts = [{ name = "a", base_url = "https://a.example" }, { name = "a", base_url = "https://b.example" }]"#,
            "declared twice",
        ),
        (
            r#"hosts = [{ name = "a", base_url = "https://a.example", port = 1 }]"#,
            "unknown field `port`",
        ),
        (r#"request_headers = ["x foo"]"#, "is not a header name"),
        (r#"request_headers = ["Authorization"]"#, "never passes"),
        (
            r#"request_headers = ["access-control-allow-origin"]"#,
            "never passes",
        ),
        (r#"response_headers = ["set-*"]"#, "never pass"),
        (r#"response_headers = ["*"]"#, "is not a header name"),
        (r#"response_headers = ["x-*-y"]"#, "is not a header name"),
        (r#"binary_types = ["*/*"]"#, "is not a media type"),
        (r#"binary_types = ["pdf"]"#, "is not a media type"),
        (r#"auth = { value = "Bearer" }"#, "exactly once"),
        (
            r#"auth = { value = "{access_token} {access_token}" }"#,
            "exactly once",
        ),
        (
            r#"auth = { value = "Bearer {access_token} {x}" }"#,
            "no other placeholder",
        ),
        (r#"auth = { header = "cookie" }"#, "framing, cookie"),
        (
            "auth = { header = \"x-token\" }\nrequest_headers = [\"x-token\"]",
            "the header that carries the token",
        ),
        (r#"hostz = []"#, "unknown field `hostz`"),
    ] {
        let err = api_error(api_toml);
        assert!(
            err.contains(expected),
            "{api_toml}\n  -> {err}\n  expected {expected}"
        );
    }
}

#[test]
fn operator_hosts_may_use_loopback_http_ports_and_path_placeholders() {
    let operator = operator(
        r#"
        [acme]
        authorization_url = "https://id.acme.example/authorize"
        token_url = "https://id.acme.example/token"
        [acme.api]
        hosts = [
          { name = "default", base_url = "https://api.acme.example:8443/v1/{org}" },
          { name = "local", base_url = "http://127.0.0.1:9090" },
          { name = "regional", base_url = "https://{region}.api.acme.example" },
          { name = "tenant", base_url = "https://{tenant}:8443", host_suffixes = [".acme.example", ".acme-cdn.example"] },
        ]
        "#,
    );
    let catalog = Catalog::load(BUILTIN_CATALOG, &operator).unwrap();
    let api = catalog.get("acme").unwrap().api();
    let cfg = config(&[
        ("org", "my-org_1"),
        ("region", "eu"),
        ("tenant", "https://t1.acme-cdn.example/"),
    ]);
    let url = |h: &str| api.base_url(Some(h), &cfg).unwrap().to_string();
    assert_eq!(url("default"), "https://api.acme.example:8443/v1/my-org_1");
    assert_eq!(url("local"), "http://127.0.0.1:9090/");
    assert_eq!(url("regional"), "https://eu.api.acme.example/");
    assert_eq!(url("tenant"), "https://t1.acme-cdn.example:8443/");
    for bad in ["..", "a/b", "a%2f", "a b", "a?b", "a#b"] {
        let err = api
            .base_url(None, &config(&[("org", bad)]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("a path segment may hold only"), "{bad}: {err}");
    }
    let err = api
        .base_url(
            Some("tenant"),
            &config(&[("tenant", "t1.acme.example.evil.com")]),
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("must end with one of `.acme.example`, `.acme-cdn.example`"),
        "{err}"
    );
}

#[test]
fn hand_built_specs_are_checked_when_filled() {
    let mut api = ApiPatch::default().resolve();
    api.hosts = vec![
        ApiHost::new("default", "https://{x}"),
        ApiHost::new("plain", "http://api.example.com"),
    ];
    for host in ["default", "plain"] {
        let err = api
            .base_url(Some(host), &config(&[("x", "a.example.com")]))
            .unwrap_err();
        assert!(
            matches!(err, ApiHostError::InvalidTemplate { .. }),
            "{host}: {err:?}"
        );
        assert!(
            err.to_string().contains("the server operator fixes it"),
            "{err}"
        );
    }
}

/// Every value of up to three characters from an alphabet of URL
/// delimiters, escapes, look-alikes and plain characters: a filled URL is
/// exactly the template with the value in place (host lowercased), or refused.
#[test]
fn no_short_value_changes_the_url_shape() {
    const ALPHABET: &[&str] = &[
        "a", "Z", "0", "-", ".", "_", "~", "/", "\\", "@", ":", "#", "?", "%", " ", "é",
        "\u{3002}", "\u{ff0e}", "[", "]", "{", "}", "\t",
    ];
    let mut values = vec![String::new()];
    for _ in 0..3 {
        let longer: Vec<String> = values
            .iter()
            .filter(|v| v.chars().count() == values.last().unwrap().chars().count())
            .flat_map(|v| ALPHABET.iter().map(move |c| format!("{v}{c}")))
            .collect();
        values.extend(longer);
    }
    let operator = operator(
        r#"
        [acme]
        authorization_url = "https://id.acme.example/authorize"
        token_url = "https://id.acme.example/token"
        [acme.api]
        hosts = [
          { name = "path", base_url = "https://api.acme.example/v1/{v}/x" },
          { name = "label", base_url = "https://{v}.api.acme.example:8443/v1" },
          { name = "whole", base_url = "https://{v}", host_suffixes = [".acme.example"] },
        ]
        "#,
    );
    let catalog = Catalog::load(BUILTIN_CATALOG, &operator).unwrap();
    let api = catalog.get("acme").unwrap().api();
    let mut accepted = 0;
    for value in &values {
        let cfg = config(&[("v", value)]);
        // A whole host must reach the suffix, so its values are built around it.
        for whole in [
            format!("{value}.acme.example"),
            format!("https://{value}.acme.example"),
            format!("a.acme.example{value}"),
            format!("https://a.acme.example{value}"),
        ] {
            let Ok(url) = api.base_url(Some("whole"), &config(&[("v", &whole)])) else {
                continue;
            };
            accepted += 1;
            let host = whole.strip_prefix("https://").unwrap_or(&whole);
            let host = host.strip_suffix('/').unwrap_or(host).to_ascii_lowercase();
            assert_eq!(url.as_str(), format!("https://{host}/"), "whole: {whole:?}");
            assert!(
                host.ends_with(".acme.example")
                    && host
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b)),
                "whole: {whole:?}"
            );
        }
        for host in ["path", "label"] {
            let Ok(url) = api.base_url(Some(host), &cfg) else {
                continue;
            };
            accepted += 1;
            let lower = value.to_ascii_lowercase();
            let expected = match host {
                "path" => format!("https://api.acme.example/v1/{value}/x"),
                _ => format!("https://{lower}.api.acme.example:8443/v1"),
            };
            assert_eq!(url.as_str(), expected, "{host}: {value:?}");
            assert!(
                value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)),
                "{host}: {value:?}"
            );
        }
    }
    assert!(accepted > 100, "the plain values fill: {accepted}");
}
