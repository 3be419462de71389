//! The embedded store end to end: schema, Arrow insert, ClickHouse JSON out.
//!
//! chDB admits one data directory per process, so every test in this binary
//! shares one store.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, OnceLock};

use flowsage_ingest::capture::CaptureReader;
use flowsage_ingest::collector::spool::Spool;
use flowsage_ingest::collector::stats::CollectorStats;
use flowsage_ingest::collector::{CollectorConfig, Datagram, Pipeline};
use flowsage_ingest::flow::{FlowProtocol, FlowRecord};
use flowsage_ingest::store::{Store, StoreConfig, batch::flow_batch};
use serde_json::json;

fn store() -> &'static (tokio::runtime::Runtime, Store, tempfile::TempDir) {
    static STORE: OnceLock<(tokio::runtime::Runtime, Store, tempfile::TempDir)> = OnceLock::new();
    STORE.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = StoreConfig { data_dir: dir.path().join("data"), ..StoreConfig::default() };
        let store = runtime.block_on(Store::open(&config)).expect("open the embedded store");
        (runtime, store, dir)
    })
}

#[test]
fn inserted_flows_read_back_with_clickhouse_types() {
    // given
    let (runtime, store, _) = store();
    // Recent times: rows older than the TTL may be dropped by any merge.
    let received = chrono::Utc::now().timestamp() * 1000 - 60_000;
    let shown = |ms: i64| {
        let time = chrono::DateTime::from_timestamp_millis(ms).unwrap();
        time.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
    };
    let exporter = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
    let mut v4 = FlowRecord::new(exporter, FlowProtocol::Ipfix, 3, received + 123);
    v4.src_addr = Ipv4Addr::new(198, 51, 100, 1).to_ipv6_mapped();
    v4.bytes = 1_500;
    v4.packets = 3;
    let mut v6 = FlowRecord::new(exporter, FlowProtocol::NetflowV9, 3, received + 456);
    v6.src_addr = "2001:db8::1".parse::<Ipv6Addr>().unwrap();
    v6.bytes = u64::MAX / 2;
    v6.packets = 1;

    // when
    runtime.block_on(store.insert_flows(flow_batch(&[v4, v6]).unwrap())).unwrap();
    let out = runtime
        .block_on(store.query(
            "SELECT src_addr, bytes, time_received, flow_protocol FROM flows \
             WHERE exporter_address = toIPv6('::ffff:192.0.2.7') ORDER BY time_received",
        ))
        .unwrap();

    // then
    let types: Vec<&str> = out.columns.iter().map(|c| c.r#type.as_str()).collect();
    assert_eq!(types, ["IPv6", "UInt64", "DateTime64(3, 'UTC')", "LowCardinality(String)"]);
    assert_eq!(
        out.rows,
        vec![
            vec![
                json!("::ffff:198.51.100.1"),
                json!(1500),
                json!(shown(received + 123)),
                json!("ipfix")
            ],
            vec![
                json!("2001:db8::1"),
                json!(u64::MAX / 2),
                json!(shown(received + 456)),
                json!("netflow_v9")
            ],
        ]
    );
}

/// Reader connections run with the limits and `readonly=1`. What is wrong
/// today: chDB still applies a SETTINGS clause inside a subquery (every query
/// reaches the engine wrapped as a subquery), so a query could lift its own
/// limits. The SQL guard in `tools` rejects SETTINGS anywhere in the tree for
/// that reason; this test pins the engine's behaviour so a change is noticed.
#[test]
fn readers_are_read_only_but_subquery_settings_still_apply() {
    // given
    let (runtime, store, _) = store();

    // when
    let settings = runtime
        .block_on(store.query("SELECT getSetting('readonly'), getSetting('max_execution_time')"))
        .unwrap();
    let lift = runtime.block_on(
        store.query("SELECT getSetting('max_execution_time') SETTINGS max_execution_time = 0"),
    );

    // then
    assert_eq!(settings.rows, vec![vec![json!(1), json!(30)]]);
    assert_eq!(lift.unwrap().rows, vec![vec![json!(0)]]);
}

#[test]
fn every_flows_column_carries_its_comment() {
    // given
    let (runtime, store, _) = store();

    // when
    let out = runtime
        .block_on(store.query(
            "SELECT name, comment FROM system.columns WHERE database = currentDatabase() AND table = 'flows'",
        ))
        .unwrap();

    // then
    assert_eq!(out.rows.len(), flowsage_ingest::store::schema::FLOW_COLUMNS.len());
    for row in &out.rows {
        assert!(row[1].as_str().unwrap().len() > 10, "column {} lacks a comment", row[0]);
    }
}

#[test]
fn schema_creation_is_idempotent() {
    // given
    let (runtime, store, _) = store();

    // when
    let again = runtime.block_on(store.init_schema(400));

    // then
    again.unwrap();
    let out = runtime
        .block_on(store.query("SELECT engine_full FROM system.tables WHERE name = 'flows'"))
        .unwrap();
    let engine = out.rows[0][0].as_str().unwrap();
    assert!(engine.contains("toIntervalDay(400)"), "{engine}");
}

#[test]
fn a_missing_engine_says_in_one_line_how_to_install_it() {
    // given
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        data_dir: dir.path().join("data"),
        driver: "no-such-chdb-manifest".to_string(),
        ..StoreConfig::default()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();

    // when
    let err = runtime.block_on(Store::open(&config)).err().expect("no engine by that name");

    // then
    let message = err.to_string();
    assert!(message.contains("no-such-chdb-manifest"), "{message}");
    assert!(message.contains("scripts/setup-chdb"), "{message}");
    assert!(!message.contains('\n'), "{message}");
}

/// The 40 datagrams of a NetFlow v9 capture, 51 records in all
/// (tests/corpus.rs), as from `exporter`, received now so that no TTL merge
/// drops them.
fn capture_datagrams(exporter: IpAddr) -> Vec<Datagram> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/corpus/netflow9/pmacct-101-nfv9-cisco-asr9k.pcap"
    );
    let file = std::fs::read(path).unwrap();
    let mut reader = CaptureReader::new(&file[..]).unwrap();
    let mut datagrams = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap() {
        datagrams.push(Datagram {
            exporter,
            received_ms: chrono::Utc::now().timestamp_millis(),
            payload: frame.udp().unwrap().payload.to_vec(),
        });
    }
    datagrams
}

