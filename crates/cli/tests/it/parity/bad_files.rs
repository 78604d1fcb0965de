//! Bad files: our CLI only refuses them with file, line and column.

use super::*;

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

/// Issue 10: 200k levels of `[` in a connector file, `config.jsonc` or
/// `.app.jsonc` crashed our CLI (exit 134: the stack overflowed while the
/// parsed tree was freed). Now each is refused (exit 1, no request) at the
/// bracket that opens level 129, with what to do. The npm CLI parses any
/// depth (its `json5` keeps a heap stack), so this is ours alone.
#[test]
fn deeply_nested_files_are_refused_with_a_position() {
    let n = 200_000;
    let deep = format!("{}{}", "[".repeat(n), "]".repeat(n));
    let connector = format!("{{\"type\": \"slack\", \"scopes\": {deep}}}");
    let config = format!("{{\"name\": {deep}}}");
    let app = format!("{{\"id\": {deep}}}");
    // The root object is level 1: the 128th `[` goes one level too deep.
    // (name, files, location)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, String);
    let cases: [Case; 3] = [
        (
            "connector file",
            vec![CONFIG, APP, ("base44/connectors/deep.jsonc", &connector)],
            format!("deep.jsonc:1:{}", 29 + 127),
        ),
        (
            "config.jsonc",
            vec![("base44/config.jsonc", &config), APP],
            format!("config.jsonc:1:{}", 10 + 127),
        ),
        (
            ".app.jsonc",
            vec![CONFIG, ("base44/.app.jsonc", &app)],
            format!(".app.jsonc:1:{}", 8 + 127),
        ),
    ];
    let jobs: Vec<(&Case, bool)> = cases.iter().flat_map(|c| [(c, false), (c, true)]).collect();
    let results = parallel(jobs, 2, |((name, files, location), json)| {
        let mut argv = vec!["connectors", "push", "-y"];
        if json {
            argv.push("--json");
        }
        let invocation = Invocation {
            files: loose(files),
            cwd: String::new(),
            argv: argv.into_iter().map(str::to_string).collect(),
            env: Vec::new(),
        };
        let run = run_cli(Side::Ours, &invocation, &push_routes());
        let text = if json {
            run.stdout.clone()
        } else {
            run.stderr.clone()
        };
        let ok = run.code == 1
            && run.requests.is_empty()
            && text.contains(location.as_str())
            && text.contains("too deeply")
            && text.contains("at most 128 levels")
            && text.len() < 2_000;
        (!ok).then(|| format!("{name} (json: {json}):\n{}", run.dump()))
    });
    let failures: Vec<String> = results.into_iter().flatten().collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Issue 10, the other way in: a server answering 200k levels of `[` (as a
/// success body and as an error body). serde_json's own limit (128 levels)
/// refuses it before any deep value exists, so the CLI fails cleanly.
#[test]
fn deeply_nested_server_answers_fail_cleanly() {
    let n = 200_000;
    let deep = format!("{{\"integrations\": {}{}}}", "[".repeat(n), "]".repeat(n));
    for (status, expected) in [(200, "SCHEMA_INVALID"), (500, "API_ERROR")] {
        let routes = [
            on(
                "GET",
                "external-auth/list",
                Reply::raw(status, Some("application/json"), &deep),
            ),
            put_synced(),
            stripe_status(None),
        ];
        let invocation = Invocation {
            files: project(&[NOTION]),
            cwd: String::new(),
            argv: ["connectors", "push", "-y", "--json"]
                .map(str::to_string)
                .to_vec(),
            env: Vec::new(),
        };
        let run = run_cli(Side::Ours, &invocation, &routes);
        assert_eq!(run.code, 1, "{}", run.dump());
        let envelope = run.json().unwrap();
        assert_eq!(envelope["code"], expected, "{envelope}");
        assert!(run.stdout.len() < 2_000, "{} bytes", run.stdout.len());
    }
}
