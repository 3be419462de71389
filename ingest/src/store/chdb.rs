//! The embedded backend: chDB, the ClickHouse engine in-process, through ADBC.
//!
//! chDB admits one data directory per process and hangs when a connection is
//! shared between threads, so every connection here lives on its own OS
//! thread and is reached through a job queue: one writer thread for schema
//! changes and inserts, and a pool of reader threads whose connections carry
//! the query limits and then `readonly=1` (which locks settings, so the
//! limits are set first). Async callers wait on a oneshot reply and never
//! block the runtime.
//!
//! Arrow results lose ClickHouse meaning (DateTime as integer, IPv6 as hex),
//! so reads return each row formatted by ClickHouse itself as JSON
//! (`formatRow('JSONCompactEachRow', *)`), the same JSON a ClickHouse server
//! returns over HTTP, and take column types from `DESCRIBE`.
//!
//! This module does not create tables through ADBC (ingest only appends to
//! tables the schema module created) and never cancels through ADBC, which
//! does not stop a running query; `max_execution_time` does.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread;

use adbc_core::options::{AdbcVersion, IngestMode, OptionDatabase, OptionStatement, OptionValue};
use adbc_core::{Connection, Database, Driver, LOAD_FLAG_DEFAULT, Optionable, Statement};
use adbc_driver_manager::{ManagedConnection, ManagedDatabase, ManagedDriver};
use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use tokio::sync::oneshot;

use super::{ColumnMeta, QueryLimits, QueryOutput, StoreError};

/// How to find the engine when the config names none.
pub const DEFAULT_DRIVER: &str = "chdb";

/// The one-line instruction printed when the engine cannot be loaded.
pub const SETUP_HINT: &str = "run scripts/setup-chdb to install the embedded ClickHouse engine \
     (or set store.driver / ADBC_DRIVER_PATH to a libchdb.so or its ADBC manifest)";

enum Job {
    Execute { sql: String, reply: oneshot::Sender<Result<(), StoreError>> },
    Ingest { table: String, batch: RecordBatch, reply: oneshot::Sender<Result<(), StoreError>> },
    Query { sql: String, reply: oneshot::Sender<Result<QueryOutput, StoreError>> },
}

/// The embedded store: a writer thread and a pool of reader threads.
#[derive(Clone)]
pub struct ChdbStore {
    writer: SyncSender<Job>,
    readers: SyncSender<Job>,
    data_dir: PathBuf,
}

impl ChdbStore {
    /// Loads the engine named by `driver` and opens `data_dir`.
    ///
    /// `driver` is a path to `libchdb.so` or to an ADBC manifest, or a
    /// manifest name searched in `ADBC_DRIVER_PATH` and the standard ADBC
    /// directories.
    pub fn open(
        driver: &str,
        data_dir: &Path,
        readers: usize,
        limits: &QueryLimits,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|err| StoreError::Io {
            context: format!("creating data directory {}", data_dir.display()),
            err,
        })?;
        let mut driver = load_driver(driver)?;
        let uri = data_dir.canonicalize().unwrap_or_else(|_| data_dir.to_path_buf());
        let database = driver
            .new_database_with_opts([(
                OptionDatabase::Uri,
                OptionValue::String(uri.display().to_string()),
            )])
            .map_err(|err| StoreError::engine("opening the chDB data directory", err))?;

        let (writer, writer_jobs) = sync_channel::<Job>(64);
        let connection = connect(&database, &[])?;
        spawn_worker("chdb-writer", connection, Arc::new(Mutex::new(writer_jobs)))?;

