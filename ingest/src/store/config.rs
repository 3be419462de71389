//! The `[store]` section of the configuration.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Default data directory of the embedded engine, relative to the working
/// directory.
pub const DEFAULT_DATA_DIR: &str = "var/data";
/// Default retention of raw flows.
pub const DEFAULT_FLOWS_TTL_DAYS: u32 = 30;
/// Default number of reader connections.
pub const DEFAULT_READERS: usize = 2;

/// Which store backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// chDB in-process, data in `data_dir`.
    #[default]
    Embedded,
    /// A ClickHouse server over HTTP, `[store.server]`.
    Server,
}

/// Where flows are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `embedded` (chDB in-process, the default) or `server`.
    pub backend: Backend,
    /// Data directory of the embedded engine; one process at a time may open it.
    pub data_dir: PathBuf,
    /// ADBC driver of the embedded engine: a manifest name (`chdb`, as written
    /// by scripts/setup-chdb), or a path to `libchdb.so` or a manifest.
    pub driver: String,
    /// Days raw flows are kept; 0 keeps them forever.
    pub flows_ttl_days: u32,
    /// Reader connections of the embedded engine (queries run in parallel).
    pub readers: usize,
    /// Limits the engine enforces on every read.
    pub limits: QueryLimits,
    /// The ClickHouse server, when `backend = "server"`.
    pub server: ServerConfig,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            backend: Backend::Embedded,
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            driver: super::chdb::DEFAULT_DRIVER.to_string(),
            flows_ttl_days: DEFAULT_FLOWS_TTL_DAYS,
            readers: DEFAULT_READERS,
            limits: QueryLimits::default(),
            server: ServerConfig::default(),
        }
    }
}

/// A ClickHouse server reached over its HTTP interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Base URL of the HTTP interface.
    pub url: String,
    /// Database holding flowsage's tables; created if missing.
    pub database: String,
    pub user: String,
    /// Secret: prefer the FLOWSAGE_STORE_PASSWORD environment variable.
    pub password: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:8123".to_string(),
            database: "flowsage".to_string(),
            user: "default".to_string(),
            password: String::new(),
        }
    }
}

/// Limits the engine enforces on each read, whatever the SQL says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryLimits {
    /// Seconds a query may run (`max_execution_time`).
    pub max_execution_seconds: u64,
    /// Bytes of memory a query may use (`max_memory_usage`).
    pub max_memory_bytes: u64,
    /// Rows a query may read from tables (`max_rows_to_read`).
    pub max_rows_to_read: u64,
    /// Rows a result may hold before the engine stops it (`max_result_rows`);
    /// tools cap their own results well below this.
    pub max_result_rows: u64,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_execution_seconds: 30,
            max_memory_bytes: 4 << 30,
            max_rows_to_read: 2_000_000_000,
            max_result_rows: 100_000,
        }
    }
}

impl QueryLimits {
    /// The limits as ClickHouse settings, in the order they must be applied.
    pub fn engine_settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("max_execution_time", self.max_execution_seconds.to_string()),
            ("max_memory_usage", self.max_memory_bytes.to_string()),
            ("max_rows_to_read", self.max_rows_to_read.to_string()),
            ("max_result_rows", self.max_result_rows.to_string()),
            ("output_format_json_quote_64bit_integers", "0".to_string()),
        ]
    }
}
