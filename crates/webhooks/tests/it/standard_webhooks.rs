//! Our signatures against the reference library (npm `standardwebhooks`)
//! in one Node process: a seeded corpus signed by us is verified by it, the
//! same cases signed by it are verified by us and must be our exact
//! strings, and a tampered body or timestamp, or a stale or future
//! timestamp, is refused by both for the same reason.

use std::io::Write;
use std::process::{Command, Stdio};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use connectors_webhooks::secret::{self, SigningKey};
use connectors_webhooks::sign::{self, VerifyError, DEFAULT_TOLERANCE};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const SCRIPT: &str = include_str!("standard_webhooks.mjs");
const CASES: usize = 256;
const TOLERANCE: i64 = 300;

/// One message, signed with one or two keys (a rotation).
struct Case {
    secrets: Vec<String>,
    keys: Vec<SigningKey>,
    id: String,
    timestamp: i64,
    body: Vec<u8>,
}

fn corpus() -> Vec<Case> {
    let mut rng = StdRng::seed_from_u64(0x5745_4248_4f4f_4b53);
    (0..CASES)
        .map(|i| {
            let count = if i % 3 == 0 { 2 } else { 1 };
            let secrets: Vec<String> = (0..count)
                .map(|_| {
                    let len = rng.gen_range(24..=64);
                    let key: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
                    let prefix = if rng.gen_bool(0.8) {
                        secret::PREFIX
                    } else {
                        ""
                    };
                    format!("{prefix}{}", STANDARD.encode(key))
                })
                .collect();
            let keys = secrets.iter().map(|s| secret::parse(s).unwrap()).collect();
            Case {
                secrets,
                keys,
                id: id(&mut rng, i),
                timestamp: match i {
                    0 => 0,
                    1 => 9_999_999_999,
                    _ => rng.gen_range(1_000_000_000..4_000_000_000),
                },
                body: body(&mut rng, i),
            }
        })
        .collect()
}

fn id(rng: &mut StdRng, i: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let len = rng.gen_range(1..=40);
    let tail: String = (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    match i % 8 {
        // The library signs any string; ours too.
        7 => format!("msg_é{tail}✓"),
        0 => tail,
        _ => format!("msg_{tail}"),
    }
}

fn body(rng: &mut StdRng, i: usize) -> Vec<u8> {
    const WORDS: [&str; 10] = [
        "connector.connected.v1",
        "slack",
        "Zoë",
        "日本語",
        "😀",
        "e\u{301}",
        "\\\"quoted\\\"",
        "\u{2028}",
        "\u{10ffff}",
        "",
    ];
    match i % 6 {
        0 => Vec::new(),
        // Bytes that are not UTF-8: the library signs bytes as given.
        1 => (0..rng.gen_range(1..300)).map(|_| rng.gen()).collect(),
        _ => {
            let fields: Vec<String> = (0..rng.gen_range(0..8))
                .map(|n| format!("\"k{n}\":\"{}\"", WORDS[rng.gen_range(0..WORDS.len())]))
                .collect();
            let spacing = if rng.gen_bool(0.3) { "\n  " } else { "" };
            format!("{{{spacing}{}}}", fields.join(&format!(",{spacing}"))).into_bytes()
        }
    }
}

/// Runs the script once; its answers to `verify` and `sign`, in order.
fn reference(verify: &[Value], sign: &[Value]) -> (Vec<String>, Vec<String>) {
    let dir = connectors_testkit::js_dir();
    assert!(
        dir.join("node_modules/standardwebhooks").exists(),
        "the npm package `standardwebhooks` is missing from tests/js/node_modules: run scripts/install-test-deps (scripts/test does it)"
    );
    let mut child = Command::new("node")
        .args(["--input-type=module", "-e", SCRIPT])
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
    let input = serde_json::to_vec(&json!({ "verify": verify, "sign": sign })).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        output.status.success(),
        "standard_webhooks.mjs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    let strings = |key: &str| -> Vec<String> {
        out[key]
            .as_array()
            .expect("an array")
            .iter()
            .map(|v| v.as_str().expect("a string").to_string())
            .collect()
    };
    let (verified, signed) = (strings("verify"), strings("sign"));
    assert_eq!((verified.len(), signed.len()), (verify.len(), sign.len()));
    (verified, signed)
}

/// The library's message for each of our refusals.
fn their_words(ours: &Result<(), VerifyError>) -> &'static str {
    match ours {
        Ok(()) => "ok",
        Err(VerifyError::TooOld) => "Message timestamp too old",
        Err(VerifyError::TooNew) => "Message timestamp too new",
        Err(VerifyError::NoMatchingSignature) => "No matching signature found",
        Err(VerifyError::BadTimestamp) => "Invalid Signature Headers",
        Err(VerifyError::MissingHeaders) => "Missing required headers",
    }
}

/// A delivery as a receiver sees it, and what it checks against.
struct Check {
    case: usize,
    what: &'static str,
    /// Which of the case's secrets the receiver holds.
    secret: usize,
    timestamp: i64,
    now: i64,
    body: Vec<u8>,
    signature: String,
}

