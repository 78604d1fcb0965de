//! `stringify` of the `yaml` npm package 2.8.2, as the npm CLI's `formatYaml`
//! calls it (the human output of `connectors list-available`).
//!
//! The npm CLI prints each integration with `yaml.stringify(rest, stripEmpty,
//! {indent: 2})`: null, empty strings, empty arrays and empty objects are
//! dropped, strings are plain unless YAML would misread them, and long plain
//! or quoted scalars are folded at 80 columns. This is a port of the parts
//! of the package (`stringifyString.js`, `foldFlowLines.js`,
//! `stringifyPair.js`) that maps, sequences, strings and booleans reach.

/// A value to dump, keys in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    /// `null` (dropped by [`strip_empty`]).
    Null,
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Yaml>),
    /// A mapping.
    Map(Vec<(String, Yaml)>),
}

const LINE_WIDTH: usize = 80;
const MIN_CONTENT_WIDTH: usize = 20;
const INDENT_STEP: &str = "  ";
const DOUBLE_QUOTED_MIN_MULTI_LINE_LENGTH: usize = 40;

/// lodash's `isEmpty` as the npm CLI's replacer applies it: numbers and
/// booleans are kept; null, `""`, `[]` and `{}` are not.
fn is_empty(value: &Yaml) -> bool {
    match value {
        Yaml::Null => true,
        Yaml::Bool(_) => false,
        Yaml::Str(s) => s.is_empty(),
        Yaml::Seq(items) => items.is_empty(),
        Yaml::Map(entries) => entries.is_empty(),
    }
}

/// Applies the npm CLI's `stripEmptyReplacer`. Like a `JSON.stringify`
/// replacer it decides on a value before visiting its children, so a map
/// whose children are all empty stays, as `{}`.
pub fn strip_empty(value: &Yaml) -> Option<Yaml> {
    if is_empty(value) {
        return None;
    }
    Some(match value {
        Yaml::Seq(items) => Yaml::Seq(
            items
                .iter()
                .map(|v| strip_empty(v).unwrap_or(Yaml::Null))
                .collect(),
        ),
        Yaml::Map(entries) => Yaml::Map(
            entries
                .iter()
                .filter_map(|(k, v)| strip_empty(v).map(|v| (k.clone(), v)))
                .collect(),
        ),
        other => other.clone(),
    })
}

/// `formatYaml(value)`: strip empties, dump, trim the end.
pub fn format_yaml(value: &Yaml) -> String {
    match strip_empty(value) {
        None => String::new(),
        Some(v) => {
            let ctx = Ctx {
                indent: String::new(),
                indent_at_start: None,
                implicit_key: false,
            };
            stringify(&v, &ctx).trim_end().to_string()
        }
    }
}

#[derive(Clone)]
struct Ctx {
    indent: String,
    indent_at_start: Option<usize>,
    implicit_key: bool,
}

fn stringify(value: &Yaml, ctx: &Ctx) -> String {
    match value {
        Yaml::Null => "null".into(),
        Yaml::Bool(b) => if *b { "true" } else { "false" }.into(),
        Yaml::Str(s) => stringify_string(s, ctx),
        Yaml::Map(entries) => {
            if entries.is_empty() {
                return "{}".into();
            }
            let item_indent = ctx.indent.clone();
            let lines: Vec<String> = entries
                .iter()
                .map(|(k, v)| stringify_pair(k, v, &item_indent))
                .collect();
            lines.join(&format!("\n{}", ctx.indent))
        }
        Yaml::Seq(items) => {
            if items.is_empty() {
                return "[]".into();
            }
            let item_ctx = Ctx {
                indent: format!("{}  ", ctx.indent),
                indent_at_start: ctx.indent_at_start,
                implicit_key: false,
            };
            let lines: Vec<String> = items
                .iter()
                .map(|v| format!("- {}", stringify(v, &item_ctx)))
                .collect();
            lines.join(&format!("\n{}", ctx.indent))
        }
    }
}