        let (readers_tx, reader_jobs) = sync_channel::<Job>(256);
        let reader_jobs = Arc::new(Mutex::new(reader_jobs));
        let settings = reader_settings(limits);
        for i in 0..readers.max(1) {
            let connection = connect(&database, &settings)?;
            spawn_worker(&format!("chdb-reader-{i}"), connection, reader_jobs.clone())?;
        }
        Ok(Self { writer, readers: readers_tx, data_dir: data_dir.to_path_buf() })
    }

    /// The data directory this store holds.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Runs a statement on the writer connection.
    pub async fn execute(&self, sql: &str) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        submit(&self.writer, Job::Execute { sql: sql.to_string(), reply })?;
        answer.await.map_err(|_| StoreError::WorkerGone)?
    }

    /// Appends `batch` to `table`, whose columns match the batch by position.
    pub async fn ingest(&self, table: &str, batch: RecordBatch) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        submit(&self.writer, Job::Ingest { table: table.to_string(), batch, reply })?;
        answer.await.map_err(|_| StoreError::WorkerGone)?
    }

    /// Runs a read-only query on a reader connection.
    pub async fn query(&self, sql: &str) -> Result<QueryOutput, StoreError> {
        let (reply, answer) = oneshot::channel();
        submit(&self.readers, Job::Query { sql: sql.to_string(), reply })?;
        answer.await.map_err(|_| StoreError::WorkerGone)?
    }
}

fn submit(queue: &SyncSender<Job>, job: Job) -> Result<(), StoreError> {
    queue.try_send(job).map_err(|err| match err {
        std::sync::mpsc::TrySendError::Full(_) => StoreError::Busy,
        std::sync::mpsc::TrySendError::Disconnected(_) => StoreError::WorkerGone,
    })
}

fn load_driver(driver: &str) -> Result<ManagedDriver, StoreError> {
    let name = if driver.is_empty() { DEFAULT_DRIVER } else { driver };
    let loaded = if name.ends_with(".so") {
        ManagedDriver::load_dynamic_from_filename(name, None, AdbcVersion::V110)
    } else {
        ManagedDriver::load_from_name(name, None, AdbcVersion::V110, LOAD_FLAG_DEFAULT, None)
    };
    loaded
        .map_err(|err| StoreError::EngineMissing { driver: name.to_string(), reason: err.message })
}

fn connect(
    database: &ManagedDatabase,
    settings: &[String],
) -> Result<ManagedConnection, StoreError> {
    let mut connection = database
        .new_connection()
        .map_err(|err| StoreError::engine("opening a chDB connection", err))?;
    for setting in settings {
        run_statement(&mut connection, setting)?;
    }
    Ok(connection)
}

/// Settings for reader connections: limits first, then `readonly=1`, which
/// forbids changing them afterwards.
fn reader_settings(limits: &QueryLimits) -> Vec<String> {
    let mut settings: Vec<String> = limits
        .engine_settings()
        .into_iter()
        .map(|(name, value)| format!("SET {name} = {value}"))
        .collect();
    settings.push("SET readonly = 1".to_string());
    settings
}

fn spawn_worker(
    name: &str,
    mut connection: ManagedConnection,
    jobs: Arc<Mutex<Receiver<Job>>>,
) -> Result<(), StoreError> {
    thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            loop {
                let job = {
                    let Ok(queue) = jobs.lock() else { return };
                    match queue.recv() {
                        Ok(job) => job,
                        Err(_) => return,
                    }
                };
                match job {
                    Job::Execute { sql, reply } => {
                        let _ = reply.send(run_statement(&mut connection, &sql));
                    }
                    Job::Ingest { table, batch, reply } => {
                        let _ = reply.send(ingest(&mut connection, &table, batch));
                    }
                    Job::Query { sql, reply } => {
                        let _ = reply.send(query_json(&mut connection, &sql));
                    }
                }
            }
        })
        .map(|_| ())
        .map_err(|err| StoreError::Io { context: "starting a chDB worker thread".into(), err })
}

fn run_statement(connection: &mut ManagedConnection, sql: &str) -> Result<(), StoreError> {
    let mut statement =
        connection.new_statement().map_err(|err| StoreError::engine("preparing", err))?;
    statement.set_sql_query(sql).map_err(|err| StoreError::query(sql, err))?;
    statement.execute_update().map_err(|err| StoreError::query(sql, err))?;
    Ok(())
}

