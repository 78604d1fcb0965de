//! `zod` 4.3.6 validation, reduced to the schema kinds the npm CLI's response
//! and file schemas use, with zod's English messages and `prettifyError`.
//!
//! serde alone would accept bodies zod rejects and would word its errors
//! differently; the CLI prints these messages (`Invalid response from
//! server:` and the issue list), so a body is checked against a [`Schema`]
//! first and only then deserialized.

use serde_json::Value;

/// A zod schema.
#[derive(Debug, Clone)]
pub enum Schema {
    /// `z.string()`, with optional `.min(1)`, a format and `.regex()`.
    Str {
        /// `.min(1)` (`None`: no minimum).
        min1: Option<Message>,
        /// A format check.
        format: Format,
        /// `.regex(pattern)`.
        pattern: Option<Pattern>,
    },
    /// `z.boolean()`.
    Bool,
    /// `z.number().int().positive(message)`.
    PositiveInt(Message),
    /// `z.enum([...])`.
    Enum(&'static [&'static str]),
    /// `z.literal(value)` of a string.
    Literal(&'static str),
    /// `z.union([...])`.
    Union(Vec<Schema>),
    /// `.nullable()`.
    Nullable(Box<Schema>),
    /// `.optional()`.
    Optional(Box<Schema>),
    /// `z.array(item)`.
    Array(Box<Schema>),
    /// `z.object({...})` (unknown keys are ignored).
    Object(Vec<(&'static str, Schema)>),
}

/// The message of a check: zod's own or the schema's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// zod's English message for the check.
    Default,
    /// The text given to the check (`.min(1, "…")`).
    Custom(&'static str),
}

/// String formats zod checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Any string.
    Any,
    /// `z.url()`: what the WHATWG URL parser accepts. A custom message
    /// (`z.url(message)`) is the schema's, for a non-string too.
    Url(Message),
    /// `z.email()`: zod's default email pattern.
    Email(Message),
}

/// A regular expression as JavaScript writes it: `/source/` or `/source/i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pattern {
    /// The source between the slashes; it must mean the same to the `regex`
    /// crate as to JavaScript (no lookaround, no backreferences).
    pub source: &'static str,
    /// The `i` flag.
    pub case_insensitive: bool,
}

impl Pattern {
    fn matches(&self, s: &str) -> bool {
        if self.case_insensitive && self.source.is_ascii() {
            // JavaScript's `/i` without the `u` flag folds by upper-casing and
            // never maps a non-ASCII letter onto an ASCII one (so `/k/i` does
            // not match the Kelvin sign, which Unicode folding would); for an
            // ASCII pattern that is ASCII-only folding over bytes.
            return regex::bytes::RegexBuilder::new(self.source)
                .case_insensitive(true)
                .unicode(false)
                .build()
                .is_ok_and(|re| re.is_match(s.as_bytes()));
        }
        let flags = if self.case_insensitive { "(?i)" } else { "" };
        regex::Regex::new(&format!("{flags}{}", self.source)).is_ok_and(|re| re.is_match(s))
    }

    fn display(&self) -> String {
        let flags = if self.case_insensitive { "i" } else { "" };
        format!("/{}/{flags}", self.source)
    }
}

/// Shorthands that read like the zod source.
pub mod s {
    use super::{Format, Message, Pattern, Schema};

    /// `z.string()`.
    pub fn string() -> Schema {
        Schema::Str {
            min1: None,
            format: Format::Any,
            pattern: None,
        }
    }
    /// `z.string().min(1)`.
    pub fn non_empty() -> Schema {
        Schema::Str {
            min1: Some(Message::Default),
            format: Format::Any,
            pattern: None,
        }
    }
    /// `z.string().min(1, message)`.
    pub fn non_empty_msg(message: &'static str) -> Schema {
        Schema::Str {
            min1: Some(Message::Custom(message)),
            format: Format::Any,
            pattern: None,
        }
    }
    /// `z.string().min(1).regex(/source/i)`.
    pub fn non_empty_matching_ci(source: &'static str) -> Schema {
        Schema::Str {
            min1: Some(Message::Default),
            format: Format::Any,
            pattern: Some(Pattern {
                source,
                case_insensitive: true,
            }),
        }
    }
    /// `z.url(message)`.
    pub fn url(message: &'static str) -> Schema {
        Schema::Str {
            min1: None,
            format: Format::Url(Message::Custom(message)),
            pattern: None,
        }
    }
    /// `z.email()`.
    pub fn email() -> Schema {
        Schema::Str {
            min1: None,
            format: Format::Email(Message::Default),
            pattern: None,
        }
    }
    /// `z.number().int().positive(message)`.
    pub fn positive_int(message: &'static str) -> Schema {
        Schema::PositiveInt(Message::Custom(message))
    }
    /// `.nullable()`.
    pub fn nullable(inner: Schema) -> Schema {
        Schema::Nullable(Box::new(inner))
    }
    /// `.optional()`.
    pub fn optional(inner: Schema) -> Schema {
        Schema::Optional(Box::new(inner))
    }
    /// `z.array(item)`.
    pub fn array(item: Schema) -> Schema {
        Schema::Array(Box::new(item))
    }
    /// `z.object(shape)`.
    pub fn object(shape: Vec<(&'static str, Schema)>) -> Schema {
        Schema::Object(shape)
    }
    /// `z.union(options)`.
    pub fn union(options: Vec<Schema>) -> Schema {
        Schema::Union(options)
    }
}

/// One step of an issue's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// One validation failure, as zod reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// zod's English message.
    pub message: String,
    /// Where in the value.
    pub path: Vec<Seg>,
    /// zod's `continue`: the issue of a check that let parsing go on (a
    /// type mismatch does not), which decides which union branch reports.
    continues: bool,
}

