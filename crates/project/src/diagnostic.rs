//! Building and rendering [`Diagnostic`]s: positions from byte offsets, the
//! source snippet with its caret marker, and the npm CLI's error texts for
//! files that cannot be read or parsed.

use std::fmt;
use std::path::Path;

use crate::Diagnostic;
use connectors_npm_compat::json5::{ErrorKind, SyntaxError, MAX_DEPTH};

impl Diagnostic {
    /// A diagnostic with a code and a message, and nothing else yet.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            message: message.into(),
            file: None,
            position: None,
            snippet: None,
            hints: Vec::new(),
        }
    }

    /// Adds a hint (what to do next).
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Names the file the problem is in.
    #[must_use]
    pub fn in_file(mut self, file: &Path) -> Self {
        self.file = Some(file.to_path_buf());
        self
    }

    /// Locates the problem at the bytes `start..end` of `text` (the file's
    /// contents): sets the 1-based line and column of `start` and the snippet.
    #[must_use]
    pub(crate) fn at(mut self, text: &str, start: usize, end: usize) -> Self {
        let (line, column) = line_column(text, start);
        self.position = Some((line, column));
        self.snippet = Some(snippet(text, start, end));
        self
    }
}

impl fmt::Display for Diagnostic {
    /// `<file>:<line>:<col>: <message>` (just the message without a file or
    /// position), then the snippet, then one `hint: …` line per hint.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.position) {
            (Some(file), Some((line, column))) => {
                write!(f, "{}:{line}:{column}: {}", file.display(), self.message)?
            }
            _ => write!(f, "{}", self.message)?,
        }
        if let Some(snippet) = &self.snippet {
            write!(f, "\n{snippet}")?;
        }
        for hint in &self.hints {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// 1-based line and column (in characters) of the byte `offset` of `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset);
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..offset].chars().count() + 1)
}

/// At most this many characters of the line are shown on each side of the
/// problem's start; the rest is cut and marked with `…`, so a minified
/// one-line file never prints whole.
const SNIPPET_CONTEXT: usize = 60;

/// The line holding `start`, and a marker under `start..end` (cut at the end
/// of that line; one `^` at least), with a line-number gutter:
///
/// ```text
///  3 |   "type": "bad type",
///    |           ^^^^^^^^^^
/// ```
///
/// A long line is cut to [`SNIPPET_CONTEXT`] characters either side of
/// `start`, at character boundaries, with `…` where text was left out.
pub(crate) fn snippet(text: &str, start: usize, end: usize) -> String {
    let start = floor_char_boundary(text, start);
    let end = floor_char_boundary(text, end.max(start));
    let (line_number, _) = line_column(text, start);
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = &text[line_start..line_end];
    let shown = line.strip_suffix('\r').unwrap_or(line);

    // Before `start`: its last SNIPPET_CONTEXT characters.
    let before = &shown[..(start - line_start).min(shown.len())];
    let (before, cut_before) = match before.char_indices().rev().nth(SNIPPET_CONTEXT - 1) {
        Some((i, _)) if i > 0 => (&before[i..], true),
        _ => (before, false),
    };
    // From `start`: its first SNIPPET_CONTEXT characters.
    let after = &shown[(start - line_start).min(shown.len())..];
    let (after, cut_after) = match after.char_indices().nth(SNIPPET_CONTEXT) {
        Some((i, _)) => (&after[..i], true),
        None => (after, false),
    };

    let ellipsis = |cut: bool| if cut { "…" } else { "" };
    let indent: String = ellipsis(cut_before)
        .chars()
        .chain(before.chars())
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let underlined = text[start..end.min(line_end)]
        .chars()
        .count()
        .min(after.chars().count())
        .max(1);
    let number = line_number.to_string();
    let gutter = " ".repeat(number.len());
    format!(
        " {number} | {}{before}{after}{}\n {gutter} | {indent}{}",
        ellipsis(cut_before),
        ellipsis(cut_after),
        "^".repeat(underlined)
    )
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The npm CLI's `readJsonFile` error for a JSON5 syntax error (`ConfigInvalidError`),
/// or ours for a file nested deeper than the parser reads.
pub(crate) fn invalid_json(path: &Path, text: &str, error: &SyntaxError) -> Diagnostic {
    let width = text[floor_char_boundary(text, error.offset)..]
        .chars()
        .next()
        .map_or(0, char::len_utf8);
    if error.kind == ErrorKind::TooDeep {
        return Diagnostic::new(
            "CONFIG_INVALID",
            format!(
                "File nests arrays and objects too deeply: {} (more than {MAX_DEPTH} levels)",
                path.display()
            ),
        )
        .with_hint(format!(
            "Remove the extra nesting from {}: at most {MAX_DEPTH} levels of arrays and objects are read (a connector file needs two)",
            path.display()
        ))
        .in_file(path)
        .at(text, error.offset, error.offset + width);
    }
    Diagnostic::new(
        "CONFIG_INVALID",
        format!(
            "File contains invalid JSON: {} ({})",
            path.display(),
            error.message
        ),
    )
    .with_hint(format!(
        "Check the file at {} for syntax errors",
        path.display()
    ))
    .in_file(path)
    .at(text, error.offset, error.offset + width)
}

/// The npm CLI's `readJsonFile` / `readTextFile` errors for a file that cannot be read.
pub(crate) fn read_error(path: &Path, error: &std::io::Error) -> Diagnostic {
    if error.kind() == std::io::ErrorKind::NotFound {
        return Diagnostic::new(
            "FILE_NOT_FOUND",
            format!("File not found: {}", path.display()),
        )
        .in_file(path);
    }
    io_error("read", path, error)
}

/// A failed read, write or delete (`FileReadError`).
pub(crate) fn io_error(verb: &str, path: &Path, error: &std::io::Error) -> Diagnostic {
    Diagnostic::new(
        "FILE_READ_ERROR",
        format!("Failed to {verb} file {}: {error}", path.display()),
    )
    .with_hint("Check file permissions and try again")
    .in_file(path)
}

/// Reads a file as the npm CLI does (`utf-8`, invalid bytes replaced).
pub(crate) fn read_text(path: &Path) -> Result<String, Diagnostic> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }),
        Err(e) => Err(read_error(path, &e)),
    }
}

