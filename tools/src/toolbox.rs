//! What every tool runs against: the store, the collector's statistics and
//! the limits from configuration.

use std::sync::Arc;

use flowsage_ingest::collector::stats::CollectorStats;
use flowsage_ingest::store::{Store, schema};
use serde::{Deserialize, Serialize};

use crate::sql_guard::SqlGuard;

/// Default cap on the rows a tool returns.
pub const DEFAULT_MAX_ROWS: u64 = 500;

/// The `[tools]` section of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToolsConfig {
    /// Most rows any tool returns; larger results are truncated and say so.
    pub max_rows: u64,
}

impl Default for ToolsConfig {
    fn default() -> Self {
        Self { max_rows: DEFAULT_MAX_ROWS }
    }
}

/// Shared state of the tools.
#[derive(Clone)]
pub struct Toolbox {
    pub(crate) store: Store,
    pub(crate) collector: Option<Arc<CollectorStats>>,
    pub(crate) guard: Arc<SqlGuard>,
    pub(crate) config: ToolsConfig,
}

impl Toolbox {
    /// Tools over `store`; `collector` is `None` where no collector runs (a
    /// stdio server reading the data alone).
    pub fn new(store: Store, collector: Option<Arc<CollectorStats>>, config: ToolsConfig) -> Self {
        let guard = SqlGuard::new(schema::PUBLIC_TABLES.iter().map(|(name, _)| *name));
        Self { store, collector, guard: Arc::new(guard), config }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}
