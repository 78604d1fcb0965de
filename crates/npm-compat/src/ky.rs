//! The retry policy of `ky` 1.14.3 with its default options, which every
//! client of the npm CLI uses: which failures are retried, after how long.
//!
//! Only the decision lives here; sending and waiting are the caller's. The
//! defaults: at most 2 retries; only GET, PUT, HEAD, DELETE, OPTIONS and
//! TRACE; statuses 408, 413, 429, 500, 502, 503 and 504 and network errors,
//! never timeouts; 0.3 s, then 0.6 s; on 413, 429 and 503 a `Retry-After`
//! (seconds, an epoch time in seconds, or an HTTP date) wins, and a 413
//! without one is final.

use std::time::Duration;

/// How many times a failed attempt may be retried.
pub const RETRY_LIMIT: u32 = 2;
/// The methods ky retries (compared case-insensitively).
pub const RETRY_METHODS: [&str; 6] = ["get", "put", "head", "delete", "options", "trace"];
/// The statuses ky retries.
pub const RETRY_STATUSES: [u16; 7] = [408, 413, 429, 500, 502, 503, 504];
/// The statuses whose `Retry-After` ky honours.
pub const RETRY_AFTER_STATUSES: [u16; 3] = [413, 429, 503];
/// The response headers ky reads the delay from; the first one present wins.
pub const RETRY_AFTER_HEADERS: [&str; 5] = [
    "retry-after",
    "ratelimit-reset",
    "x-ratelimit-retry-after",
    "x-ratelimit-reset",
    "x-rate-limit-reset",
];

/// ky waits at most this long (`maxSafeTimeout`, the largest `setTimeout`).
const MAX_DELAY_MS: f64 = 2_147_483_647.0;

/// What one attempt ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure<'a> {
    /// An HTTP error status, and the value of the first of
    /// [`RETRY_AFTER_HEADERS`] the response has.
    Status(u16, Option<&'a str>),
    /// No response (connection refused, reset, DNS...).
    Network,
    /// The attempt timed out.
    Timeout,
}

/// The delay before retry number `retry` (1-based) after `failure` of a
/// `method` request, or `None` when the failure is final. `now_ms` is the
/// time since the epoch, for `Retry-After` times.
///
/// A delay under 1 ms (a date in the past) is zero here; Node waits 1 ms.
/// An unreadable `Retry-After` is ky's longest wait, 2³¹−1 ms (24.8 days):
/// callers cap it.
pub fn retry_delay(
    method: &str,
    retry: u32,
    failure: Failure<'_>,
    now_ms: f64,
) -> Option<Duration> {
    if retry > RETRY_LIMIT {
        return None;
    }
    let method = method.to_ascii_lowercase();
    if !RETRY_METHODS.contains(&method.as_str()) {
        return None;
    }
    let ms = match failure {
        Failure::Timeout => return None,
        Failure::Network => backoff_ms(retry),
        Failure::Status(status, retry_after) => {
            if !RETRY_STATUSES.contains(&status) {
                return None;
            }
            match retry_after.filter(|v| !v.is_empty()) {
                Some(value) if RETRY_AFTER_STATUSES.contains(&status) => {
                    retry_after_ms(value, now_ms)
                }
                _ if status == 413 => return None,
                _ => backoff_ms(retry),
            }
        }
    };
    // `Math.min(ms, maxSafeTimeout)`; `ms` is never NaN here.
    let ms = ms.min(MAX_DELAY_MS);
    Some(if ms >= 1.0 {
        Duration::from_millis(ms as u64)
    } else {
        Duration::ZERO
    })
}

/// ky's default `retry.delay`: `0.3 * 2 ** (n - 1) * 1000`.
fn backoff_ms(retry: u32) -> f64 {
    0.3 * 2f64.powi(retry as i32 - 1) * 1000.0
}

/// `Retry-After` in milliseconds from now: `Number(value) * 1000`, less
/// `now` when that is at or after 2024-01-01 (an epoch time), else
/// `Date.parse(value) - now`. A value neither reads is ky's `maxRetryAfter`
/// (infinity: `after < max ? after : max` is false for NaN).
fn retry_after_ms(value: &str, now_ms: f64) -> f64 {
    /// `Date.parse("2024-01-01")`.
    const JAN_2024_MS: f64 = 1_704_067_200_000.0;
    let mut after = js_string_to_number(value) * 1000.0;
    if after.is_nan() {
        after = http_date_ms(value).map_or(f64::NAN, |t| t - now_ms);
    } else if after >= JAN_2024_MS {
        after -= now_ms;
    }
    if after < f64::INFINITY {
        after
    } else {
        f64::INFINITY
    }
}