/// zod's name for the type of a value (`util.parsedType`).
fn type_name(value: Option<&Value>) -> &'static str {
    match value {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

/// zod's default email pattern (`regexes.email`), whose lookaheads the
/// `regex` crate lacks, as two string tests and a regex.
pub fn is_email(s: &str) -> bool {
    const BODY: &str =
        r"^([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$";
    !s.starts_with('.')
        && !s.contains("..")
        && regex::Regex::new(BODY).is_ok_and(|re| re.is_match(s))
}

/// `new URL(input.trim())` succeeds.
fn is_url(s: &str) -> bool {
    // JavaScript's `trim` removes the Unicode white space and the BOM.
    url::Url::parse(s.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}')).is_ok()
}

struct Checker<'a> {
    path: Vec<Seg>,
    out: &'a mut Vec<Issue>,
}

impl Checker<'_> {
    fn issue(&mut self, message: impl Into<String>, continues: bool) {
        self.out.push(Issue {
            message: message.into(),
            path: self.path.clone(),
            continues,
        });
    }

    fn expected(&mut self, what: &str, value: Option<&Value>) {
        let message = format!(
            "Invalid input: expected {what}, received {}",
            type_name(value)
        );
        self.issue(message, false);
    }

    fn check(&mut self, schema: &Schema, value: Option<&Value>) {
        match schema {
            Schema::Optional(inner) => {
                if value.is_some() {
                    self.check(inner, value);
                }
            }
            Schema::Nullable(inner) => {
                if !matches!(value, Some(Value::Null)) {
                    self.check(inner, value);
                }
            }
            Schema::Str {
                min1,
                format,
                pattern,
            } => match value {
                Some(Value::String(s)) => self.string_checks(s, *min1, *format, *pattern),
                // `z.url(message)` words every issue of the schema, its
                // type mismatch too.
                v => match format {
                    Format::Url(Message::Custom(m)) | Format::Email(Message::Custom(m)) => {
                        self.issue(*m, false)
                    }
                    _ => self.expected("string", v),
                },
            },
            Schema::Bool => {
                if !matches!(value, Some(Value::Bool(_))) {
                    self.expected("boolean", value);
                }
            }
            Schema::PositiveInt(message) => match value {
                Some(Value::Number(n)) => {
                    let f = n.as_f64().unwrap_or(f64::NAN);
                    // A failed `.int()` aborts: `.positive()` is not run.
                    if f.fract() != 0.0 {
                        self.issue("Invalid input: expected int, received number", false);
                        return;
                    }
                    if f.abs() > MAX_SAFE_INTEGER {
                        let message = if f > 0.0 {
                            "Too big: expected int to be <=9007199254740991"
                        } else {
                            "Too small: expected int to be >=-9007199254740991"
                        };
                        self.issue(message, true);
                    }
                    if f <= 0.0 {
                        self.issue(
                            custom_or(*message, "Too small: expected number to be >0"),
                            true,
                        );
                    }
                }
                v => self.expected("number", v),
            },
            Schema::Enum(values) => {
                let ok = matches!(value, Some(Value::String(s)) if values.contains(&s.as_str()));
                if !ok {
                    let list: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
                    self.issue(
                        format!("Invalid option: expected one of {}", list.join("|")),
                        false,
                    );
                }
            }
            Schema::Literal(lit) => {
                if !matches!(value, Some(Value::String(s)) if s == lit) {
                    self.issue(format!("Invalid input: expected \"{lit}\""), false);
                }
            }
            Schema::Union(options) => self.union(options, value),
            Schema::Array(item) => match value {
                Some(Value::Array(items)) => {
                    for (i, v) in items.iter().enumerate() {
                        self.path.push(Seg::Index(i));
                        self.check(item, Some(v));
                        self.path.pop();
                    }
                }
                v => self.expected("array", v),
            },
            Schema::Object(shape) => match value {
                Some(Value::Object(map)) => {
                    for (key, field) in shape {
                        self.path.push(Seg::Key((*key).to_string()));
                        self.check(field, map.get(*key));
                        self.path.pop();
                    }
                }
                v => self.expected("object", v),
            },
        }
    }

    fn string_checks(
        &mut self,
        s: &str,
        min1: Option<Message>,
        format: Format,
        pattern: Option<Pattern>,
    ) {
        if let (Some(message), true) = (min1, s.is_empty()) {
            self.issue(
                custom_or(message, "Too small: expected string to have >=1 characters"),
                true,
            );
        }
        match format {
            Format::Any => {}
            Format::Url(message) => {
                if !is_url(s) {
                    self.issue(custom_or(message, "Invalid URL"), true);
                }
            }
            Format::Email(message) => {
                if !is_email(s) {
                    self.issue(custom_or(message, "Invalid email address"), true);
                }
            }
        }
        if let Some(p) = pattern {
            if !p.matches(s) {
                self.issue(
                    format!("Invalid string: must match pattern {}", p.display()),
                    true,
                );
            }
        }
    }

    /// zod's `handleUnionResults`: the first clean branch wins; otherwise the
    /// issues of the only branch that did not abort, or one "Invalid input".
    fn union(&mut self, options: &[Schema], value: Option<&Value>) {
        let mut results = Vec::with_capacity(options.len());
        for option in options {
            let mut issues = Vec::new();
            Checker {
                path: self.path.clone(),
                out: &mut issues,
            }
            .check(option, value);
            if issues.is_empty() {
                return;
            }
            results.push(issues);
        }
        let mut live = results
            .into_iter()
            .filter(|issues| issues.iter().all(|i| i.continues));
        match (live.next(), live.next()) {
            (Some(only), None) => self.out.extend(only),
            _ => self.issue("Invalid input", false),
        }
    }
}

