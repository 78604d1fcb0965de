//! The differential corpora: hand-picked cases first, then seeded random
//! ones (the same on every run), malformed inputs included.

use connectors_npm_compat::ky::Failure;
use connectors_npm_compat::yaml::Yaml;
use connectors_npm_compat::zod::{s, Format, Message, Schema};
use serde_json::{json, Value};

/// splitmix64: a seeded generator, so every run sees the same corpus.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn word(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len())]
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

// ----- json5 -----

const JSON5_KEYS: &[&str] = &[
    "type",
    "scopes",
    "a",
    "$x",
    "_y",
    "é",
    "ünï",
    "a1",
    "\\u0061b",
    "'q'",
    "\"dq\"",
    "'a b'",
    "\"1\"",
    "\"__proto__\"",
    "\"\"",
    "\"0\"",
    "\"10\"",
    "\"2\"",
];

const JSON5_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "+1",
    "1.5",
    ".5",
    "5.",
    "-.5",
    "1e3",
    "1E-3",
    "2e+2",
    "0x1F",
    "-0xff",
    "0XaB",
    "Infinity",
    "-Infinity",
    "+Infinity",
    "NaN",
    "-NaN",
    "123456789012345678901234567890",
    "1e400",
    "0.1",
    "9007199254740993",
    "4.35",
    "0.000001",
    "1e-7",
    "0x10000000000000001",
];

const JSON5_STRINGS: &[&str] = &[
    "'x'",
    "\"x\"",
    "'it\\'s'",
    "\"say \\\"hi\\\"\"",
    "'\\x41\\u00e9'",
    "'\\uD83D\\uDE00'",
    "'\\uD800'",
    "'a\\\nb'",
    "'\\0'",
    "'\\b\\f\\n\\r\\t\\v'",
    "'\\q'",
    "\"\u{2028}\"",
    "'😀é'",
    "\"tab\there\"",
    "''",
    "\"googlecalendar\"",
    "'\\a'",
];

const JSON5_SPACE: &[&str] = &[
    "", " ", "  ", "\n", "\r\n", "\t", "\u{A0}", "\u{FEFF}", "\u{2028}", "\u{3000}", "// c\n",
    "/* c */", "/**/", "/* * */",
];

fn json5_value(rng: &mut Rng, depth: usize) -> String {
    match rng.below(if depth > 2 { 4 } else { 7 }) {
        0 => rng.pick(JSON5_NUMBERS).to_string(),
        1 => rng.pick(JSON5_STRINGS).to_string(),
        2 => rng.pick(&["null", "true", "false"]).to_string(),
        3 => rng.pick(JSON5_NUMBERS).to_string(),
        4 | 5 => {
            let n = rng.below(4);
            let mut s = String::from("{");
            for i in 0..n {
                s.push_str(rng.word(JSON5_SPACE));
                s.push_str(rng.word(JSON5_KEYS));
                s.push_str(rng.word(&[":", " : ", ":\n"]));
                s.push_str(&json5_value(rng, depth + 1));
                if i + 1 < n || rng.chance(30) {
                    s.push(',');
                }
            }
            s.push_str(rng.word(JSON5_SPACE));
            s.push('}');
            s
        }
        _ => {
            let n = rng.below(4);
            let mut s = String::from("[");
            for i in 0..n {
                s.push_str(rng.word(JSON5_SPACE));
                s.push_str(&json5_value(rng, depth + 1));
                if i + 1 < n || rng.chance(30) {
                    s.push(',');
                }
            }
            s.push_str(rng.word(JSON5_SPACE));
            s.push(']');
            s
        }
    }
}

