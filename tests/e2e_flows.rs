//! End to end: real exporters in, MCP out, nfdump as the referee.
//!
//! softflowd turns a generated capture (`tests/e2e/make_pcap.py`: TCP, UDP
//! and ICMP over IPv4, TCP and UDP over IPv6) into NetFlow v5, v9 or IPFIX
//! (v5 has no IPv6 addresses, so softflowd exports the IPv4 flows); a tee
//! (`tests/e2e/replay.py`) hands every datagram to `flowsage serve` and to
//! nfdump's nfcapd. What flowsage stored, read back with the Python MCP SDK
//! (`tests/e2e/mcp_client.py`), must equal what nfdump decoded: the same
//! totals, the same flows, and times inside the capture. The stdio transport,
//! with and without a running server, and the HTTP bearer check are covered
//! here too.
//!
//! The tests need softflowd, nfdump and the Python `mcp` package; when one is
//! missing they fail and name it (scripts/test-deps installs them all). They
//! do not cover the ClickHouse server backend or other exporters.

mod support;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Serve, TOKEN};

/// Flows in the generated capture; one in five is IPv6, ICMP is IPv4 only.
const PCAP_FLOWS: u64 = 500;
const PCAP_IPV4_FLOWS: u64 = PCAP_FLOWS - PCAP_FLOWS / 5;
/// Packets per flow, 10 ms apart, so every flow lasts `(n - 1) * 10` ms.
const PACKETS_PER_FLOW: u64 = 5;
const FLOW_DURATION_MS: i64 = (PACKETS_PER_FLOW as i64 - 1) * 10;
/// A NetFlow v9 header gives the export time in whole seconds (RFC 3954
/// section 5.1), so uptime-relative times land up to this much early.
const V9_HEADER_RESOLUTION_MS: i64 = 1000;
const REPLAY_TIMEOUT: Duration = Duration::from_secs(240);
const MCP_TIMEOUT: Duration = Duration::from_secs(180);

const TOTALS_SQL: &str = "SELECT count(), sum(bytes), sum(packets) FROM flows";
const SUMMARY_SQL: &str = "SELECT groupUniqArray(flow_protocol), countIf(ip_version = 6), \
     countIf(protocol = 1), toUnixTimestamp64Milli(min(time_start)), \
     toUnixTimestamp64Milli(max(time_end)), \
     countIf(dateDiff('millisecond', time_start, time_end) != {duration}), \
     countIf(protocol = 1 AND dst_port = 2048) FROM flows";
const FLOWS_SQL: &str = "SELECT IPv6NumToString(src_addr), IPv6NumToString(dst_addr), src_port, \
     dst_port, protocol, packets, bytes FROM flows";

#[derive(Clone, Copy, Debug)]
enum Export {
    NetflowV5,
    NetflowV9,
    Ipfix,
}

impl Export {
    /// softflowd's `-v` value.
    fn softflowd_version(self) -> &'static str {
        match self {
            Export::NetflowV5 => "5",
            Export::NetflowV9 => "9",
            Export::Ipfix => "10",
        }
    }

    /// The `flow_protocol` column value.
    fn column(self) -> &'static str {
        match self {
            Export::NetflowV5 => "netflow_v5",
            Export::NetflowV9 => "netflow_v9",
            Export::Ipfix => "ipfix",
        }
    }

    /// The capture's flows that the protocol can carry.
    fn flows(self) -> u64 {
        match self {
            Export::NetflowV5 => PCAP_IPV4_FLOWS,
            Export::NetflowV9 | Export::Ipfix => PCAP_FLOWS,
        }
    }
}

#[test]
fn netflow_v5_from_softflowd_matches_nfdump_exactly() {
    exported_flows_match_nfdump(Export::NetflowV5);
}

#[test]
fn netflow_v9_from_softflowd_matches_nfdump_exactly() {
    exported_flows_match_nfdump(Export::NetflowV9);
}

#[test]
fn ipfix_from_softflowd_matches_nfdump_exactly() {
    exported_flows_match_nfdump(Export::Ipfix);
}

