//! JSON as JavaScript prints it: `JSON.stringify` (ECMAScript, as Node's V8
//! implements it) and `String(number)`.
//!
//! The npm CLI shows an error body it cannot summarise as
//! `JSON.stringify(body, null, 2)`, which keeps the server's key order;
//! `serde_json::Value` sorts keys (the workspace does not enable
//! `preserve_order`, and enabling it here would change the server's output
//! too). [`Ordered`] keeps the order and formats numbers the JavaScript way.

use std::fmt::Write as _;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value that remembers object key order.
///
/// [`Ordered::parse`] reads through serde_json, whose recursion limit (128
/// levels) refuses deeper text before any value exists, so the recursive
/// [`Ordered::pretty`], drop and clone of a parsed value are bounded too.
#[derive(Debug, Clone, PartialEq)]
pub enum Ordered {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// Any number, as JavaScript holds it.
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Ordered>),
    /// An object, keys in JavaScript's order: array indices (`"0"`, `"7"`)
    /// ascending, then the others in document order (a repeated key keeps
    /// its first position and its last value, as `JSON.parse` does).
    Object(Vec<(String, Ordered)>),
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
                Ok(Ordered::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
                Ok(Ordered::Number(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
                Ok(Ordered::Number(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
                Ok(Ordered::Number(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
                Ok(Ordered::String(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Ordered, E> {
                Ok(Ordered::String(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Ordered::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut entries: Vec<(String, Ordered)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Ordered>()? {
                    if let Some(slot) = entries.iter_mut().find(|(key, _)| *key == k) {
                        slot.1 = v;
                    } else {
                        entries.push((k, v));
                    }
                }
                // JavaScript objects list array-index keys first, ascending.
                entries.sort_by_key(|(k, _)| array_index(k).map_or(u64::MAX, u64::from));
                Ok(Ordered::Object(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// A key JavaScript treats as an array index: the canonical decimal form
/// of an integer below 2³² − 1.
fn array_index(key: &str) -> Option<u32> {
    let n: u32 = key.parse().ok()?;
    (n != u32::MAX && n.to_string() == key).then_some(n)
}

impl Ordered {
    /// Parses JSON text.
    pub fn parse(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The value under `key`, if this is an object holding it.
    pub fn get(&self, key: &str) -> Option<&Ordered> {
        match self {
            Self::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// `JSON.stringify(value, null, 2)`.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write_pretty(&mut out, 0);
        out
    }

    fn write_pretty(&self, out: &mut String, depth: usize) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Number(n) => out.push_str(&js_number(*n)),
            Self::String(s) => out.push_str(&js_string(s)),
            Self::Array(items) if items.is_empty() => out.push_str("[]"),
            Self::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    item.write_pretty(out, depth + 1);
                }
                newline(out, depth);
                out.push(']');
            }
            Self::Object(entries) if entries.is_empty() => out.push_str("{}"),
            Self::Object(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    out.push_str(&js_string(k));
                    out.push_str(": ");
                    v.write_pretty(out, depth + 1);
                }
                newline(out, depth);
                out.push('}');
            }
        }
    }
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// A number as `JSON.stringify` writes it: `String(n)` (the shortest
/// digits that read back, exponent form from 1e21 and below 1e-6, `1e+21`),
/// and `null` for NaN and the infinities.
pub fn js_number(n: f64) -> String {
    if !n.is_finite() {
        return "null".into();
    }
    ryu_js::Buffer::new().format_finite(n).to_string()
}

/// A string literal as `JSON.stringify` writes it.
pub fn js_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `JSON.stringify(value, null, 2) + "\n"` for our own output types, whose
/// field order is their declaration order.
pub fn to_stdout<T: serde::Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_js_formatting() {
        let v = Ordered::parse(r#"{"z":1.0,"a":[],"m":{"k":"v\n"},"e":{}}"#).unwrap();
        assert_eq!(
            v.pretty(),
            "{\n  \"z\": 1,\n  \"a\": [],\n  \"m\": {\n    \"k\": \"v\\n\"\n  },\n  \"e\": {}\n}"
        );
    }

    /// A deep server answer is refused by serde_json's limit, not parsed.
    #[test]
    fn parse_refuses_deep_nesting() {
        let n = 200_000;
        let deep = format!("{}{}", "[".repeat(n), "]".repeat(n));
        let e = Ordered::parse(&deep).unwrap_err();
        assert!(e.to_string().contains("recursion limit exceeded"), "{e}");
        let ok = format!("{}{}", "[".repeat(127), "]".repeat(127));
        assert!(Ordered::parse(&ok).is_ok());
    }

    #[test]
    fn numbers_like_javascript() {
        assert_eq!(js_number(1.0), "1");
        assert_eq!(js_number(-0.5), "-0.5");
        assert_eq!(js_number(1e21), "1e+21");
        assert_eq!(js_number(2f64.powi(60)), "1152921504606847000");
        assert_eq!(js_number(1.5e-7), "1.5e-7");
        assert_eq!(js_number(-0.0), "0");
        assert_eq!(js_number(f64::NAN), "null");
    }
}
