//! `flowsage replay` end to end: real captures from the corpus into a fresh
//! data directory, then `flowsage mcp` over stdio, driven by the Python MCP
//! client, counts what was stored; and the refusal while `flowsage serve`
//! holds the data directory.
//!
//! The counts and totals are the corpus's (`ingest/tests/corpus.rs`, from
//! pmacct's outputs and NetGauze's snapshots); capture times are tshark's.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use support::Serve;

/// NetFlow v9 from one ASR 9000 (138.187.57.55): 40 datagrams, 51 records,
/// 56 packets, 4500 bytes; the first frame, captured at 1672534805.000,
/// holds only templates, the others from .001 to .039 hold records.
const NETFLOW9: &str = "ingest/tests/corpus/netflow9/pmacct-101-nfv9-cisco-asr9k.pcap";
/// IPFIX from 138.187.0.13: 6 datagrams, 12 records, 34 packets, 34172 bytes.
const IPFIX: &str = "ingest/tests/corpus/ipfix/pmacct-100-ipfix-cisco-asr9k.pcap";
const MCP_TIMEOUT: Duration = Duration::from_secs(180);
const BY_EXPORTER_SQL: &str = "SELECT IPv6NumToString(exporter_address), count(), sum(packets), \
     sum(bytes), toUnixTimestamp64Milli(min(time_received)), \
     toUnixTimestamp64Milli(max(time_received)) FROM flows \
     GROUP BY exporter_address ORDER BY exporter_address";

#[test]
fn replayed_captures_are_the_rows_mcp_then_reads() {
    // given: a store that keeps flows forever, since these captures are from
    // 2023 (opening it twice with no TTL was refused by ClickHouse once)
    support::require_python_mcp();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("flowsage.toml");
    let text = "[store]\ndata_dir = \"data\"\nflows_ttl_days = 0\n[tools]\nmax_rows = 10000\n";
    std::fs::write(&config, text).unwrap();

    // when: one capture at its capture times, one stamped with the current time
    let at_capture_time = replay(&config, &[NETFLOW9]);
    let before_now = now_ms();
    let at_now = replay(&config, &["--now", IPFIX]);
    let after_now = now_ms();
    let report = mcp_stdio(
        &config,
        json!({"calls": [
            {"tool": "query_sql", "arguments": {"sql": BY_EXPORTER_SQL}},
        ]}),
    );

    // then: replay says what it wrote
    let printed = stdout(&at_capture_time);
    assert!(at_capture_time.status.success(), "{}", log(&at_capture_time));
    assert!(printed.contains(&format!("{}: 40 frames, 40 UDP datagrams\n", root(NETFLOW9))));
    assert!(printed.contains("exporter 138.187.57.55: 40 datagrams, 51 flow records"), "{printed}");
    assert!(printed.ends_with("rows written: 51, dropped: 0\n"), "{printed}");
    assert!(at_now.status.success(), "{}", log(&at_now));
    assert!(stdout(&at_now).ends_with("rows written: 12, dropped: 0\n"), "{}", log(&at_now));

    // then: MCP reads the same rows, with the receive times asked for
    let result = &report["results"][0];
    assert_eq!(result["is_error"], json!(false), "{}", result["text"]);
    let rows: Vec<Vec<Value>> = serde_json::from_value(result["json"]["rows"].clone()).unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0][..4], [json!("::ffff:138.187.0.13"), json!(12), json!(34), json!(34172)]);
    let stamped = (rows[0][4].as_i64().unwrap(), rows[0][5].as_i64().unwrap());
    assert!(before_now <= stamped.0 && stamped.1 <= after_now, "{stamped:?}");
    let want = [json!("::ffff:138.187.57.55"), json!(51), json!(56), json!(4500)];
    assert_eq!(rows[1][..4], want);
    assert_eq!(rows[1][4..], [json!(1_672_534_805_001i64), json!(1_672_534_805_039i64)]);
}

#[test]
fn replay_is_refused_while_serve_holds_the_data_directory() {
    // given
    let serve = Serve::start();

    // when
    let refused = replay(&serve.config, &[NETFLOW9]);

    // then
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{}", log(&refused));
    assert!(said.contains("flowsage serve (pid"), "{said}");
    assert!(said.contains(&format!("serving {}", serve.mcp_url)), "{said}");
    assert!(said.contains("holds the data directory"), "{said}");
    assert!(said.contains("Stop it, replay, then start it again"), "{said}");
    assert_eq!(serve.healthz()["rows_written"], json!(0));
}

/// Runs `flowsage -c CONFIG replay ARGS...` from the repository root.
fn replay(config: &Path, args: &[&str]) -> Output {
    Command::new(support::flowsage_bin())
        .arg("-c")
        .arg(config)
        .arg("replay")
        .args(args.iter().map(|arg| if arg.starts_with('-') { (*arg).into() } else { root(arg) }))
        .output()
        .expect("run flowsage replay")
}

fn root(file: &str) -> String {
    PathBuf::from(support::root()).join(file).display().to_string()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn log(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    format!("{}\nstdout:\n{}\nstderr:\n{stderr}", output.status, stdout(output))
}

fn mcp_stdio(config: &Path, plan: Value) -> Value {
    let (config, plan) = (config.display().to_string(), plan.to_string());
    let args = ["stdio", support::flowsage_bin(), config.as_str(), plan.as_str()];
    support::python_json("mcp_client.py", &args, MCP_TIMEOUT)
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since_epoch.as_millis()).unwrap()
}
