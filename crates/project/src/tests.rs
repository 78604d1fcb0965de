//! Tests of the public API on real directories. Expected messages are the npm
//! CLI 0.1.18's, as it printed them for the same files.

use std::fs;
use std::path::{Path, PathBuf};

use super::*;

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn tmp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    // Canonical, so paths compare equal where the temp dir is a symlink.
    let path = dir.path().canonicalize().unwrap();
    (dir, path)
}

fn project(root: &Path) -> ProjectPaths {
    ProjectPaths {
        root: root.to_path_buf(),
        config_file: root.join("base44/config.jsonc"),
    }
}

// ----- project discovery -----

#[test]
fn find_project_root_walks_up_to_the_nearest_config() {
    let (_guard, root) = tmp();
    write(&root.join("base44/config.jsonc"), "{name: 'x'}");
    let deep = root.join("a/b/c");
    fs::create_dir_all(&deep).unwrap();

    let found = find_project_root(&deep).unwrap();
    assert_eq!(
        found,
        ProjectPaths {
            root: root.clone(),
            config_file: root.join("base44/config.jsonc")
        }
    );
    assert_eq!(find_project_root(&root), Some(found));

    // A nested project is nearer.
    write(&root.join("a/config.json"), "{name: 'inner'}");
    let inner = find_project_root(&deep).unwrap();
    assert_eq!(
        inner,
        ProjectPaths {
            root: root.join("a"),
            config_file: root.join("a/config.json")
        }
    );
}

#[test]
fn find_project_root_prefers_base44_then_json() {
    let (_guard, root) = tmp();
    write(&root.join("config.json"), "{}");
    write(&root.join("config.jsonc"), "{}");
    assert_eq!(
        find_project_root(&root).unwrap().config_file,
        root.join("config.json")
    );
    write(&root.join("base44/config.jsonc"), "{}");
    assert_eq!(
        find_project_root(&root).unwrap().config_file,
        root.join("base44/config.jsonc")
    );
    write(&root.join("base44/config.json"), "{}");
    assert_eq!(
        find_project_root(&root).unwrap().config_file,
        root.join("base44/config.json")
    );
}

#[test]
fn find_project_root_ignores_directories_named_like_configs() {
    let (_guard, root) = tmp();
    fs::create_dir_all(root.join("base44/config.json")).unwrap();
    let found = find_project_root(&root);
    // Nothing here; whatever an ancestor of the temp dir holds is not ours.
    assert!(
        found.as_ref().is_none_or(|p| !p.root.starts_with(&root)),
        "{found:?}"
    );
}

#[test]
fn read_app_id_reads_the_canonical_file_first() {
    let (_guard, root) = tmp();
    write(&root.join(".app.jsonc"), "{id: 'elsewhere'}");
    write(
        &root.join("base44/.app.jsonc"),
        "// Base44 App Configuration\n{\n  \"id\": \"app_123\", // linked\n}\n",
    );
    assert_eq!(read_app_id(&project(&root)).unwrap(), "app_123");
}

#[test]
fn read_app_id_searches_the_project_but_not_node_modules_or_dot_dirs() {
    let (_guard, root) = tmp();
    write(
        &root.join("node_modules/pkg/.app.json"),
        "{id: 'from_node_modules'}",
    );
    write(&root.join(".git/.app.json"), "{id: 'from_git'}");
    write(&root.join("web/src/.app.json"), "{id: 'deep'}");
    write(&root.join("web/.app.jsonc"), "{id: 'shallow'}");
    assert_eq!(read_app_id(&project(&root)).unwrap(), "shallow");
}

#[test]
fn read_app_id_without_a_file_is_not_configured() {
    let (_guard, root) = tmp();
    write(&root.join("base44/config.jsonc"), "{name: 'x'}");
    let d = read_app_id(&project(&root)).unwrap_err();
    assert_eq!(d.code, "CONFIG_INVALID");
    assert_eq!(
        d.message,
        "App not configured. Create a .app.jsonc file or run 'base44 link' to link this project."
    );
    assert_eq!(
        d.hints,
        ["Run 'base44 link' to link this project to a Base44 app"]
    );
    assert_eq!((d.file, d.position), (None, None));
}