fn ingest(
    connection: &mut ManagedConnection,
    table: &str,
    batch: RecordBatch,
) -> Result<(), StoreError> {
    let context = format!("inserting {} rows into {table}", batch.num_rows());
    let mut statement =
        connection.new_statement().map_err(|err| StoreError::engine(&context, err))?;
    statement
        .set_option(OptionStatement::TargetTable, OptionValue::String(table.to_string()))
        .map_err(|err| StoreError::engine(&context, err))?;
    statement
        .set_option(OptionStatement::IngestMode, IngestMode::Append.into())
        .map_err(|err| StoreError::engine(&context, err))?;
    statement.bind(batch).map_err(|err| StoreError::engine(&context, err))?;
    statement.execute_update().map_err(|err| StoreError::engine(&context, err))?;
    Ok(())
}

/// Runs `sql` and returns ClickHouse's own JSON for each row.
fn query_json(connection: &mut ManagedConnection, sql: &str) -> Result<QueryOutput, StoreError> {
    let started = std::time::Instant::now();

    let columns = read_strings(connection, &format!("DESCRIBE TABLE ({sql})"), sql, 2)?;
    let columns: Vec<ColumnMeta> = columns
        .into_iter()
        .map(|pair| {
            let mut fields = pair.into_iter();
            let name = fields.next().unwrap_or_default();
            ColumnMeta { name, r#type: fields.next().unwrap_or_default() }
        })
        .collect();
    let rows_sql = format!("SELECT formatRowNoNewline('JSONCompactEachRow', *) FROM ({sql}\n)");
    let lines = read_strings(connection, &rows_sql, sql, 1)?;

    let mut rows = Vec::with_capacity(lines.len());
    for mut line in lines {
        let text = line.pop().unwrap_or_default();
        let row: Vec<serde_json::Value> = serde_json::from_str(&text)
            .map_err(|err| StoreError::Decode { context: "a chDB JSON row".into(), err })?;
        rows.push(row);
    }
    Ok(QueryOutput { columns, rows, elapsed: started.elapsed() })
}

/// Runs `sql` and returns the first `width` columns of every row as text.
fn read_strings(
    connection: &mut ManagedConnection,
    sql: &str,
    shown_sql: &str,
    width: usize,
) -> Result<Vec<Vec<String>>, StoreError> {
    let mut statement =
        connection.new_statement().map_err(|err| StoreError::engine("preparing", err))?;
    statement.set_sql_query(sql).map_err(|err| StoreError::query(shown_sql, err))?;
    let reader = statement.execute().map_err(|err| StoreError::query(shown_sql, err))?;

    let mut rows = Vec::new();
    for batch in reader {
        let batch =
            batch.map_err(|err| StoreError::Arrow { context: "reading a result".into(), err })?;
        let columns: Vec<Vec<String>> =
            (0..width).map(|i| text_values(batch.column(i).as_ref())).collect::<Result<_, _>>()?;
        for row in 0..batch.num_rows() {
            rows.push(columns.iter().map(|column| column[row].clone()).collect());
        }
    }
    Ok(rows)
}

/// The values of a text column; chDB returns ClickHouse `String` as Utf8 or
/// Binary depending on its settings, and both are accepted.
fn text_values(array: &dyn Array) -> Result<Vec<String>, StoreError> {
    let lossy = |bytes: Option<&[u8]>| String::from_utf8_lossy(bytes.unwrap_or(b"")).into_owned();
    let values = match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().map(|v| v.unwrap_or("").into()).collect(),
        DataType::LargeUtf8 => {
            array.as_string::<i64>().iter().map(|v| v.unwrap_or("").into()).collect()
        }
        DataType::Binary => array.as_binary::<i32>().iter().map(lossy).collect(),
        DataType::LargeBinary => array.as_binary::<i64>().iter().map(lossy).collect(),
        other => {
            return Err(StoreError::Unexpected(format!(
                "chDB returned {other} where text was expected"
            )));
        }
    };
    Ok(values)
}