/// Connector-file-like documents and their corruptions.
pub fn json5_texts(rng: &mut Rng) -> Vec<String> {
    let mut texts: Vec<String> = [
        "{type: \"slack\",, }",
        "{",
        "",
        "{type: 'x' /* }",
        "{\"a\" 1}",
        "{type:\"x\"} extra",
        "{\n\t\"type\": \"x\",\n  \"scopes\": [\n    \"a\"\n    \"b\"\n  ]\n}",
        "{type:\"x\", n: 01}",
        "{type:\"x\", s: \"a\nb\"}",
        "{type:\"x\", \"é\": 1, s: \"é\" x}",
        "{type: \"x\", a-b: 1}",
        "{type: \"x\", 1: 1}",
        "{type: \"x\", n: 1e}",
        "{type: \"x\", n: -}",
        "{type: \"x\"]",
        "{,}",
        "{type: \"x\" scopes: []}",
        "{type: \"x\", scopes: [,]}",
        "{type: \"x\", s: \"\\x4\"}",
        "{type: \"x\", s: \"\\u00\"}",
        "{type: \"x\", s: \"\\01\"}",
        "{type: \"x\", s: \"\\8\"}",
        "{type: \"x\", s: 'unterminated",
        "/* unterminated",
        "{type: \"x\"} /",
        "{\\u0030: 1}",
        "[\u{1}]",
        "tru",
        "nul",
        "Infinit",
        "-",
        "+",
        ".",
        "0x",
        "1.e",
        "'\u{1F600}' x",
        "{😀: 1}",
        "{a\u{200C}b: 1}",
        "{\\u0024: 1}",
        "{\\x41: 1}",
        "[1,]",
        "[,1]",
        "{a:1,,}",
        "// only a comment",
        "/* a */ 1 /* b */",
        "\u{FEFF}{}",
        "\"\\u{41}\"",
        "'\\u12G4'",
        "{a: 'x'\u{2028}}",
        "[\"\t\"]",
        "[1 2]",
        "[[[[[]]]]]",
        "{\"a\":{\"b\":{\"c\":[]}}}",
        "{type: \"googlecalendar\", scopes: [\"https://www.googleapis.com/auth/calendar\"]}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Deep nesting, up to our port's limit (`json5::MAX_DEPTH`; the package
    // has none). Accepted values stay some levels below it, because this
    // harness reads Node's answers with serde_json, whose own limit is 128
    // levels including the answer's wrapping; errors are short strings.
    let depth = connectors_npm_compat::json5::MAX_DEPTH;
    texts.push(format!(
        "{}{}",
        "[".repeat(depth - 8),
        "]".repeat(depth - 8)
    ));
    texts.push(format!("{}1{}", "{a: [".repeat(20), "]}".repeat(20)));
    texts.push(format!("{}x{}", "[".repeat(depth), "]".repeat(depth)));
    texts.push(format!("{}{}x", "[".repeat(depth), "]".repeat(depth)));
    while texts.len() < 700 {
        let mut text = format!(
            "{}{}{}",
            rng.pick(JSON5_SPACE),
            json5_value(rng, 0),
            rng.pick(JSON5_SPACE)
        );
        if rng.chance(50) {
            text = corrupt(rng, &text);
        }
        texts.push(text);
    }
    texts
}

/// Deletes, inserts or truncates at a random character boundary.
fn corrupt(rng: &mut Rng, text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = rng.below(chars.len() + 1);
    let junk = [
        'x', ',', ':', '}', ']', '{', '"', '\'', '\\', '/', '*', '\n', '-', '.', '0', 'é', '\u{1}',
    ];
    let mut out: Vec<char> = chars.clone();
    match rng.below(3) {
        0 if at < chars.len() => {
            out.remove(at);
        }
        1 => out.truncate(at),
        _ => out.insert(at, *rng.pick(&junk)),
    }
    out.into_iter().collect()
}

// ----- yaml -----

const YAML_WORDS: &[&str] = &[
    "slack", "Access employee records", "true", "false", "null", "~", "123", "-1", "1.5e3", "0x1F",
    "0o17", ".inf", "-.INF", ".nan", "key: value", "- dash", "-dash", "? q", "?q", "say \"hi\"",
    "it's", "it's: x", "#comment", "plain # not comment", "a:b", "trailing:", "trailing ",
    " leading", "---", "--- x", "...", "%TAG", "@at", "`tick", "|pipe", ">gt", "!bang", "&amp",
    "*star", "[x]", "{x}", "a, b", "https://example.com/a?b=c#d", "^[a-zA-Z0-9][a-zA-Z0-9-]*$",
    "é ü 😀", "tab\there", "bell\u{7}", "nul\u{0}", "esc\u{1b}", "nel\u{85}", "nbsp\u{a0}x",
    "ls\u{2028}x", "line\nbreak", "two\n\nbreaks", "end\n", "", "0", "00", "1_000", "+12",
    "1.", ".5", "1e3", "Yes", "No", "on", "off", "=", "<<", "a\"b'c", "\\back",
    "The host of your Databricks workspace, without https:// (e.g., dbc-a1b2c3d4-e5f6.cloud.databricks.com)",
    "Please enter a Databricks workspace host such as dbc-a1b2c3d4-e5f6.cloud.databricks.com",
];

fn yaml_string(rng: &mut Rng) -> String {
    if rng.chance(60) {
        return rng.pick(YAML_WORDS).to_string();
    }
    // Long texts, to reach the 80-column folding.
    let n = 1 + rng.below(25);
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push_str(rng.word(&[" ", " ", " ", "  ", ", ", ": ", " - ", " #"]));
        }
        s.push_str(rng.word(&[
            "lorem", "ipsum", "https://www.googleapis.com/auth/calendar.readonly", "a",
            "supercalifragilisticexpialidocious-and-then-some-more-characters-to-pass-eighty-columns",
            "x", "the", "workspace", "\"quoted\"", "it's", "é", "\\", "tab\t",
        ]));
    }
    s
}