fn stringify_pair(key: &str, value: &Yaml, indent: &str) -> String {
    let pair_indent = format!("{indent}{INDENT_STEP}");
    let key_ctx = Ctx {
        indent: pair_indent.clone(),
        indent_at_start: None,
        implicit_key: true,
    };
    let mut s = format!("{}:", stringify_string(key, &key_ctx));
    let is_collection = matches!(value, Yaml::Map(_) | Yaml::Seq(_));
    let value_ctx = Ctx {
        indent: pair_indent.clone(),
        indent_at_start: if is_collection {
            None
        } else {
            Some(s.chars().count() + 1)
        },
        implicit_key: false,
    };
    let value_str = stringify(value, &value_ctx);
    let ws = if is_collection {
        let empty_flow = matches!(value, Yaml::Map(m) if m.is_empty())
            || matches!(value, Yaml::Seq(v) if v.is_empty());
        if empty_flow {
            " ".to_string()
        } else {
            format!("\n{pair_indent}")
        }
    } else if value_str.is_empty() || value_str.starts_with('\n') {
        String::new()
    } else {
        " ".to_string()
    };
    s.push_str(&ws);
    s.push_str(&value_str);
    s
}

fn contains_document_marker(s: &str) -> bool {
    s.lines()
        .any(|l| l.starts_with('%') || l.starts_with("---") || l.starts_with("..."))
}

fn has_control_chars(s: &str) -> bool {
    s.chars().any(|c| {
        let u = c as u32;
        u <= 0x08 || (0x0b..=0x1f).contains(&u) || (0x7f..=0x9f).contains(&u)
    })
}

/// Would a plain scalar be read as something other than a string (core schema)?
fn looks_like_other_type(s: &str) -> bool {
    let is_digits = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
    let unsigned = |t: &str| t.strip_prefix(['-', '+']).unwrap_or(t).to_string();
    // null
    if matches!(s, "" | "~" | "null" | "Null" | "NULL") {
        return true;
    }
    // bool
    if matches!(s, "true" | "True" | "TRUE" | "false" | "False" | "FALSE") {
        return true;
    }
    // int: 0o..., decimal, 0x...
    if let Some(o) = s.strip_prefix("0o") {
        if !o.is_empty() && o.chars().all(|c| ('0'..='7').contains(&c)) {
            return true;
        }
    }
    if let Some(h) = s.strip_prefix("0x") {
        if !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()) {
            return true;
        }
    }
    let u = unsigned(s);
    if is_digits(&u) {
        return true;
    }
    // float: .inf / .nan
    if matches!(u.as_str(), ".inf" | ".Inf" | ".INF") || matches!(s, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    // float: mantissa with exponent, or with a dot
    let mantissa_ok = |m: &str, need_dot: bool| -> bool {
        if let Some(frac) = m.strip_prefix('.') {
            return is_digits(frac);
        }
        match m.split_once('.') {
            Some((int, frac)) => is_digits(int) && frac.chars().all(|c| c.is_ascii_digit()),
            None => !need_dot && is_digits(m),
        }
    };
    if let Some((m, e)) = u.split_once(['e', 'E']) {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        if mantissa_ok(m, false) && is_digits(e) {
            return true;
        }
    }
    mantissa_ok(&u, true)
}

/// The `plainString` test of characters a plain scalar may not have.
fn plain_not_allowed(v: &str) -> bool {
    let chars: Vec<char> = v.chars().collect();
    let Some(&first) = chars.first() else {
        return false;
    };
    if "\n\t ,[]{}#&*!|>'\"%@`".contains(first) {
        return true;
    }
    if (first == '?' || first == '-')
        && (chars.len() == 1 || matches!(chars.get(1), Some(' ') | Some('\t')))
    {
        return true;
    }
    for w in chars.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a == '\n' || a == ':') && (b == ' ' || b == '\t') {
            return true;
        }
        if (a == ' ' || a == '\t') && b == '\n' {
            return true;
        }
        if (a == '\n' || a == '\t' || a == ' ') && b == '#' {
            return true;
        }
    }
    let last = *chars.last().expect("non-empty");
    matches!(last, '\n' | '\t' | ' ' | ':')
}

