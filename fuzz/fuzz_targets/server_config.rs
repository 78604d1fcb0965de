//! The server's config file (`connectors-server --config`): TOML, unknown
//! keys refused with file:line:column, value checks, then the `[providers]`
//! sections layered onto the built-in catalog as `serve` does.
#![no_main]

use std::collections::BTreeMap;

use connectors_catalog::{Catalog, BUILTIN_CATALOG};
use connectors_server::config::FileConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match FileConfig::parse(text, "fuzz.toml") {
        Ok(config) => {
            let providers: BTreeMap<_, _> = config
                .providers
                .into_iter()
                .map(|(name, provider)| (name, provider.finish()))
                .collect();
            // The built-in catalog alone is checked by the catalog's tests;
            // parsing it is most of an execution's time.
            if providers.is_empty() {
                return;
            }
            if let Ok(catalog) = Catalog::load(BUILTIN_CATALOG, &providers) {
                for integration in catalog.iter() {
                    let _ = integration.oauth();
                }
                let _ = catalog.available();
            }
        }
        Err(e) => {
            let message = e.to_string();
            // Every error names the file and a position in it.
            assert!(message.starts_with("fuzz.toml:"), "{message}");
        }
    }
});
