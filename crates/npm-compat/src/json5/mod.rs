//! A JSON5 parser that accepts, rejects and words its errors exactly as the
//! `json5` npm package 2.2.3 bundled by the npm `base44` CLI 0.1.18, and also
//! records where every value sits in the text.
//!
//! It is a port of `json5/lib/parse.js`: the same lexer states, the same
//! parse states, the same `line:column` arithmetic in messages (columns count
//! UTF-16 code units, a newline read by the failing `read()` moves to
//! `<next line>:0`). What it adds is byte offsets, so callers can point at the
//! offending token.
//!
//! One deliberate difference: nesting deeper than [`MAX_DEPTH`] is refused
//! ([`ErrorKind::TooDeep`]), where the package parses any depth. The parser
//! itself keeps open containers on a heap stack, but the tree it returns is
//! dropped, cloned, compared and printed recursively, so an unbounded depth
//! would overflow the thread's stack (a 135k-level `[` file did).

#[rustfmt::skip]
mod tables;

/// How deeply arrays and objects may nest: a value inside [`MAX_DEPTH`]
/// brackets is accepted, one more bracket is an [`ErrorKind::TooDeep`] error.
///
/// serde_json's default limit is the same size. Real files are shallow (a
/// connector file nests two levels), and every recursive walk of a parsed
/// [`Node`] (drop, clone, compare, debug) is bounded by it.
pub const MAX_DEPTH: usize = 128;

/// A parsed value and the byte range of its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Byte offset of the value's first character.
    pub start: usize,
    /// Byte offset just past the value's last character.
    pub end: usize,
}

/// A JSON5 value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number as JavaScript holds it (`NaN` and `Infinity` included).
    Number(f64),
    /// A string (lone surrogates from `\u` escapes become U+FFFD).
    String(String),
    /// An array.
    Array(Vec<Node>),
    /// An object.
    Object(Vec<Prop>),
}

/// One `key: value` of an object, in text order (duplicates kept).
#[derive(Debug, Clone, PartialEq)]
pub struct Prop {
    /// The key, escapes decoded.
    pub key: String,
    /// The value.
    pub value: Node,
}

impl Node {
    /// The value of `key` in an object: the last occurrence wins, as in
    /// `JSON5.parse`. `None` for a missing key or a non-object.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Object(props) => props.iter().rev().find(|p| p.key == key).map(|p| &p.value),
            _ => None,
        }
    }

    /// What zod calls the value's type in `expected X, received <type>`.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_nan() => "NaN",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
}

/// A syntax error: the `json5` package's exact message and the byte offset of
/// the offending character (the text's length at end of input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    /// For example `JSON5: invalid character ',' at 1:16`.
    pub message: String,
    /// Where the offending character starts.
    pub offset: usize,
    /// Which rule the text broke.
    pub kind: ErrorKind,
}

/// Which rule a text broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The JSON5 grammar; the message is the `json5` package's.
    Syntax,
    /// More than [`MAX_DEPTH`] nested arrays and objects, which the package
    /// would accept; `offset` is the bracket that went one level too deep.
    TooDeep,
}

/// Parses `text` as `JSON5.parse` does.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    Parser::new(text).run()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParseState {
    Start,
    BeforePropertyName,
    AfterPropertyName,
    BeforePropertyValue,
    BeforeArrayValue,
    AfterPropertyValue,
    AfterArrayValue,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LexState {
    Default,
    Comment,
    MultiLineComment,
    MultiLineCommentAsterisk,
    SingleLineComment,
    Value,
    IdentifierNameStartEscape,
    IdentifierName,
    IdentifierNameEscape,
    Sign,
    Zero,
    DecimalInteger,
    DecimalPointLeading,
    DecimalPoint,
    DecimalFraction,
    DecimalExponent,
    DecimalExponentSign,
    DecimalExponentInteger,
    Hexadecimal,
    HexadecimalInteger,
    String,
    // The lexer states named after parse states.
    Start,
    BeforePropertyName,
    AfterPropertyName,
    BeforePropertyValue,
    AfterPropertyValue,
    BeforeArrayValue,
    AfterArrayValue,
    End,
}