/// Runs `datagrams` through a pipeline into the shared store; its statistics.
fn through_pipeline(datagrams: Vec<Datagram>) -> Arc<CollectorStats> {
    let (runtime, store, dir) = store();
    let config = CollectorConfig { queue_datagrams: 4, batch_rows: 20, ..Default::default() };
    // The embedded store is never "down": nothing is spooled here. Each run
    // its own spool directory, since a spool is locked by its user.
    let spool_dir = tempfile::tempdir_in(dir.path()).unwrap();
    let spool = Spool::open(spool_dir.path(), 0).unwrap();
    runtime.block_on(async {
        let pipeline = Pipeline::start(&config, store.clone(), spool);
        let intake = pipeline.intake();
        for datagram in datagrams {
            intake.send(datagram).await.unwrap();
        }
        drop(intake);
        let stats = pipeline.stats.clone();
        pipeline.finish().await;
        stats
    })
}

fn count_rows(exporter: &str) -> Vec<Vec<serde_json::Value>> {
    let (runtime, store, _) = store();
    let sql = format!("SELECT count() FROM flows WHERE exporter_address = toIPv6('{exporter}')");
    runtime.block_on(store.query(&sql)).unwrap().rows
}

#[test]
fn a_captures_datagrams_through_the_pipeline_are_all_written() {
    // given
    let datagrams = capture_datagrams(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 51)));

    // when
    let stats = through_pipeline(datagrams);

    // then
    let exporters = stats.exporters();
    assert_eq!(exporters.len(), 1);
    assert_eq!((exporters[0].datagrams, exporters[0].records), (40, 51));
    assert_eq!(stats.writer().rows_written, 51);
    assert_eq!(count_rows("::ffff:192.0.2.51"), vec![vec![json!(51)]]);
}

/// The datagram once made the decoder panic (tests/fuzz_regressions.rs);
/// now it is a counted error. The pipeline still catches a decoder panic and
/// counts it as `decoder_fault`, but no known input reaches that path.
#[test]
fn a_malformed_datagram_is_counted_and_collection_goes_on() {
    // given: a NetFlow v9 options template that declares more bytes than its
    // set holds, in the middle of a capture
    let exporter = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 52));
    let mut malformed = capture_datagrams(exporter)[0].clone();
    malformed.payload.truncate(20);
    malformed.payload[16..20].copy_from_slice(&99u32.to_be_bytes()); // a source id of its own
    malformed.payload.extend([0, 1, 0, 10, 1, 0, 0, 0, 0, 4]);
    let mut datagrams = capture_datagrams(exporter);
    datagrams.insert(20, malformed);

    // when
    let stats = through_pipeline(datagrams);

    // then
    let exporters = stats.exporters();
    assert_eq!((exporters[0].datagrams, exporters[0].records), (41, 51));
    assert_eq!(exporters[0].decode_errors, [("bad_template".to_string(), 1)].into());
    assert_eq!(stats.writer().rows_written, 51);
    assert_eq!(count_rows("::ffff:192.0.2.52"), vec![vec![json!(51)]]);
}