fn yaml_value(rng: &mut Rng, depth: usize) -> Yaml {
    match rng.below(if depth > 2 { 4 } else { 7 }) {
        0 => Yaml::Null,
        1 => Yaml::Bool(rng.chance(50)),
        2 | 3 => Yaml::Str(yaml_string(rng)),
        4 => Yaml::Seq(
            (0..rng.below(4))
                .map(|_| yaml_value(rng, depth + 1))
                .collect(),
        ),
        _ => yaml_map(rng, depth + 1),
    }
}

fn yaml_map(rng: &mut Rng, depth: usize) -> Yaml {
    let keys = [
        "integrationType",
        "description",
        "connectionConfigFields",
        "name",
        "displayName",
        "placeholder",
        "required",
        "validationPattern",
        "validationError",
        "a b",
        "key: x",
        "true",
        "-",
        "é",
        "#k",
        "long key name that goes on and on",
    ];
    let mut entries: Vec<(String, Yaml)> = Vec::new();
    for _ in 0..rng.below(5) {
        let key = rng.pick(&keys).to_string();
        if !entries.iter().any(|(k, _)| *k == key) {
            entries.push((key, yaml_value(rng, depth)));
        }
    }
    Yaml::Map(entries)
}

/// Roots like `list-available`'s: a map with a non-empty `integrationType`.
pub fn yaml_values(rng: &mut Rng) -> Vec<Yaml> {
    let mut values = Vec::new();
    while values.len() < 600 {
        let mut entries = vec![(
            "integrationType".to_string(),
            Yaml::Str(
                rng.pick(&["slack", "bamboohr", "databricks", "true", "x y"])
                    .to_string(),
            ),
        )];
        if let Yaml::Map(more) = yaml_map(rng, 0) {
            entries.extend(more.into_iter().filter(|(k, _)| k != "integrationType"));
        }
        values.push(Yaml::Map(entries));
    }
    values
}