impl From<ParseState> for LexState {
    fn from(state: ParseState) -> Self {
        match state {
            ParseState::Start => LexState::Start,
            ParseState::BeforePropertyName => LexState::BeforePropertyName,
            ParseState::AfterPropertyName => LexState::AfterPropertyName,
            ParseState::BeforePropertyValue => LexState::BeforePropertyValue,
            ParseState::BeforeArrayValue => LexState::BeforeArrayValue,
            ParseState::AfterPropertyValue => LexState::AfterPropertyValue,
            ParseState::AfterArrayValue => LexState::AfterArrayValue,
            ParseState::End => LexState::End,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    Eof,
    Punctuator(char),
    Null,
    Boolean(bool),
    Numeric(f64),
    String(String),
    Identifier(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    kind: TokenKind,
    start: usize,
    end: usize,
}

/// An object or array being filled.
struct Frame {
    start: usize,
    /// The key under which this container goes into its parent object.
    key: Option<String>,
    content: Container,
}

enum Container {
    Array(Vec<Node>),
    Object(Vec<Prop>),
}

struct Parser<'a> {
    source: &'a str,
    pos: usize,
    line: usize,
    /// In UTF-16 code units, as the JavaScript original counts.
    column: i64,
    parse_state: ParseState,
    lex_state: LexState,
    /// String and identifier contents, in UTF-16 like JavaScript strings
    /// (`\uD83D\uDE00` escapes combine into one character).
    buffer: Vec<u16>,
    double_quote: bool,
    /// `-1` after a leading `-`, as the original's `sign`.
    sign: f64,
    c: Option<char>,
    token_start: usize,
    /// Where the current `\u` identifier escape began (for its error).
    escape_start: usize,
    stack: Vec<Frame>,
    key: Option<String>,
    root: Option<Node>,
}

type Step<T> = Result<T, SyntaxError>;

impl<'a> Parser<'a> {
    fn new(source: &'a str) -> Self {
        Parser {
            source,
            pos: 0,
            line: 1,
            column: 0,
            parse_state: ParseState::Start,
            lex_state: LexState::Default,
            buffer: Vec::new(),
            double_quote: false,
            sign: 1.0,
            c: None,
            token_start: 0,
            escape_start: 0,
            stack: Vec::new(),
            key: None,
            root: None,
        }
    }

    fn run(mut self) -> Step<Node> {
        loop {
            let token = self.lex()?;
            let eof = token.kind == TokenKind::Eof;
            self.parse_step(token)?;
            if eof {
                break;
            }
        }
        // The start state turns an immediate end of input into an error, so a
        // finished parse always has a root.
        Ok(self.root.take().unwrap_or(Node {
            value: Value::Null,
            start: 0,
            end: 0,
        }))
    }

    // ----- characters -----

    fn peek(&self) -> Option<char> {
        self.source[self.pos..].chars().next()
    }

    fn read(&mut self) -> Option<char> {
        let c = self.peek();
        match c {
            Some('\n') => {
                self.line += 1;
                self.column = 0;
            }
            Some(ch) => self.column += ch.len_utf16() as i64,
            None => self.column += 1,
        }
        if let Some(ch) = c {
            self.pos += ch.len_utf8();
        }
        c
    }

    /// `throw invalidChar(read())`.
    fn invalid_read(&mut self) -> SyntaxError {
        let offset = self.pos;
        let c = self.read();
        self.invalid_char(c, offset)
    }

    fn invalid_char(&self, c: Option<char>, offset: usize) -> SyntaxError {
        let message = match c {
            None => format!(
                "JSON5: invalid end of input at {}:{}",
                self.line, self.column
            ),
            Some(c) => format!(
                "JSON5: invalid character '{}' at {}:{}",
                format_char(c),
                self.line,
                self.column
            ),
        };
        SyntaxError {
            message,
            offset,
            kind: ErrorKind::Syntax,
        }
    }

    fn invalid_eof(&self) -> SyntaxError {
        SyntaxError {
            message: format!(
                "JSON5: invalid end of input at {}:{}",
                self.line, self.column
            ),
            offset: self.source.len(),
            kind: ErrorKind::Syntax,
        }
    }

    fn invalid_identifier(&mut self) -> SyntaxError {
        self.column -= 5;
        SyntaxError {
            message: format!(
                "JSON5: invalid identifier character at {}:{}",
                self.line, self.column
            ),
            offset: self.escape_start,
            kind: ErrorKind::Syntax,
        }
    }

    fn push_char(&mut self, c: char) {
        let mut units = [0u16; 2];
        self.buffer.extend_from_slice(c.encode_utf16(&mut units));
    }

    /// `buffer += read()`.
    fn take(&mut self) {
        if let Some(c) = self.read() {
            self.push_char(c);
        }
    }

    fn buffer_string(&self) -> String {
        String::from_utf16_lossy(&self.buffer)
    }

    fn token(&self, kind: TokenKind) -> Token {
        Token {
            kind,
            start: self.token_start,
            end: self.pos,
        }
    }

    // ----- lexer -----

    fn lex(&mut self) -> Step<Token> {
        self.lex_state = LexState::Default;
        self.buffer.clear();
        self.double_quote = false;
        self.sign = 1.0;
        loop {
            self.c = self.peek();
            if let Some(token) = self.lex_step(self.lex_state)? {
                return Ok(token);
            }
        }
    }

    fn lex_step(&mut self, state: LexState) -> Step<Option<Token>> {
        let c = self.c;
        match state {
            LexState::Default => match c {
                Some(
                    '\t' | '\u{0B}' | '\u{0C}' | ' ' | '\u{A0}' | '\u{FEFF}' | '\n' | '\r'
                    | '\u{2028}' | '\u{2029}',
                ) => {
                    self.read();
                    Ok(None)
                }
                Some('/') => {
                    self.read();
                    self.lex_state = LexState::Comment;
                    Ok(None)
                }
                None => {
                    self.token_start = self.pos;
                    self.read();
                    Ok(Some(self.token(TokenKind::Eof)))
                }
                Some(ch) if is_space_separator(ch as u32) => {
                    self.read();
                    Ok(None)
                }
                Some(_) => {
                    self.token_start = self.pos;
                    self.lex_step(self.parse_state.into())
                }
            },
            LexState::Comment => match c {
                Some('*') => {
                    self.read();
                    self.lex_state = LexState::MultiLineComment;
                    Ok(None)
                }
                Some('/') => {
                    self.read();
                    self.lex_state = LexState::SingleLineComment;
                    Ok(None)
                }
                _ => Err(self.invalid_read()),
            },
            LexState::MultiLineComment => match c {
                Some('*') => {
                    self.read();
                    self.lex_state = LexState::MultiLineCommentAsterisk;
                    Ok(None)
                }
                None => Err(self.invalid_read()),
                Some(_) => {
                    self.read();
                    Ok(None)
                }
            },
            LexState::MultiLineCommentAsterisk => match c {
                Some('*') => {
                    self.read();
                    Ok(None)
                }
                Some('/') => {
                    self.read();
                    self.lex_state = LexState::Default;
                    Ok(None)
                }
                None => Err(self.invalid_read()),
                Some(_) => {
                    self.read();
                    self.lex_state = LexState::MultiLineComment;
                    Ok(None)
                }
            },
            LexState::SingleLineComment => match c {
                Some('\n' | '\r' | '\u{2028}' | '\u{2029}') => {
                    self.read();
                    self.lex_state = LexState::Default;
                    Ok(None)
                }
                None => {
                    self.token_start = self.pos;
                    self.read();
                    Ok(Some(self.token(TokenKind::Eof)))
                }
                Some(_) => {
                    self.read();
                    Ok(None)
                }
            },
            LexState::Value => self.lex_value(c),
            LexState::IdentifierNameStartEscape => {
                if c != Some('u') {
                    return Err(self.invalid_read());
                }
                self.read();
                let u = self.unicode_escape()?;
                if !(u == u32::from('$') || u == u32::from('_') || is_id_start(u)) {
                    return Err(self.invalid_identifier());
                }
                self.buffer.push(u as u16);
                self.lex_state = LexState::IdentifierName;
                Ok(None)
            }
            LexState::IdentifierName => match c {
                Some('$' | '_' | '\u{200C}' | '\u{200D}') => {
                    self.take();
                    Ok(None)
                }
                Some('\\') => {
                    self.escape_start = self.pos;
                    self.read();
                    self.lex_state = LexState::IdentifierNameEscape;
                    Ok(None)
                }
                Some(ch) if is_id_continue(ch as u32) => {
                    self.take();
                    Ok(None)
                }
                _ => Ok(Some(
                    self.token(TokenKind::Identifier(self.buffer_string())),
                )),
            },
            LexState::IdentifierNameEscape => {
                if c != Some('u') {
                    return Err(self.invalid_read());
                }
                self.read();
                let u = self.unicode_escape()?;
                let allowed = [u32::from('$'), u32::from('_'), 0x200C, 0x200D];
                if !(allowed.contains(&u) || is_id_continue(u)) {
                    return Err(self.invalid_identifier());
                }
                self.buffer.push(u as u16);
                self.lex_state = LexState::IdentifierName;
                Ok(None)
            }
            LexState::Sign => match c {
                Some('.') => {
                    self.take();
                    self.lex_state = LexState::DecimalPointLeading;
                    Ok(None)
                }
                Some('0') => {
                    self.take();
                    self.lex_state = LexState::Zero;
                    Ok(None)
                }
                Some('1'..='9') => {
                    self.take();
                    self.lex_state = LexState::DecimalInteger;
                    Ok(None)
                }
                Some('I') => {
                    self.read();
                    self.literal("nfinity")?;
                    Ok(Some(
                        self.token(TokenKind::Numeric(self.sign * f64::INFINITY)),
                    ))
                }
                Some('N') => {
                    self.read();
                    self.literal("aN")?;
                    Ok(Some(self.token(TokenKind::Numeric(f64::NAN))))
                }
                _ => Err(self.invalid_read()),
            },
            LexState::Zero => match c {
                Some('.') => {
                    self.take();
                    self.lex_state = LexState::DecimalPoint;
                    Ok(None)
                }
                Some('e' | 'E') => {
                    self.take();
                    self.lex_state = LexState::DecimalExponent;
                    Ok(None)
                }
                Some('x' | 'X') => {
                    self.take();
                    self.lex_state = LexState::Hexadecimal;
                    Ok(None)
                }
                _ => Ok(Some(self.number())),
            },
            LexState::DecimalInteger => match c {
                Some('.') => {
                    self.take();
                    self.lex_state = LexState::DecimalPoint;
                    Ok(None)
                }
                Some('e' | 'E') => {
                    self.take();
                    self.lex_state = LexState::DecimalExponent;
                    Ok(None)
                }
                Some(ch) if ch.is_ascii_digit() => {
                    self.take();
                    Ok(None)
                }
                _ => Ok(Some(self.number())),
            },
            LexState::DecimalPointLeading => match c {
                Some(ch) if ch.is_ascii_digit() => {
                    self.take();
                    self.lex_state = LexState::DecimalFraction;
                    Ok(None)
                }
                _ => Err(self.invalid_read()),
            },
            LexState::DecimalPoint => match c {
                Some('e' | 'E') => {
                    self.take();
                    self.lex_state = LexState::DecimalExponent;
                    Ok(None)
                }
                Some(ch) if ch.is_ascii_digit() => {
                    self.take();
                    self.lex_state = LexState::DecimalFraction;
                    Ok(None)
                }
                _ => Ok(Some(self.number())),
            },
            LexState::DecimalFraction => match c {
                Some('e' | 'E') => {
                    self.take();
                    self.lex_state = LexState::DecimalExponent;
                    Ok(None)
                }
                Some(ch) if ch.is_ascii_digit() => {
                    self.take();
                    Ok(None)
                }
                _ => Ok(Some(self.number())),
            },
            LexState::DecimalExponent => match c {
                Some('+' | '-') => {
                    self.take();
                    self.lex_state = LexState::DecimalExponentSign;
                    Ok(None)
                }
                Some(ch) if ch.is_ascii_digit() => {
                    self.take();
                    self.lex_state = LexState::DecimalExponentInteger;
                    Ok(None)
                }
                _ => Err(self.invalid_read()),
            },
            LexState::DecimalExponentSign => match c {
                Some(ch) if ch.is_ascii_digit() => {
                    self.take();
                    self.lex_state = LexState::DecimalExponentInteger;
                    Ok(None)
                }
                _ => Err(self.invalid_read()),
            },
            LexState::DecimalExponentInteger => match c {
                Some(ch) if ch.is_ascii_digit() => {
                    self.take();
                    Ok(None)
                }
                _ => Ok(Some(self.number())),
            },
            LexState::Hexadecimal => match c {
                Some(ch) if ch.is_ascii_hexdigit() => {
                    self.take();
                    self.lex_state = LexState::HexadecimalInteger;
                    Ok(None)
                }
                _ => Err(self.invalid_read()),
            },
            LexState::HexadecimalInteger => match c {
                Some(ch) if ch.is_ascii_hexdigit() => {
                    self.take();
                    Ok(None)
                }
                _ => Ok(Some(self.number())),
            },
            LexState::String => match c {
                Some('\\') => {
                    self.read();
                    let escaped = self.escape()?;
                    self.buffer.extend_from_slice(&escaped);
                    Ok(None)
                }
                Some('"') if self.double_quote => {
                    self.read();
                    Ok(Some(self.token(TokenKind::String(self.buffer_string()))))
                }
                Some('\'') if !self.double_quote => {
                    self.read();
                    Ok(Some(self.token(TokenKind::String(self.buffer_string()))))
                }
                Some('\n' | '\r') | None => Err(self.invalid_read()),
                // U+2028 and U+2029 only draw a console warning in the original.
                Some(_) => {
                    self.take();
                    Ok(None)
                }
            },
            LexState::Start => match c {
                Some('{' | '[') => {
                    self.read();
                    Ok(Some(self.token(TokenKind::Punctuator(c.unwrap_or('{')))))
                }
                _ => {
                    self.lex_state = LexState::Value;
                    Ok(None)
                }
            },
            LexState::BeforePropertyName => match c {
                Some('$' | '_') => {
                    self.take();
                    self.lex_state = LexState::IdentifierName;
                    Ok(None)
                }
                Some('\\') => {
                    self.escape_start = self.pos;
                    self.read();
                    self.lex_state = LexState::IdentifierNameStartEscape;
                    Ok(None)
                }
                Some('}') => {
                    self.read();
                    Ok(Some(self.token(TokenKind::Punctuator('}'))))
                }
                Some(q @ ('"' | '\'')) => {
                    self.read();
                    self.double_quote = q == '"';
                    self.lex_state = LexState::String;
                    Ok(None)
                }
                Some(ch) if is_id_start(ch as u32) => {
                    self.take();
                    self.lex_state = LexState::IdentifierName;
                    Ok(None)
                }
                _ => Err(self.invalid_read()),
            },
            LexState::AfterPropertyName => match c {
                Some(':') => {
                    self.read();
                    Ok(Some(self.token(TokenKind::Punctuator(':'))))
                }
                _ => Err(self.invalid_read()),
            },
            LexState::BeforePropertyValue => {
                self.lex_state = LexState::Value;
                Ok(None)
            }
            LexState::AfterPropertyValue => match c {
                Some(p @ (',' | '}')) => {
                    self.read();
                    Ok(Some(self.token(TokenKind::Punctuator(p))))
                }
                _ => Err(self.invalid_read()),
            },
            LexState::BeforeArrayValue => match c {
                Some(']') => {
                    self.read();
                    Ok(Some(self.token(TokenKind::Punctuator(']'))))
                }
                _ => {
                    self.lex_state = LexState::Value;
                    Ok(None)
                }
            },
            LexState::AfterArrayValue => match c {
                Some(p @ (',' | ']')) => {
                    self.read();
                    Ok(Some(self.token(TokenKind::Punctuator(p))))
                }
                _ => Err(self.invalid_read()),
            },
            LexState::End => Err(self.invalid_read()),
        }
    }

    fn lex_value(&mut self, c: Option<char>) -> Step<Option<Token>> {
        match c {
            Some(p @ ('{' | '[')) => {
                self.read();
                Ok(Some(self.token(TokenKind::Punctuator(p))))
            }
            Some('n') => {
                self.read();
                self.literal("ull")?;
                Ok(Some(self.token(TokenKind::Null)))
            }
            Some('t') => {
                self.read();
                self.literal("rue")?;
                Ok(Some(self.token(TokenKind::Boolean(true))))
            }
            Some('f') => {
                self.read();
                self.literal("alse")?;
                Ok(Some(self.token(TokenKind::Boolean(false))))
            }
            Some(sign @ ('-' | '+')) => {
                self.read();
                if sign == '-' {
                    self.sign = -1.0;
                }
                self.lex_state = LexState::Sign;
                Ok(None)
            }
            Some('.') => {
                self.take();
                self.lex_state = LexState::DecimalPointLeading;
                Ok(None)
            }
            Some('0') => {
                self.take();
                self.lex_state = LexState::Zero;
                Ok(None)
            }
            Some('1'..='9') => {
                self.take();
                self.lex_state = LexState::DecimalInteger;
                Ok(None)
            }
            Some('I') => {
                self.read();
                self.literal("nfinity")?;
                Ok(Some(self.token(TokenKind::Numeric(f64::INFINITY))))
            }
            Some('N') => {
                self.read();
                self.literal("aN")?;
                Ok(Some(self.token(TokenKind::Numeric(f64::NAN))))
            }
            Some(q @ ('"' | '\'')) => {
                self.read();
                self.double_quote = q == '"';
                self.buffer.clear();
                self.lex_state = LexState::String;
                Ok(None)
            }
            _ => Err(self.invalid_read()),
        }
    }

    /// A finished numeric literal (`NaN` is lexed separately).
    /// The number in `buffer` (digits, without the sign), as `Number()` reads it.
    fn number(&self) -> Token {
        let text = self.buffer_string();
        let magnitude = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            Some(hex) => u128::from_str_radix(hex, 16).map_or_else(
                |_| {
                    hex.chars().fold(0.0, |n, d| {
                        n * 16.0 + f64::from(d.to_digit(16).unwrap_or(0))
                    })
                },
                |n| n as f64,
            ),
            None => text.parse().unwrap_or(f64::NAN),
        };
        self.token(TokenKind::Numeric(self.sign * magnitude))
    }

    fn literal(&mut self, rest: &str) -> Step<()> {
        for expected in rest.chars() {
            if self.peek() != Some(expected) {
                return Err(self.invalid_read());
            }
            self.read();
        }
        Ok(())
    }

    /// After a backslash in a string: the UTF-16 units it stands for.
    fn escape(&mut self) -> Step<Vec<u16>> {
        let c = self.peek();
        let unit = |ch: char| vec![ch as u16];
        match c {
            Some('b') => {
                self.read();
                Ok(unit('\u{08}'))
            }
            Some('f') => {
                self.read();
                Ok(unit('\u{0C}'))
            }
            Some('n') => {
                self.read();
                Ok(unit('\n'))
            }
            Some('r') => {
                self.read();
                Ok(unit('\r'))
            }
            Some('t') => {
                self.read();
                Ok(unit('\t'))
            }
            Some('v') => {
                self.read();
                Ok(unit('\u{0B}'))
            }
            Some('0') => {
                self.read();
                if self.peek().is_some_and(|d| d.is_ascii_digit()) {
                    return Err(self.invalid_read());
                }
                Ok(unit('\0'))
            }
            Some('x') => {
                self.read();
                let mut value = 0u32;
                for _ in 0..2 {
                    match self.peek().and_then(|d| d.to_digit(16)) {
                        Some(d) => {
                            value = value * 16 + d;
                            self.read();
                        }
                        None => return Err(self.invalid_read()),
                    }
                }
                Ok(vec![value as u16])
            }
            Some('u') => {
                self.read();
                Ok(vec![self.unicode_escape()? as u16])
            }
            Some('\n' | '\u{2028}' | '\u{2029}') => {
                self.read();
                Ok(Vec::new())
            }
            Some('\r') => {
                self.read();
                if self.peek() == Some('\n') {
                    self.read();
                }
                Ok(Vec::new())
            }
            Some('1'..='9') | None => Err(self.invalid_read()),
            Some(other) => {
                self.read();
                let mut units = [0u16; 2];
                Ok(other.encode_utf16(&mut units).to_vec())
            }
        }
    }

    /// Four hex digits after `\u`: one UTF-16 code unit.
    fn unicode_escape(&mut self) -> Step<u32> {
        let mut value = 0u32;
        for _ in 0..4 {
            match self.peek().and_then(|d| d.to_digit(16)) {
                Some(d) => {
                    value = value * 16 + d;
                    self.read();
                }
                None => return Err(self.invalid_read()),
            }
        }
        Ok(value)
    }

    // ----- parser -----

    fn parse_step(&mut self, token: Token) -> Step<()> {
        match self.parse_state {
            ParseState::Start => {
                if token.kind == TokenKind::Eof {
                    return Err(self.invalid_eof());
                }
                self.push(token)?;
            }
            ParseState::BeforePropertyName => match token.kind {
                TokenKind::Identifier(name) | TokenKind::String(name) => {
                    self.key = Some(name);
                    self.parse_state = ParseState::AfterPropertyName;
                }
                TokenKind::Punctuator(_) => self.pop(token.end),
                TokenKind::Eof => return Err(self.invalid_eof()),
                _ => {}
            },
            ParseState::AfterPropertyName => {
                if token.kind == TokenKind::Eof {
                    return Err(self.invalid_eof());
                }
                self.parse_state = ParseState::BeforePropertyValue;
            }
            ParseState::BeforePropertyValue => {
                if token.kind == TokenKind::Eof {
                    return Err(self.invalid_eof());
                }
                self.push(token)?;
            }
            ParseState::BeforeArrayValue => {
                if token.kind == TokenKind::Eof {
                    return Err(self.invalid_eof());
                }
                if token.kind == TokenKind::Punctuator(']') {
                    self.pop(token.end);
                } else {
                    self.push(token)?;
                }
            }
            ParseState::AfterPropertyValue => match token.kind {
                TokenKind::Eof => return Err(self.invalid_eof()),
                TokenKind::Punctuator(',') => self.parse_state = ParseState::BeforePropertyName,
                TokenKind::Punctuator('}') => self.pop(token.end),
                _ => {}
            },
            ParseState::AfterArrayValue => match token.kind {
                TokenKind::Eof => return Err(self.invalid_eof()),
                TokenKind::Punctuator(',') => self.parse_state = ParseState::BeforeArrayValue,
                TokenKind::Punctuator(']') => self.pop(token.end),
                _ => {}
            },
            ParseState::End => {}
        }
        Ok(())
    }

    fn push(&mut self, token: Token) -> Step<()> {
        let is_array = token.kind == TokenKind::Punctuator('[');
        let scalar = match token.kind {
            TokenKind::Punctuator(_) => None,
            TokenKind::Null => Some(Value::Null),
            TokenKind::Boolean(b) => Some(Value::Bool(b)),
            TokenKind::Numeric(n) => Some(Value::Number(n)),
            TokenKind::String(s) => Some(Value::String(s)),
            TokenKind::Identifier(_) | TokenKind::Eof => Some(Value::Null),
        };
        match scalar {
            Some(value) => {
                let node = Node {
                    value,
                    start: token.start,
                    end: token.end,
                };
                let key = self.key.clone();
                self.attach(node, key);
                self.after_value();
            }
            None => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(self.too_deep(token.start));
                }
                let (content, state) = if is_array {
                    (Container::Array(Vec::new()), ParseState::BeforeArrayValue)
                } else {
                    (
                        Container::Object(Vec::new()),
                        ParseState::BeforePropertyName,
                    )
                };
                let key = if self.stack.is_empty() {
                    None
                } else {
                    self.key.clone()
                };
                self.stack.push(Frame {
                    start: token.start,
                    key,
                    content,
                });
                self.parse_state = state;
            }
        }
        Ok(())
    }

    /// The bracket at `offset` (just read) opens level [`MAX_DEPTH`] + 1.
    fn too_deep(&self, offset: usize) -> SyntaxError {
        SyntaxError {
            message: format!(
                "arrays and objects nested more than {MAX_DEPTH} levels deep at {}:{}",
                self.line, self.column
            ),
            offset,
            kind: ErrorKind::TooDeep,
        }
    }

    fn pop(&mut self, end: usize) {
        if let Some(frame) = self.stack.pop() {
            let value = match frame.content {
                Container::Array(items) => Value::Array(items),
                Container::Object(props) => Value::Object(props),
            };
            let node = Node {
                value,
                start: frame.start,
                end,
            };
            self.attach(node, frame.key);
        }
        self.after_value();
    }

    fn attach(&mut self, node: Node, key: Option<String>) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame {
                content: Container::Array(items),
                ..
            }) => items.push(node),
            Some(Frame {
                content: Container::Object(props),
                ..
            }) => {
                props.push(Prop {
                    key: key.unwrap_or_default(),
                    value: node,
                });
            }
        }
    }

    fn after_value(&mut self) {
        self.parse_state = match self.stack.last() {
            None => ParseState::End,
            Some(Frame {
                content: Container::Array(_),
                ..
            }) => ParseState::AfterArrayValue,
            Some(Frame {
                content: Container::Object(_),
                ..
            }) => ParseState::AfterPropertyValue,
        };
    }
}

