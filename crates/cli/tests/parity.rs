//! Parity of our `base44 connectors …` with the npm `base44` CLI 0.1.18
//! (issue 4, "Scenario parity", "Bad files", "Against our server").
//!
//! * `scenario_parity`: every row of [`scenarios`] runs with BOTH CLIs against
//!   a fresh scripted, recording server (see `support`), in fresh temp dirs.
//!   The npm run is first checked against the row (exit code, requests,
//!   phrases: this validates the table), then ours against the npm run: the
//!   same exit code, the same requests (method, path+query, JSON body; each run
//!   of consecutive PUTs compared as a multiset, pull's concurrent GETs as a
//!   multiset), the same `api_key`/`user-agent`, the same `--json` stdout
//!   (parsed), the same files afterwards (relative path → bytes). Human-mode
//!   rows compare no text, but the row's phrases must appear in both outputs.
//!   stderr is never compared. A row with `allowed_difference` documents a
//!   deliberate improvement: it relaxes the named aspects and asserts ours.
//!
//!   Environment knobs: `PARITY_SIDE=npm|ours|both` (default both; `npm`
//!   validates the table and harness with the npm CLI alone), `PARITY_FILTER=<substring>`
//!   (rows whose name contains it), `PARITY_THREADS=<n>` (default 2 × cores),
//!   `PARITY_VERBOSE=1` (print every run, with `--nocapture`),
//!   `PARITY_OURS_BIN=<path>` (run another binary as "ours"; with the npm CLI
//!   every row passes, which checks that the comparison itself is stable).
//! * `bad_files_are_refused_with_file_line_column`, `misspelled_known_type_*`:
//!   our CLI only; `bad_files_npm_reference` shows where the expected
//!   envelope codes come from.
//! * `end_to_end_against_connectors_server`: our CLI against the real server in process.
//!
//! Run: `cargo test -p base44-cli --test parity` (needs `scripts/install-test-deps`).

mod support;

use std::panic::AssertUnwindSafe;

use serde_json::{json, Value};
use support::{
    canonical, exec, files_diff, http, list_diff, on, parallel, run_cli, Invocation, Order,
    RealServer, Reply, Route, Run, Side, API_KEY,
};

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

const CONFIG: (&str, &str) = (
    "base44/config.jsonc",
    "{\n  // parity project\n  \"name\": \"Parity\",\n}\n",
);
const APP: (&str, &str) = ("base44/.app.jsonc", "{\n  \"id\": \"app-parity\"\n}\n");

const GCAL_SCOPE: &str = "https://www.googleapis.com/auth/calendar.readonly";
const GCAL: (&str, &str) = (
    "googlecalendar.jsonc",
    "{\n  // read the calendar\n  \"type\": \"googlecalendar\",\n  \"scopes\": [\"https://www.googleapis.com/auth/calendar.readonly\"],\n}\n",
);
const NOTION: (&str, &str) = ("notion.json", "{\"type\": \"notion\"}\n");
const SLACK: (&str, &str) = (
    "slack.json",
    "{\"type\": \"slack\", \"scopes\": [\"chat:write\", \"channels:read\"]}\n",
);
const HUBSPOT: (&str, &str) = (
    "hubspot.jsonc",
    "{\n  \"type\": \"hubspot\",\n  \"scopes\": [\"crm.objects.contacts.read\"]\n}\n",
);
const STRIPE: (&str, &str) = (
    "stripe.jsonc",
    "{\n  // payments\n  \"type\": \"stripe\"\n}\n",
);

const CLAIM_URL: &str = "https://dashboard.stripe.test/claim/sbx_123";

/// A linked project (`base44/config.jsonc` + `base44/.app.jsonc`) with these
/// files in `base44/connectors/`.
fn project(connectors: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut files = vec![
        (CONFIG.0.to_string(), CONFIG.1.to_string()),
        (APP.0.to_string(), APP.1.to_string()),
    ];
    for (name, content) in connectors {
        files.push((format!("base44/connectors/{name}"), content.to_string()));
    }
    files
}

/// No project: files relative to the work dir (used with `--app-id`).
fn loose(files: &[(&str, &str)]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(p, c)| (p.to_string(), c.to_string()))
        .collect()
}

fn list(items: &[(&str, &[&str])]) -> Route {
    let integrations: Vec<Value> = items
        .iter()
        .map(|(ty, scopes)| {
            json!({"integration_type": ty, "status": "active", "scopes": scopes,
                   "user_email": "owner@example.com"})
        })
        .collect();
    on(
        "GET",
        "external-auth/list",
        Reply::ok(json!({ "integrations": integrations })),
    )
}

fn set_body(redirect: Option<&str>, connection: Option<&str>, already: bool) -> Value {
    json!({"redirect_url": redirect, "connection_id": connection, "already_authorized": already,
           "error": null, "error_message": null, "other_user_email": null})
}

/// Every PUT answers "already authorized" (→ synced).
fn put_synced() -> Route {
    on(
        "PUT",
        "external-auth/integrations/*",
        Reply::ok(set_body(None, None, true)),
    )
}

fn put_redirect(ty: &str) -> Route {
    on(
        "PUT",
        &format!("external-auth/integrations/{ty}"),
        Reply::ok(set_body(
            Some(&format!("https://auth.example.test/authorize/{ty}")),
            Some(&format!("conn-{ty}")),
            false,
        )),
    )
}

fn different_user(ty: &str, message: Option<&str>) -> Route {
    on(
        "PUT",
        &format!("external-auth/integrations/{ty}"),
        Reply::ok(
            json!({"redirect_url": null, "connection_id": null, "already_authorized": false,
                         "error": "different_user", "error_message": message,
                         "other_user_email": "other@example.com"}),
        ),
    )
}

fn stripe_status(mode: Option<&str>) -> Route {
    on(
        "GET",
        "payments/stripe/status",
        Reply::ok(json!({"stripe_mode": mode, "sandbox_claim_url": null})),
    )
}

fn removed(ty: &str) -> Route {
    on(
        "DELETE",
        &format!("external-auth/integrations/{ty}/remove"),
        Reply::ok(json!({"status": "removed", "integration_type": ty})),
    )
}

fn catalog() -> Value {
    json!({"integrations": [
        {"integration_type": "slack", "display_name": "Slack User",
         "description": "Send messages and interact with Slack as yourself (user integration)",
         "connection_config_fields": []},
        {"integration_type": "gmail", "display_name": "Gmail", "description": "Read and send email",
         "connection_config_fields": [
            {"name": "client_id", "display_name": "Client ID", "description": "OAuth client ID",
             "placeholder": "your-client-id", "required": true, "validation_pattern": null}]},
        {"integration_type": "share_point", "display_name": "SharePoint",
         "description": "Manage documents, lists, sites, and collaboration content in SharePoint",
         "connection_config_fields": [
            {"name": "subdomain", "display_name": "SharePoint Site",
             "description": "The name of your SharePoint site (e.g., sites/mysite)",
             "placeholder": "sites/mysite", "required": true,
             "validation_pattern": "^[a-zA-Z0-9/_-]+$",
             "validation_error": "Please enter a valid SharePoint site path"}]}
    ]})
}

