//! A stand-in for a ClickHouse server's HTTP interface, backed by chDB.
//!
//! No modern ClickHouse server can be installed where these tests run, so the
//! server backend talks to this endpoint instead: an HTTP server on 127.0.0.1
//! that speaks the part of ClickHouse's HTTP interface the `clickhouse` crate
//! uses, and runs every statement on one embedded [`ChdbStore`].
//!
//! What a request means, as the crate sends it (always `POST`, no compression
//! because the workspace builds the crate without its `lz4` and `zstd`
//! features; a compressed body, `decompress=1`, is refused):
//! - a `query` URL parameter of the shape `INSERT INTO <table> FORMAT
//!   ArrowStream` with the data as the body: the body is decoded as an Arrow
//!   IPC stream and each batch is appended to the table;
//! - otherwise the SQL is the `query` parameter followed by the body. A read
//!   (`SELECT`, `WITH`, ...) answers in the format of a trailing `FORMAT`
//!   clause or the `default_format` parameter, of which only `JSONCompact` is
//!   written; any other statement runs on the engine's writer connection and
//!   answers with an empty body;
//! - the `database` parameter becomes the writer connection's current
//!   database (`USE`) for statements and inserts, so `CREATE DATABASE` and a
//!   configured database work as on a server. Reads run on the store's reader
//!   connections, whose current database is always chDB's `default`, and a
//!   read naming any other database is refused as not implemented: serving
//!   it would need the SQL qualified, which this endpoint does not do;
//! - of the settings sent as parameters only `readonly` is applied: a write
//!   under `readonly` is refused with the server's `READONLY` error. The
//!   limits are not applied per request; the reader connections carry the
//!   default [`QueryLimits`] and `readonly=1` themselves.
//!
//! A failure answers HTTP 500 with `X-ClickHouse-Exception-Code` and the
//! engine's `Code: N. DB::Exception: ...` text as the body, as a server does,
//! so the crate reports it as a bad response carrying that text.
//!
//! chDB admits one data directory per process, so the endpoint is started once
//! per test binary ([`url`]) on a thread with its own runtime, and outlives
//! the runtime of each test. It does no authentication, sessions, query
//! parameters, progress headers or summaries.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use flowsage_ingest::store::chdb::ChdbStore;
use flowsage_ingest::store::{QueryLimits, StoreError};
use serde_json::json;

/// chDB's own current database; the only one reads are served from.
pub const READ_DATABASE: &str = "default";

/// The base URL of the endpoint, starting it on first use.
pub fn url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let (started, address) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("clickhouse-http".into())
            .spawn(move || serve(started))
            .expect("start the clickhouse-http thread");
        let address = address.recv().expect("the clickhouse-http thread reports its address");
        format!("http://{}", address.expect("start the chDB-backed ClickHouse endpoint"))
    })
}

/// Opens the engine, binds a port, reports the address and serves forever.
fn serve(started: std::sync::mpsc::Sender<Result<SocketAddr, String>>) {
    let setup = || -> Result<_, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|err| format!("in building the endpoint runtime: {err}"))?;
        // Kept for the life of the process: statics are never dropped, and chDB
        // could not open a second directory anyway.
        let dir = tempfile::tempdir().map_err(|err| format!("in creating a data dir: {err}"))?;
        let data_dir = dir.keep().join("data");
        let engine = ChdbStore::open("chdb", &data_dir, 2, &QueryLimits::default())
            .map_err(|err| format!("in opening chDB in {}: {err}", data_dir.display()))?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(|err| format!("in binding 127.0.0.1:0: {err}"))?;
        let address =
            listener.local_addr().map_err(|err| format!("in reading the bound address: {err}"))?;
        Ok((runtime, engine, listener, address))
    };
    let (runtime, engine, listener, address) = match setup() {
        Ok(ready) => ready,
        Err(reason) => {
            let _ = started.send(Err(reason));
            return;
        }
    };

    let endpoint = Arc::new(Endpoint { engine, writer: tokio::sync::Mutex::new(()) });
    let app = Router::new()
        .route("/", post(handle))
        .layer(DefaultBodyLimit::disable())
        .with_state(endpoint);
    let _ = started.send(Ok(address));
    runtime.block_on(async {
        axum::serve(listener, app).await.expect("serve the chDB-backed ClickHouse endpoint");
    });
}