/// One zod issue, as `z.prettifyError` prints it, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issue {
    /// `✖ …` and, for a nested value, `  → at <path>`.
    pub text: String,
    pub start: usize,
    pub end: usize,
}

impl Issue {
    pub fn new(message: &str, path: &str, start: usize, end: usize) -> Self {
        let text = if path.is_empty() {
            format!("✖ {message}")
        } else {
            format!("✖ {message}\n  → at {path}")
        };
        Issue { text, start, end }
    }
}

/// The npm CLI's `SchemaValidationError`: `<context> in <path>:` and the issues,
/// located at the first one.
pub(crate) fn schema_error(context: &str, path: &Path, text: &str, issues: &[Issue]) -> Diagnostic {
    let lines: Vec<&str> = issues.iter().map(|i| i.text.as_str()).collect();
    let mut d = Diagnostic::new(
        "SCHEMA_INVALID",
        format!("{context} in {}:\n{}", path.display(), lines.join("\n")),
    )
    .with_hint(format!(
        "Fix the schema/data structure errors in {}",
        path.display()
    ))
    .in_file(path);
    if let Some(first) = issues.first() {
        d = d.at(text, first.start, first.end);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters_from_one() {
        let text = "{\n\t\"é\": 1,\n  x\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 2), (2, 1));
        let x = text.find('x').unwrap();
        assert_eq!(line_column(text, x), (3, 3));
        let one = text.find('1').unwrap();
        assert_eq!(line_column(text, one), (2, 7));
        assert_eq!(line_column(text, text.len()), (4, 1));
    }

    #[test]
    fn snippet_underlines_the_span_and_keeps_tabs() {
        let text = "{\n\t\"type\": \"a b\",\r\n}";
        let start = text.find("\"a b\"").unwrap();
        assert_eq!(
            snippet(text, start, start + 5),
            " 2 | \t\"type\": \"a b\",\n   | \t        ^^^^^"
        );
        // A span running past the line is cut; an empty one still gets a caret.
        assert_eq!(snippet(text, 0, text.len()), " 1 | {\n   | ^");
        assert_eq!(snippet(text, text.len(), text.len()), " 3 | }\n   |  ^");
    }

    #[test]
    fn a_long_line_is_cut_around_the_problem() {
        // Multibyte text on both sides, so a byte-wise cut would split a character.
        let text = format!("{}@{}", "é".repeat(100), "ü".repeat(100));
        let at = text.find('@').unwrap();
        let s = snippet(&text, at, at + 1);
        let (line, marker) = s.split_once('\n').unwrap();
        assert_eq!(
            line,
            format!(" 1 | …{}@{}…", "é".repeat(60), "ü".repeat(59))
        );
        // The caret sits under the `@`, counted in characters.
        let caret = marker.chars().position(|c| c == '^').unwrap();
        assert_eq!(line.chars().nth(caret), Some('@'));
        assert_eq!(marker.matches('^').count(), 1);

        // Near the start of a line nothing is cut on the left; a long span is
        // underlined only as far as it is shown.
        let text = format!("ab{}", "x".repeat(500));
        let s = snippet(&text, 1, text.len());
        assert_eq!(
            s,
            format!(" 1 | ab{}…\n   |  {}", "x".repeat(59), "^".repeat(60))
        );
        // Exactly 60 characters on each side: nothing to cut.
        let text = format!("{}!{}", "a".repeat(60), "b".repeat(59));
        assert!(!snippet(&text, 60, 61).contains('…'));
    }

    #[test]
    fn display_puts_location_snippet_and_hints_in_order() {
        let text = "{type: 5}";
        let d = Diagnostic::new("SCHEMA_INVALID", "bad")
            .with_hint("fix it")
            .in_file(Path::new("/p/a.json"))
            .at(text, 7, 8);
        assert_eq!(
            d.to_string(),
            "/p/a.json:1:8: bad\n 1 | {type: 5}\n   |        ^\nhint: fix it"
        );
        let plain = Diagnostic::new("CONFIG_INVALID", "no file")
            .with_hint("a")
            .with_hint("b");
        assert_eq!(plain.to_string(), "no file\nhint: a\nhint: b");
    }
}