/// `formatChar` of the original.
fn format_char(c: char) -> String {
    match c {
        '\'' => "\\'".into(),
        '"' => "\\\"".into(),
        '\\' => "\\\\".into(),
        '\u{08}' => "\\b".into(),
        '\u{0C}' => "\\f".into(),
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        '\t' => "\\t".into(),
        '\u{0B}' => "\\v".into(),
        '\0' => "\\0".into(),
        '\u{2028}' => "\\u2028".into(),
        '\u{2029}' => "\\u2029".into(),
        c if c < ' ' => format!("\\x{:02x}", c as u32),
        c => c.to_string(),
    }
}

fn in_table(table: &[(u32, u32)], cp: u32) -> bool {
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

fn is_space_separator(cp: u32) -> bool {
    in_table(tables::SPACE_SEPARATOR, cp)
}

fn is_id_start(cp: u32) -> bool {
    in_table(tables::ID_START, cp)
}

fn is_id_continue(cp: u32) -> bool {
    in_table(tables::ID_CONTINUE, cp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> SyntaxError {
        parse(text).expect_err(text)
    }

    /// Messages the npm CLI 0.1.18 printed for these files (`File contains
    /// invalid JSON: <path> (<message>)`), and the offending byte.
    #[test]
    fn syntax_errors_match_the_json5_package() {
        for (text, message, offset) in [
            (
                "{type: \"slack\",, }",
                "JSON5: invalid character ',' at 1:16",
                15,
            ),
            ("{", "JSON5: invalid end of input at 1:2", 1),
            ("", "JSON5: invalid end of input at 1:1", 0),
            ("{type: 'x' /* }", "JSON5: invalid end of input at 1:16", 15),
            ("{\"a\" 1}", "JSON5: invalid character '1' at 1:6", 5),
            (
                "{type:\"x\"} extra",
                "JSON5: invalid character 'e' at 1:12",
                11,
            ),
            (
                "{\n\t\"type\": \"x\",\n  \"scopes\": [\n    \"a\"\n    \"b\"\n  ]\n}",
                "JSON5: invalid character '\\\"' at 5:5",
                42,
            ),
            (
                "{type:\"x\", n: 01}",
                "JSON5: invalid character '1' at 1:16",
                15,
            ),
            (
                "{type:\"x\", s: \"a\nb\"}",
                "JSON5: invalid character '\\n' at 2:0",
                16,
            ),
            (
                "{type:\"x\", \"é\": 1, s: \"é\" x}",
                "JSON5: invalid character 'x' at 1:27",
                28,
            ),
            (
                "{type: \"x\", a-b: 1}",
                "JSON5: invalid character '-' at 1:14",
                13,
            ),
            (
                "{type: \"x\", 1: 1}",
                "JSON5: invalid character '1' at 1:13",
                12,
            ),
            (
                "{type: \"x\", n: 1e}",
                "JSON5: invalid character '}' at 1:18",
                17,
            ),
            (
                "{type: \"x\", n: -}",
                "JSON5: invalid character '}' at 1:17",
                16,
            ),
            ("{type: \"x\"]", "JSON5: invalid character ']' at 1:11", 10),
            ("{,}", "JSON5: invalid character ',' at 1:2", 1),
            (
                "{type: \"x\" scopes: []}",
                "JSON5: invalid character 's' at 1:12",
                11,
            ),
            (
                "{type: \"x\", scopes: [,]}",
                "JSON5: invalid character ',' at 1:22",
                21,
            ),
            (
                "{type: \"x\", s: \"\\x4\"}",
                "JSON5: invalid character '\\\"' at 1:20",
                19,
            ),
            (
                "{type: \"x\", s: \"\\u00\"}",
                "JSON5: invalid character '\\\"' at 1:21",
                20,
            ),
            (
                "{type: \"x\", s: \"\\01\"}",
                "JSON5: invalid character '1' at 1:19",
                18,
            ),
            (
                "{type: \"x\", s: \"\\8\"}",
                "JSON5: invalid character '8' at 1:18",
                17,
            ),
            (
                "{type: \"x\", s: 'unterminated",
                "JSON5: invalid end of input at 1:29",
                28,
            ),
            ("/* unterminated", "JSON5: invalid end of input at 1:16", 15),
            ("{type: \"x\"} /", "JSON5: invalid end of input at 1:14", 13),
            (
                "{\\u0030: 1}",
                "JSON5: invalid identifier character at 1:2",
                1,
            ),
            ("[\u{1}]", "JSON5: invalid character '\\x01' at 1:2", 1),
            ("tru", "JSON5: invalid end of input at 1:4", 3),
        ] {
            let e = error(text);
            assert_eq!(
                (e.message.as_str(), e.offset),
                (message, offset),
                "{text:?}"
            );
        }
    }

    /// Files the npm CLI accepted.
    #[test]
    fn accepts_what_json5_accepts() {
        for text in [
            "{a_b: 1, type: \"x\"}",
            "{$x: 1, type:\"x\"}",
            "{type: \"x\", n: 0x1F}",
            "{type: \"x\", n: +Infinity}",
            "{ type: \"x\", 'scopes': ['a',], }",
            "{type:\"x\"}\n// comment",
            "\u{FEFF}{type:\"x\"}",
            "{type:\"x\", é: 1}",
            "{type: \"x\", n: .5, m: 5., o: -0x1}",
            "{type: \"x\", s: 'a\\\nb'}",
            "{type: \"x\"}/* c */  ",
            "{type: \"x\", n: NaN}",
            "{type: \"x\", tab: \"a\tb\"}",
            "{type: \"x\", s: \"\\0\"}",
            "{type: \"x\", \\u0061: 1}",
            "{type: \"googlecalendar\", scopes: [\"a\"], extra: {x: [1, {y: null}]}}",
        ] {
            assert!(parse(text).is_ok(), "{text:?}: {:?}", parse(text));
        }
    }

    #[test]
    fn values_keep_their_ranges_and_last_duplicate_wins() {
        let text = "// c\n{ type: 'a', type: \"slack\", scopes: [\"x\", 2], o: {} }";
        let root = parse(text).unwrap();
        assert_eq!(
            &text[root.start..root.end],
            "{ type: 'a', type: \"slack\", scopes: [\"x\", 2], o: {} }"
        );
        let t = root.get("type").unwrap();
        assert_eq!(t.value, Value::String("slack".into()));
        assert_eq!(&text[t.start..t.end], "\"slack\"");
        let scopes = root.get("scopes").unwrap();
        assert_eq!(&text[scopes.start..scopes.end], "[\"x\", 2]");
        let Value::Array(items) = &scopes.value else {
            panic!("not an array")
        };
        assert_eq!(&text[items[1].start..items[1].end], "2");
        assert_eq!(root.get("o").map(Node::type_name), Some("object"));
        assert_eq!(root.get("missing"), None);
    }

    #[test]
    fn strings_decode_escapes_like_javascript() {
        let root = parse(
            r#"['\x41\u00e9\uD83D\uDE00\n\'', "a\
b"]"#,
        )
        .unwrap();
        let Value::Array(items) = root.value else {
            panic!("not an array")
        };
        assert_eq!(items[0].value, Value::String("Aé😀\n'".into()));
        assert_eq!(items[1].value, Value::String("ab".into()));
    }

    /// How deeply `node` nests, counted without recursion.
    fn depth(node: &Node) -> usize {
        let mut deepest = 0;
        let mut todo = vec![(node, 0)];
        while let Some((node, level)) = todo.pop() {
            let children: Vec<&Node> = match &node.value {
                Value::Array(items) => items.iter().collect(),
                Value::Object(props) => props.iter().map(|p| &p.value).collect(),
                _ => continue,
            };
            deepest = deepest.max(level + 1);
            todo.extend(children.into_iter().map(|c| (c, level + 1)));
        }
        deepest
    }

    /// Runs `f` on a thread with a small stack: recursion that grows with
    /// the input's depth would overflow it long before 200k levels.
    fn on_small_stack(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn nesting_is_limited_to_max_depth() {
        on_small_stack(|| {
            let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
            assert_eq!(depth(&parse(&ok).unwrap()), MAX_DEPTH);

            // 200k levels, as in issue 10: refused at the bracket one level
            // too deep, and nothing deep is ever built (or dropped).
            let n = 200_000;
            for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
                let text = format!("{}{}", open.repeat(n), close.repeat(n));
                let e = parse(&text).unwrap_err();
                assert_eq!(e.kind, ErrorKind::TooDeep);
                assert_eq!(e.offset, MAX_DEPTH * open.len());
                let column = MAX_DEPTH * open.len() + 1;
                assert_eq!(
                    e.message,
                    format!("arrays and objects nested more than 128 levels deep at 1:{column}")
                );
            }
            let e = parse(&format!("{{type: 'x', scopes: {}}}", "[".repeat(n))).unwrap_err();
            assert_eq!((e.kind, e.offset), (ErrorKind::TooDeep, 20 + MAX_DEPTH - 1));
        });
    }

    /// Random nestings of arrays and objects, with siblings, comments and
    /// line breaks: a text parses exactly when it nests at most
    /// [`MAX_DEPTH`] levels, the error points at the first bracket that
    /// goes deeper, and no parsed tree is deeper than the limit. All on a
    /// small stack, so no step recurses per level.
    #[test]
    fn no_parse_goes_deeper_than_the_limit() {
        on_small_stack(|| {
            let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
            let mut next = move |below: u64| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed % below
            };
            for _ in 0..300 {
                let target = 1 + next(2 * MAX_DEPTH as u64 + 40) as usize;
                let mut text = String::new();
                let mut level = 0;
                let mut deepest = 0;
                let mut first_too_deep = None;
                let mut open = |text: &mut String, level: &mut usize, bracket: char| {
                    if *level == MAX_DEPTH && first_too_deep.is_none() {
                        first_too_deep = Some(text.len());
                    }
                    text.push(bracket);
                    *level += 1;
                    deepest = deepest.max(*level);
                };
                let mut kinds = Vec::new();
                for _ in 0..target {
                    if next(5) == 0 {
                        text.push_str(" /* c */\n");
                    }
                    let array = next(2) == 0;
                    open(&mut text, &mut level, if array { '[' } else { '{' });
                    kinds.push(array);
                    // Siblings before the next level: scalars, or empty
                    // containers one level deeper.
                    let sibling = next(4);
                    if array {
                        match sibling {
                            0 => text.push_str("1, "),
                            1 => {
                                open(&mut text, &mut level, '[');
                                text.push_str("], ");
                                level -= 1;
                            }
                            _ => {}
                        }
                    } else {
                        match sibling {
                            0 => text.push_str("a: 1, "),
                            1 => {
                                text.push_str("b: ");
                                open(&mut text, &mut level, '{');
                                text.push_str("}, ");
                                level -= 1;
                            }
                            _ => {}
                        }
                        text.push_str("k: ");
                    }
                }
                text.push_str("null");
                while let Some(array) = kinds.pop() {
                    text.push_str(match (array, next(3)) {
                        (true, 0) => ", 2]",
                        (true, _) => "]",
                        (false, 0) => ", z: 2}",
                        (false, _) => "}",
                    });
                }
                match parse(&text) {
                    Ok(node) => {
                        assert!(deepest <= MAX_DEPTH, "accepted {deepest} levels");
                        assert_eq!(depth(&node), deepest);
                    }
                    Err(e) if e.kind == ErrorKind::TooDeep => {
                        assert!(deepest > MAX_DEPTH);
                        assert_eq!(Some(e.offset), first_too_deep, "{text}");
                    }
                    Err(e) => panic!("{}: {text}", e.message),
                }
            }
        });
    }

    #[test]
    fn type_names_follow_zod() {
        let names: Vec<_> = match parse("[null, true, 1, NaN, 's', [], {}]").unwrap().value {
            Value::Array(items) => items.iter().map(Node::type_name).collect(),
            _ => unreachable!(),
        };
        assert_eq!(
            names,
            ["null", "boolean", "number", "NaN", "string", "array", "object"]
        );
    }
}
