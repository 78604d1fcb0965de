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
fn every_entry_is_described_and_has_api_hosts() {
    for i in Catalog::builtin().iter() {
        let t = &i.integration_type;
        assert!(!i.custom, "{t}");
        assert!(!i.display_name.trim().is_empty(), "{t}: empty display_name");
        assert!(!i.description.trim().is_empty(), "{t}: empty description");
        assert!(
            !i.description.ends_with('.'),
            "{t}: descriptions carry no final period"
        );
        assert!(!i.api_hosts.is_empty(), "{t}: no api_hosts");
        for host in &i.api_hosts {
            assert!(
                !host.contains('/') && !host.contains(':'),
                "{t}: `{host}` is not a host"
            );
        }
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
        // API hosts may also use values taken from the token response.
        for host in &i.api_hosts {
            for name in placeholders(host) {
                assert!(
                    fields.contains(&name.as_str())
                        || spec.placeholder_defaults.contains_key(&name)
                        || spec.token_response.connection_config.contains_key(&name),
                    "{t}: `{{{name}}}` in api host `{host}` cannot be filled"
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