fn stringify_string(value: &str, ctx: &Ctx) -> String {
    if has_control_chars(value) {
        return double_quoted(value, ctx);
    }
    plain_string(value, ctx)
}

fn plain_string(value: &str, ctx: &Ctx) -> String {
    if ctx.implicit_key && value.contains('\n') {
        return quoted(value, ctx);
    }
    if plain_not_allowed(value) {
        return if ctx.implicit_key || !value.contains('\n') {
            quoted(value, ctx)
        } else {
            block_literal(value, ctx)
        };
    }
    if !ctx.implicit_key && value.contains('\n') {
        return block_literal(value, ctx);
    }
    if contains_document_marker(value) && ctx.implicit_key && ctx.indent == INDENT_STEP {
        return quoted(value, ctx);
    }
    if looks_like_other_type(value) {
        return quoted(value, ctx);
    }
    if ctx.implicit_key {
        value.to_string()
    } else {
        fold(value, &ctx.indent, Mode::Flow, ctx.indent_at_start)
    }
}

fn quoted(value: &str, ctx: &Ctx) -> String {
    let has_double = value.contains('"');
    let has_single = value.contains('\'');
    if has_double && !has_single {
        single_quoted(value, ctx)
    } else {
        double_quoted(value, ctx)
    }
}

fn single_quoted(value: &str, ctx: &Ctx) -> String {
    let bad_newline = value.contains(" \n")
        || value.contains("\t\n")
        || value.contains("\n ")
        || value.contains("\n\t");
    if (ctx.implicit_key && value.contains('\n')) || bad_newline {
        return double_quoted(value, ctx);
    }
    let mut body = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            body.push_str("''");
        } else if c == '\n' {
            body.push('\n');
            while chars.peek() == Some(&'\n') {
                body.push('\n');
                chars.next();
            }
            body.push('\n');
            body.push_str(&ctx.indent);
        } else {
            body.push(c);
        }
    }
    let res = format!("'{body}'");
    if ctx.implicit_key {
        res
    } else {
        fold(&res, &ctx.indent, Mode::Flow, ctx.indent_at_start)
    }
}

fn double_quoted(value: &str, ctx: &Ctx) -> String {
    let json: Vec<char> = crate::json::js_string(value).chars().collect();
    let indent = ctx.indent.clone();
    let mut out = String::new();
    let mut start = 0usize;
    let mut i = 0usize;
    let slice = |a: usize, b: usize| -> String { json[a..b.min(json.len())].iter().collect() };
    while i < json.len() {
        let mut ch = json[i];
        if ch == ' ' && json.get(i + 1) == Some(&'\\') && json.get(i + 2) == Some(&'n') {
            out.push_str(&slice(start, i));
            out.push_str("\\ ");
            i += 1;
            start = i;
            ch = '\\';
        }
        if ch == '\\' {
            match json.get(i + 1) {
                Some('u') => {
                    out.push_str(&slice(start, i));
                    let code: String = slice(i + 2, i + 6);
                    match code.as_str() {
                        "0000" => out.push_str("\\0"),
                        "0007" => out.push_str("\\a"),
                        "000b" => out.push_str("\\v"),
                        "001b" => out.push_str("\\e"),
                        "0085" => out.push_str("\\N"),
                        "00a0" => out.push_str("\\_"),
                        "2028" => out.push_str("\\L"),
                        "2029" => out.push_str("\\P"),
                        c if c.starts_with("00") => {
                            out.push_str("\\x");
                            out.push_str(&c[2..]);
                        }
                        _ => out.push_str(&slice(i, i + 6)),
                    }
                    i += 5;
                    start = i + 1;
                }
                Some('n') => {
                    if ctx.implicit_key
                        || json.get(i + 2) == Some(&'"')
                        || json.len() < DOUBLE_QUOTED_MIN_MULTI_LINE_LENGTH
                    {
                        i += 1;
                    } else {
                        out.push_str(&slice(start, i));
                        out.push_str("\n\n");
                        while json.get(i + 2) == Some(&'\\')
                            && json.get(i + 3) == Some(&'n')
                            && json.get(i + 4) != Some(&'"')
                        {
                            out.push('\n');
                            i += 2;
                        }
                        out.push_str(&indent);
                        if json.get(i + 2) == Some(&' ') {
                            out.push('\\');
                        }
                        i += 1;
                        start = i + 1;
                    }
                }
                _ => i += 1,
            }
        }
        i += 1;
    }
    let s = if start > 0 {
        out.push_str(&slice(start, json.len()));
        out
    } else {
        json.iter().collect()
    };
    if ctx.implicit_key {
        s
    } else {
        fold(&s, &indent, Mode::Quoted, ctx.indent_at_start)
    }
}