fn exported_flows_match_nfdump(export: Export) {
    // given
    support::require_flow_tools();
    let serve = Serve::start();
    let pcap = make_pcap(&serve.scratch("pcap"));

    // when
    let replay = replay(&serve, &pcap, export);
    let sent = replay["tee"]["datagrams"].clone();
    let summary_sql = SUMMARY_SQL.replace("{duration}", &FLOW_DURATION_MS.to_string());
    let report = mcp_http(
        &serve,
        json!({
            "wait": {"sql": TOTALS_SQL, "timeout_s": 60, "settle_s": 2, "datagrams": sent},
            "calls": [
                {"tool": "query_sql", "arguments": {"sql": summary_sql}},
                {"tool": "query_sql", "arguments": {"sql": FLOWS_SQL}},
                {"tool": "exporters", "arguments": {}},
            ],
        }),
    );

    // then: softflowd and nfdump agree with the capture, so they are a fair reference
    let nfdump = &replay["nfdump"];
    let context = format!("{export:?}; serve log:\n{}", serve.log());
    assert_eq!(replay["softflowd"]["flows"], json!(export.flows()), "{replay:#}");
    assert_eq!(nfdump["flows"], replay["softflowd"]["records"], "{context}");
    assert_eq!(nfdump["packets"], json!(export.flows() * PACKETS_PER_FLOW), "{context}");
    if !matches!(export, Export::Ipfix) {
        // softflowd's IPFIX sequence numbers count the message's own records
        // (RFC 7011 section 3.1 says: those sent before it), so nfdump reports
        // gaps in IPFIX that are not losses; in v5 and v9 they must be clean.
        assert_eq!(nfdump["sequence_failures"], json!(0), "{context}");
    }

    // then: the totals are exactly nfdump's
    let wait = &report["wait"];
    assert_eq!(wait["settled"], json!(true), "the flow count never settled: {wait}\n{context}");
    let totals = &wait["rows"][0];
    assert_eq!(
        totals,
        &json!([nfdump["flows"], nfdump["bytes"], nfdump["packets"]]),
        "flowsage [count, bytes, packets] vs nfdump\n{context}"
    );

    // then: both address families and ICMP made it, and nothing else came in
    let summary = ok_json(&report["results"][0]);
    let row = &summary["rows"][0];
    let ipv6_in_nfdump =
        nfdump["records"].as_array().unwrap().iter().filter(|f| is_v6(&f["src"])).count();
    match export {
        Export::NetflowV5 => assert_eq!(ipv6_in_nfdump, 0, "IPv6 flows in NetFlow v5"),
        Export::NetflowV9 | Export::Ipfix => {
            assert!(ipv6_in_nfdump >= 50, "too few IPv6 flows exported to test: {ipv6_in_nfdump}")
        }
    }
    assert_eq!(row[0], json!([export.column()]), "flow_protocol\n{context}");
    assert_eq!(row[1], json!(ipv6_in_nfdump), "IPv6 flows\n{context}");
    assert!(nfdump["flows_icmp"].as_u64().unwrap() >= 50, "{}", nfdump["flows_icmp"]);
    assert_eq!(row[2], nfdump["flows_icmp"], "ICMP flows\n{context}");
    // softflowd sends ICMP type and code as icmpTypeCodeIPv4 (element 32), in
    // v5 as the destination port; like nfdump, flowsage keeps them as
    // dst_port = type * 256 + code, and every ICMP flow of the capture is an
    // echo request (8, 0).
    assert_eq!(row[6], nfdump["flows_icmp"], "ICMP echo requests as dst_port 2048\n{context}");

    // then: every flow nfdump decoded, flowsage stored with the same key and counters
    let flows = ok_json(&report["results"][1]);
    assert_eq!(flows["truncated"], json!(false));
    let stored = flow_multiset(flows["rows"].as_array().unwrap().iter().map(FlowKey::from_row));
    let reference =
        flow_multiset(nfdump["records"].as_array().unwrap().iter().map(FlowKey::from_nfdump));
    assert_eq!(stored.len(), reference.len(), "distinct flows\n{context}");
    let differences: Vec<_> =
        reference.iter().filter(|(key, n)| stored.get(*key) != Some(n)).take(5).collect();
    assert!(differences.is_empty(), "flows nfdump has and flowsage has not: {differences:?}");

    // then: times fall in the capture, each flow as long as its packets span
    let pcap_first = replay["pcap"]["first_ms"].as_i64().unwrap();
    let pcap_last = replay["pcap"]["last_ms"].as_i64().unwrap();
    let (first, last) = (row[3].as_i64().unwrap(), row[4].as_i64().unwrap());
    assert_eq!(row[5], json!(0), "flows whose duration is not {FLOW_DURATION_MS} ms\n{context}");
    match export {
        Export::Ipfix => {
            // softflowd sends systemInitTimeMilliseconds: times are exact.
            assert_eq!((first, last), (pcap_first, pcap_last), "flow times vs the capture");
        }
        Export::NetflowV9 => {
            assert!(
                pcap_first - V9_HEADER_RESOLUTION_MS < first && last <= pcap_last,
                "flow times {first}..{last} outside the capture {pcap_first}..{pcap_last}"
            );
            let reference = (nfdump["first_ms"].as_i64(), nfdump["last_ms"].as_i64());
            assert_eq!((Some(first), Some(last)), reference, "flow times vs nfdump");
        }
        Export::NetflowV5 => {
            // The v5 header's clock has nanoseconds, so nothing lands early; the
            // capture's last packets may be IPv6, which v5 leaves out.
            assert!(
                pcap_first <= first && last <= pcap_last,
                "flow times {first}..{last} outside the capture {pcap_first}..{pcap_last}"
            );
            let reference = (nfdump["first_ms"].as_i64(), nfdump["last_ms"].as_i64());
            assert_eq!((Some(first), Some(last)), reference, "flow times vs nfdump");
        }
    }

    // then: the exporter's counters account for every record, with no errors
    let exporters = ok_json(&report["results"][2]);
    let exporter = &exporters["exporters"][0];
    assert_eq!(exporters["exporters"].as_array().unwrap().len(), 1, "{exporters:#}");
    assert_eq!(exporter["address"], json!("127.0.0.1"));
    assert_eq!(exporter["protocols"], json!([export.column()]));
    assert_eq!(exporter["records"], totals[0], "{exporters:#}");
    assert_eq!(exporter["datagrams"], replay["tee"]["datagrams"], "{exporters:#}");
    assert_eq!(exporter["decode_errors"], json!({}), "{exporters:#}");
    assert_eq!(exporter["queue_drops"], json!(0), "{exporters:#}");
    assert_eq!(exporters["store_writer"]["rows_dropped"], json!(0), "{exporters:#}");
    assert_eq!(serve.healthz()["rows_written"], totals[0]);
}