fn available(reply: Reply) -> Route {
    on("GET", "external-auth/available-integrations", reply)
}

// ---------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------

/// What may differ between the two runs of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Aspect {
    Exit,
    Requests,
    Stdout,
    Files,
    Phrases,
}

/// A documented improvement: the aspects it relaxes and what ours must do instead.
struct Allowed {
    why: &'static str,
    relax: &'static [Aspect],
    /// `(npm, ours)` → `Err(explanation)` when ours is not as documented.
    check: fn(&Run, &Run) -> Result<(), String>,
}

struct Scenario {
    name: &'static str,
    invocation: Invocation,
    routes: Vec<Route>,
    /// Expected exit code (checked on both).
    exit: i32,
    /// Expected requests, `METHOD path` relative to the app prefix, in the
    /// canonical order of [`Order`] (checked on npm; ours is compared to npm).
    requests: Vec<String>,
    order: Order,
    /// Phrases that must appear in stdout+stderr of both (human-mode rows).
    phrases: Vec<&'static str>,
    allowed_difference: Option<Allowed>,
}

impl Scenario {
    fn new(name: &'static str, files: Vec<(String, String)>, argv: &str) -> Self {
        Scenario {
            name,
            invocation: Invocation {
                files,
                cwd: String::new(),
                argv: argv.split_whitespace().map(str::to_string).collect(),
                env: Vec::new(),
            },
            routes: Vec::new(),
            exit: 0,
            requests: Vec::new(),
            order: Order::PutsUnordered,
            phrases: Vec::new(),
            allowed_difference: None,
        }
    }
    fn route(mut self, route: Route) -> Self {
        self.routes.push(route);
        self
    }
    fn exit(mut self, code: i32) -> Self {
        self.exit = code;
        self
    }
    fn requests(mut self, requests: &[&str]) -> Self {
        self.requests = requests.iter().map(|r| r.to_string()).collect();
        self
    }
    fn unordered(mut self) -> Self {
        self.order = Order::Unordered;
        self
    }
    fn phrases(mut self, phrases: &[&'static str]) -> Self {
        self.phrases = phrases.to_vec();
        self
    }
    #[allow(dead_code)]
    fn allowed_difference(mut self, allowed: Allowed) -> Self {
        self.allowed_difference = Some(allowed);
        self
    }
    fn json_mode(&self) -> bool {
        self.invocation.argv.iter().any(|a| a == "--json")
    }
    fn relaxed(&self, aspect: Aspect) -> bool {
        self.allowed_difference
            .as_ref()
            .is_some_and(|a| a.relax.contains(&aspect))
    }
}

const LIST: &str = "GET external-auth/list";
const STRIPE_STATUS: &str = "GET payments/stripe/status";
const AVAILABLE: &str = "GET external-auth/available-integrations";

fn scenarios() -> Vec<Scenario> {
    vec![
        // ---- push: project, app id, confirmation -------------------------------------
        Scenario::new("push_empty_connectors_dir", project(&[]), "connectors push -y")
            .route(list(&[]))
            .route(stripe_status(None))
            .requests(&[LIST, STRIPE_STATUS])
            .phrases(&["No local connectors found"]),
        Scenario::new("push_empty_connectors_dir_json", project(&[]), "connectors push -y --json")
            .route(list(&[]))
            .route(stripe_status(None))
            .requests(&[LIST, STRIPE_STATUS]),
        Scenario::new("push_no_app_id_json", loose(&[]), "connectors push -y --json").exit(1),
        Scenario::new("pull_no_app_id", loose(&[]), "connectors pull")
            .exit(1)
            .phrases(&["No Base44 app ID found"]),
        Scenario::new("push_without_yes_non_interactive", project(&[GCAL, NOTION, SLACK]), "connectors push")
            .exit(1)
            .phrases(&["--yes is required in non-interactive mode"]),
        Scenario::new("push_without_yes_json", project(&[GCAL, NOTION, SLACK]), "connectors push --json")
            .exit(1),
        // ---- push: results ---------------------------------------------------------------
        Scenario::new("push_three_synced", project(&[GCAL, NOTION, SLACK]), "connectors push -y")
            .route(list(&[]))
            .route(put_synced())
            .route(stripe_status(None))
            .requests(&[
                LIST,
                "PUT external-auth/integrations/googlecalendar",
                "PUT external-auth/integrations/notion",
                "PUT external-auth/integrations/slack",
                STRIPE_STATUS,
            ])
            .phrases(&["Found 3 connectors to push", "Synced: googlecalendar, notion, slack", "Connectors pushed to Base44"]),
        Scenario::new("push_three_synced_json", project(&[GCAL, NOTION, SLACK]), "connectors push -y --json")
            .route(list(&[("slack", &["chat:write"])]))
            .route(put_synced())
            .route(stripe_status(None))
            .requests(&[
                LIST,
                "PUT external-auth/integrations/googlecalendar",
                "PUT external-auth/integrations/notion",
                "PUT external-auth/integrations/slack",
                STRIPE_STATUS,
            ]),
        Scenario::new("push_app_id_dir_json", loose(&[("conf/slack.json", SLACK.1), ("conf/custom-crm.json", "{\"type\": \"custom-crm\", \"scopes\": [\"read\"]}")]),
                      "connectors push -y --app-id app-parity --dir conf --json")
            .route(list(&[]))
            .route(put_synced())
            .route(stripe_status(None))
            .requests(&[
                LIST,
                "PUT external-auth/integrations/custom-crm",
                "PUT external-auth/integrations/slack",
                STRIPE_STATUS,
            ]),
        // BASE44_APP_ID (here from .env) means app-id mode even inside a linked
        // project: ./connectors relative to cwd, not base44/connectors.
        Scenario::new(
            "push_dotenv_app_id_uses_cwd_connectors_json",
            {
                let mut files = project(&[SLACK]);
                files.extend(loose(&[(".env", "BASE44_APP_ID=app-parity\n"), ("connectors/notion.json", NOTION.1)]));
                files
            },
            "connectors push -y --json",
        )
        .route(list(&[]))
        .route(put_synced())
        .route(stripe_status(None))
        .requests(&[LIST, "PUT external-auth/integrations/notion", STRIPE_STATUS]),
        Scenario::new("push_needs_oauth_non_interactive", project(&[GCAL, SLACK]), "connectors push -y")
            .route(list(&[]))
            .route(put_redirect("slack"))
            .route(put_synced())
            .route(stripe_status(None))
            .requests(&[
                LIST,
                "PUT external-auth/integrations/googlecalendar",
                "PUT external-auth/integrations/slack",
                STRIPE_STATUS,
            ])
            .phrases(&[
                "1 connector(s) require authorization in your browser",
                "https://auth.example.test/authorize/slack",
                "needs authorization",
                "Skipped OAuth in non-interactive mode",
            ]),
        Scenario::new("push_needs_oauth_json", project(&[GCAL, SLACK]), "connectors push -y --json")
            .route(list(&[]))
            .route(put_redirect("slack"))
            .route(put_redirect("googlecalendar"))
            .route(stripe_status(None))
            .requests(&[
                LIST,
                "PUT external-auth/integrations/googlecalendar",
                "PUT external-auth/integrations/slack",
                STRIPE_STATUS,
            ]),
        Scenario::new("push_different_user_json", project(&[HUBSPOT, SLACK]), "connectors push -y --json")
            .route(list(&[]))
            .route(different_user("hubspot", Some("Already connected by other@example.com in another workspace")))
            .route(put_synced())
            .route(stripe_status(None))
            .requests(&[
                LIST,
                "PUT external-auth/integrations/hubspot",
                "PUT external-auth/integrations/slack",
                STRIPE_STATUS,
            ]),
        Scenario::new("push_different_user_human", project(&[HUBSPOT]), "connectors push -y")
            .route(list(&[]))
            .route(different_user("hubspot", None))
            .route(stripe_status(None))
            .requests(&[LIST, "PUT external-auth/integrations/hubspot", STRIPE_STATUS])
            .phrases(&["Failed: hubspot", "Already connected by other@example.com"]),
        Scenario::new("push_put_500_json", project(&[GCAL, NOTION, SLACK]), "connectors push -y --json")
            .route(list(&[]))
            .route(on(
                "PUT",
                "external-auth/integrations/notion",
                Reply::json(500, json!({"detail": "upstream exploded"})).header("X-Request-ID", "req-put-500"),
            ))
            .route(put_synced())
            .route(stripe_status(None))
            .requests(&[
                LIST,
                "PUT external-auth/integrations/googlecalendar",
                "PUT external-auth/integrations/notion",
                "PUT external-auth/integrations/notion",
                "PUT external-auth/integrations/notion",
                "PUT external-auth/integrations/slack",
                STRIPE_STATUS,
            ]),
        Scenario::new("push_put_500_human", project(&[NOTION, SLACK]), "connectors push -y")
            .route(list(&[]))
            .route(on(
                "PUT",
                "external-auth/integrations/notion",
                Reply::json(500, json!({"message": "boom"})),
            ))
            .route(put_synced())
            .route(stripe_status(None))
            .requests(&[
                LIST,
                "PUT external-auth/integrations/notion",
                "PUT external-auth/integrations/notion",
                "PUT external-auth/integrations/notion",
                "PUT external-auth/integrations/slack",
                STRIPE_STATUS,
            ])
            .phrases(&["Failed: notion", "Synced: slack"]),
        Scenario::new("push_removal_json", project(&[GCAL]), "connectors push -y --json")
            .route(list(&[("slack", &["chat:write"]), ("googlecalendar", &[GCAL_SCOPE])]))
            .route(put_synced())
            .route(removed("slack"))
            .route(stripe_status(None))
            .requests(&[
                LIST,
                "PUT external-auth/integrations/googlecalendar",
                "DELETE external-auth/integrations/slack/remove",
                STRIPE_STATUS,
            ]),
        Scenario::new("push_removal_human", project(&[]), "connectors push -y")
            .route(list(&[("slack", &["chat:write"]), ("notion", &[])]))
            .route(removed("slack"))
            .route(removed("notion"))
            .route(stripe_status(None))
            .requests(&[
                LIST,
                "DELETE external-auth/integrations/slack/remove",
                "DELETE external-auth/integrations/notion/remove",
                STRIPE_STATUS,
            ])
            .phrases(&["No local connectors found", "Removed: slack, notion"]),
        // ---- push: Stripe ------------------------------------------------------------------
        Scenario::new("push_stripe_provisioned", project(&[SLACK, STRIPE]), "connectors push -y")
            .route(list(&[]))
            .route(put_synced())
            .route(stripe_status(None))
            .route(on("POST", "payments/stripe/install",
                      Reply::ok(json!({"already_installed": false, "claim_url": CLAIM_URL}))))
            .requests(&[LIST, "PUT external-auth/integrations/slack", STRIPE_STATUS, "POST payments/stripe/install"])
            .phrases(&[
                "Found 2 connectors to push",
                "Stripe sandbox provisioned",
                CLAIM_URL,
                "Connectors dashboard: <ORIGIN>/apps/app-parity/editor/workspace/app-connections",
            ]),
        Scenario::new("push_stripe_provisioned_json", project(&[SLACK, STRIPE]), "connectors push -y --json")
            .route(list(&[]))
            .route(put_synced())
            .route(stripe_status(None))
            .route(on("POST", "payments/stripe/install",
                      Reply::ok(json!({"already_installed": false, "claim_url": CLAIM_URL}))))
            .requests(&[LIST, "PUT external-auth/integrations/slack", STRIPE_STATUS, "POST payments/stripe/install"]),
        Scenario::new("push_stripe_synced", project(&[SLACK, STRIPE]), "connectors push -y")
            .route(list(&[("slack", &["chat:write", "channels:read"])]))
            .route(put_synced())
            .route(stripe_status(Some("sandbox")))
            .requests(&[LIST, "PUT external-auth/integrations/slack", STRIPE_STATUS])
            .phrases(&["Synced: slack, stripe"]),
        Scenario::new("push_stripe_removed_json", project(&[SLACK]), "connectors push -y --json")
            .route(list(&[]))
            .route(put_synced())
            .route(stripe_status(Some("sandbox")))
            .route(on("DELETE", "payments/stripe", Reply::ok(json!({"success": true}))))
            .requests(&[LIST, "PUT external-auth/integrations/slack", STRIPE_STATUS, "DELETE payments/stripe"]),
        Scenario::new("push_stripe_removed_human", project(&[]), "connectors push -y")
            .route(list(&[]))
            .route(stripe_status(Some("live")))
            .route(on("DELETE", "payments/stripe", Reply::ok(json!({"success": true}))))
            .requests(&[LIST, STRIPE_STATUS, "DELETE payments/stripe"])
            .phrases(&["Removed: stripe"]),
        Scenario::new("push_stripe_failed", project(&[SLACK, STRIPE]), "connectors push -y")
            .route(list(&[]))
            .route(put_synced())
            .route(stripe_status(None))
            .route(on("POST", "payments/stripe/install",
                      Reply::json(500, json!({"detail": "stripe is down"}))))
            .requests(&[LIST, "PUT external-auth/integrations/slack", STRIPE_STATUS, "POST payments/stripe/install"])
            .phrases(&["Failed: stripe", "Synced: slack"]),
        Scenario::new("push_stripe_failed_json", project(&[STRIPE]), "connectors push -y --json")
            .route(list(&[]))
            .route(stripe_status(None))
            .route(on("POST", "payments/stripe/install",
                      Reply::json(500, json!({"detail": "stripe is down"}))))
            .requests(&[LIST, STRIPE_STATUS, "POST payments/stripe/install"]),
        // ---- pull ----------------------------------------------------------------------------
        Scenario::new("pull_written_json", project(&[]), "connectors pull --json")
            .route(list(&[("slack", &["chat:write"]), ("googlecalendar", &[GCAL_SCOPE])]))
            .route(stripe_status(Some("sandbox")))
            .unordered()
            .requests(&[LIST, STRIPE_STATUS]),
        Scenario::new("pull_written_human", project(&[NOTION]), "connectors pull")
            .route(list(&[("notion", &["x"]), ("slack", &[])]))
            .route(stripe_status(None))
            .unordered()
            .requests(&[LIST, STRIPE_STATUS])
            .phrases(&["Written: notion, slack", "Pulled 2 connectors to <WORK>/base44/connectors"]),
        Scenario::new("pull_deleted_json", project(&[NOTION, SLACK]), "connectors pull --json")
            .route(list(&[("slack", &["chat:write", "channels:read"])]))
            .route(stripe_status(None))
            .unordered()
            .requests(&[LIST, STRIPE_STATUS]),
        Scenario::new("pull_up_to_date", project(&[GCAL, SLACK]), "connectors pull")
            .route(list(&[("googlecalendar", &[GCAL_SCOPE]), ("slack", &["chat:write", "channels:read"])]))
            .route(stripe_status(None))
            .unordered()
            .requests(&[LIST, STRIPE_STATUS])
            .phrases(&["All connectors are already up to date"]),
        Scenario::new(
            "pull_unchanged_file_keeps_comments_json",
            project(&[GCAL, ("my-slack.json", "{\n  // old scopes\n  \"type\": \"slack\",\n  \"scopes\": [\"chat:write\"]\n}\n")]),
            "connectors pull --json",
        )
        .route(list(&[("googlecalendar", &[GCAL_SCOPE]), ("slack", &["chat:write", "channels:read"])]))
        .route(stripe_status(None))
        .unordered()
        .requests(&[LIST, STRIPE_STATUS]),
        Scenario::new("pull_app_id_dir_json", loose(&[("out/keep.txt", "not a connector\n")]),
                      "connectors pull --app-id app-parity --dir out --json")
            .route(list(&[("slack", &["chat:write"])]))
            .route(stripe_status(None))
            .unordered()
            .requests(&[LIST, STRIPE_STATUS]),
        // ---- initiate -------------------------------------------------------------------------
        Scenario::new("initiate_already_authorized_json", loose(&[]),
                      "connectors initiate --integration-type slack --app-id app-parity --json")
            .route(put_synced())
            .requests(&["PUT external-auth/integrations/slack"]),
        Scenario::new("initiate_already_authorized_human", loose(&[]),
                      "connectors initiate --integration-type notion --app-id app-parity")
            .route(put_synced())
            .requests(&["PUT external-auth/integrations/notion"])
            .phrases(&["notion is already authorized"]),
        Scenario::new("initiate_url_printed", loose(&[]),
                      "connectors initiate --app-id app-parity --integration-type slack --scopes chat:write,channels:read users:read")
            .route(put_redirect("slack"))
            .requests(&["PUT external-auth/integrations/slack"])
            .phrases(&["Authorize slack here: https://auth.example.test/authorize/slack"]),
        Scenario::new("initiate_url_json", loose(&[]),
                      "connectors initiate --integration-type googlecalendar --scopes https://www.googleapis.com/auth/calendar --json --app-id app-parity")
            .route(put_redirect("googlecalendar"))
            .requests(&["PUT external-auth/integrations/googlecalendar"]),
        Scenario::new("initiate_different_user_json", loose(&[]),
                      "connectors initiate --integration-type hubspot --app-id app-parity --json")
            .route(different_user("hubspot", None))
            .exit(1)
            .requests(&["PUT external-auth/integrations/hubspot"]),
        Scenario::new("initiate_missing_flag", loose(&[]), "connectors initiate --app-id app-parity")
            .exit(1)
            .phrases(&["--integration-type"]),
        // ---- list-available ---------------------------------------------------------------------
        Scenario::new("list_available_json", loose(&[]), "connectors list-available --app-id app-parity --json")
            .route(available(Reply::ok(catalog())))
            .requests(&[AVAILABLE]),
        Scenario::new("list_available_human", project(&[]), "connectors list-available")
            .route(available(Reply::ok(catalog())))
            .requests(&[AVAILABLE])
            .phrases(&["Slack User", "integrationType: slack", "name: client_id", "displayName: Client ID", "Found 3 available integrations"]),
        Scenario::new("list_available_empty", loose(&[]), "connectors list-available --app-id app-parity")
            .route(available(Reply::ok(json!({"integrations": []}))))
            .requests(&[AVAILABLE])
            .phrases(&["No available integrations found"]),
        Scenario::new("list_available_500_json", loose(&[]), "connectors list-available --app-id app-parity --json")
            .route(available(Reply::json(500, json!({"detail": "catalog unavailable"})).header("X-Request-ID", "req-catalog-500")))
            .exit(1)
            .requests(&[AVAILABLE, AVAILABLE, AVAILABLE]),
        Scenario::new("list_available_500_then_ok_json", loose(&[]), "connectors list-available --app-id app-parity --json")
            .route(available(Reply::json(500, json!({"detail": "blip"}))).then(Reply::ok(catalog())))
            .requests(&[AVAILABLE, AVAILABLE]),
        Scenario::new("list_available_html_502_json", loose(&[]), "connectors list-available --app-id app-parity --json")
            .route(available(Reply::raw(502, Some("text/html"), "<html>bad gateway</html>")))
            .exit(1)
            .requests(&[AVAILABLE, AVAILABLE, AVAILABLE]),
        Scenario::new("list_available_invalid_item_json", loose(&[]), "connectors list-available --app-id app-parity --json")
            .route(available(Reply::ok(json!({"integrations": [{"bad": "data"}]}))))
            .exit(1)
            .requests(&[AVAILABLE]),
    ]
}

// ---------------------------------------------------------------------------
// Checking a row
// ---------------------------------------------------------------------------

fn env_flag(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The row against its own expectations (exit code, requests, phrases).
fn check_expectations(s: &Scenario, run: &Run) -> Vec<String> {
    let mut problems = Vec::new();
    let relax = |a| run.side == Side::Ours && s.relaxed(a);
    if run.code != s.exit && !relax(Aspect::Exit) {
        problems.push(format!(
            "{}: exit {} (expected {})",
            run.side, run.code, s.exit
        ));
    }
    let got: Vec<String> = {
        let mut shorts: Vec<String> = run.requests.iter().map(|r| r.short()).collect();
        match s.order {
            Order::Unordered => shorts.sort(),
            Order::PutsUnordered => {
                // Same canonicalisation as `canonical`, on the short form.
                let keys = canonical(&run.requests, Order::PutsUnordered);
                shorts = keys
                    .iter()
                    .map(|k| k.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
                    .collect();
            }
        }
        shorts
    };
    let mut want = s.requests.clone();
    if s.order == Order::Unordered {
        want.sort();
    }
    if got != want && !relax(Aspect::Requests) {
        problems.push(format!(
            "{}: requests differ from the table:\n{}",
            run.side,
            list_diff("table", &want, &run.side.to_string(), &got)
        ));
    }
    for r in &run.requests {
        if r.api_key.as_deref() != Some(API_KEY) {
            problems.push(format!(
                "{}: request without the api_key header: {r}",
                run.side
            ));
        }
        if r.body.is_some()
            && !r
                .content_type
                .as_deref()
                .is_some_and(|ct| ct.starts_with("application/json"))
        {
            problems.push(format!(
                "{}: a body without content-type application/json ({:?}): {r}",
                run.side, r.content_type
            ));
        }
        if r.authorization.is_some() {
            problems.push(format!(
                "{}: Authorization sent with a b44k_ key: {r}",
                run.side
            ));
        }
    }
    if !relax(Aspect::Phrases) {
        let output = run.output();
        for phrase in &s.phrases {
            if !output.contains(phrase) {
                problems.push(format!("{}: output lacks {phrase:?}", run.side));
            }
        }
    }
    problems
}

/// Ours against npm.
fn check_parity(s: &Scenario, npm: &Run, ours: &Run) -> Vec<String> {
    let mut problems = Vec::new();
    if !s.relaxed(Aspect::Exit) && npm.code != ours.code {
        problems.push(format!("exit code: npm {} ≠ ours {}", npm.code, ours.code));
    }
    if !s.relaxed(Aspect::Requests) {
        let a = canonical(&npm.requests, s.order);
        let b = canonical(&ours.requests, s.order);
        if a != b {
            problems.push(format!(
                "requests (method, path, body) differ:\n{}",
                list_diff("npm ", &a, "ours", &b)
            ));
        }
        let agents = |run: &Run| {
            let mut v: Vec<Option<String>> =
                run.requests.iter().map(|r| r.user_agent.clone()).collect();
            v.dedup();
            v
        };
        if !npm.requests.is_empty() && !ours.requests.is_empty() && agents(npm) != agents(ours) {
            problems.push(format!(
                "user-agent: npm {:?} ≠ ours {:?}",
                agents(npm),
                agents(ours)
            ));
        }
        // A fresh request id per request, as npm sends.
        let ids_ok = |run: &Run| {
            let ids: Vec<&str> = run
                .requests
                .iter()
                .filter_map(|r| r.request_id.as_deref())
                .collect();
            let mut unique = ids.clone();
            unique.sort();
            unique.dedup();
            ids.len() == run.requests.len() && unique.len() == ids.len()
        };
        if ids_ok(npm) && !ids_ok(ours) {
            problems.push(format!(
                "X-Request-ID: npm sends a distinct one per request, ours: {:?}",
                ours.requests
                    .iter()
                    .map(|r| r.request_id.clone())
                    .collect::<Vec<_>>()
            ));
        }
    }
    if s.json_mode() && !s.relaxed(Aspect::Stdout) {
        match (npm.json(), ours.json()) {
            (Ok(a), Ok(b)) if a == b => {}
            (Ok(a), Ok(b)) => problems.push(format!(
                "--json stdout differs:\n  npm:  {}\n  ours: {}",
                serde_json::to_string(&a).unwrap(),
                serde_json::to_string(&b).unwrap()
            )),
            (Err(e), _) | (_, Err(e)) => problems.push(e),
        }
    }
    if !s.relaxed(Aspect::Files) {
        if let Some(diff) = files_diff(&npm.files, &ours.files) {
            problems.push(format!("files differ:\n{diff}"));
        }
    }
    if let Some(allowed) = &s.allowed_difference {
        if let Err(e) = (allowed.check)(npm, ours) {
            problems.push(format!(
                "allowed difference ({}) not as documented: {e}",
                allowed.why
            ));
        }
    }
    problems
}

#[derive(Debug)]
struct RowReport {
    name: &'static str,
    npm: Option<Result<(), String>>,
    ours: Option<Result<(), String>>,
    seconds: (f64, f64),
}

fn run_row(s: &Scenario, sides: (bool, bool), verbose: bool) -> RowReport {
    let mut report = RowReport {
        name: s.name,
        npm: None,
        ours: None,
        seconds: (0.0, 0.0),
    };
    let run = |side| {
        std::panic::catch_unwind(AssertUnwindSafe(|| run_cli(side, &s.invocation, &s.routes)))
            .map_err(|e| {
                e.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into())
            })
    };
    let npm = if sides.0 { Some(run(Side::Npm)) } else { None };
    let ours = if sides.1 { Some(run(Side::Ours)) } else { None };
    if verbose {
        let mut text = format!("===== {} ({})\n", s.name, s.invocation.argv.join(" "));
        for r in [&npm, &ours].into_iter().flatten() {
            match r {
                Ok(run) => text.push_str(&run.dump()),
                Err(e) => text.push_str(&format!("run failed: {e}\n")),
            }
        }
        eprintln!("{text}");
    }
    let dumps = |runs: &[&Run]| runs.iter().map(|r| r.dump()).collect::<String>();
    if let Some(npm) = &npm {
        report.npm = Some(match npm {
            Err(e) => Err(e.clone()),
            Ok(run) => {
                report.seconds.0 = run.elapsed.as_secs_f64();
                let problems = check_expectations(s, run);
                if problems.is_empty() {
                    Ok(())
                } else {
                    Err(format!("{}\n{}", problems.join("\n"), dumps(&[run])))
                }
            }
        });
    }
    if let Some(ours) = &ours {
        report.ours = Some(match ours {
            Err(e) => Err(e.clone()),
            Ok(run) => {
                report.seconds.1 = run.elapsed.as_secs_f64();
                let mut problems = check_expectations(s, run);
                if let Some(Ok(npm)) = &npm {
                    problems.extend(check_parity(s, npm, run));
                }
                if problems.is_empty() {
                    Ok(())
                } else {
                    let runs: Vec<&Run> = match &npm {
                        Some(Ok(npm)) => vec![npm, run],
                        _ => vec![run],
                    };
                    Err(format!("{}\n{}", problems.join("\n"), dumps(&runs)))
                }
            }
        });
    }
    report
}

#[test]
fn scenario_table_is_complete() {
    let rows = scenarios();
    assert!(rows.len() >= 25, "at least 25 rows, got {}", rows.len());
    let mut names: Vec<&str> = rows.iter().map(|s| s.name).collect();
    names.sort();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "row names are unique");
    // The issue's list, each covered by at least one row.
    for needle in [
        "push_empty_connectors_dir",
        "no_app_id",
        "push_without_yes",
        "push_three_synced",
        "push_needs_oauth",
        "push_different_user",
        "push_put_500",
        "push_removal",
        "push_stripe_provisioned",
        "push_stripe_synced",
        "push_stripe_removed",
        "push_stripe_failed",
        "pull_written",
        "pull_deleted",
        "pull_up_to_date",
        "keeps_comments",
        "initiate_already_authorized",
        "initiate_url",
        "initiate_different_user",
        "initiate_missing_flag",
        "list_available_json",
        "list_available_human",
        "list_available_empty",
        "list_available_500",
        "list_available_invalid_item",
    ] {
        assert!(
            names.iter().any(|n| n.contains(needle)),
            "no row for {needle}"
        );
    }
}

/// The scripted server itself: sequences, headers, the log, unscripted 404s.
#[test]
fn scripted_server_records_and_answers() {
    let server = support::ScriptedServer::start(&[
        available(Reply::json(500, json!({"detail": "x"})))
            .then(Reply::ok(json!({"integrations": []})).header("X-Request-ID", "req-1")),
        on(
            "PUT",
            "external-auth/integrations/*",
            Reply::ok(set_body(None, None, true)),
        ),
        on(
            "GET",
            "external-auth/status?integration_type=slack&connection_id=c1",
            Reply::ok(json!({"status": "ACTIVE"})),
        ),
    ]);
    let url = |p: &str| format!("{}/api/apps/app-parity/{p}", server.origin);
    let key = [("api_key", API_KEY), ("user-agent", "test-agent")];
    let (status, _, _) = http(
        "GET",
        &url("external-auth/available-integrations"),
        &key,
        None,
    )
    .unwrap();
    assert_eq!(status, 500);
    let (status, head, body) = http(
        "GET",
        &url("external-auth/available-integrations"),
        &key,
        None,
    )
    .unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"integrations":[]}"#));
    assert!(
        head.to_ascii_lowercase().contains("x-request-id: req-1"),
        "{head}"
    );
    let (status, _, _) = http(
        "GET",
        &url("external-auth/available-integrations"),
        &key,
        None,
    )
    .unwrap();
    assert_eq!(status, 200, "the last reply repeats");
    let (status, _, _) = http(
        "PUT",
        &url("external-auth/integrations/slack"),
        &key,
        Some(r#"{"scopes":["a"]}"#),
    )
    .unwrap();
    assert_eq!(status, 200);
    let (status, _, _) = http(
        "GET",
        &url("external-auth/status?integration_type=slack&connection_id=c1"),
        &key,
        None,
    )
    .unwrap();
    assert_eq!(status, 200);
    let (status, _, body) = http("DELETE", &url("payments/stripe"), &[], None).unwrap();
    assert_eq!(status, 404, "unscripted: {body}");
    assert!(body.contains("unscripted request: DELETE /api/apps/app-parity/payments/stripe"));

    let log = server.requests();
    let keys: Vec<String> = log.iter().map(|r| r.key()).collect();
    assert_eq!(
        keys,
        [
            "GET external-auth/available-integrations",
            "GET external-auth/available-integrations",
            "GET external-auth/available-integrations",
            r#"PUT external-auth/integrations/slack {"scopes":["a"]}"#,
            "GET external-auth/status?integration_type=slack&connection_id=c1",
            "DELETE payments/stripe",
        ]
    );
    assert_eq!(log[0].api_key.as_deref(), Some(API_KEY));
    assert_eq!(log[0].user_agent.as_deref(), Some("test-agent"));
    assert_eq!(log[3].content_type.as_deref(), Some("application/json"));
    assert_eq!(log[5].api_key, None);

    // Runs of PUTs compare as multisets, everything else in order.
    let rec = |m: &str, p: &str| support::Recorded {
        method: m.into(),
        path: format!("{}{p}", support::APP_PREFIX),
        body: None,
        api_key: None,
        authorization: None,
        user_agent: None,
        content_type: None,
        request_id: None,
    };
    let a = [
        rec("GET", "l"),
        rec("PUT", "x"),
        rec("PUT", "y"),
        rec("DELETE", "z"),
    ];
    let b = [
        rec("GET", "l"),
        rec("PUT", "y"),
        rec("PUT", "x"),
        rec("DELETE", "z"),
    ];
    let c = [
        rec("GET", "l"),
        rec("PUT", "y"),
        rec("DELETE", "z"),
        rec("PUT", "x"),
    ];
    assert_eq!(
        canonical(&a, Order::PutsUnordered),
        canonical(&b, Order::PutsUnordered)
    );
    assert_ne!(
        canonical(&a, Order::PutsUnordered),
        canonical(&c, Order::PutsUnordered)
    );
    assert_eq!(
        canonical(&a, Order::Unordered),
        canonical(&c, Order::Unordered)
    );
}

#[test]
fn scenario_parity() {
    let side = env_flag("PARITY_SIDE").unwrap_or_else(|| "both".into());
    let sides = match side.as_str() {
        "npm" => (true, false),
        "ours" => (false, true),
        _ => (true, true),
    };
    if sides.0 {
        support::npm_cli(); // fails early with "run scripts/install-test-deps"
    }
    let filter = env_flag("PARITY_FILTER");
    let verbose = env_flag("PARITY_VERBOSE").is_some();
    let threads = env_flag("PARITY_THREADS")
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()) * 2);
    let rows: Vec<Scenario> = scenarios()
        .into_iter()
        .filter(|s| filter.as_deref().is_none_or(|f| s.name.contains(f)))
        .collect();
    let started = std::time::Instant::now();
    let reports = parallel(rows.iter().collect(), threads, |s| {
        run_row(s, sides, verbose)
    });

    let mut summary = format!(
        "\nscenario parity ({} rows, sides: {side}, {threads} threads, {:.1}s)\n",
        reports.len(),
        started.elapsed().as_secs_f64()
    );
    let mut failures = String::new();
    let mark = |r: &Option<Result<(), String>>| match r {
        None => "-",
        Some(Ok(())) => "ok",
        Some(Err(_)) => "FAIL",
    };
    for (report, row) in reports.iter().zip(&rows) {
        summary.push_str(&format!(
            "  {:<44} npm {:<4} ours {:<4} ({:.2}s / {:.2}s){}\n",
            report.name,
            mark(&report.npm),
            mark(&report.ours),
            report.seconds.0,
            report.seconds.1,
            row.allowed_difference
                .as_ref()
                .map_or(String::new(), |a| format!(
                    "  [allowed difference: {}]",
                    a.why
                ))
        ));
        for (side, result) in [("npm (table check)", &report.npm), ("ours", &report.ours)] {
            if let Some(Err(e)) = result {
                failures.push_str(&format!("\n===== {} — {side}\n{e}\n", report.name));
            }
        }
    }
    assert!(failures.is_empty(), "{failures}\n{summary}");
    eprintln!("{summary}");
}

