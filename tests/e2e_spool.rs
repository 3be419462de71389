//! End to end: restarting flowsage while its ClickHouse server is down loses
//! no flow, and `/metrics` counts what happened exactly.
//!
//! The outage is shown with the server backend (the embedded engine cannot be
//! down): a first `flowsage serve` points at a port where nothing listens,
//! softflowd exports a generated capture to it through `tests/e2e/replay.py`
//! (which also feeds nfdump, the reference for the totals), and every batch
//! goes to the spool. That server is stopped with SIGTERM while the batches
//! wait on disk. A second `flowsage serve` on the same data directory points
//! at a working endpoint, the chDB-backed ClickHouse HTTP stand-in of
//! `ingest/tests/support/clickhouse_http.rs`, started in this test's process,
//! and writes the spooled batches; the `flows` table must then hold exactly
//! what nfdump decoded.
//!
//! Needs softflowd, nfdump and the chDB engine; scripts/test-deps installs
//! them.

#[path = "../ingest/tests/support/clickhouse_http.rs"]
mod clickhouse_http;
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use flowsage_ingest::store::config::ServerConfig;
use flowsage_ingest::store::{Backend, Store, StoreConfig};
use serde_json::{Value, json};
use support::Serve;

/// Flows in the generated capture, and packets per flow.
const PCAP_FLOWS: u64 = 500;
const PACKETS_PER_FLOW: u64 = 5;
const REPLAY_TIMEOUT: Duration = Duration::from_secs(240);
/// How long the servers may take to spool, then to write, every flow.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);
const TOTALS_SQL: &str = "SELECT count(), sum(bytes), sum(packets) FROM flows";

/// A `[store]` section for the server backend at `url`, in the database the
/// stand-in serves reads from.
fn server_store(url: &str) -> String {
    format!(
        "[store]\ndata_dir = \"data\"\nbackend = \"server\"\n\n[store.server]\nurl = \"{url}\"\n\
         database = \"{}\"\n",
        clickhouse_http::READ_DATABASE
    )
}

/// The value of the sample `series` (name and labels, as printed) in a
/// `/metrics` text.
fn sample(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

/// Waits until `/metrics` of `serve` shows `series` at `value`; the last text.
fn until_metric(serve: &Serve, series: &str, value: u64) -> String {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    loop {
        let text = serve.metrics();
        if sample(&text, series) == Some(value) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{series} never reached {value}:\n{text}\nserve log:\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn spool_files(data_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(data_dir.join("spool")) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".arrow"))
        .collect();
    names.sort();
    names
}

#[test]
fn restarting_serve_while_batches_are_spooled_loses_no_flow() {
    // given: a first server whose ClickHouse server is down
    support::require_flow_tools();
    let work = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut first = Serve::start_in(work.path(), &server_store(&dead_url));
    let pcap_dir = first.scratch("pcap");
    let pcap = pcap_dir.join("flows.pcap").display().to_string();
    let (flows, per_flow) = (PCAP_FLOWS.to_string(), PACKETS_PER_FLOW.to_string());
    support::python("make_pcap.py", &[&pcap, &flows, &per_flow], Duration::from_secs(60));

    // when: softflowd exports while the store is down, then the server is stopped
    let replay_dir = first.scratch("replay").display().to_string();
    let port = first.flow_port.to_string();
    let replay =
        support::python_json("replay.py", &[&pcap, "10", &port, &replay_dir], REPLAY_TIMEOUT);
    let records = replay["softflowd"]["records"].as_u64().expect("softflowd's record count");
    let datagrams = replay["tee"]["datagrams"].as_u64().expect("the tee's datagram count");
    let spooled = until_metric(&first, "flowsage_writer_rows_spooled_total", records);
    first.stop();
    let files = spool_files(&first.data_dir);

    // then: every record waits in the spool, and /metrics counted exactly
    let nfdump = &replay["nfdump"];
    assert_eq!(nfdump["flows"], json!(PCAP_FLOWS), "{replay:#}");
    assert_eq!(nfdump["flows"], json!(records), "{replay:#}");
    let listener = format!("flowsage_listener_datagrams_total{{listener=\"127.0.0.1:{port}\"}}");
    let exporter = |name: &str| format!("flowsage_exporter_{name}_total{{exporter=\"127.0.0.1\"}}");
    let context = format!("{spooled}\nserve log:\n{}", first.log());
    assert_eq!(sample(&spooled, &listener), Some(datagrams), "{context}");
    assert_eq!(sample(&spooled, &exporter("datagrams")), Some(datagrams), "{context}");
    assert_eq!(sample(&spooled, &exporter("records")), Some(records), "{context}");
    assert_eq!(sample(&spooled, &exporter("queue_drops")), Some(0), "{context}");
    let decode_errors: u64 = spooled
        .lines()
        .filter(|line| line.starts_with("flowsage_exporter_decode_errors_total{"))
        .map(|line| line.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(decode_errors, 0, "{context}");
    assert_eq!(sample(&spooled, "flowsage_writer_rows_written_total"), Some(0), "{context}");
    let spooled_batches = sample(&spooled, "flowsage_spool_batches").expect("the spool gauge");
    assert!(spooled_batches >= 1, "{context}");
    assert_eq!(files.len() as u64, spooled_batches, "{files:?}\n{context}");
    let dropped = (spooled.lines())
        .filter(|line| line.starts_with("flowsage_writer_rows_dropped_total{"))
        .map(|line| line.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum::<u64>();
    assert_eq!(dropped, 0, "{context}");

    // when: a second server on the same data directory finds the store up
    let second = Serve::start_in(work.path(), &server_store(clickhouse_http::url()));
    until_metric(&second, "flowsage_writer_rows_written_total", records);
    let written = until_metric(&second, "flowsage_spool_batches", 0);

    // then: the store holds exactly what nfdump decoded, and the spool is empty
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store = runtime
        .block_on(Store::open(&StoreConfig {
            backend: Backend::Server,
            server: ServerConfig {
                url: clickhouse_http::url().to_string(),
                database: clickhouse_http::READ_DATABASE.to_string(),
                ..ServerConfig::default()
            },
            ..StoreConfig::default()
        }))
        .expect("open the endpoint");
    let totals = runtime.block_on(store.query(TOTALS_SQL)).expect("read the totals");
    let expected: Vec<Vec<Value>> =
        vec![vec![nfdump["flows"].clone(), nfdump["bytes"].clone(), nfdump["packets"].clone()]];
    let context = format!("{written}\nserve log:\n{}", second.log());
    assert_eq!(totals.rows, expected, "flowsage [count, bytes, packets] vs nfdump\n{context}");
    assert_eq!(
        sample(&written, "flowsage_writer_batches_written_total"),
        Some(spooled_batches),
        "{context}"
    );
    assert!(spool_files(&second.data_dir).is_empty(), "{:?}", spool_files(&second.data_dir));
}
