//! Differential tests: every port against the real npm package under Node.
//!
//! Each test builds a corpus (hand-picked cases, then seeded random ones,
//! malformed inputs included), runs it through the Rust module and, in one
//! Node process, through the package at the version the npm CLI 0.1.18
//! bundles (`tests/js/npm-compat.mjs`), and fails on any difference, printing
//! the input and both outputs.

mod corpus;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use connectors_npm_compat::json::{js_number, Ordered};
use connectors_npm_compat::yaml::format_yaml;
use connectors_npm_compat::{json5, ky, zod};
use serde_json::{json, Value};

use corpus::Rng;

/// The packages `npm-compat.mjs` imports, with `tests/js` checked the way
/// the other suites check it.
fn js_dir() -> std::path::PathBuf {
    let dir = connectors_testkit::js_dir();
    for package in ["json5", "yaml", "zod", "ky"] {
        assert!(
            dir.join("node_modules").join(package).exists(),
            "the npm package `{package}` is missing from tests/js/node_modules: run scripts/install-test-deps (scripts/test does it)"
        );
    }
    dir
}

/// Runs `npm-compat.mjs <port>` once over `inputs`; one result per input.
fn node(port: &str, inputs: &[Value]) -> Vec<Value> {
    let dir = js_dir();
    let mut child = Command::new("node")
        .arg(dir.join("npm-compat.mjs"))
        .arg(port)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `node` ({e}): install Node >= 20.19 and run scripts/install-test-deps"
            )
        });
    let input = serde_json::to_vec(inputs).expect("corpus as JSON");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("node output");
    writer.join().expect("writer").expect("write corpus");
    assert!(
        output.status.success(),
        "npm-compat.mjs {port} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> = String::from_utf8(output.stdout)
        .expect("UTF-8 output")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(results.len(), inputs.len(), "one result per input");
    results
}

/// Compares and reports every mismatch (the first 20 in full).
fn compare(port: &str, inputs: &[Value], ours: &[Value], theirs: &[Value]) {
    let mismatches: Vec<usize> = (0..inputs.len())
        .filter(|&i| ours[i] != theirs[i])
        .collect();
    for &i in mismatches.iter().take(20) {
        eprintln!(
            "{port} mismatch #{i}\n  input: {}\n  rust:  {}\n  npm:   {}",
            inputs[i], ours[i], theirs[i]
        );
    }
    assert!(
        mismatches.is_empty(),
        "{port}: {} of {} inputs differ from the npm package (first ones above)",
        mismatches.len(),
        inputs.len()
    );
}

// ----- json5 -----

/// A parsed value as `npm-compat.mjs` encodes a JavaScript one.
fn encode_json5(node: &json5::Node) -> Value {
    match &node.value {
        json5::Value::Null => Value::Null,
        json5::Value::Bool(b) => json!(b),
        json5::Value::String(s) => json!(s),
        json5::Value::Number(n) => json!({ "num": js_string_of_number(*n) }),
        json5::Value::Array(items) => Value::Array(items.iter().map(encode_json5).collect()),
        json5::Value::Object(props) => {
            let entries: Vec<(String, Value)> = props
                .iter()
                .map(|p| (p.key.clone(), encode_json5(&p.value)))
                .collect();
            json!({ "obj": js_property_order(entries) })
        }
    }
}

/// `String(n)`, with `-0` told apart.
fn js_string_of_number(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if n == 0.0 && n.is_sign_negative() {
        "-0".into()
    } else {
        js_number(n)
    }
}

/// A JavaScript object's own keys in order: a repeated key keeps its first
/// place and its last value, and array indices come first, ascending.
fn js_property_order(entries: Vec<(String, Value)>) -> Vec<Value> {
    let mut merged: Vec<(String, Value)> = Vec::new();
    for (k, v) in entries {
        match merged.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = v,
            None => merged.push((k, v)),
        }
    }
    let index = |k: &str| -> Option<u32> {
        let n: u32 = k.parse().ok()?;
        (n.to_string() == k && n != u32::MAX).then_some(n)
    };
    let (mut indices, others): (Vec<_>, Vec<_>) =
        merged.into_iter().partition(|(k, _)| index(k).is_some());
    indices.sort_by_key(|(k, _)| index(k));
    indices
        .into_iter()
        .chain(others)
        .map(|(k, v)| json!([k, v]))
        .collect()
}