impl Check {
    fn ours(&self, cases: &[Case]) -> Result<(), VerifyError> {
        let case = &cases[self.case];
        sign::verify(
            std::slice::from_ref(&case.keys[self.secret]),
            &case.id,
            &self.timestamp.to_string(),
            &self.signature,
            &self.body,
            self.now,
            DEFAULT_TOLERANCE,
        )
    }

    fn json(&self, cases: &[Case]) -> Value {
        let case = &cases[self.case];
        json!({
            "secret": case.secrets[self.secret],
            "id": case.id,
            "timestamp": self.timestamp.to_string(),
            "now": self.now,
            "body": STANDARD.encode(&self.body),
            "signature": self.signature,
        })
    }
}

/// The deliveries to check for one signature header of `case`: as sent,
/// within and beyond the tolerance either way, and tampered with.
fn checks(
    rng: &mut StdRng,
    cases: &[Case],
    i: usize,
    signature: &str,
    from_us: bool,
) -> Vec<Check> {
    let case = &cases[i];
    // The library signs with one key; we sign with all of them.
    let secret = if from_us {
        rng.gen_range(0..case.keys.len())
    } else {
        0
    };
    let base = |what, timestamp, now, body: &[u8]| Check {
        case: i,
        what,
        secret,
        timestamp,
        now,
        body: body.to_vec(),
        signature: signature.to_string(),
    };
    let ts = case.timestamp;
    let mut tampered = case.body.clone();
    match tampered.len() {
        0 => tampered.push(b' '),
        n => tampered[rng.gen_range(0..n)] ^= 1 << rng.gen_range(0..8),
    }
    vec![
        base(
            "as sent",
            ts,
            ts + rng.gen_range(-TOLERANCE..=TOLERANCE),
            &case.body,
        ),
        base("at the tolerance", ts, ts + TOLERANCE, &case.body),
        base(
            "stale",
            ts,
            ts + TOLERANCE + rng.gen_range(1..100_000),
            &case.body,
        ),
        base(
            "from the future",
            ts,
            ts - TOLERANCE - rng.gen_range(1..100_000),
            &case.body,
        ),
        base("body tampered", ts, ts, &tampered),
        base(
            "timestamp tampered",
            ts + rng.gen_range(1..=TOLERANCE),
            ts,
            &case.body,
        ),
    ]
}

fn expected(what: &str) -> Result<(), VerifyError> {
    match what {
        "as sent" | "at the tolerance" => Ok(()),
        "stale" => Err(VerifyError::TooOld),
        "from the future" => Err(VerifyError::TooNew),
        _ => Err(VerifyError::NoMatchingSignature),
    }
}

#[test]
fn the_reference_library_and_ours_agree_both_ways() {
    let cases = corpus();
    let mut rng = StdRng::seed_from_u64(15);
    let ours: Vec<String> = cases
        .iter()
        .map(|c| sign::signature_header(&c.keys, &c.id, c.timestamp, &c.body))
        .collect();
    let to_sign: Vec<Value> = cases
        .iter()
        .map(|c| {
            json!({
                "secret": c.secrets[0],
                "id": c.id,
                "timestamp": c.timestamp,
                "body": STANDARD.encode(&c.body),
            })
        })
        .collect();
    let mut to_check = Vec::new();
    for (i, header) in ours.iter().enumerate() {
        to_check.extend(checks(&mut rng, &cases, i, header, true));
    }
    let (verified, theirs) = reference(
        &to_check.iter().map(|c| c.json(&cases)).collect::<Vec<_>>(),
        &to_sign,
    );

    let mut failures = Vec::new();
    // 1. We sign, the library verifies (and so do we, for the same reason).
    for (check, their_answer) in to_check.iter().zip(&verified) {
        let ours = check.ours(&cases);
        let want = expected(check.what);
        if ours != want || their_words(&want) != their_answer {
            failures.push(format!(
                "case {} ({}), signed by us: expected {want:?}, ours {ours:?}, theirs {their_answer:?}",
                check.case, check.what
            ));
        }
    }
    // 2. The library signs: the very signature we make, and we verify it.
    for (i, their_signature) in theirs.iter().enumerate() {
        let case = &cases[i];
        let mine = sign::signature(&case.keys[0], &case.id, case.timestamp, &case.body);
        if &mine != their_signature {
            failures.push(format!(
                "case {i}: we sign {mine}, the library {their_signature}"
            ));
        }
        for check in checks(&mut rng, &cases, i, their_signature, false) {
            let ours = check.ours(&cases);
            let want = expected(check.what);
            if ours != want {
                failures.push(format!(
                    "case {i} ({}), signed by the library: expected {want:?}, ours {ours:?}",
                    check.what
                ));
            }
        }
    }
    for failure in failures.iter().take(20) {
        eprintln!("{failure}");
    }
    assert!(
        failures.is_empty(),
        "{} disagreements (the first ones above)",
        failures.len()
    );
    assert_eq!(verified.len(), CASES * 6);
    assert!(cases.iter().any(|c| c.body.is_empty()) && cases.iter().any(|c| c.keys.len() == 2));
}