#[test]
fn stdio_mcp_forwards_to_a_running_serve() {
    // given
    support::require_flow_tools();
    let serve = Serve::start();
    let pcap = make_pcap(&serve.scratch("pcap"));
    let sent = replay(&serve, &pcap, Export::Ipfix)["tee"]["datagrams"].clone();
    let over_http = mcp_http(
        &serve,
        json!({"wait": {"sql": TOTALS_SQL, "timeout_s": 60, "settle_s": 2, "datagrams": sent}}),
    );

    // when
    let over_stdio = mcp_stdio(
        &serve.config,
        json!({"calls": [
            {"tool": "query_sql", "arguments": {"sql": TOTALS_SQL}},
            {"tool": "exporters", "arguments": {}},
        ]}),
    );

    // then
    assert_eq!(over_http["wait"]["settled"], json!(true), "{over_http}");
    assert_eq!(over_stdio["tools"], over_http["tools"]);
    let totals = &ok_json(&over_stdio["results"][0])["rows"];
    assert_eq!(totals, &over_http["wait"]["rows"], "stdio and HTTP see different data");
    assert_eq!(totals[0][0], json!(PCAP_FLOWS));
    let exporters = ok_json(&over_stdio["results"][1]);
    assert_eq!(exporters["exporters"][0]["records"], json!(PCAP_FLOWS), "{exporters}");
}

#[test]
fn stdio_mcp_without_serve_opens_the_data_itself() {
    // given
    support::require_python_mcp();
    let dir = tempfile::tempdir().unwrap();
    let config = support::write_config(dir.path(), support::free_udp_port());

    // when
    let report = mcp_stdio(
        &config,
        json!({"calls": [
            {"tool": "list_tables", "arguments": {}},
            {"tool": "exporters", "arguments": {}},
        ]}),
    );

    // then
    assert_eq!(report["tools"], json!(["describe_table", "exporters", "list_tables", "query_sql"]));
    let tables = ok_json(&report["results"][0]);
    let flows = tables["tables"].as_array().unwrap().iter().find(|t| t["name"] == "flows");
    assert_eq!(flows.map(|t| &t["rows"]), Some(&json!(0)), "{tables:#}");
    let exporters = &report["results"][1];
    assert_eq!(exporters["is_error"], json!(true), "{exporters}");
    assert!(exporters["text"].as_str().unwrap().contains("flowsage serve"), "{exporters}");
}

