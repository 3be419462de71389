//! The server backend: a ClickHouse server over its HTTP interface.
//!
//! Inserts are Arrow record batches sent as one `INSERT ... FORMAT
//! ArrowStream` body (columnar; row formats are many times slower on wide
//! rows). Reads ask for `JSONCompact`, which carries column names and types
//! with ClickHouse's own JSON values, under the same limits as the embedded
//! engine, applied before `readonly=1`.

use std::time::Instant;

use arrow_array::RecordBatch;
use arrow_ipc::writer::StreamWriter;
use clickhouse::Client;
use serde::Deserialize;

use super::config::{QueryLimits, ServerConfig};
use super::{ColumnMeta, QueryOutput, StoreError};

/// A ClickHouse server reached over HTTP.
#[derive(Clone)]
pub struct ServerStore {
    /// For DDL and inserts.
    admin: Client,
    /// For reads: limits, then readonly.
    reader: Client,
    /// Same server without a database, to create the database.
    bootstrap: Client,
    database: String,
}

#[derive(Deserialize)]
struct JsonCompact {
    meta: Vec<JsonMeta>,
    data: Vec<Vec<serde_json::Value>>,
}

#[derive(Deserialize)]
struct JsonMeta {
    name: String,
    r#type: String,
}

impl ServerStore {
    /// A store for `config`; nothing is contacted until the first call.
    pub fn new(config: &ServerConfig, limits: &QueryLimits) -> Self {
        let bootstrap = Client::default()
            .with_url(&config.url)
            .with_user(&config.user)
            .with_password(&config.password);
        let admin = bootstrap.clone().with_database(&config.database);
        let mut reader = admin.clone();
        for (name, value) in limits.engine_settings() {
            reader = reader.with_setting(name, value);
        }
        let reader = reader.with_setting("readonly", "1");
        Self { admin, reader, bootstrap, database: config.database.clone() }
    }

    /// Creates the configured database if it does not exist.
    pub async fn create_database(&self) -> Result<(), StoreError> {
        let sql = format!("CREATE DATABASE IF NOT EXISTS `{}`", self.database.replace('`', ""));
        self.bootstrap.query_raw(&sql).execute().await?;
        Ok(())
    }

    /// Runs a statement that returns no rows.
    pub async fn execute(&self, sql: &str) -> Result<(), StoreError> {
        self.admin.query_raw(sql).execute().await.map_err(|err| query_error(sql, err))
    }

    /// Sends `batch` to `table` as one ArrowStream body.
    pub async fn insert_arrow(&self, table: &str, batch: &RecordBatch) -> Result<(), StoreError> {
        let context = || format!("encoding {} rows for {table}", batch.num_rows());
        let mut body = Vec::with_capacity(batch.get_array_memory_size() + 1024);
        let mut writer = StreamWriter::try_new(&mut body, &batch.schema())
            .map_err(|err| StoreError::Arrow { context: context(), err })?;
        writer.write(batch).map_err(|err| StoreError::Arrow { context: context(), err })?;
        writer.finish().map_err(|err| StoreError::Arrow { context: context(), err })?;
        drop(writer);

        let sql = format!("INSERT INTO {table} FORMAT ArrowStream");
        let mut insert = self.admin.insert_formatted_with(sql.clone());
        insert.send(body.into()).await.map_err(|err| query_error(&sql, err))?;
        insert.end().await.map_err(|err| query_error(&sql, err))
    }

    /// Runs a read-only query and returns its rows as ClickHouse JSON.
    pub async fn query(&self, sql: &str) -> Result<QueryOutput, StoreError> {
        let started = Instant::now();

        let mut cursor = self
            .reader
            .query_raw(sql)
            .fetch_bytes("JSONCompact")
            .map_err(|err| query_error(sql, err))?;
        let body = cursor.collect().await.map_err(|err| query_error(sql, err))?;
        let parsed: JsonCompact = serde_json::from_slice(&body)
            .map_err(|err| StoreError::Decode { context: "a JSONCompact response".into(), err })?;

        Ok(QueryOutput {
            columns: parsed
                .meta
                .into_iter()
                .map(|m| ColumnMeta { name: m.name, r#type: m.r#type })
                .collect(),
            rows: parsed.data,
            elapsed: started.elapsed(),
        })
    }
}

/// A server's refusal of a statement is a query error; anything else is HTTP.
fn query_error(sql: &str, err: clickhouse::error::Error) -> StoreError {
    match err {
        clickhouse::error::Error::BadResponse(message) => {
            StoreError::Query { sql: sql.to_string(), message }
        }
        other => StoreError::Http(other),
    }
}