/// A date as `Date.parse` reads the HTTP-date family: the three HTTP forms
/// (IMF-fixdate, RFC 850, asctime), and the IMF-fixdate shape as loosely as
/// V8 reads it (any or no weekday, one-digit day or hour, `UTC`), and RFC 3339.
/// Other shapes V8 guesses at are not read (NaN).
fn http_date_ms(value: &str) -> Option<f64> {
    if let Ok(time) = httpdate::parse_http_date(value) {
        let secs = time.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
        return Some(secs as f64 * 1000.0);
    }
    if let Ok(t) =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
    {
        return Some((t.unix_timestamp_nanos() / 1_000_000) as f64);
    }
    let loose = regex::Regex::new(
        r"(?i)^(?:[A-Za-z]+,? +)?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d{1,2}):(\d{2}):(\d{2}) (?:GMT|UTC|UT|Z)$",
    )
    .ok()?;
    let c = loose.captures(value.trim())?;
    let month = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ]
    .iter()
    .position(|m| c[2].eq_ignore_ascii_case(m))?;
    let date = time::Date::from_calendar_date(
        c[3].parse().ok()?,
        time::Month::try_from(month as u8 + 1).ok()?,
        c[1].parse().ok()?,
    )
    .ok()?;
    let t = date
        .with_hms(c[4].parse().ok()?, c[5].parse().ok()?, c[6].parse().ok()?)
        .ok()?
        .assume_utc();
    Some(t.unix_timestamp() as f64 * 1000.0)
}

/// ECMAScript's `Number(string)`: white space trimmed, empty is 0, decimal
/// literals with sign and exponent, `0x`/`0o`/`0b` integers, `Infinity`;
/// anything else is NaN.
pub fn js_string_to_number(s: &str) -> f64 {
    let s = s.trim_matches(is_js_space);
    if s.is_empty() {
        return 0.0;
    }
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        let lower = s.get(..2).map(str::to_ascii_lowercase);
        if lower.as_deref() == Some(prefix) {
            let digits = &s[2..];
            if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
                return f64::NAN;
            }
            return digits.chars().fold(0.0, |n, d| {
                n * f64::from(radix) + f64::from(d.to_digit(radix).unwrap_or(0))
            });
        }
    }
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if unsigned == "Infinity" {
        return if s.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    // Rust also reads `inf` and `nan`; JavaScript's grammar has digits, one
    // dot and an exponent only.
    let decimal = unsigned
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    if !decimal || !unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return f64::NAN;
    }
    s.parse().unwrap_or(f64::NAN)
}

/// ECMAScript's WhiteSpace and LineTerminator, which `Number()` trims.
fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_like_ky() {
        let get = "GET";
        assert_eq!(
            retry_delay(get, 1, Failure::Status(500, None), 0.0),
            Some(Duration::from_millis(300))
        );
        assert_eq!(
            retry_delay(get, 2, Failure::Status(503, None), 0.0),
            Some(Duration::from_millis(600))
        );
        assert_eq!(retry_delay(get, 3, Failure::Status(500, None), 0.0), None);
        assert_eq!(retry_delay(get, 1, Failure::Status(404, None), 0.0), None);
        assert_eq!(retry_delay(get, 1, Failure::Status(401, None), 0.0), None);
        assert_eq!(
            retry_delay(get, 1, Failure::Network, 0.0),
            Some(Duration::from_millis(300))
        );
        assert_eq!(retry_delay(get, 1, Failure::Timeout, 0.0), None);
        assert_eq!(
            retry_delay("POST", 1, Failure::Status(500, None), 0.0),
            None
        );
        assert_eq!(
            retry_delay("PUT", 1, Failure::Status(502, None), 0.0),
            Some(Duration::from_millis(300))
        );
    }

    #[test]
    fn retry_after_on_413_429_503_only() {
        let get = "GET";
        assert_eq!(
            retry_delay(get, 1, Failure::Status(429, Some("2")), 0.0),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_delay(get, 1, Failure::Status(500, Some("2")), 0.0),
            Some(Duration::from_millis(300))
        );
        // 413 is retried only when the server says when.
        assert_eq!(retry_delay(get, 1, Failure::Status(413, None), 0.0), None);
        assert_eq!(
            retry_delay(get, 1, Failure::Status(413, Some("1")), 0.0),
            Some(Duration::from_secs(1))
        );
        // An epoch timestamp and an HTTP date.
        let now = 1_800_000_000_000.0;
        assert_eq!(
            retry_delay(get, 1, Failure::Status(503, Some("1800000003")), now),
            Some(Duration::from_secs(3))
        );
        let date_ms = http_date_ms("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(date_ms, 784_111_777_000.0);
        assert_eq!(
            retry_delay(
                get,
                1,
                Failure::Status(503, Some("Sun, 06 Nov 1994 08:49:40 GMT")),
                date_ms
            ),
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn number_reads_like_javascript() {
        for (text, n) in [
            ("", 0.0),
            (" 2 ", 2.0),
            ("0x10", 16.0),
            ("1e3", 1000.0),
            (".5", 0.5),
            ("5.", 5.0),
        ] {
            assert_eq!(js_string_to_number(text), n, "{text:?}");
        }
        for text in ["inf", "nan", "1_0", "0x", "1e", "-0x1", "abc", "."] {
            assert!(js_string_to_number(text).is_nan(), "{text:?}");
        }
        assert_eq!(js_string_to_number("-Infinity"), f64::NEG_INFINITY);
    }
}
