//! "Did you mean" for connector types that look like a misspelled known type.

/// The integration types the npm CLI 0.1.18 knows by name
/// (`KnownIntegrationTypes` in its connector schema), in its order.
pub const KNOWN_TYPES: &[&str] = &[
    "googlecalendar",
    "googledrive",
    "gmail",
    "googlesheets",
    "googledocs",
    "googleslides",
    "googlebigquery",
    "slack",
    "notion",
    "salesforce",
    "hubspot",
    "linkedin",
    "tiktok",
    "stripe",
];

/// The known type that `t` is probably a misspelling of, or `None` when `t` is
/// a known type or close to none.
///
/// Case, `_`, `-` and spaces are ignored first (`Google_Calendar` →
/// `googlecalendar`). Then a known type of 8 or more letters is suggested
/// within 2 edits (insertions, deletions, substitutions or swaps of adjacent
/// letters); a shorter one only for one insertion, deletion or swap, since a
/// single substitution turns real names into known ones (`email`, `motion`).
pub fn suggest_known_type(t: &str) -> Option<&'static str> {
    if t.is_empty() || KNOWN_TYPES.contains(&t) {
        return None;
    }
    let wanted: Vec<char> = t
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    let mut best: Option<(usize, &'static str)> = None;
    for &known in KNOWN_TYPES {
        let known_chars: Vec<char> = known.chars().collect();
        let distance = edit_distance(&wanted, &known_chars);
        let close = match distance {
            0 => true,
            1 if known.len() < 8 => {
                wanted.len() != known_chars.len() || is_swap(&wanted, &known_chars)
            }
            d => known.len() >= 8 && d <= 2,
        };
        if close && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, known));
        }
    }
    best.map(|(_, known)| known)
}

/// Optimal string alignment distance (Levenshtein plus adjacent swaps).
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    rows[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// Whether `a` is `b` with two adjacent letters swapped.
fn is_swap(a: &[char], b: &[char]) -> bool {
    let diffs: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
    diffs.len() == 2
        && diffs[1] == diffs[0] + 1
        && a[diffs[0]] == b[diffs[1]]
        && a[diffs[1]] == b[diffs[0]]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_known_types() {
        for (typo, known) in [
            ("googlecalender", "googlecalendar"),
            ("google_calendar", "googlecalendar"),
            ("Google-Drive", "googledrive"),
            ("googlesheet", "googlesheets"),
            ("gogle_docs", "googledocs"),
            ("slak", "slack"),
            ("slakc", "slack"),
            ("Slack", "slack"),
            ("SLACK", "slack"),
            ("gmial", "gmail"),
            ("notoin", "notion"),
            ("hubspt", "hubspot"),
            ("linkdin", "linkedin"),
            ("salesfroce", "salesforce"),
            ("tiktk", "tiktok"),
            ("stripee", "stripe"),
            ("googlebigqeury", "googlebigquery"),
        ] {
            assert_eq!(suggest_known_type(typo), Some(known), "{typo}");
        }
    }

    #[test]
    fn leaves_known_and_unrelated_types_alone() {
        for t in KNOWN_TYPES {
            assert_eq!(suggest_known_type(t), None, "{t}");
        }
        for t in [
            "",
            "github",
            "jira",
            "email",
            "motion",
            "strapi",
            "linear",
            "custom_crm",
            "slackbot",
            "zoom",
            "x",
        ] {
            assert_eq!(suggest_known_type(t), None, "{t}");
        }
    }

    #[test]
    fn edit_distance_counts_swaps_once() {
        let d = |a: &str, b: &str| {
            edit_distance(
                &a.chars().collect::<Vec<_>>(),
                &b.chars().collect::<Vec<_>>(),
            )
        };
        assert_eq!(d("slakc", "slack"), 1);
        assert_eq!(d("", "abc"), 3);
        assert_eq!(d("kitten", "sitting"), 3);
    }
}