// ---------------------------------------------------------------------------
// Bad files: our CLI only
// ---------------------------------------------------------------------------

/// A connector directory our CLI must refuse before any request.
struct BadFiles {
    name: &'static str,
    /// Files in `base44/connectors/`.
    files: &'static [(&'static str, &'static str)],
    /// `file:line:column` our stderr must contain (1-based, column in characters).
    location: &'static str,
    /// More text our stderr must contain.
    also: &'static [&'static str],
    /// The `--json` envelope's `code`, as the npm CLI gives it for the same files
    /// (checked by `bad_files_npm_reference`).
    code: &'static str,
}

const BAD_FILES: &[BadFiles] = &[
    BadFiles {
        name: "invalid JSONC",
        files: &[
            (
                "bad.jsonc",
                "{\n  \"type\": \"slack\",\n  \"scopes\": [@]\n}\n",
            ),
            ("notion.json", "{\"type\": \"notion\"}\n"),
        ],
        // The `@`.
        location: "bad.jsonc:3:14",
        also: &[],
        code: "CONFIG_INVALID",
    },
    BadFiles {
        name: "type missing",
        files: &[(
            "missing.jsonc",
            "{\n  // no type here\n  \"scopes\": [\"x\"]\n}\n",
        )],
        // The object that lacks it.
        location: "missing.jsonc:1:1",
        also: &["type"],
        code: "SCHEMA_INVALID",
    },
    BadFiles {
        name: "type not a string",
        files: &[("number.jsonc", "{\n  \"type\": 42\n}\n")],
        // The value `42`.
        location: "number.jsonc:2:11",
        also: &["type"],
        code: "SCHEMA_INVALID",
    },
    BadFiles {
        name: "scopes not a list",
        files: &[(
            "scopes.jsonc",
            "{\n  \"type\": \"slack\",\n  \"scopes\": \"chat:write\"\n}\n",
        )],
        // The string value.
        location: "scopes.jsonc:3:13",
        also: &["scopes"],
        code: "SCHEMA_INVALID",
    },
    BadFiles {
        name: "scopes not a list of strings",
        files: &[(
            "scopes.jsonc",
            "{\n  \"type\": \"slack\",\n  \"scopes\": [\"ok\", 7]\n}\n",
        )],
        // The element `7`.
        location: "scopes.jsonc:3:20",
        also: &["scopes"],
        code: "SCHEMA_INVALID",
    },
    BadFiles {
        name: "type failing the pattern",
        files: &[("pattern.jsonc", "{\n  \"type\": \"my connector!\"\n}\n")],
        // The value.
        location: "pattern.jsonc:2:11",
        also: &["type"],
        code: "SCHEMA_INVALID",
    },
    BadFiles {
        name: "same type in a.json and b.jsonc",
        files: &[
            ("a.json", "{\"type\": \"slack\"}\n"),
            (
                "b.jsonc",
                "{\n  // the same type again\n  \"type\": \"slack\"\n}\n",
            ),
        ],
        // The second occurrence's value; the first file is named too.
        location: "b.jsonc:3:11",
        also: &["a.json", "slack"],
        code: "INVALID_INPUT",
    },
];

