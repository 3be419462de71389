//! The spool with the real store: a collector whose ClickHouse server is down
//! spools what it receives, and a restart with the server up writes it all.
//!
//! The first run's server backend points at a closed port; the second run's at
//! the chDB-backed ClickHouse HTTP endpoint of `support/clickhouse_http.rs`
//! (started once for this binary: chDB admits one data directory per
//! process). IPFIX datagrams built here go over UDP to the collector, so the
//! counts `/metrics` shows are checked against a known input: every datagram
//! carries its template and [`RECORDS_PER_DATAGRAM`] flows.

#[path = "support/clickhouse_http.rs"]
mod clickhouse_http;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use flowsage_ingest::collector::spool::Spool;
use flowsage_ingest::collector::stats::CollectorStats;
use flowsage_ingest::collector::{Collector, CollectorConfig, metrics};
use flowsage_ingest::store::config::ServerConfig;
use flowsage_ingest::store::{Backend, Store, StoreConfig};
use serde_json::json;

const DATAGRAMS: u64 = 10;
const RECORDS_PER_DATAGRAM: u64 = 5;
const ROWS: u64 = DATAGRAMS * RECORDS_PER_DATAGRAM;
/// Rows per batch: two datagrams' worth, so the run cuts exactly
/// `DATAGRAMS / 2` batches.
const BATCH_ROWS: u64 = 2 * RECORDS_PER_DATAGRAM;
const BATCHES: u64 = DATAGRAMS / 2;
/// Long enough that no batch is cut by age during a test.
const BATCH_INTERVAL_MS: u64 = 600_000;
const WAIT: Duration = Duration::from_secs(60);

// IPFIX information elements (IANA registry) of the built template.
const OCTET_DELTA_COUNT: u16 = 1;
const PACKET_DELTA_COUNT: u16 = 2;
const PROTOCOL_IDENTIFIER: u16 = 4;
const SOURCE_IPV4_ADDRESS: u16 = 8;
const DESTINATION_IPV4_ADDRESS: u16 = 12;
const FLOW_START_MILLISECONDS: u16 = 152;
const FLOW_END_MILLISECONDS: u16 = 153;
const TEMPLATE: [(u16, u16); 7] = [
    (SOURCE_IPV4_ADDRESS, 4),
    (DESTINATION_IPV4_ADDRESS, 4),
    (OCTET_DELTA_COUNT, 8),
    (PACKET_DELTA_COUNT, 8),
    (PROTOCOL_IDENTIFIER, 1),
    (FLOW_START_MILLISECONDS, 8),
    (FLOW_END_MILLISECONDS, 8),
];
const TEMPLATE_ID: u16 = 256;

/// Bytes and packets of flow `n` (0-based over the whole test).
fn counters(n: u64) -> (u64, u64) {
    (1_000 + n, 1 + n % 3)
}

/// IPFIX message `index` (RFC 7011 section 3): a template set and a data set
/// of flows `index * RECORDS_PER_DATAGRAM ..`.
fn ipfix_datagram(index: u64, now_ms: u64) -> Vec<u8> {
    let mut template = [TEMPLATE_ID.to_be_bytes(), (TEMPLATE.len() as u16).to_be_bytes()].concat();
    for (id, length) in TEMPLATE {
        template.extend(id.to_be_bytes());
        template.extend(length.to_be_bytes());
    }
    let mut data = Vec::new();
    for n in index * RECORDS_PER_DATAGRAM..(index + 1) * RECORDS_PER_DATAGRAM {
        let (bytes, packets) = counters(n);
        data.extend(Ipv4Addr::new(198, 51, 100, 1).octets());
        data.extend(Ipv4Addr::new(203, 0, 113, (n % 250) as u8).octets());
        data.extend(bytes.to_be_bytes());
        data.extend(packets.to_be_bytes());
        data.push(17);
        data.extend((now_ms - 2_000).to_be_bytes());
        data.extend((now_ms - 1_000).to_be_bytes());
    }
    let set = |id: u16, body: &[u8]| {
        [&id.to_be_bytes()[..], &((body.len() + 4) as u16).to_be_bytes(), body].concat()
    };
    let sets = [set(2, &template), set(TEMPLATE_ID, &data)].concat();
    let header = [
        &10u16.to_be_bytes()[..],
        &((16 + sets.len()) as u16).to_be_bytes(),
        &((now_ms / 1000) as u32).to_be_bytes(),
        &(index as u32).to_be_bytes(),
        &0u32.to_be_bytes(),
    ]
    .concat();
    [header, sets].concat()
}

fn store_config(url: &str) -> StoreConfig {
    StoreConfig {
        backend: Backend::Server,
        server: ServerConfig {
            url: url.to_string(),
            database: clickhouse_http::READ_DATABASE.to_string(),
            ..ServerConfig::default()
        },
        ..StoreConfig::default()
    }
}

