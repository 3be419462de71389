//! The store: one ClickHouse schema behind one interface, two backends.
//!
//! [`Store`] is what the rest of flowsage holds. It is either the embedded
//! engine ([`chdb::ChdbStore`], chDB in-process, the default) or a ClickHouse
//! server over HTTP ([`server::ServerStore`]). Both create the same schema
//! ([`schema`]), take inserts as Arrow record batches ([`batch`]) and answer
//! read-only queries as ClickHouse's own JSON with column names and types.
//!
//! The store trusts its callers with SQL: validating what a model wrote is
//! the SQL guard's job in `tools`. What the store does enforce is the engine's
//! own limits on every read ([`QueryLimits`]) and `readonly`.
//!
//! A server may be down when flowsage starts: [`Store::open_deferred`] then
//! gives a store whose schema is created by the first call that reaches the
//! server, so the collector can start and spool meanwhile.

pub mod batch;
pub mod chdb;
pub mod config;
pub mod schema;
pub mod server;

use std::sync::Arc;
use std::time::Duration;

use arrow_array::RecordBatch;
use serde::Serialize;
use tokio::sync::OnceCell;

pub use config::{Backend, QueryLimits, StoreConfig};

/// Longest [`Store::quiesce`] waits for running merges to be cancelled.
pub const QUIESCE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often [`Store::quiesce`] looks at the running merges.
const QUIESCE_POLL: Duration = Duration::from_millis(50);

/// A column of a query result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnMeta {
    pub name: String,
    /// ClickHouse type name, e.g. `UInt64` or `DateTime64(3, 'UTC')`.
    pub r#type: String,
}

/// The result of a read: columns, rows as ClickHouse JSON, time taken.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryOutput {
    pub columns: Vec<ColumnMeta>,
    pub rows: Vec<Vec<serde_json::Value>>,
    #[serde(skip)]
    pub elapsed: Duration,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the embedded engine could not be loaded from {driver:?}: {reason}; {hint}", hint = chdb::SETUP_HINT)]
    EngineMissing { driver: String, reason: String },
    #[error("in {context}: {message}")]
    Engine { context: String, message: String },
    #[error("clickhouse rejected the query: {message}")]
    Query { sql: String, message: String },
    #[error("in {context}: {err}")]
    Io {
        context: String,
        #[source]
        err: std::io::Error,
    },
    #[error("in {context}: {err}")]
    Arrow {
        context: String,
        #[source]
        err: arrow_schema::ArrowError,
    },
    #[error("in {context}: {err}")]
    Decode {
        context: String,
        #[source]
        err: serde_json::Error,
    },
    #[error("in the clickhouse server request: {0}")]
    Http(#[from] clickhouse::error::Error),
    #[error("the store is busy: too many queries in flight, retry shortly")]
    Busy,
    #[error("the store's worker thread has stopped; restart flowsage")]
    WorkerGone,
    #[error("{0}")]
    Unexpected(String),
}

impl StoreError {
    fn engine(context: &str, err: adbc_core::error::Error) -> Self {
        Self::Engine { context: context.to_string(), message: err.message }
    }

    fn query(sql: &str, err: adbc_core::error::Error) -> Self {
        Self::Query { sql: sql.to_string(), message: err.message }
    }

    /// Whether the same call may succeed later without being changed.
    ///
    /// TODO: every exception a ClickHouse server answers with counts as
    /// final, though a few would pass on a later try (too many parts, memory
    /// limit, a proxy's 502). Telling them apart needs the exception code,
    /// which `server::query_error` does not keep yet; until it does, the
    /// collector drops such batches as refused instead of spooling them.
    pub fn retryable(&self) -> bool {
        matches!(self, Self::Busy | Self::Http(_) | Self::Io { .. })
    }
}

/// The store, on whichever backend the config chose.
///
/// Clones share the backend and what is known about the schema: once any
/// clone has created it, none tries again.
#[derive(Clone)]
pub struct Store {
    engine: Engine,
    /// Set once the schema is known to exist in the store.
    schema: Arc<OnceCell<()>>,
    ttl_days: u32,
}

#[derive(Clone)]
enum Engine {
    Embedded(chdb::ChdbStore),
    Server(Box<server::ServerStore>),
}