/// Multi-line strings: a literal block (`|`, `|-` or `|+`).
fn block_literal(value: &str, ctx: &Ctx) -> String {
    let indent = if ctx.indent.is_empty() {
        INDENT_STEP.to_string()
    } else {
        ctx.indent.clone()
    };
    let trimmed = value.trim_end_matches('\n');
    let trailing = value.len() - trimmed.len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let lead = if value.starts_with(' ') { "2" } else { "" };
    let mut out = format!("|{lead}{chomp}");
    for line in value
        .split('\n')
        .take(trimmed.split('\n').count() + trailing.saturating_sub(1))
    {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&indent);
            out.push_str(line);
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flow,
    Quoted,
}

/// `foldFlowLines`: keeps lines to 80 columns by breaking at single spaces
/// (plain and single-quoted) or anywhere with an escaped break (double-quoted).
fn fold(text: &str, indent: &str, mode: Mode, indent_at_start: Option<usize>) -> String {
    let t: Vec<char> = text.chars().collect();
    let min_content = MIN_CONTENT_WIDTH;
    let end_step = std::cmp::max(
        1 + min_content,
        (1 + LINE_WIDTH).saturating_sub(indent.len()),
    );
    if t.len() <= end_step {
        return text.to_string();
    }
    let mut folds: Vec<usize> = Vec::new();
    let mut escaped_folds: Vec<usize> = Vec::new();
    let mut end: isize = LINE_WIDTH as isize - indent.len() as isize;
    if let Some(start) = indent_at_start {
        if start > LINE_WIDTH - std::cmp::max(2, min_content) {
            folds.push(0);
        } else {
            end = (LINE_WIDTH - start) as isize;
        }
    }
    let mut split: Option<usize> = None;
    let mut prev: Option<char> = None;
    let mut esc_start: isize = -1;
    let mut esc_end: isize = -1;
    let mut i: isize = -1;
    loop {
        i += 1;
        let Some(&c) = t.get(i as usize) else { break };
        let mut ch = c;
        if mode == Mode::Quoted && ch == '\\' {
            esc_start = i;
            match t.get(i as usize + 1) {
                Some('x') => i += 3,
                Some('u') => i += 5,
                Some('U') => i += 9,
                _ => i += 1,
            }
            esc_end = i;
        }
        if ch == '\n' {
            end = i + indent.len() as isize + end_step as isize;
            split = None;
        } else {
            if ch == ' ' && matches!(prev, Some(p) if p != ' ' && p != '\n' && p != '\t') {
                let next = t.get(i as usize + 1);
                if matches!(next, Some(&n) if n != ' ' && n != '\n' && n != '\t') {
                    split = Some(i as usize);
                }
            }
            if i >= end {
                if let Some(sp) = split {
                    folds.push(sp);
                    end = (sp + end_step) as isize;
                    split = None;
                } else if mode == Mode::Quoted {
                    while prev == Some(' ') || prev == Some('\t') {
                        prev = Some(ch);
                        i += 1;
                        ch = t.get(i as usize).copied().unwrap_or('\0');
                    }
                    let j = if i > esc_end + 1 {
                        i - 2
                    } else {
                        esc_start - 1
                    };
                    if j < 0 || escaped_folds.contains(&(j as usize)) {
                        return text.to_string();
                    }
                    folds.push(j as usize);
                    escaped_folds.push(j as usize);
                    end = j + end_step as isize;
                    split = None;
                }
            }
        }
        prev = Some(ch);
    }
    if folds.is_empty() {
        return text.to_string();
    }
    let slice =
        |a: usize, b: usize| -> String { t[a.min(t.len())..b.min(t.len())].iter().collect() };
    let mut res = slice(0, folds[0]);
    for (k, &f) in folds.iter().enumerate() {
        let next_end = folds.get(k + 1).copied().unwrap_or(t.len());
        if f == 0 {
            res = format!("\n{indent}{}", slice(0, next_end));
        } else {
            if mode == Mode::Quoted && escaped_folds.contains(&f) {
                res.push(t[f]);
                res.push('\\');
            }
            res.push('\n');
            res.push_str(indent);
            res.push_str(&slice(f + 1, next_end));
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Yaml {
        Yaml::Str(v.into())
    }

    fn map(entries: Vec<(&str, Yaml)>) -> Yaml {
        Yaml::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    #[test]
    fn strips_empty_values_and_keeps_booleans() {
        let v = map(vec![
            ("integrationType", s("slack")),
            ("description", s("")),
            ("connectionConfigFields", Yaml::Seq(vec![])),
            ("x", Yaml::Null),
            ("required", Yaml::Bool(false)),
        ]);
        assert_eq!(format_yaml(&v), "integrationType: slack\nrequired: false");
    }

    #[test]
    fn nested_fields_like_the_npm_cli() {
        let v = map(vec![
            ("integrationType", s("bamboohr")),
            ("description", s("Access employee records")),
            (
                "connectionConfigFields",
                Yaml::Seq(vec![map(vec![
                    ("name", s("subdomain")),
                    ("required", Yaml::Bool(true)),
                    ("validationPattern", s("^[a-zA-Z0-9][a-zA-Z0-9-]*$")),
                    ("validationError", Yaml::Null),
                ])]),
            ),
        ]);
        assert_eq!(
            format_yaml(&v),
            "integrationType: bamboohr\ndescription: Access employee records\nconnectionConfigFields:\n  - name: subdomain\n    required: true\n    validationPattern: ^[a-zA-Z0-9][a-zA-Z0-9-]*$"
        );
    }

    #[test]
    fn folds_long_plain_scalars_as_the_yaml_package_does() {
        // Observed from the npm CLI for the databricks catalogue entry.
        let v = map(vec![(
            "connectionConfigFields",
            Yaml::Seq(vec![map(vec![
                ("name", s("workspace_host")),
                (
                    "description",
                    s("The host of your Databricks workspace, without https:// (e.g., dbc-a1b2c3d4-e5f6.cloud.databricks.com)"),
                ),
                (
                    "validationError",
                    s("Please enter a Databricks workspace host such as dbc-a1b2c3d4-e5f6.cloud.databricks.com"),
                ),
            ])]),
        )]);
        assert_eq!(
            format_yaml(&v),
            "connectionConfigFields:\n  - name: workspace_host\n    description: The host of your Databricks workspace, without https:// (e.g.,\n      dbc-a1b2c3d4-e5f6.cloud.databricks.com)\n    validationError: Please enter a Databricks workspace host such as\n      dbc-a1b2c3d4-e5f6.cloud.databricks.com"
        );
    }

    #[test]
    fn quotes_what_yaml_would_misread() {
        let v = map(vec![
            ("a", s("true")),
            ("b", s("123")),
            ("c", s("key: value")),
            ("d", s("- dash")),
            ("e", s("say \"hi\"")),
            ("f", s("it's: x")),
            ("g", s("1.5e3")),
            ("h", s("plain # not comment")),
            ("i", s("#comment")),
        ]);
        assert_eq!(
            format_yaml(&v),
            "a: \"true\"\nb: \"123\"\nc: \"key: value\"\nd: \"- dash\"\ne: say \"hi\"\nf: \"it's: x\"\ng: \"1.5e3\"\nh: \"plain # not comment\"\ni: \"#comment\""
        );
    }
}