/// `Number.MAX_SAFE_INTEGER`, the bound of zod's `.int()`.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

fn custom_or(message: Message, default: &str) -> String {
    match message {
        Message::Default => default.to_string(),
        Message::Custom(text) => text.to_string(),
    }
}

/// Every issue of `value` against `schema`, in zod's order.
pub fn validate(schema: &Schema, value: &Value) -> Vec<Issue> {
    let mut out = Vec::new();
    Checker {
        path: Vec::new(),
        out: &mut out,
    }
    .check(schema, Some(value));
    out
}

/// zod's `toDotPath`.
fn dot_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
            Seg::Key(k) => {
                // `/[^\w$]/` finds nothing: an ASCII word (the empty key too).
                if k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
                {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                } else {
                    out.push_str(&format!("[{}]", crate::json::js_string(k)));
                }
            }
        }
    }
    out
}

/// zod's `prettifyError`: issues sorted by path length, `✖ message` and
/// `  → at path` lines.
pub fn prettify(issues: &[Issue]) -> String {
    let mut sorted: Vec<&Issue> = issues.iter().collect();
    sorted.sort_by_key(|i| i.path.len());
    let mut lines = Vec::new();
    for issue in sorted {
        lines.push(format!("✖ {}", issue.message));
        if !issue.path.is_empty() {
            lines.push(format!("  → at {}", dot_path(&issue.path)));
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::s::*;
    use super::*;
    use serde_json::json;

    fn pretty(schema: &Schema, v: Value) -> String {
        prettify(&validate(schema, &v))
    }

    #[test]
    fn emails() {
        assert!(is_email("owner@example.com"));
        assert!(is_email("a.b+c@sub.example.io"));
        assert!(!is_email("owner"));
        assert!(!is_email("owner@localhost"));
        assert!(!is_email(".a@example.com"));
        assert!(!is_email("a@example.c0"));
    }

    #[test]
    fn a_union_reports_its_only_branch_that_did_not_abort() {
        let t = union(vec![
            Schema::Enum(&["slack"]),
            non_empty_matching_ci("^[a-z0-9_-]+$"),
        ]);
        assert_eq!(pretty(&t, json!("slack")), "");
        assert_eq!(
            pretty(&t, json!("")),
            "✖ Too small: expected string to have >=1 characters\n✖ Invalid string: must match pattern /^[a-z0-9_-]+$/i"
        );
        assert_eq!(pretty(&t, json!(3)), "✖ Invalid input");
    }

    #[test]
    fn paths_and_sorting() {
        let schema = object(vec![
            ("a b", array(positive_int("must be positive"))),
            ("top", Schema::Bool),
        ]);
        assert_eq!(
            pretty(&schema, json!({"a b": [1, 0, 1.5]})),
            "✖ Invalid input: expected boolean, received undefined\n  → at top\n\
             ✖ must be positive\n  → at [\"a b\"][1]\n\
             ✖ Invalid input: expected int, received number\n  → at [\"a b\"][2]"
        );
    }
}
