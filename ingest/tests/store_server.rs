//! The server backend end to end, through the public `Store` API.
//!
//! Most tests talk to a chDB-backed stand-in for ClickHouse's HTTP interface
//! (`support/clickhouse_http.rs`), started once for this binary because chDB
//! admits one data directory per process. The stand-in checks what the
//! `clickhouse` crate sends (URL parameters, insert bodies, `readonly`) and
//! answers as a server would, but it is not a server: reads are served from
//! chDB's `default` database only, so the round trip runs there, and a
//! configured database is checked through the schema it receives.
//!
//! One test runs the same round trip against a real ClickHouse server when
//! `FLOWSAGE_TEST_CLICKHOUSE_URL` names one (optionally with
//! `FLOWSAGE_TEST_CLICKHOUSE_USER` and `FLOWSAGE_TEST_CLICKHOUSE_PASSWORD`),
//! in a database of its own that it drops afterwards.

#[path = "support/clickhouse_http.rs"]
mod clickhouse_http;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use flowsage_ingest::flow::{FlowProtocol, FlowRecord};
use flowsage_ingest::store::batch::flow_batch;
use flowsage_ingest::store::config::ServerConfig;
use flowsage_ingest::store::server::ServerStore;
use flowsage_ingest::store::{Backend, Store, StoreConfig, StoreError};
use serde_json::{Value, json};

/// Names a real ClickHouse server's HTTP interface for the opt-in test.
const REAL_SERVER_URL_VAR: &str = "FLOWSAGE_TEST_CLICKHOUSE_URL";

fn server_config(url: &str, database: &str) -> StoreConfig {
    StoreConfig {
        backend: Backend::Server,
        server: ServerConfig {
            url: url.to_string(),
            database: database.to_string(),
            ..ServerConfig::default()
        },
        ..StoreConfig::default()
    }
}

/// The stand-in endpoint's store in the database reads are served from.
fn endpoint_config() -> StoreConfig {
    server_config(clickhouse_http::url(), clickhouse_http::READ_DATABASE)
}

/// Opens the store twice, as two starts of flowsage would; the second open
/// must find the schema in place and change nothing it cannot.
async fn open_twice(config: &StoreConfig) -> Store {
    Store::open(config).await.expect("first open creates the schema");
    Store::open(config).await.expect("second open finds the schema in place")
}

/// Inserts an IPv4 and an IPv6 flow from `exporter` and checks they read back
/// with the values and column types the embedded backend gives.
async fn assert_flows_round_trip(store: &Store, exporter: Ipv4Addr) {
    // given
    // Recent times: rows older than the TTL may be dropped by any merge.
    let received = chrono::Utc::now().timestamp() * 1000 - 60_000;
    let shown = |ms: i64| {
        let time = chrono::DateTime::from_timestamp_millis(ms).unwrap();
        time.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
    };
    let mut v4 = FlowRecord::new(IpAddr::V4(exporter), FlowProtocol::Ipfix, 3, received + 123);
    v4.src_addr = Ipv4Addr::new(198, 51, 100, 1).to_ipv6_mapped();
    v4.bytes = 1_500;
    v4.packets = 3;
    let mut v6 = FlowRecord::new(IpAddr::V4(exporter), FlowProtocol::NetflowV9, 3, received + 456);
    v6.src_addr = "2001:db8::1".parse::<Ipv6Addr>().unwrap();
    v6.bytes = u64::MAX / 2;
    v6.packets = 1;

    // when
    store.insert_flows(flow_batch(&[v4, v6]).unwrap()).await.expect("insert the flows");
    let out = store
        .query(&format!(
            "SELECT src_addr, bytes, time_received, flow_protocol FROM flows \
             WHERE exporter_address = toIPv6('::ffff:{exporter}') ORDER BY time_received"
        ))
        .await
        .expect("read the flows back");

    // then
    let types: Vec<&str> = out.columns.iter().map(|c| c.r#type.as_str()).collect();
    assert_eq!(types, ["IPv6", "UInt64", "DateTime64(3, 'UTC')", "LowCardinality(String)"]);
    let names: Vec<&str> = out.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["src_addr", "bytes", "time_received", "flow_protocol"]);
    let expected: Vec<Vec<Value>> = vec![
        vec![
            json!("::ffff:198.51.100.1"),
            json!(1500),
            json!(shown(received + 123)),
            json!("ipfix"),
        ],
        vec![
            json!("2001:db8::1"),
            json!(u64::MAX / 2),
            json!(shown(received + 456)),
            json!("netflow_v9"),
        ],
    ];
    assert_eq!(out.rows, expected);
}

/// Checks that a query the engine refuses comes back as a query error that
/// carries the engine's own text and is not worth retrying.
async fn assert_refusal_carries_engine_text(store: &Store) {
    // when
    let refused = store.query("SELECT no_such_column FROM flows").await;

    // then
    let err = refused.expect_err("an unknown column is refused");
    assert!(!err.retryable(), "{err}");
    match err {
        StoreError::Query { sql, message } => {
            assert_eq!(sql, "SELECT no_such_column FROM flows");
            assert!(message.starts_with("Code: 47. DB::Exception: "), "{message}");
            assert!(message.contains("no_such_column"), "{message}");
            assert!(message.contains("UNKNOWN_IDENTIFIER"), "{message}");
        }
        other => panic!("expected a query error, got {other:?}"),
    }
}

