//! Shared state of the handlers.

use std::sync::Arc;

use connectors_engine::Engine;

use crate::metrics::Metrics;

/// Cheap to clone: everything inside is shared.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The use cases.
    pub engine: Engine,
    /// This server's `/metrics` registry.
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// The state of one server; `metrics_bearer` guards `/metrics` when set.
    pub fn new(engine: Engine, metrics_bearer: Option<connectors_vault::Secret>) -> Self {
        Self {
            engine,
            metrics: Arc::new(Metrics::new(metrics_bearer)),
        }
    }
}
