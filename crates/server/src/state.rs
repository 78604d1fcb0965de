//! Shared state of the handlers.

use connectors_engine::Engine;

/// Cheap to clone: everything inside is shared.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The use cases.
    pub engine: Engine,
}