impl Store {
    /// Opens the configured backend and creates or updates the schema.
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        let store = Self::connect(config)?;
        store.ready().await?;
        Ok(store)
    }

    /// Opens the configured backend like [`open`](Self::open), except that a
    /// store that cannot be reached yet (a retryable error) is not an error:
    /// the schema is then created by the first call that reaches it, and
    /// until then every call fails with a retryable error. This is how
    /// `flowsage serve` starts while its ClickHouse server is down, spooling
    /// flows meanwhile.
    pub async fn open_deferred(config: &StoreConfig) -> Result<Self, StoreError> {
        let store = Self::connect(config)?;
        match store.ready().await {
            Ok(()) => Ok(store),
            Err(err) if err.retryable() => {
                tracing::warn!(
                    error = %err,
                    "the store cannot be reached; its schema is created once it answers"
                );
                Ok(store)
            }
            Err(err) => Err(err),
        }
    }

    /// The backend of `config`, not contacted yet for a server.
    fn connect(config: &StoreConfig) -> Result<Self, StoreError> {
        let engine = match config.backend {
            Backend::Embedded => Engine::Embedded(chdb::ChdbStore::open(
                &config.driver,
                &config.data_dir,
                config.readers,
                &config.limits,
            )?),
            Backend::Server => {
                Engine::Server(Box::new(server::ServerStore::new(&config.server, &config.limits)))
            }
        };
        Ok(Self { engine, schema: Arc::new(OnceCell::new()), ttl_days: config.flows_ttl_days })
    }

    /// Makes sure the schema exists: created at the first call that succeeds,
    /// a no-op after that.
    async fn ready(&self) -> Result<(), StoreError> {
        self.schema.get_or_try_init(|| self.init_schema(self.ttl_days)).await.map(|_| ())
    }

    /// Creates the schema if missing; safe to run at every start.
    pub async fn init_schema(&self, ttl_days: u32) -> Result<(), StoreError> {
        if let Engine::Server(server) = &self.engine {
            server.create_database().await?;
        }
        for statement in schema::create_statements(ttl_days) {
            if statement == schema::REMOVE_TTL && !self.flows_have_ttl().await? {
                continue;
            }
            self.execute(&statement).await?;
        }
        Ok(())
    }

    /// Whether the `flows` table has a TTL (its engine clause names one).
    async fn flows_have_ttl(&self) -> Result<bool, StoreError> {
        // Straight to the engine: this runs while the schema is being made.
        let output = self
            .engine_query(
                "SELECT engine_full FROM system.tables \
                 WHERE database = currentDatabase() AND name = 'flows'",
            )
            .await?;
        let engine = output.rows.first().and_then(|row| row.first()).and_then(|v| v.as_str());
        Ok(engine.is_some_and(|engine| engine.contains(" TTL ")))
    }

    /// Runs a statement that returns no rows (DDL, maintenance).
    pub async fn execute(&self, sql: &str) -> Result<(), StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.execute(sql).await,
            Engine::Server(s) => s.execute(sql).await,
        }
    }

    /// Appends a batch built by [`batch::flow_batch`] to the `flows` table.
    pub async fn insert_flows(&self, batch: RecordBatch) -> Result<(), StoreError> {
        self.ready().await?;
        let staging = schema::flows_staging_table();
        match &self.engine {
            Engine::Embedded(s) => s.ingest(&staging, batch).await,
            Engine::Server(s) => s.insert_arrow(&staging, &batch).await,
        }
    }

    /// Runs a read-only query under the configured limits.
    pub async fn query(&self, sql: &str) -> Result<QueryOutput, StoreError> {
        self.ready().await?;
        self.engine_query(sql).await
    }

    async fn engine_query(&self, sql: &str) -> Result<QueryOutput, StoreError> {
        match &self.engine {
            Engine::Embedded(s) => s.query(sql).await,
            Engine::Server(s) => s.query(sql).await,
        }
    }

    /// Which backend this is, for status output.
    pub fn backend(&self) -> Backend {
        match &self.engine {
            Engine::Embedded(_) => Backend::Embedded,
            Engine::Server(_) => Backend::Server,
        }
    }

    /// Stops the embedded engine's background merges and waits, up to
    /// [`QUIESCE_TIMEOUT`], until none runs; call it last, before the
    /// process exits.
    ///
    /// chDB's merge threads outlive its connections, and a merge still
    /// running when the process exits crashes inside the engine (SIGSEGV in
    /// its MergeMutate thread; seen when a replay's second insert was being
    /// merged). Stopping merges lasts only as long as the process: the next
    /// one merges as usual. A ClickHouse server merges on its own time, so
    /// there is nothing to do for it.
    pub async fn quiesce(&self) -> Result<(), StoreError> {
        if let Engine::Server(_) = &self.engine {
            return Ok(());
        }
        self.execute("SYSTEM STOP MERGES").await?;
        let deadline = tokio::time::Instant::now() + QUIESCE_TIMEOUT;
        loop {
            let running = self.query("SELECT count() FROM system.merges").await?;
            let count = running.rows.first().and_then(|row| row.first()).and_then(|v| v.as_u64());
            if count == Some(0) || tokio::time::Instant::now() > deadline {
                return Ok(());
            }
            tokio::time::sleep(QUIESCE_POLL).await;
        }
    }
}
