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
//! * `harness::scripted_server_records_and_answers`: the scripted server itself.
//!
//! Run: `cargo test -p base44-cli --test it parity::` (needs `scripts/install-test-deps`).

mod bad_files;
mod e2e;
mod harness;

use std::panic::AssertUnwindSafe;

use crate::support::{
    self, canonical, exec, files_diff, http, list_diff, on, parallel, run_cli, Invocation, Order,
    RealServer, Reply, Route, Run, Side, API_KEY,
};
use serde_json::{json, Value};

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
    // The list, each covered by at least one row.
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