/// The JSON text of a YAML value, keys in order.
pub fn yaml_to_json(value: &Yaml) -> String {
    match value {
        Yaml::Null => "null".into(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Str(s) => json!(s).to_string(),
        Yaml::Seq(items) => format!(
            "[{}]",
            items.iter().map(yaml_to_json).collect::<Vec<_>>().join(",")
        ),
        Yaml::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}:{}", json!(k), yaml_to_json(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

// ----- JSON.stringify -----

const JSON_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "1.0",
    "1.5",
    "0.1",
    "1e21",
    "1e20",
    "123456789012345678901",
    "1152921504606846976",
    "9007199254740993",
    "1e-6",
    "1e-7",
    "1.5e-7",
    "-2.5e+30",
    "5e-324",
    "1.7976931348623157e308",
    "0.000001",
    "0.0000001",
    "100",
    "1E2",
    "4.35",
    "0.30000000000000004",
];

fn json_string(rng: &mut Rng) -> String {
    let pieces = [
        "a", "é", "😀", "\"", "\\", "/", "\n", "\r", "\t", "\u{8}", "\u{c}", "\u{1}", "\u{1f}",
        "\u{7f}", "\u{2028}", "\u{2029}", "\u{fffe}", " ", "key", "<script>",
    ];
    (0..rng.below(6)).map(|_| *rng.pick(&pieces)).collect()
}

fn json_value(rng: &mut Rng, depth: usize) -> String {
    match rng.below(if depth > 3 { 4 } else { 7 }) {
        0 => rng.pick(&["null", "true", "false"]).to_string(),
        1 => rng.pick(JSON_NUMBERS).to_string(),
        2 => {
            // Any finite double, written by serde_json (shortest round trip).
            let n = f64::from_bits(rng.next());
            if n.is_finite() {
                json!(n).to_string()
            } else {
                "0".into()
            }
        }
        3 => json!(json_string(rng)).to_string(),
        4 => format!(
            "[{}]",
            (0..rng.below(4))
                .map(|_| json_value(rng, depth + 1))
                .collect::<Vec<_>>()
                .join(",")
        ),
        _ => {
            let keys = [
                "a",
                "z",
                "b",
                "1",
                "0",
                "10",
                "2",
                "01",
                "-1",
                "4294967295",
                "4294967294",
                "é",
                "",
                "a b",
            ];
            let entries: Vec<String> = (0..rng.below(5))
                .map(|_| {
                    let key = if rng.chance(80) {
                        rng.pick(&keys).to_string()
                    } else {
                        json_string(rng)
                    };
                    format!("{}:{}", json!(key), json_value(rng, depth + 1))
                })
                .collect();
            format!("{{{}}}", entries.join(","))
        }
    }
}

/// JSON texts: error bodies and everything a server could send.
pub fn json_texts(rng: &mut Rng) -> Vec<String> {
    let mut texts: Vec<String> = [
        r#"{"z":1.0,"a":[],"m":{"k":"v\n"},"e":{}}"#,
        r#"{"detail":"Not found","extra_data":{"errors":[{"name":"x","message":"y"}]}}"#,
        r#"{"a":1,"a":2,"b":3}"#,
        r#"{"b":1,"2":2,"1":3,"a":4}"#,
        r#"[]"#,
        r#"{}"#,
        r#""\u0000\u001f\u007f\u2028""#,
        r#"[1e21,1e-7,123e-20,-0.0]"#,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    while texts.len() < 600 {
        texts.push(json_value(rng, 0));
    }
    texts
}

/// Doubles as bit patterns: corners, then random ones.
pub fn number_bits(rng: &mut Rng) -> Vec<u64> {
    let mut values: Vec<f64> = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.1,
        0.5,
        1e21,
        1e21 - 65536.0,
        999999999999999900000.0,
        1e20,
        1e-6,
        1e-7,
        1.5e-7,
        123e-20,
        2f64.powi(53),
        2f64.powi(53) + 2.0,
        2f64.powi(60),
        2f64.powi(70),
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        f64::EPSILON,
        4.35,
        0.3,
        100.0,
        1e100,
        1.7976931348623157e308,
        123456789.125,
        -1e-300,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    for e in -30..30 {
        values.push(10f64.powi(e));
        values.push(1.5 * 10f64.powi(e));
    }
    let mut bits: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
    while bits.len() < 800 {
        let b = rng.next();
        // Half uniform bit patterns, half integers and short decimals.
        bits.push(if rng.chance(50) {
            b
        } else if rng.chance(50) {
            ((b >> (b % 64)) as f64).to_bits()
        } else {
            ((b % 100_000) as f64 / 1000.0).to_bits()
        });
    }
    bits
}

// ----- zod -----

/// The description `npm-compat.mjs` builds the same zod schema from.
pub fn describe(schema: &Schema) -> Value {
    let message = |m: &Message| match m {
        Message::Default => Value::Null,
        Message::Custom(text) => json!(text),
    };
    match schema {
        Schema::Str {
            min1,
            format,
            pattern,
        } => {
            let mut d = json!({ "kind": "string" });
            if let Some(m) = min1 {
                d["min1"] = match m {
                    Message::Default => json!(true),
                    Message::Custom(text) => json!(text),
                };
            }
            match format {
                Format::Any => {}
                Format::Url(m) => {
                    d["format"] = json!("url");
                    d["message"] = message(m);
                }
                Format::Email(m) => {
                    d["format"] = json!("email");
                    d["message"] = message(m);
                }
            }
            if d.get("message") == Some(&Value::Null) {
                d.as_object_mut().map(|o| o.remove("message"));
            }
            if let Some(p) = pattern {
                d["pattern"] = json!(p.source);
                d["flags"] = json!(if p.case_insensitive { "i" } else { "" });
            }
            d
        }
        Schema::Bool => json!({ "kind": "boolean" }),
        Schema::PositiveInt(m) => match m {
            Message::Default => json!({ "kind": "positive_int" }),
            Message::Custom(text) => json!({ "kind": "positive_int", "message": text }),
        },
        Schema::Enum(values) => json!({ "kind": "enum", "values": values }),
        Schema::Literal(value) => json!({ "kind": "literal", "value": value }),
        Schema::Union(options) => {
            json!({ "kind": "union", "options": options.iter().map(describe).collect::<Vec<_>>() })
        }
        Schema::Nullable(inner) => json!({ "kind": "nullable", "inner": describe(inner) }),
        Schema::Optional(inner) => json!({ "kind": "optional", "inner": describe(inner) }),
        Schema::Array(item) => json!({ "kind": "array", "item": describe(item) }),
        Schema::Object(shape) => json!({
            "kind": "object",
            "shape": shape.iter().map(|(k, v)| json!([k, describe(v)])).collect::<Vec<_>>(),
        }),
    }
}

const KNOWN: &[&str] = &["googlecalendar", "slack", "notion", "stripe"];

fn integration_type() -> Schema {
    s::union(vec![
        Schema::Enum(KNOWN),
        s::non_empty_matching_ci("^[a-z0-9_-]+$"),
    ])
}

/// Schemas shaped like the npm CLI's response and file schemas.
fn zod_schemas() -> Vec<Schema> {
    use s::*;
    vec![
        object(vec![(
            "integrations",
            array(object(vec![
                ("integration_type", integration_type()),
                (
                    "status",
                    Schema::Enum(&["active", "disconnected", "expired"]),
                ),
                ("scopes", array(string())),
                ("user_email", optional(string())),
            ])),
        )]),
        object(vec![
            ("redirect_url", nullable(string())),
            ("connection_id", nullable(string())),
            ("already_authorized", Schema::Bool),
            ("error", nullable(string())),
            ("other_user_email", nullable(string())),
        ]),
        object(vec![
            ("status", Schema::Literal("removed")),
            ("integration_type", integration_type()),
        ]),
        object(vec![
            ("stripe_mode", nullable(Schema::Enum(&["sandbox", "live"]))),
            ("sandbox_claim_url", optional(nullable(string()))),
        ]),
        object(vec![
            ("device_code", non_empty_msg("Device code cannot be empty")),
            ("verification_uri", url("Invalid verification URL")),
            (
                "expires_in",
                positive_int("Expires in must be a positive integer"),
            ),
            ("interval", Schema::PositiveInt(Message::Default)),
        ]),
        object(vec![
            ("access_token", non_empty_msg("Token cannot be empty")),
            ("integration_type", non_empty()),
            ("email", email()),
            ("scope", optional(string())),
        ]),
        array(union(vec![Schema::Bool, string(), Schema::Literal("x")])),
        union(vec![
            object(vec![("type", Schema::Literal("slack"))]),
            object(vec![("type", non_empty_matching_ci("^[a-z]+$"))]),
        ]),
        object(vec![
            ("a b", array(integration_type())),
            ("é", nullable(Schema::Bool)),
        ]),
    ]
}

fn zod_leaf(rng: &mut Rng) -> Value {
    rng.pick(&[
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(1),
        json!(-1),
        json!(1.5),
        json!(2),
        json!(-0.5),
        json!(1e300),
        json!(-1e300),
        json!(9007199254740993u64),
        json!(""),
        json!("slack"),
        json!("Slack"),
        json!("stripe"),
        json!("no way"),
        json!("my-type_1"),
        json!("active"),
        json!("ACTIVE"),
        json!("removed"),
        json!("sandbox"),
        json!("live"),
        json!("https://example.com/device"),
        json!("not a url"),
        json!(" https://x.y "),
        json!("mailto:a@b.c"),
        json!("owner@example.com"),
        json!("a.b+c@sub.example.io"),
        json!("owner@localhost"),
        json!(".a@example.com"),
        json!("a..b@example.com"),
        json!("a@example.c0"),
        json!("x"),
        json!([]),
        json!({}),
        json!(["a", 1]),
    ])
    .clone()
}

/// A value shaped like `schema`, then perhaps broken somewhere.
fn zod_value(rng: &mut Rng, schema: &Schema, depth: usize) -> Option<Value> {
    if rng.chance(12) || depth > 4 {
        return if rng.chance(15) {
            None
        } else {
            Some(zod_leaf(rng))
        };
    }
    Some(match schema {
        Schema::Optional(inner) => {
            if rng.chance(30) {
                return None;
            }
            return zod_value(rng, inner, depth + 1);
        }
        Schema::Nullable(inner) => {
            if rng.chance(30) {
                Value::Null
            } else {
                zod_value(rng, inner, depth + 1).unwrap_or(Value::Null)
            }
        }
        Schema::Union(options) => {
            let option = rng.pick(options);
            zod_value(rng, option, depth + 1).unwrap_or(Value::Null)
        }
        Schema::Array(item) => Value::Array(
            (0..rng.below(4))
                .filter_map(|_| zod_value(rng, item, depth + 1))
                .collect(),
        ),
        Schema::Object(shape) => {
            let mut map = serde_json::Map::new();
            for (key, field) in shape {
                if let Some(v) = zod_value(rng, field, depth + 1) {
                    map.insert((*key).to_string(), v);
                }
            }
            if rng.chance(10) {
                map.insert("extra".into(), json!(1));
            }
            Value::Object(map)
        }
        Schema::Enum(values) => json!(rng.pick(values)),
        Schema::Literal(value) => json!(value),
        Schema::Bool => json!(rng.chance(50)),
        Schema::PositiveInt(_) => json!(rng.pick(&[1, 5, 600, 1800])),
        Schema::Str { format, .. } => match format {
            Format::Url(_) => json!("https://example.com/device"),
            Format::Email(_) => json!("owner@example.com"),
            Format::Any => json!(rng.pick(&["slack", "abc", "my-type", "x"])),
        },
    })
}

pub fn zod_cases(rng: &mut Rng) -> Vec<(Schema, Value)> {
    let schemas = zod_schemas();
    let mut cases = Vec::new();
    while cases.len() < 700 {
        let schema = rng.pick(&schemas).clone();
        let value = zod_value(rng, &schema, 0).unwrap_or(Value::Null);
        cases.push((schema, value));
    }
    cases
}

// ----- ky -----

/// One retry scenario: `attempts` failures in a row, all alike.
pub struct KyCase {
    pub method: String,
    /// A status, or `network` / `timeout`.
    pub failure: Value,
    pub header: Option<&'static str>,
    pub value: String,
    pub attempts: u32,
    pub now: f64,
}

impl KyCase {
    pub fn failure(&self) -> Failure<'_> {
        match &self.failure {
            Value::Number(n) => Failure::Status(
                n.as_u64().unwrap_or(500) as u16,
                self.header.map(|_| self.value.as_str()),
            ),
            Value::String(s) if s == "network" => Failure::Network,
            _ => Failure::Timeout,
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "method": self.method,
            "failure": self.failure,
            "header": self.header,
            "value": self.value,
            "attempts": self.attempts,
            "now": self.now,
        })
    }
}