/// Checks that reads go out with `readonly=1`: a write sent as a read is
/// refused by the server and leaves nothing behind.
async fn assert_reads_are_read_only(store: &Store) {
    // given
    let table = "flowsage_readonly_probe";

    // when
    let refused = store.query(&format!("CREATE TABLE {table} (a UInt8) ENGINE = Memory")).await;
    let left = store
        .query(&format!(
            "SELECT count() FROM system.tables \
             WHERE database = currentDatabase() AND name = '{table}'"
        ))
        .await
        .expect("look for the probe table");

    // then
    match refused {
        Err(StoreError::Query { message, .. }) => {
            assert!(message.contains("(READONLY)"), "{message}");
        }
        other => panic!("expected a read-only refusal, got {other:?}"),
    }
    assert_eq!(left.rows, vec![vec![json!(0)]]);
}

#[tokio::test]
async fn inserted_flows_read_back_as_from_the_embedded_backend() {
    // given
    let store = open_twice(&endpoint_config()).await;

    // then
    assert_eq!(store.backend(), Backend::Server);
    assert_flows_round_trip(&store, Ipv4Addr::new(192, 0, 2, 17)).await;
}

#[tokio::test]
async fn a_refused_query_is_a_query_error_with_the_engine_text() {
    // given
    let store = open_twice(&endpoint_config()).await;

    // then
    assert_refusal_carries_engine_text(&store).await;
}

#[tokio::test]
async fn reads_are_sent_read_only() {
    // given
    let store = open_twice(&endpoint_config()).await;

    // then
    assert_reads_are_read_only(&store).await;
}

#[tokio::test]
async fn open_creates_the_configured_database_and_its_schema() {
    // given
    let config = server_config(clickhouse_http::url(), "flowsage");

    // when
    open_twice(&config).await;

    // then
    let observer = Store::open(&endpoint_config()).await.unwrap();
    let tables = observer
        .query("SELECT name FROM system.tables WHERE database = 'flowsage' ORDER BY name")
        .await
        .unwrap();
    let expected: Vec<Vec<Value>> =
        ["flows", "flows_ingest_v1", "flows_ingest_v1_mv"].iter().map(|n| vec![json!(n)]).collect();
    assert_eq!(tables.rows, expected);
}

/// A server that refuses an insert (here: no such table) gives a query
/// error carrying its message; sending the same batch again cannot help.
#[tokio::test]
async fn a_refused_insert_is_a_query_error_not_worth_retrying() {
    // given
    let config = endpoint_config();
    let server = ServerStore::new(&config.server, &config.limits);
    let record = FlowRecord::new(
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 18)),
        FlowProtocol::Ipfix,
        1,
        chrono::Utc::now().timestamp_millis(),
    );
    let batch = flow_batch(&[record]).unwrap();

    // when
    let refused = server.insert_arrow("no_such_table", &batch).await;

    // then
    let err = refused.expect_err("an insert into a missing table is refused");
    assert!(!err.retryable(), "{err}");
    match err {
        StoreError::Query { sql, message } => {
            assert_eq!(sql, "INSERT INTO no_such_table FORMAT ArrowStream");
            assert!(message.contains("no_such_table"), "{message}");
        }
        other => panic!("expected a query error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_server_is_a_retryable_error() {
    // given
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);

    // when
    let opened = Store::open(&server_config(&url, "flowsage")).await;

    // then
    let err = opened.err().expect("nothing listens on a closed port");
    assert!(matches!(err, StoreError::Http(_)), "{err:?}");
    assert!(err.retryable(), "{err}");
}

/// Drops the opt-in test's database when the test ends, passed or failed.
struct DropDatabase {
    server: ServerStore,
    database: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS `{}`", self.database);
        // A runtime of its own on a thread of its own: this may run while the
        // test's runtime unwinds.
        let dropped = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime to drop the test database");
                    runtime.block_on(self.server.execute(&sql))
                })
                .join()
        });
        match dropped {
            Ok(Ok(())) => println!("dropped test database {}", self.database),
            Ok(Err(err)) => eprintln!("could not drop test database {}: {err}", self.database),
            Err(_) => {
                eprintln!("could not drop test database {}: the thread panicked", self.database)
            }
        }
    }
}

#[tokio::test]
async fn a_real_clickhouse_server_round_trip_when_one_is_configured() {
    // given
    let Ok(url) = std::env::var(REAL_SERVER_URL_VAR) else {
        println!("{REAL_SERVER_URL_VAR} is not set: the real-server round trip did not run");
        assert!(std::env::var_os(REAL_SERVER_URL_VAR).is_none());
        return;
    };
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let database = format!("flowsage_test_{}_{}", std::process::id(), stamp.as_millis());
    let mut config = server_config(&url, &database);
    if let Ok(user) = std::env::var("FLOWSAGE_TEST_CLICKHOUSE_USER") {
        config.server.user = user;
    }
    if let Ok(password) = std::env::var("FLOWSAGE_TEST_CLICKHOUSE_PASSWORD") {
        config.server.password = password;
    }
    let _cleanup = DropDatabase {
        server: ServerStore::new(&config.server, &config.limits),
        database: database.clone(),
    };

    // when
    let store = open_twice(&config).await;

    // then
    let tables = store
        .query(&format!(
            "SELECT name FROM system.tables WHERE database = '{database}' ORDER BY name"
        ))
        .await
        .unwrap();
    let expected: Vec<Vec<Value>> =
        ["flows", "flows_ingest_v1", "flows_ingest_v1_mv"].iter().map(|n| vec![json!(n)]).collect();
    assert_eq!(tables.rows, expected);
    assert_flows_round_trip(&store, Ipv4Addr::new(192, 0, 2, 17)).await;
    assert_refusal_carries_engine_text(&store).await;
    assert_reads_are_read_only(&store).await;
    let limits = store
        .query("SELECT getSetting('readonly'), getSetting('max_execution_time')")
        .await
        .unwrap();
    assert_eq!(limits.rows, vec![vec![json!(1), json!(config.limits.max_execution_seconds)]]);
}