fn collector_config() -> CollectorConfig {
    CollectorConfig {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        batch_rows: BATCH_ROWS as usize,
        batch_interval_ms: BATCH_INTERVAL_MS,
        ..CollectorConfig::default()
    }
}

/// Waits until `done` holds, failing the test after [`WAIT`].
async fn until(what: &str, stats: &CollectorStats, done: impl Fn(&CollectorStats) -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done(stats) {
        assert!(Instant::now() < deadline, "timed out waiting until {what}: {:?}", stats.writer());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn spool_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".arrow"))
        .collect();
    names.sort();
    names
}

fn assert_lines(text: &str, expected: &[String]) {
    let lines: Vec<&str> = text.lines().collect();
    for line in expected {
        assert!(lines.contains(&line.as_str()), "missing {line:?} in /metrics:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flows_received_while_the_server_is_down_are_written_after_a_restart_with_it_up() {
    // given: a server backend at a port where nothing listens
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let spool_dir = tempfile::tempdir().unwrap();
    let down = Store::open_deferred(&store_config(&dead_url)).await.expect("a down server waits");
    let spool = Spool::open(spool_dir.path(), u64::MAX).unwrap();
    let first = Collector::start(&collector_config(), down, spool).await.unwrap();
    let listener: SocketAddr = first.local_addrs[0];
    let stats = first.stats.clone();
    let registry = metrics::registry(stats.clone());

    // when: the datagrams arrive while the server is down
    let exporter = UdpSocket::bind("127.0.0.1:0").unwrap();
    let now_ms = chrono::Utc::now().timestamp_millis() as u64;
    for index in 0..DATAGRAMS {
        exporter.send_to(&ipfix_datagram(index, now_ms), listener).unwrap();
    }
    until("every row is spooled", &stats, |s| s.writer().spool_batches == BATCHES).await;
    let first_metrics = metrics::render(&registry);
    first.shutdown().await;

    // then: every row waits on disk, one file per batch, and /metrics says so exactly
    let files: Vec<String> =
        (0..BATCHES).map(|seq| format!("{seq:020}-{BATCH_ROWS}.arrow")).collect();
    assert_eq!(spool_files(spool_dir.path()), files);
    let mut expected = vec![
        format!("flowsage_listener_datagrams_total{{listener=\"{listener}\"}} {DATAGRAMS}"),
        format!("flowsage_exporter_datagrams_total{{exporter=\"127.0.0.1\"}} {DATAGRAMS}"),
        format!("flowsage_exporter_records_total{{exporter=\"127.0.0.1\"}} {ROWS}"),
        "flowsage_exporter_queue_drops_total{exporter=\"127.0.0.1\"} 0".to_string(),
        "flowsage_exporter_decode_errors_total{exporter=\"127.0.0.1\",kind=\"missing_template\"} 0"
            .to_string(),
        format!("flowsage_writer_rows_spooled_total {ROWS}"),
        "flowsage_writer_rows_written_total 0".to_string(),
        "flowsage_writer_batches_written_total 0".to_string(),
        format!("flowsage_spool_batches {BATCHES}"),
        "flowsage_store_insert_seconds_count 0".to_string(),
    ];
    for reason in ["store_refused", "spool_full", "spool_write", "spool_corrupt", "arrow"] {
        expected.push(format!("flowsage_writer_rows_dropped_total{{reason=\"{reason}\"}} 0"));
    }
    assert_lines(&first_metrics, &expected);

    // when: flowsage starts again on the same spool with the server up
    let up = Store::open(&store_config(clickhouse_http::url())).await.expect("the endpoint is up");
    let spool = Spool::open(spool_dir.path(), u64::MAX).unwrap();
    let second = Collector::start(&collector_config(), up.clone(), spool).await.unwrap();
    let stats = second.stats.clone();
    until("every spooled row is written", &stats, |s| s.writer().rows_written == ROWS).await;
    let second_metrics = metrics::render(&metrics::registry(stats.clone()));
    second.shutdown().await;

    // then: the store holds exactly what was sent, and the spool is empty
    let totals = up.query("SELECT count(), sum(bytes), sum(packets) FROM flows").await.unwrap();
    let (bytes, packets) =
        (0..ROWS).map(counters).fold((0, 0), |(b, p), (bytes, packets)| (b + bytes, p + packets));
    assert_eq!(totals.rows, vec![vec![json!(ROWS), json!(bytes), json!(packets)]]);
    assert!(spool_files(spool_dir.path()).is_empty(), "{:?}", spool_files(spool_dir.path()));
    assert_lines(
        &second_metrics,
        &[
            format!("flowsage_writer_batches_written_total {BATCHES}"),
            format!("flowsage_writer_rows_written_total {ROWS}"),
            "flowsage_writer_rows_spooled_total 0".to_string(),
            "flowsage_spool_batches 0".to_string(),
            "flowsage_spool_bytes 0".to_string(),
            format!("flowsage_store_insert_seconds_count {BATCHES}"),
            "flowsage_writer_rows_dropped_total{reason=\"store_refused\"} 0".to_string(),
        ],
    );
}