pub fn ky_cases(rng: &mut Rng) -> Vec<KyCase> {
    let now_choices = [
        0.0,
        784_111_777_000.0,
        1_704_067_200_000.0,
        1_800_000_000_000.0,
    ];
    let values = [
        "0",
        "1",
        "2",
        "1.5",
        "0.0001",
        "120",
        "86400",
        " 3",
        "0x10",
        "1e3",
        "-1",
        "Infinity",
        "soon",
        "1800000003",
        "1800000000",
        "1704067200",
        "1704067199",
        "9999999999",
        "Sun, 06 Nov 1994 08:49:40 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Thu, 15 Jan 2027 08:00:00 GMT",
        "Fri, 15 Jan 2027 08:00:00 GMT",
        "Wed, 31 Dec 2025 23:59:59 GMT",
        "Sunday, 06-Nov-94 08:49:40 GMT",
        "Sun Nov  6 08:49:40 1994",
        "Sun, 06 Nov 1994 08:49:40 UTC",
        "06 Nov 1994 08:49:40 GMT",
        "Sun, 6 Nov 1994 08:49:40 GMT",
        "Sun, 06 Nov 1994 8:49:40 GMT",
        "Tue, 15 Jan 2030 08:00:00 GMT",
        "2030-01-01T00:00:00Z",
        "2027-01-15T08:00:00.5+01:00",
        "sun, 06 nov 1994 08:49:40 gmt",
        "",
    ];
    let mut cases = Vec::new();
    while cases.len() < 800 {
        let failure = match rng.below(10) {
            0 => json!("network"),
            1 => json!("timeout"),
            _ => json!(rng.pick(&[408, 413, 429, 500, 502, 503, 504, 400, 401, 404, 409, 501])),
        };
        let header = if rng.chance(60) {
            Some(*rng.pick(&[
                "retry-after",
                "ratelimit-reset",
                "x-ratelimit-retry-after",
                "x-ratelimit-reset",
                "x-rate-limit-reset",
            ]))
        } else {
            None
        };
        cases.push(KyCase {
            method: rng
                .pick(&[
                    "GET", "get", "PUT", "POST", "DELETE", "HEAD", "PATCH", "OPTIONS",
                ])
                .to_string(),
            failure,
            header,
            value: rng.pick(&values).to_string(),
            attempts: 1 + rng.below(3) as u32,
            now: *rng.pick(&now_choices),
        });
    }
    cases
}