#[test]
fn read_app_id_rejects_a_missing_or_empty_id_as_the_npm_cli_does() {
    let (_guard, root) = tmp();
    let file = root.join("base44/.app.jsonc");

    write(&file, "{\n  // not linked yet\n}");
    let d = read_app_id(&project(&root)).unwrap_err();
    assert_eq!(d.code, "SCHEMA_INVALID");
    assert_eq!(
        d.message,
        format!(
            "Invalid app configuration in {}:\n✖ Invalid input: expected string, received undefined\n  → at id",
            file.display()
        )
    );
    assert_eq!(
        d.hints,
        [format!(
            "Fix the schema/data structure errors in {}",
            file.display()
        )]
    );
    assert_eq!(
        (d.file.as_deref(), d.position),
        (Some(file.as_path()), Some((1, 1)))
    );

    write(&file, "{\n  id: \"\",\n}");
    let d = read_app_id(&project(&root)).unwrap_err();
    assert_eq!(
        d.message,
        format!(
            "Invalid app configuration in {}:\n✖ id cannot be empty\n  → at id",
            file.display()
        )
    );
    assert_eq!(d.position, Some((2, 7)));

    write(&file, "{id: 'a'");
    let d = read_app_id(&project(&root)).unwrap_err();
    assert_eq!(d.code, "CONFIG_INVALID");
    assert_eq!(
        d.message,
        format!(
            "File contains invalid JSON: {} (JSON5: invalid end of input at 1:9)",
            file.display()
        )
    );
    assert_eq!(d.position, Some((1, 9)));
}

#[test]
fn connectors_dir_defaults_and_resolves_against_the_config_dir() {
    let (_guard, root) = tmp();
    let paths = project(&root);
    write(&paths.config_file, "// project\n{ name: 'My app', }");
    assert_eq!(
        connectors_dir(&paths).unwrap(),
        root.join("base44/connectors")
    );

    write(
        &paths.config_file,
        "{ name: 'My app', connectorsDir: '../integrations/' }",
    );
    assert_eq!(connectors_dir(&paths).unwrap(), root.join("integrations"));

    // Node's `path.join` appends even an absolute path.
    write(
        &paths.config_file,
        "{ name: 'My app', connectorsDir: '/abs/./dir' }",
    );
    assert_eq!(connectors_dir(&paths).unwrap(), root.join("base44/abs/dir"));

    let flat = ProjectPaths {
        root: root.clone(),
        config_file: root.join("config.json"),
    };
    write(&flat.config_file, "{\"name\": \"flat\"}");
    assert_eq!(connectors_dir(&flat).unwrap(), root.join("connectors"));
}

#[test]
fn connectors_dir_reports_config_errors_with_positions() {
    let (_guard, root) = tmp();
    let paths = project(&root);
    let file = paths.config_file.display().to_string();

    write(&paths.config_file, "{\n  connectorsDir: 'c'\n}");
    let d = connectors_dir(&paths).unwrap_err();
    assert_eq!(d.code, "SCHEMA_INVALID");
    assert_eq!(
        d.message,
        format!(
            "Invalid project configuration in {file}:\n✖ App name cannot be empty\n  → at name"
        )
    );
    assert_eq!(d.position, Some((1, 1)));

    write(
        &paths.config_file,
        "{\n  name: 'x',\n  connectorsDir: 5,\n}",
    );
    let d = connectors_dir(&paths).unwrap_err();
    assert_eq!(
        d.message,
        format!("Invalid project configuration in {file}:\n✖ Invalid input: expected string, received number\n  → at connectorsDir")
    );
    assert_eq!(d.position, Some((3, 18)));

    write(&paths.config_file, "{ name: 'x' connectorsDir: 'c' }");
    let d = connectors_dir(&paths).unwrap_err();
    assert_eq!(d.code, "CONFIG_INVALID");
    assert_eq!(
        d.message,
        format!("File contains invalid JSON: {file} (JSON5: invalid character 'c' at 1:13)")
    );
    assert_eq!(
        d.hints,
        [format!("Check the file at {file} for syntax errors")]
    );
    assert_eq!(d.position, Some((1, 13)));
}

// ----- reading connector files -----

#[test]
fn read_connectors_of_a_missing_dir_is_empty() {
    let (_guard, root) = tmp();
    assert_eq!(read_connectors(&root.join("nope")).unwrap(), []);
}

