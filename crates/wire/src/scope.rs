//! The one rule for the scopes of `PUT external-auth/integrations/{type}`,
//! shared by the server (which enforces it), the CLI (whose `push --dry-run`
//! predicts it) and `openapi.json` (which states it, see [`PATTERN`]).
//!
//! A request holds at most [`MAX_SCOPES`] scopes; each is 1 to
//! [`MAX_SCOPE_CHARS`] characters (Unicode scalar values, which is what JSON
//! Schema's `maxLength` counts) with no whitespace and no control character.
//! Lengths are never counted in bytes.

use std::fmt;

/// At most this many scopes per connector.
pub const MAX_SCOPES: usize = 200;

/// At most this many characters per scope.
pub const MAX_SCOPE_CHARS: usize = 512;

/// The refused characters as ranges of code points: the C0 controls and
/// space, DEL, the C1 controls and no-break space, then the rest of Unicode's
/// `White_Space` and U+FEFF (which ECMAScript's `\s` also counts). Together:
/// every `char::is_control`, every `char::is_whitespace`, and U+FEFF.
const REFUSED: [(u32, u32); 9] = [
    (0x0000, 0x0020),
    (0x007F, 0x00A0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
    (0xFEFF, 0xFEFF),
];

/// The rule for one scope as the `pattern` of a JSON Schema string: the
/// ranges of [`REFUSED`] spelled out, so ECMAScript and Python regex engines
/// (schema validators, schemathesis) read it the same way, whatever their
/// `\s` means.
pub const PATTERN: &str =
    r"^[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000\uFEFF]+$";

/// Whether a scope may not hold `c`.
pub fn is_refused_char(c: char) -> bool {
    let c = u32::from(c);
    REFUSED.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// Why scopes break the rule; `Display` says what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeError {
    /// More than [`MAX_SCOPES`].
    TooMany {
        /// How many were given.
        count: usize,
    },
    /// An empty string.
    Empty,
    /// More than [`MAX_SCOPE_CHARS`] characters.
    TooLong {
        /// The scope, cut for display.
        scope: String,
        /// Its length in characters.
        chars: usize,
    },
    /// A whitespace or control character.
    RefusedChar {
        /// The scope, cut for display.
        scope: String,
        /// The first refused character.
        found: char,
        /// Its 1-based position, in characters.
        at: usize,
    },
}

/// Scopes are echoed at most this long in messages.
const SHOWN_CHARS: usize = 60;

fn shown(scope: &str) -> String {
    let mut cut: String = scope.chars().take(SHOWN_CHARS).collect();
    if cut.len() < scope.len() {
        cut.push('…');
    }
    cut
}

impl fmt::Display for ScopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooMany { count } => write!(
                f,
                "{count} scopes given, at most {MAX_SCOPES} are allowed; declare only the scopes the connector needs"
            ),
            Self::Empty => write!(
                f,
                "an empty scope was given; remove it, or write each scope as its own non-empty string"
            ),
            Self::TooLong { scope, chars } => write!(
                f,
                "scope {scope:?} has {chars} characters, at most {MAX_SCOPE_CHARS} are allowed; list each scope as its own string"
            ),
            Self::RefusedChar { scope, found, at } => write!(
                f,
                "scope {scope:?} holds a space or control character (U+{:04X} at character {at}); list each scope as its own string, without spaces or control characters",
                u32::from(*found)
            ),
        }
    }
}

impl std::error::Error for ScopeError {}

/// Checks one scope against the rule.
pub fn check(scope: &str) -> Result<(), ScopeError> {
    if scope.is_empty() {
        return Err(ScopeError::Empty);
    }
    let mut chars = 0;
    for c in scope.chars() {
        chars += 1;
        if is_refused_char(c) {
            return Err(ScopeError::RefusedChar {
                scope: shown(scope),
                found: c,
                at: chars,
            });
        }
    }
    if chars > MAX_SCOPE_CHARS {
        return Err(ScopeError::TooLong {
            scope: shown(scope),
            chars,
        });
    }
    Ok(())
}

/// Checks a request's scopes: their number, then each in order.
pub fn check_all(scopes: &[String]) -> Result<(), ScopeError> {
    if scopes.len() > MAX_SCOPES {
        return Err(ScopeError::TooMany {
            count: scopes.len(),
        });
    }
    scopes.iter().try_for_each(|s| check(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_characters_not_bytes() {
        assert_eq!(check(&"é".repeat(512)), Ok(()));
        assert_eq!(check(&"😀".repeat(512)), Ok(()));
        let err = check(&"é".repeat(513)).unwrap_err();
        assert_eq!(
            err,
            ScopeError::TooLong {
                scope: format!("{}…", "é".repeat(60)),
                chars: 513
            }
        );
        assert!(err.to_string().contains("513 characters, at most 512"));
        assert_eq!(check(""), Err(ScopeError::Empty));
    }

    #[test]
    fn whitespace_and_control_characters_are_refused() {
        for bad in [
            "a b",
            "a\tb",
            "a\u{1}b",
            "a\u{7f}b",
            "a\u{85}b",
            "a\u{a0}b",
            "a\u{3000}b",
            "a\u{feff}b",
        ] {
            let err = check(bad).unwrap_err();
            assert!(
                matches!(err, ScopeError::RefusedChar { at: 2, .. }),
                "{bad:?}: {err:?}"
            );
        }
        assert_eq!(
            check("chat:\u{1}write").unwrap_err().to_string(),
            "scope \"chat:\\u{1}write\" holds a space or control character (U+0001 at character 6); list each scope as its own string, without spaces or control characters"
        );
        for good in [
            "https://www.googleapis.com/auth/calendar",
            "chat:write",
            "é",
            "a\u{200b}b",
        ] {
            assert_eq!(check(good), Ok(()), "{good:?}");
        }
    }

    #[test]
    fn the_count_is_limited() {
        let scopes = vec!["a".to_string(); MAX_SCOPES];
        assert_eq!(check_all(&scopes), Ok(()));
        let scopes = vec!["a".to_string(); MAX_SCOPES + 1];
        assert_eq!(check_all(&scopes), Err(ScopeError::TooMany { count: 201 }));
    }

    /// The refused set is exactly controls, Unicode whitespace and U+FEFF,
    /// for every character.
    #[test]
    fn refused_set_is_controls_and_whitespace() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(
                is_refused_char(c),
                c.is_control() || c.is_whitespace() || c == '\u{FEFF}',
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    /// [`PATTERN`] spells out [`REFUSED`].
    #[test]
    fn pattern_lists_the_refused_ranges() {
        let ranges: String = REFUSED
            .iter()
            .map(|&(lo, hi)| {
                if lo == hi {
                    format!("\\u{lo:04X}")
                } else if hi == lo + 1 {
                    format!("\\u{lo:04X}\\u{hi:04X}")
                } else {
                    format!("\\u{lo:04X}-\\u{hi:04X}")
                }
            })
            .collect();
        assert_eq!(PATTERN, format!("^[^{ranges}]+$"));
    }
}
