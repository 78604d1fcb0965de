//! A connector file (`base44/connectors/*.jsonc`), as `connectors push` reads
//! it: JSON5 parse, schema checks, diagnostics with file:line:column.
//!
//! Beyond "no panic": a diagnostic renders and points inside the file, and a
//! valid file written back the way `connectors pull` writes it reads back the
//! same.
#![no_main]

use std::path::Path;

use connectors_project::{connector_file_content, parse_connector_file, Diagnostic};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Files are read as the npm CLI reads them: UTF-8, invalid bytes replaced.
    let text = String::from_utf8_lossy(data);
    let path = Path::new("/project/base44/connectors/fuzz.jsonc");
    match parse_connector_file(path, &text) {
        Ok(file) => {
            let written = connector_file_content(&file.integration_type, &file.scopes);
            let again = parse_connector_file(path, &written)
                .unwrap_or_else(|d| panic!("pull's own file does not read back: {d}\n{written}"));
            assert_eq!(again.integration_type, file.integration_type);
            assert_eq!(again.scopes, file.scopes);
        }
        Err(d) => check_diagnostic(&d, &text),
    }
});

fn check_diagnostic(d: &Diagnostic, text: &str) {
    let rendered = d.to_string();
    assert!(!rendered.is_empty());
    if let Some((line, column)) = d.position {
        let lines = text.split('\n').count();
        assert!(line >= 1 && line <= lines, "line {line} of {lines}");
        assert!(column >= 1, "column {column}");
    }
}