/// Every route push could call, all answering success: a bad file must stop
/// the CLI before any of them.
fn push_routes() -> Vec<Route> {
    vec![list(&[]), put_synced(), stripe_status(None)]
}

fn bad_invocation(bad: &BadFiles, json: bool) -> Invocation {
    let files: Vec<(&str, &str)> = bad.files.to_vec();
    let mut argv = vec!["connectors", "push", "-y"];
    if json {
        argv.push("--json");
    }
    Invocation {
        files: project(&files),
        cwd: String::new(),
        argv: argv.into_iter().map(str::to_string).collect(),
        env: Vec::new(),
    }
}

#[test]
fn bad_files_are_refused_with_file_line_column() {
    let jobs: Vec<(&BadFiles, bool)> = BAD_FILES
        .iter()
        .flat_map(|b| [(b, false), (b, true)])
        .collect();
    let results = parallel(jobs, 4, |(bad, json)| {
        let run = run_cli(Side::Ours, &bad_invocation(bad, json), &push_routes());
        let mut problems = Vec::new();
        if run.code != 1 {
            problems.push(format!("exit {} (expected 1)", run.code));
        }
        if !run.requests.is_empty() {
            problems.push(format!(
                "sent {} request(s), expected none",
                run.requests.len()
            ));
        }
        if json {
            match run.json() {
                Err(e) => problems.push(e),
                Ok(envelope) => {
                    if envelope["code"] != bad.code {
                        problems.push(format!(
                            "envelope code {} (expected {})",
                            envelope["code"], bad.code
                        ));
                    }
                    // The message (npm's text where it has one), and the
                    // location somewhere in the envelope (`error`, `details`
                    // or `hints`: the duplicate keeps npm's message, which
                    // names no file).
                    let message = envelope["error"].as_str().unwrap_or_default();
                    if message.is_empty() {
                        problems.push(format!("envelope without an error message: {envelope}"));
                    }
                    if !envelope.to_string().contains(bad.location) {
                        problems.push(format!(
                            "envelope does not give {}: {envelope}",
                            bad.location
                        ));
                    }
                }
            }
        } else {
            for needle in std::iter::once(&bad.location).chain(bad.also) {
                if !run.stderr.contains(needle) {
                    problems.push(format!("stderr lacks {needle:?}"));
                }
            }
        }
        if problems.is_empty() {
            None
        } else {
            Some(format!(
                "{} ({}): {}\n{}",
                bad.name,
                if json { "--json" } else { "human" },
                problems.join("; "),
                run.dump()
            ))
        }
    });
    let failures: Vec<String> = results.into_iter().flatten().collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Where the envelope codes of [`BAD_FILES`] come from: the npm CLI refuses
/// the same files with exit 1, no request, and that code. (It names the file
/// in every case but the duplicate, and gives a position only for syntax
/// errors: `JSON5: invalid character '@' at 3:14`.)
#[test]
fn bad_files_npm_reference() {
    if env_flag("PARITY_SIDE").as_deref() == Some("ours") {
        return;
    }
    support::npm_cli();
    let results = parallel(BAD_FILES.iter().collect(), 4, |bad| {
        let run = run_cli(Side::Npm, &bad_invocation(bad, true), &push_routes());
        let envelope = run.json().unwrap_or_default();
        let ok = run.code == 1 && run.requests.is_empty() && envelope["code"] == bad.code;
        (!ok).then(|| format!("{}:\n{}", bad.name, run.dump()))
    });
    let failures: Vec<String> = results.into_iter().flatten().collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn misspelled_known_type_suggests_the_known_one() {
    let invocation = Invocation {
        files: project(&[("calendar.jsonc", "{\n  \"type\": \"googlecalender\"\n}\n")]),
        cwd: String::new(),
        argv: ["connectors", "push", "-y"].map(str::to_string).to_vec(),
        env: Vec::new(),
    };
    let run = run_cli(Side::Ours, &invocation, &push_routes());
    assert!(
        run.stderr.contains("did you mean") && run.stderr.contains("googlecalendar"),
        "expected a \"did you mean\" naming googlecalendar on stderr\n{}",
        run.dump()
    );
    assert!(
        run.stderr.contains("calendar.jsonc"),
        "the suggestion names the file\n{}",
        run.dump()
    );
}

// ---------------------------------------------------------------------------
// End to end: our CLI against the real connectors-server, in process
// ---------------------------------------------------------------------------

const SERVER_PROVIDERS: &str = r#"
[providers.acme_crm]
display_name = "Acme CRM"
description = "A custom OAuth 2.0 provider of the test"
authorization_url = "https://id.acme.test/authorize"
token_url = "https://id.acme.test/token"
client_id = "acme-client"
client_secret = "acme-client-secret"

[providers.googlecalendar]
client_id = "google-client"
client_secret = "google-secret"

[providers.slack]
client_id = "slack-client"
client_secret = "slack-secret"
"#;

/// `connectors-server` in process with [`SERVER_PROVIDERS`].
fn start_real_server() -> RealServer {
    support::start_real_server(|_| SERVER_PROVIDERS.to_string())
}

#[test]
fn end_to_end_against_connectors_server() {
    let server = start_real_server();
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let work = tmp.path().join("work");
    let connectors = work.join("base44/connectors");
    let ours = |argv: &str| {
        let invocation = Invocation {
            files: Vec::new(),
            cwd: String::new(),
            argv: argv.split_whitespace().map(str::to_string).collect(),
            env: Vec::new(),
        };
        exec(
            Side::Ours,
            &work,
            &home,
            &invocation,
            &server.origin,
            &server.api_key,
        )
    };
    let remote_types = || -> Vec<String> {
        let mut types: Vec<String> = server
            .remote_list()
            .iter()
            .map(|i| i["integration_type"].as_str().unwrap().to_string())
            .collect();
        types.sort();
        types
    };

    // list-available: the server's catalogue, custom provider included.
    let run = ours(&format!(
        "connectors list-available --app-id {} --json",
        server.app_id
    ));
    assert_eq!(run.code, 0, "{}", run.dump());
    let listed = run.json().unwrap();
    let types: Vec<&str> = listed["integrations"]
        .as_array()
        .expect("integrations")
        .iter()
        .map(|i| i["integrationType"].as_str().unwrap())
        .collect();
    for ty in ["acme_crm", "googlecalendar", "slack", "share_point"] {
        assert!(types.contains(&ty), "{ty} not in {types:?}");
    }

    // push: a linked project with three connectors → each needs OAuth, with a
    // consent link served by the server.
    support::write_file(
        &work.join("base44/config.jsonc"),
        "{\n  \"name\": \"E2E\"\n}\n",
    );
    support::write_file(
        &work.join("base44/.app.jsonc"),
        &format!("{{\n  // linked\n  \"id\": \"{}\"\n}}\n", server.app_id),
    );
    let acme = "{\n  // custom provider from the server config\n  \"type\": \"acme_crm\",\n  \"scopes\": [\"contacts.read\"],\n}\n";
    support::write_file(&connectors.join("acme_crm.jsonc"), acme);
    support::write_file(
        &connectors.join("googlecalendar.json"),
        &format!("{{\"type\": \"googlecalendar\", \"scopes\": [\"{GCAL_SCOPE}\"]}}"),
    );
    support::write_file(&connectors.join("slack.json"), "{\"type\": \"slack\"}");
    let run = ours("connectors push -y --json");
    assert_eq!(run.code, 0, "{}", run.dump());
    let results = run.json().unwrap()["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut pushed: Vec<&str> = results
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    pushed.sort();
    assert_eq!(
        pushed,
        ["acme_crm", "googlecalendar", "slack"],
        "{}",
        run.dump()
    );
    for result in &results {
        assert_eq!(result["action"], "needs_oauth", "{result}");
        let id = result["connectionId"].as_str().expect("connectionId");
        let url = result["redirectUrl"].as_str().expect("redirectUrl");
        // Outputs are normalised: the server's origin reads `<ORIGIN>`.
        assert_eq!(url, format!("<ORIGIN>/connect/{id}"));
        let url = url.replace("<ORIGIN>", &server.origin);
        let (status, head, body) = http("GET", &url, &[], None).unwrap();
        assert!(
            matches!(status, 200 | 302 | 303 | 307),
            "the consent link answers {status}: {head}\n{body}"
        );
    }
    assert_eq!(remote_types(), ["acme_crm", "googlecalendar", "slack"]);

    // Human mode: the same push prints the plan and the non-interactive outro.
    let run = ours("connectors push -y");
    assert_eq!(run.code, 0, "{}", run.dump());
    let output = run.output();
    for phrase in [
        "Found 3 connectors to push",
        "Skipped OAuth in non-interactive mode",
    ] {
        assert!(
            output.contains(phrase),
            "{phrase:?} missing\n{}",
            run.dump()
        );
    }

    // Deleting a file removes the connector on the next push.
    std::fs::remove_file(connectors.join("slack.json")).unwrap();
    let run = ours("connectors push -y --json");
    assert_eq!(run.code, 0, "{}", run.dump());
    let results = run.json().unwrap()["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        results
            .iter()
            .any(|r| r["type"] == "slack" && r["action"] == "removed"),
        "{}",
        run.dump()
    );
    assert_eq!(remote_types(), ["acme_crm", "googlecalendar"]);

    // pull writes the server's state: the unchanged file is untouched (its
    // comment survives), the missing one is written as <type>.jsonc.
    std::fs::remove_file(connectors.join("googlecalendar.json")).unwrap();
    let run = ours("connectors pull --json");
    assert_eq!(run.code, 0, "{}", run.dump());
    let pulled = run.json().unwrap();
    assert_eq!(pulled["pulled"], 2, "{pulled}");
    assert_eq!(pulled["written"], json!(["googlecalendar"]), "{pulled}");
    assert_eq!(pulled["deleted"], json!([]), "{pulled}");
    assert_eq!(
        pulled["connectorsDir"],
        json!("<WORK>/base44/connectors"),
        "{pulled}"
    );
    assert_eq!(
        std::fs::read_to_string(connectors.join("acme_crm.jsonc")).unwrap(),
        acme
    );
    assert_eq!(
        std::fs::read_to_string(connectors.join("googlecalendar.jsonc")).unwrap(),
        format!(
            "{{\n  \"type\": \"googlecalendar\",\n  \"scopes\": [\n    \"{GCAL_SCOPE}\"\n  ]\n}}"
        )
    );

    // initiate: one PUT, the consent link printed.
    let run = ours(&format!(
        "connectors initiate --integration-type acme_crm --scopes contacts.read,contacts.write --app-id {} --json",
        server.app_id
    ));
    assert_eq!(run.code, 0, "{}", run.dump());
    let initiated = run.json().unwrap();
    assert_eq!(initiated["integrationType"], "acme_crm");
    assert_eq!(initiated["alreadyAuthorized"], false);
    assert!(
        initiated["redirectUrl"]
            .as_str()
            .unwrap_or_default()
            .starts_with("<ORIGIN>/connect/"),
        "{initiated}"
    );
    let (status, _, body) = http(
        "GET",
        &format!(
            "{}/api/apps/{}/external-auth/list",
            server.origin, server.app_id
        ),
        &[("api_key", &server.api_key)],
        None,
    )
    .unwrap();
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&body).unwrap();
    let acme_scopes = list["integrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["integration_type"] == "acme_crm")
        .map(|i| i["scopes"].clone());
    assert_eq!(
        acme_scopes,
        Some(json!(["contacts.read", "contacts.write"]))
    );
}