struct Endpoint {
    engine: ChdbStore,
    /// Held across `USE` and the statement after it: the writer connection's
    /// current database is shared by every request.
    writer: tokio::sync::Mutex<()>,
}

/// What one request asks for.
#[derive(Debug)]
enum Request {
    Insert { table: String, format: String, data: Bytes },
    Read { sql: String, format: String },
    Write { sql: String },
}

/// A ClickHouse exception as the server reports it.
#[derive(Debug)]
struct Exception {
    code: u32,
    /// `Code: N. DB::Exception: ...`, as in a server's error body.
    text: String,
}

impl Exception {
    fn new(code: u32, name: &str, message: &str) -> Self {
        Self { code, text: format!("Code: {code}. DB::Exception: {message}. ({name})") }
    }

    fn not_implemented(message: &str) -> Self {
        Self::new(48, "NOT_IMPLEMENTED", &format!("the chDB test endpoint: {message}"))
    }

    /// The engine's own text where it has one (chDB prefixes it with
    /// `[chdb] `), else the store error wrapped as a standard exception.
    fn from_store(err: StoreError) -> Self {
        let text = match err {
            StoreError::Query { message, .. } => message,
            other => other.to_string(),
        };
        let Some(start) = text.find("Code: ") else {
            return Self::new(1001, "STD_EXCEPTION", &text);
        };
        let text = text[start..].to_string();
        let code = text["Code: ".len()..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|digits| digits.parse().ok())
            .unwrap_or(1001);
        Self { code, text }
    }
}

impl IntoResponse for Exception {
    fn into_response(self) -> Response {
        let mut response =
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{}\n", self.text)).into_response();
        response.headers_mut().insert("X-ClickHouse-Exception-Code", HeaderValue::from(self.code));
        response
    }
}

async fn handle(
    State(endpoint): State<Arc<Endpoint>>,
    Query(params): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let database = param("database").filter(|d| !d.is_empty()).unwrap_or(READ_DATABASE);
    let read_only = param("readonly").is_some_and(|v| v != "0");

    // The crate asks for this when built with its `lz4` or `zstd` feature; the
    // workspace builds it without, and the endpoint reads plain bodies only.
    if param("decompress").is_some_and(|v| v != "0") {
        return Exception::not_implemented("compressed request bodies (decompress=1)")
            .into_response();
    }
    let request = match parse(param("query"), param("default_format"), body) {
        Ok(request) => request,
        Err(exception) => return exception.into_response(),
    };

    let answer = match request {
        Request::Read { sql, format } => endpoint.read(database, &sql, &format).await,
        _ if read_only => {
            Err(Exception::new(164, "READONLY", "Cannot execute query in readonly mode"))
        }
        Request::Write { sql } => endpoint.write(database, &sql).await.map(|()| String::new()),
        Request::Insert { table, format, data } => {
            endpoint.insert(database, &table, &format, data).await.map(|()| String::new())
        }
    };
    match answer {
        Ok(body) => (StatusCode::OK, body).into_response(),
        Err(exception) => exception.into_response(),
    }
}

/// Splits a request into an insert with data, a read or a write.
fn parse(
    query: Option<&str>,
    default_format: Option<&str>,
    body: Bytes,
) -> Result<Request, Exception> {
    if let Some((table, format)) = query.and_then(insert_with_data) {
        return Ok(Request::Insert { table, format, data: body });
    }

    let body = std::str::from_utf8(&body)
        .map_err(|_| Exception::not_implemented("a statement body that is not UTF-8"))?;
    let sql = match query {
        Some(query) if !body.is_empty() => format!("{query}\n{body}"),
        Some(query) => query.to_string(),
        None => body.to_string(),
    };
    if !is_read(&sql) {
        return Ok(Request::Write { sql });
    }
    let (sql, clause) = split_format(&sql);
    let format = clause.or(default_format).unwrap_or("TabSeparated").to_string();
    Ok(Request::Read { sql: sql.to_string(), format })
}

/// `INSERT INTO <table> FORMAT <format>` as table and format; the data
/// follows in the body.
fn insert_with_data(query: &str) -> Option<(String, String)> {
    let words: Vec<&str> = query.split_whitespace().collect();
    match words.as_slice() {
        [insert, into, table, format_kw, format]
            if insert.eq_ignore_ascii_case("INSERT")
                && into.eq_ignore_ascii_case("INTO")
                && format_kw.eq_ignore_ascii_case("FORMAT") =>
        {
            Some((table.replace('`', ""), format.trim_end_matches(';').to_string()))
        }
        _ => None,
    }
}

