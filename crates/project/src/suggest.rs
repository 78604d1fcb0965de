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
/// a known type or close to none; the rule is [`connectors_wire::suggest_type`],
/// the same the server uses for its catalog.
pub fn suggest_known_type(t: &str) -> Option<&'static str> {
    connectors_wire::suggest_type(t, KNOWN_TYPES.iter().copied())
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
}
