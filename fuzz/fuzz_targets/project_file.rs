//! The project's own files: `base44/.app.jsonc` (the app id) and
//! `base44/config.jsonc` (`connectorsDir`), as every CLI command reads them.
//! The same text goes through both parsers.
#![no_main]

use std::path::Path;

use connectors_project::{parse_app_config, parse_project_config};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse_app_config(Path::new("/project/base44/.app.jsonc"), &text) {
        Ok(id) => assert!(!id.is_empty(), "an empty app id was accepted"),
        Err(d) => {
            let _ = d.to_string();
        }
    }
    let config = Path::new("/project/base44/config.jsonc");
    match parse_project_config(config, &text) {
        // `path.join` semantics: the directory is under the config's
        // directory, or what `..` makes of it; never a panic.
        Ok(dir) => {
            let _ = dir.display().to_string();
        }
        Err(d) => {
            let _ = d.to_string();
        }
    }
});