#[test]
fn json5_parse_matches_the_json5_package() {
    let texts = corpus::json5_texts(&mut Rng::new(0x4a53_4f4e_3521));
    assert!(texts.len() >= 500);
    let inputs: Vec<Value> = texts.iter().map(|t| json!(t)).collect();
    let ours: Vec<Value> = texts
        .iter()
        .map(|t| match json5::parse(t) {
            Ok(node) => json!({ "ok": encode_json5(&node) }),
            Err(e) => json!({ "error": e.message }),
        })
        .collect();
    compare("json5", &inputs, &ours, &node("json5", &inputs));
}

// ----- yaml -----

#[test]
fn yaml_dump_matches_the_yaml_package() {
    let values = corpus::yaml_values(&mut Rng::new(0x5941_4d4c));
    assert!(values.len() >= 500);
    let inputs: Vec<Value> = values
        .iter()
        .map(|v| json!(corpus::yaml_to_json(v)))
        .collect();
    let ours: Vec<Value> = values.iter().map(|v| json!(format_yaml(v))).collect();
    compare("yaml", &inputs, &ours, &node("yaml", &inputs));
}

// ----- JSON.stringify -----

#[test]
fn pretty_json_matches_json_stringify() {
    let texts = corpus::json_texts(&mut Rng::new(0x4a53_4f4e));
    assert!(texts.len() >= 500);
    let inputs: Vec<Value> = texts.iter().map(|t| json!(t)).collect();
    let ours: Vec<Value> = texts
        .iter()
        .map(|t| json!(Ordered::parse(t).expect("corpus is JSON").pretty()))
        .collect();
    compare("json", &inputs, &ours, &node("json", &inputs));
}

#[test]
fn numbers_print_like_javascript() {
    let bits = corpus::number_bits(&mut Rng::new(0x4e55_4d42));
    assert!(bits.len() >= 500);
    let inputs: Vec<Value> = bits.iter().map(|b| json!(b.to_string())).collect();
    let ours: Vec<Value> = bits
        .iter()
        .map(|&b| {
            let n = f64::from_bits(b);
            // `js_number` is `JSON.stringify`'s: non-finite numbers are `null`.
            json!(if n.is_finite() {
                js_number(n)
            } else {
                js_string_of_number(n)
            })
        })
        .collect();
    compare("number", &inputs, &ours, &node("number", &inputs));
}

// ----- zod -----

#[test]
fn zod_messages_match_zod() {
    let cases = corpus::zod_cases(&mut Rng::new(0x005a_4f44));
    assert!(cases.len() >= 500);
    let inputs: Vec<Value> = cases
        .iter()
        .map(|(schema, value)| json!({ "schema": corpus::describe(schema), "value": value }))
        .collect();
    let ours: Vec<Value> = cases
        .iter()
        .map(|(schema, value)| json!(zod::prettify(&zod::validate(schema, value))))
        .collect();
    compare("zod", &inputs, &ours, &node("zod", &inputs));
}

// ----- ky -----

#[test]
fn retry_policy_matches_ky() {
    let cases = corpus::ky_cases(&mut Rng::new(0x4b59));
    assert!(cases.len() >= 500);
    let inputs: Vec<Value> = cases.iter().map(corpus::KyCase::to_json).collect();
    let ours: Vec<Value> = cases
        .iter()
        .map(|c| {
            let mut delays = Vec::new();
            for retry in 1..=c.attempts {
                match ky::retry_delay(&c.method, retry, c.failure(), c.now) {
                    Some(d) => delays.push(d),
                    None => break,
                }
            }
            json!({ "delays": delays.iter().map(Duration::as_millis).collect::<Vec<_>>() })
        })
        .collect();
    compare("ky", &inputs, &ours, &node("ky", &inputs));
}