/// Whether a statement returns rows rather than changing anything.
fn is_read(sql: &str) -> bool {
    let first = sql
        .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    matches!(
        first.as_str(),
        "SELECT" | "WITH" | "SHOW" | "DESCRIBE" | "DESC" | "EXISTS" | "EXPLAIN"
    )
}

/// A trailing `FORMAT <name>` clause removed from `sql`, and its name.
fn split_format(sql: &str) -> (&str, Option<&str>) {
    let trimmed = sql.trim_end().trim_end_matches(';').trim_end();
    let mut words = trimmed.rsplitn(3, char::is_whitespace);
    match (words.next(), words.next(), words.next()) {
        (Some(name), Some(keyword), Some(rest)) if keyword.eq_ignore_ascii_case("FORMAT") => {
            (rest, Some(name))
        }
        _ => (sql, None),
    }
}

impl Endpoint {
    async fn read(&self, database: &str, sql: &str, format: &str) -> Result<String, Exception> {
        if database != READ_DATABASE {
            return Err(Exception::not_implemented(&format!(
                "reads run in database {READ_DATABASE}, not {database}; qualify the tables"
            )));
        }
        if !format.eq_ignore_ascii_case("JSONCompact") {
            return Err(Exception::not_implemented(&format!("output format {format}")));
        }

        let started = Instant::now();
        let out = self.engine.query(sql).await.map_err(Exception::from_store)?;

        let meta: Vec<_> =
            out.columns.iter().map(|c| json!({ "name": c.name, "type": c.r#type })).collect();
        let answer = json!({
            "meta": meta,
            "rows": out.rows.len(),
            "data": out.rows,
            "statistics": { "elapsed": started.elapsed().as_secs_f64() },
        });
        Ok(format!("{answer}\n"))
    }

    async fn write(&self, database: &str, sql: &str) -> Result<(), Exception> {
        let _writer = self.writer.lock().await;
        self.use_database(database).await?;
        self.engine.execute(sql).await.map_err(Exception::from_store)
    }

    async fn insert(
        &self,
        database: &str,
        table: &str,
        format: &str,
        data: Bytes,
    ) -> Result<(), Exception> {
        if format != "ArrowStream" {
            return Err(Exception::not_implemented(&format!("input format {format}")));
        }
        let reader = arrow_ipc::reader::StreamReader::try_new(&data[..], None).map_err(|err| {
            Exception::new(117, "INCORRECT_DATA", &format!("in the ArrowStream header: {err}"))
        })?;

        let _writer = self.writer.lock().await;
        self.use_database(database).await?;
        for batch in reader {
            let batch = batch.map_err(|err| {
                Exception::new(117, "INCORRECT_DATA", &format!("in an ArrowStream batch: {err}"))
            })?;
            self.engine.ingest(table, batch).await.map_err(Exception::from_store)?;
        }
        Ok(())
    }

    /// Makes `database` current on the writer connection; the caller holds
    /// the writer lock.
    async fn use_database(&self, database: &str) -> Result<(), Exception> {
        if database.contains('`') {
            return Err(Exception::not_implemented("a database name with a backquote"));
        }
        self.engine.execute(&format!("USE `{database}`")).await.map_err(Exception::from_store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_split_into_inserts_reads_and_writes() {
        // given
        let insert = Some("INSERT INTO flows_ingest_v1 FORMAT ArrowStream");
        let data = Bytes::from_static(b"\xff\xff");

        // when
        let insert = parse(insert, None, data).unwrap();
        let read = parse(None, Some("JSONCompact"), Bytes::from_static(b"SELECT 1")).unwrap();
        let clause =
            parse(None, None, Bytes::from_static(b"SELECT 1 FORMAT JSONCompact;")).unwrap();
        let write = parse(None, None, Bytes::from_static(b"CREATE DATABASE x")).unwrap();

        // then
        assert!(matches!(insert, Request::Insert { ref table, .. } if table == "flows_ingest_v1"));
        assert!(
            matches!(read, Request::Read { ref sql, ref format } if sql == "SELECT 1" && format == "JSONCompact")
        );
        assert!(
            matches!(clause, Request::Read { ref sql, ref format } if sql == "SELECT 1" && format == "JSONCompact")
        );
        assert!(matches!(write, Request::Write { .. }));
    }
}