#[test]
fn read_connectors_accepts_json5_and_sorts_by_name() {
    let (_guard, root) = tmp();
    let dir = root.join("connectors");
    write(
        &dir.join("slack.jsonc"),
        "// Slack for the team\n{\n  \"type\": \"slack\",\n  /* channels */\n  \"scopes\": [\"chat:write\", \"channels:read\",],\n}\n",
    );
    write(
        &dir.join("gmail.json"),
        "{ type: 'gmail', scopes: ['https://mail.google.com/'], note: 'ignored' }",
    );
    write(&dir.join("notion.jsonc"), "{\"type\": \"notion\"}");
    write(
        &dir.join("custom.jsonc"),
        "{type: \"my_CRM-2\", scopes: []}",
    );
    write(&dir.join("README.md"), "not a connector");
    write(&dir.join(".hidden.json"), "not even json");
    fs::create_dir_all(dir.join("folder.json")).unwrap();

    let files = read_connectors(&dir).unwrap();
    let summary: Vec<_> = files
        .iter()
        .map(|f| {
            (
                f.path.file_name().unwrap().to_str().unwrap(),
                f.integration_type.as_str(),
                f.scopes.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("custom.jsonc", "my_CRM-2", vec![]),
            (
                "gmail.json",
                "gmail",
                vec!["https://mail.google.com/".to_string()]
            ),
            ("notion.jsonc", "notion", vec![]),
            (
                "slack.jsonc",
                "slack",
                vec!["chat:write".to_string(), "channels:read".to_string()]
            ),
        ]
    );
    assert!(files.iter().all(|f| f.path.starts_with(&dir)));
}

#[test]
fn read_connectors_normalizes_paths_as_path_resolve() {
    let (_guard, root) = tmp();
    write(&root.join("connectors/a.json"), "{type: 'slack'}");
    fs::create_dir_all(root.join("x")).unwrap();
    let files = read_connectors(&root.join("x/../connectors/.")).unwrap();
    assert_eq!(files[0].path, root.join("connectors/a.json"));
}

/// One bad file: its diagnostic, checked field by field.
fn bad_file(text: &str) -> (Diagnostic, String) {
    let (_guard, root) = tmp();
    let dir = root.join("connectors");
    write(&dir.join("a.json"), text);
    let d = read_connectors(&dir).unwrap_err();
    assert_eq!(d.file.as_deref(), Some(dir.join("a.json").as_path()));
    let path = dir.join("a.json").display().to_string();
    (d, path)
}

#[test]
fn invalid_json5_names_file_line_and_column() {
    let (d, path) = bad_file("{\n  \"type\": \"slack\",,\n}\n");
    assert_eq!(d.code, "CONFIG_INVALID");
    assert_eq!(
        d.message,
        format!("File contains invalid JSON: {path} (JSON5: invalid character ',' at 2:19)")
    );
    assert_eq!(
        d.hints,
        [format!("Check the file at {path} for syntax errors")]
    );
    assert_eq!(d.position, Some((2, 19)));
    assert_eq!(
        d.snippet.as_deref(),
        Some(" 2 |   \"type\": \"slack\",,\n   |                   ^")
    );

    let (d, path) = bad_file("{\n  type: 'slack',\n");
    assert_eq!(
        d.message,
        format!("File contains invalid JSON: {path} (JSON5: invalid end of input at 3:1)")
    );
    assert_eq!(d.position, Some((3, 1)));
}

/// Issue 10: a syntax error on a 1 MB line printed the whole line.
#[test]
fn a_syntax_error_on_a_huge_line_shows_a_short_snippet() {
    let filler = "é".repeat(250_000);
    let text = format!("{{type: 'slack', scopes: ['{filler}' '{filler}']}}");
    assert!(text.len() > 1_000_000);
    let (d, _) = bad_file(&text);
    let column = 26 + 250_000 + 3;
    assert_eq!(d.position, Some((1, column)));
    let snippet = d.snippet.unwrap();
    assert!(snippet.len() < 500, "{} bytes", snippet.len());
    let (line, marker) = snippet.split_once('\n').unwrap();
    let caret = marker.chars().position(|c| c == '^').unwrap();
    assert_eq!(line.chars().nth(caret), Some('\''), "{snippet}");
    assert!(
        line.starts_with(" 1 | …é") && line.ends_with("é…"),
        "{snippet}"
    );
}

/// Issue 10: 200k levels of `[` overflowed the stack (exit 134) when the
/// parsed tree was freed. Now the bracket one level too deep is reported.
#[test]
fn deeply_nested_files_are_refused_with_a_position() {
    let n = 200_000;
    let deep = format!("{}{}", "[".repeat(n), "]".repeat(n));
    let (d, path) = bad_file(&format!("{{\n  type: 'slack',\n  scopes: {deep}\n}}"));
    assert_eq!(d.code, "CONFIG_INVALID");
    assert_eq!(
        d.message,
        format!("File nests arrays and objects too deeply: {path} (more than 128 levels)")
    );
    // The root object is level 1, so the 128th `[` is the 129th level.
    assert_eq!(d.position, Some((3, 11 + 127)));
    assert!(d.hints[0].contains("at most 128 levels"), "{:?}", d.hints);

    let (_guard, root) = tmp();
    write(&root.join("base44/config.jsonc"), &deep);
    write(&root.join("base44/.app.jsonc"), &format!("{{id: {deep}}}"));
    let d = connectors_dir(&project(&root)).unwrap_err();
    assert_eq!(d.position, Some((1, 129)));
    assert_eq!(d.file, Some(root.join("base44/config.jsonc")));
    let d = read_app_id(&project(&root)).unwrap_err();
    assert_eq!(d.position, Some((1, 6 + 127)));
    assert_eq!(d.file, Some(root.join("base44/.app.jsonc")));
}

fn schema_message(path: &str, issues: &str) -> String {
    format!("Invalid connector file in {path}:\n{issues}")
}

#[test]
fn missing_type_points_at_the_object() {
    let (d, path) = bad_file("// no type\n  {\n  \"scopes\": []\n}");
    assert_eq!(d.code, "SCHEMA_INVALID");
    assert_eq!(
        d.message,
        schema_message(
            &path,
            "✖ Invalid input: expected string, received undefined\n  → at type"
        )
    );
    assert_eq!(
        d.hints,
        [format!("Fix the schema/data structure errors in {path}")]
    );
    assert_eq!(d.position, Some((2, 3)));
    assert_eq!(d.snippet.as_deref(), Some(" 2 |   {\n   |   ^"));
}

#[test]
fn type_that_is_not_a_string_points_at_the_value() {
    let (d, path) = bad_file("{\n\t\"type\": 42,\n}");
    assert_eq!(
        d.message,
        schema_message(
            &path,
            "✖ Invalid input: expected string, received number\n  → at type"
        )
    );
    assert_eq!(d.position, Some((2, 10)));
    assert_eq!(
        d.snippet.as_deref(),
        Some(" 2 | \t\"type\": 42,\n   | \t        ^^")
    );
}

#[test]
fn type_failing_the_pattern_uses_zods_text() {
    let (d, path) = bad_file("{\n  \"type\": \"google calendar\"\n}");
    assert_eq!(
        d.message,
        schema_message(
            &path,
            "✖ Invalid string: must match pattern /^[a-z0-9_-]+$/i\n  → at type"
        )
    );
    assert_eq!(d.position, Some((2, 11)));
    assert_eq!(
        d.snippet.as_deref(),
        Some(" 2 |   \"type\": \"google calendar\"\n   |           ^^^^^^^^^^^^^^^^^")
    );

    let (d, path) = bad_file("{type: ''}");
    assert_eq!(
        d.message,
        schema_message(
            &path,
            "✖ Too small: expected string to have >=1 characters\n  → at type\n✖ Invalid string: must match pattern /^[a-z0-9_-]+$/i\n  → at type"
        )
    );
    assert_eq!(d.position, Some((1, 8)));
}

#[test]
fn scopes_must_be_a_list_of_strings() {
    let (d, path) = bad_file("{\"type\": \"slack\", \"scopes\": \"chat:write\"}");
    assert_eq!(
        d.message,
        schema_message(
            &path,
            "✖ Invalid input: expected array, received string\n  → at scopes"
        )
    );
    assert_eq!(d.position, Some((1, 29)));

    let (d, path) = bad_file("{\n  type: 'slack',\n  scopes: [\n    'a',\n    null,\n  ],\n}");
    assert_eq!(
        d.message,
        schema_message(
            &path,
            "✖ Invalid input: expected string, received null\n  → at scopes[1]"
        )
    );
    assert_eq!(d.position, Some((5, 5)));
    assert_eq!(d.snippet.as_deref(), Some(" 5 |     null,\n   |     ^^^^"));
}

#[test]
fn a_file_that_is_not_an_object_is_invalid() {
    let (d, path) = bad_file("  [\"slack\"]");
    assert_eq!(
        d.message,
        schema_message(&path, "✖ Invalid input: expected object, received array")
    );
    assert_eq!(d.position, Some((1, 3)));
}

#[test]
fn every_issue_is_listed_and_the_first_is_located() {
    let (d, path) = bad_file("{type: 7, scopes: 'x'}");
    assert_eq!(
        d.message,
        schema_message(
            &path,
            "✖ Invalid input: expected string, received number\n  → at type\n✖ Invalid input: expected array, received string\n  → at scopes"
        )
    );
    assert_eq!(d.position, Some((1, 8)));
}

#[test]
fn duplicate_types_point_at_the_second_file() {
    let (_guard, root) = tmp();
    let dir = root.join("connectors");
    write(&dir.join("a.json"), "{\"type\": \"slack\"}");
    write(
        &dir.join("b.jsonc"),
        "// again\n{\n  \"type\": \"slack\",\n  \"scopes\": [\"x\"]\n}",
    );
    let d = read_connectors(&dir).unwrap_err();
    assert_eq!(d.code, "INVALID_INPUT");
    assert_eq!(d.message, "Duplicate connector type \"slack\"");
    assert_eq!(
        d.hints,
        [
            "Remove duplicate connectors with type \"slack\" - only one connector per type is allowed".to_string(),
            format!("\"slack\" is first defined in {}:1:10", dir.join("a.json").display()),
        ]
    );
    assert_eq!(d.file.as_deref(), Some(dir.join("b.jsonc").as_path()));
    assert_eq!(d.position, Some((3, 11)));
    assert_eq!(
        d.to_string(),
        format!(
            "{}:3:11: Duplicate connector type \"slack\"\n 3 |   \"type\": \"slack\",\n   |           ^^^^^^^\n\
             hint: Remove duplicate connectors with type \"slack\" - only one connector per type is allowed\n\
             hint: \"slack\" is first defined in {}:1:10",
            dir.join("b.jsonc").display(),
            dir.join("a.json").display()
        )
    );
}

#[test]
fn a_bad_file_is_reported_before_duplicates() {
    let (_guard, root) = tmp();
    let dir = root.join("connectors");
    write(&dir.join("a.json"), "{type: 'slack'}");
    write(&dir.join("b.json"), "{type: 'slack'}");
    write(&dir.join("c.json"), "{type: 'a b'}");
    let d = read_connectors(&dir).unwrap_err();
    assert_eq!(d.code, "SCHEMA_INVALID");
    assert_eq!(d.file.as_deref(), Some(dir.join("c.json").as_path()));
}

#[test]
fn types_differing_in_case_are_not_duplicates() {
    let (_guard, root) = tmp();
    let dir = root.join("connectors");
    write(&dir.join("a.json"), "{type: 'slack'}");
    write(&dir.join("b.json"), "{type: 'Slack'}");
    assert_eq!(read_connectors(&dir).unwrap().len(), 2);
}

#[test]
fn suggestions_are_exported() {
    assert_eq!(suggest_known_type("googlecalender"), Some("googlecalendar"));
    assert_eq!(suggest_known_type("slak"), Some("slack"));
    assert_eq!(suggest_known_type("slack"), None);
    assert_eq!(KNOWN_TYPES.len(), 14);
}

// ----- pull writes -----

fn remote(items: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    items
        .iter()
        .map(|(t, s)| (t.to_string(), s.iter().map(|s| s.to_string()).collect()))
        .collect()
}

#[test]
fn pull_writes_new_files_as_the_npm_cli_does() {
    let (_guard, root) = tmp();
    let dir = root.join("base44/connectors");
    let outcome = write_connectors(
        &dir,
        &[],
        &remote(&[("gmail", &[]), ("slack", &["chat:write", "channels:read"])]),
    )
    .unwrap();
    assert_eq!(
        outcome,
        PullOutcome {
            written: vec!["gmail".into(), "slack".into()],
            deleted: vec![]
        }
    );
    assert_eq!(
        fs::read_to_string(dir.join("gmail.jsonc")).unwrap(),
        "{\n  \"type\": \"gmail\",\n  \"scopes\": []\n}"
    );
    assert_eq!(
        fs::read_to_string(dir.join("slack.jsonc")).unwrap(),
        "{\n  \"type\": \"slack\",\n  \"scopes\": [\n    \"chat:write\",\n    \"channels:read\"\n  ]\n}"
    );
}

#[test]
fn file_content_escapes_like_json_stringify() {
    // Bytes printed by `JSON.stringify({type, scopes}, null, 2)` in Node 20.
    assert_eq!(
        connector_file_content("custom_x", &["a\"b\\c\u{1}\u{7f}\u{2028}é😀\t".to_string()]),
        "{\n  \"type\": \"custom_x\",\n  \"scopes\": [\n    \"a\\\"b\\\\c\\u0001\u{7f}\u{2028}é😀\\t\"\n  ]\n}"
    );
}

#[test]
fn pull_leaves_unchanged_files_untouched() {
    let (_guard, root) = tmp();
    let dir = root.join("connectors");
    let text = "// my Slack\n{ type: 'slack', scopes: ['a', 'b'], note: 'kept' }\n";
    write(&dir.join("team-slack.json"), text);
    let local = read_connectors(&dir).unwrap();
    let outcome = write_connectors(&dir, &local, &remote(&[("slack", &["a", "b"])])).unwrap();
    assert_eq!(outcome, PullOutcome::default());
    assert_eq!(
        fs::read_to_string(dir.join("team-slack.json")).unwrap(),
        text
    );
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn pull_rewrites_changed_files_at_their_existing_path() {
    let (_guard, root) = tmp();
    let dir = root.join("connectors");
    write(
        &dir.join("team-slack.json"),
        "// my Slack\n{ type: 'slack', scopes: ['a', 'b'] }\n",
    );
    let local = read_connectors(&dir).unwrap();
    // Scope order matters.
    let outcome = write_connectors(&dir, &local, &remote(&[("slack", &["b", "a"])])).unwrap();
    assert_eq!(outcome.written, ["slack"]);
    assert_eq!(
        fs::read_to_string(dir.join("team-slack.json")).unwrap(),
        "{\n  \"type\": \"slack\",\n  \"scopes\": [\n    \"b\",\n    \"a\"\n  ]\n}"
    );
    assert!(!dir.join("slack.jsonc").exists());
}

#[test]
fn pull_deletes_local_types_missing_remotely() {
    let (_guard, root) = tmp();
    let dir = root.join("connectors");
    write(&dir.join("a.json"), "{type: 'notion'}");
    write(&dir.join("b.json"), "{type: 'gmail'}");
    write(&dir.join("c.json"), "{type: 'hubspot'}");
    let local = read_connectors(&dir).unwrap();
    let outcome =
        write_connectors(&dir, &local, &remote(&[("gmail", &[]), ("stripe", &[])])).unwrap();
    assert_eq!(
        outcome,
        PullOutcome {
            written: vec!["stripe".into()],
            deleted: vec!["notion".into(), "hubspot".into()]
        }
    );
    let mut names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["b.json", "stripe.jsonc"]);
    // An unchanged `{type}` file without scopes equals `scopes: []`.
    assert_eq!(
        fs::read_to_string(dir.join("b.json")).unwrap(),
        "{type: 'gmail'}"
    );
}

#[test]
fn pull_with_nothing_remote_creates_no_directory() {
    let (_guard, root) = tmp();
    let dir = root.join("connectors");
    assert_eq!(
        write_connectors(&dir, &[], &[]).unwrap(),
        PullOutcome::default()
    );
    assert!(!dir.exists());
}

#[test]
fn pull_refuses_types_that_are_not_file_names() {
    let (_guard, root) = tmp();
    let dir = root.join("connectors");
    write(&dir.join("a.json"), "{type: 'notion'}");
    let local = read_connectors(&dir).unwrap();
    let d = write_connectors(&dir, &local, &remote(&[("../evil", &[])])).unwrap_err();
    assert_eq!(d.code, "INVALID_INPUT");
    assert!(dir.join("a.json").exists());
    assert!(!root.join("evil.jsonc").exists());
}

#[test]
fn pull_write_failures_name_the_file() {
    let (_guard, root) = tmp();
    // `connectors` is a file, so nothing can be written under it.
    write(&root.join("connectors"), "");
    let d =
        write_connectors(&root.join("connectors"), &[], &remote(&[("gmail", &[])])).unwrap_err();
    assert_eq!(d.code, "FILE_READ_ERROR");
    let path = root.join("connectors/gmail.jsonc");
    assert_eq!(d.file.as_deref(), Some(path.as_path()));
    assert!(
        d.message
            .starts_with(&format!("Failed to write file {}: ", path.display())),
        "{}",
        d.message
    );
}