#[test]
fn http_mcp_requires_a_known_bearer_token_and_healthz_does_not() {
    // given
    let serve = Serve::start();
    let initialize = json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "e2e", "version": "0"},
        },
    })
    .to_string();
    let mcp_headers =
        [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")];
    let wrong = format!("Bearer {TOKEN}-wrong");
    let right = format!("Bearer {TOKEN}");

    // when
    let anonymous = support::http(serve.http, "POST", "/mcp", &mcp_headers, &initialize);
    let wrong_token = support::http(
        serve.http,
        "POST",
        "/mcp",
        &[mcp_headers[0], mcp_headers[1], ("Authorization", &wrong)],
        &initialize,
    );
    let right_token = support::http(
        serve.http,
        "POST",
        "/mcp",
        &[mcp_headers[0], mcp_headers[1], ("Authorization", &right)],
        &initialize,
    );
    let health = support::http(serve.http, "GET", "/healthz", &[], "");

    // then
    assert_eq!(anonymous.status, 401, "{anonymous:?}");
    let challenge = anonymous.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Bearer "), "WWW-Authenticate: {challenge:?}");
    assert_eq!(wrong_token.status, 401, "{wrong_token:?}");
    assert!(wrong_token.header("www-authenticate").is_some(), "{wrong_token:?}");
    assert_eq!(right_token.status, 200, "the configured token is refused: {right_token:?}");
    assert_eq!(health.status, 200, "{health:?}");
    let health: Value = serde_json::from_str(&health.body).expect("/healthz is JSON");
    assert_eq!(health["rows_written"], json!(0), "{health}");
}

/// Writes the test capture into `dir`.
fn make_pcap(dir: &Path) -> String {
    let pcap = dir.join("flows.pcap").display().to_string();
    let (flows, per_flow) = (PCAP_FLOWS.to_string(), PACKETS_PER_FLOW.to_string());
    support::python("make_pcap.py", &[&pcap, &flows, &per_flow], Duration::from_secs(60));
    pcap
}

/// softflowd exports `pcap` through the tee to `serve` and nfcapd; the replay report.
fn replay(serve: &Serve, pcap: &str, export: Export) -> Value {
    let work = serve.scratch(&format!("replay-{}", export.column()));
    let (port, work) = (serve.flow_port.to_string(), work.display().to_string());
    let args = [pcap, export.softflowd_version(), port.as_str(), work.as_str()];
    support::python_json("replay.py", &args, REPLAY_TIMEOUT)
}

fn mcp_http(serve: &Serve, plan: Value) -> Value {
    let plan = plan.to_string();
    let args = ["http", serve.mcp_url.as_str(), TOKEN, plan.as_str()];
    support::python_json("mcp_client.py", &args, MCP_TIMEOUT)
}

fn mcp_stdio(config: &Path, plan: Value) -> Value {
    let (config, plan) = (config.display().to_string(), plan.to_string());
    let args = ["stdio", support::flowsage_bin(), config.as_str(), plan.as_str()];
    support::python_json("mcp_client.py", &args, MCP_TIMEOUT)
}

/// The parsed JSON of a successful tool result; panics with the text otherwise.
fn ok_json(result: &Value) -> &Value {
    assert_eq!(result["is_error"], json!(false), "tool error: {}", result["text"]);
    &result["json"]
}

fn is_v6(addr: &Value) -> bool {
    addr.as_str().and_then(|a| a.parse::<IpAddr>().ok()).is_some_and(|a| a.is_ipv6())
}

/// What identifies a flow and what it counted, as both sides report it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct FlowKey {
    src: IpAddr,
    dst: IpAddr,
    protocol: u64,
    src_port: u64,
    /// For ICMP, type * 256 + code on both sides.
    dst_port: u64,
    packets: u64,
    bytes: u64,
}

impl FlowKey {
    /// A row of [`FLOWS_SQL`]; IPv4-mapped addresses become IPv4.
    fn from_row(row: &Value) -> Self {
        let addr = |v: &Value| {
            let v6: Ipv6Addr = v.as_str().and_then(|s| s.parse().ok()).expect("an IPv6 string");
            v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6))
        };
        Self::new(addr(&row[0]), addr(&row[1]), [&row[2], &row[3], &row[4], &row[5], &row[6]])
    }

    /// A flow of `replay.py`'s nfdump listing.
    fn from_nfdump(flow: &Value) -> Self {
        let addr = |v: &Value| v.as_str().and_then(|s| s.parse().ok()).expect("an address");
        let numbers = [
            &flow["src_port"],
            &flow["dst_port"],
            &flow["protocol"],
            &flow["packets"],
            &flow["bytes"],
        ];
        Self::new(addr(&flow["src"]), addr(&flow["dst"]), numbers)
    }

    /// `numbers`: source port, destination port, protocol, packets, bytes.
    fn new(src: IpAddr, dst: IpAddr, numbers: [&Value; 5]) -> Self {
        let [src_port, dst_port, protocol, packets, bytes] =
            numbers.map(|n| n.as_u64().unwrap_or_else(|| panic!("not a number: {n}")));
        Self { src, dst, protocol, src_port, dst_port, packets, bytes }
    }
}

fn flow_multiset(keys: impl Iterator<Item = FlowKey>) -> BTreeMap<FlowKey, usize> {
    let mut set = BTreeMap::new();
    for key in keys {
        *set.entry(key).or_default() += 1;
    }
    set
}
