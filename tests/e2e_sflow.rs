//! End to end: sFlow from pmacct's probe in, MCP out, pmacct's sfacctd as the
//! referee.
//!
//! pmacctd's sfprobe plugin samples a generated capture (`tests/e2e/make_pcap.py`:
//! TCP, UDP and ICMP over IPv4, TCP and UDP over IPv6) into sFlow v5, one raw
//! Ethernet header per sampled packet; a tee (`tests/e2e/replay_sflow.py`)
//! hands every datagram to `flowsage serve` and to sfacctd. What flowsage
//! stored, read back over MCP, must equal what sfacctd counted, flow key by
//! flow key, once the known differences are taken out. sfacctd counts each
//! sample once, unscaled (its renormalisation estimates the rate from the
//! sample pool, so it is left off), where flowsage scales by the sample's
//! rate; and sfacctd counts a sample's frame length, flowsage its IP length
//! (the `bytes` column is layer 3). The probe reports each frame as the
//! captured Ethernet frame plus 4 FCS bytes, so every sampled packet counts 18
//! bytes more in sfacctd.
//!
//! pmacctd keeps the last few packets of a capture file in its buffer to the
//! probe and never samples them; both collectors see the same datagrams, so
//! the comparison is exact, but sfacctd's totals fall a little short of the
//! capture's.
//!
//! The tests need pmacct (pmacctd, sfacctd) and the Python `mcp` package; when
//! one is missing they fail and name it.

mod support;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::{Serve, TOKEN};

/// Flows in the generated capture and packets per flow.
const PCAP_FLOWS: u64 = 500;
const PACKETS_PER_FLOW: u64 = 5;
/// Untagged Ethernet header (14) and FCS (4): what sfacctd counts per packet
/// beyond its IP length.
const LINK_OVERHEAD: u64 = 18;
/// The input ifIndex `replay_sflow.py` gives the probe (`sfprobe_ifindex`);
/// the output interface is 0x3FFFFFFF, "the device itself", stored as 0.
const PROBE_IF_INDEX: u64 = 7;
const REPLAY_TIMEOUT: Duration = Duration::from_secs(120);
const MCP_TIMEOUT: Duration = Duration::from_secs(180);

const TOTALS_SQL: &str = "SELECT count(), sum(bytes), sum(packets) FROM flows";
const SUMMARY_SQL: &str = "SELECT groupUniqArray(flow_protocol), groupUniqArray(sampling_rate), \
     groupUniqArray(in_if), groupUniqArray(out_if), countIf(ip_version = 6), \
     countIf(protocol = 1), countIf(protocol = 1 AND dst_port = 2048) FROM flows";
const FLOWS_SQL: &str = "SELECT IPv6NumToString(src_addr), IPv6NumToString(dst_addr), src_port, \
     dst_port, protocol, packets, bytes FROM flows";

#[test]
fn sflow_from_pmacct_sampling_every_packet_matches_sfacctd() {
    sflow_matches_sfacctd(1);
}

#[test]
fn sflow_from_pmacct_sampling_one_in_ten_matches_sfacctd() {
    sflow_matches_sfacctd(10);
}

fn sflow_matches_sfacctd(rate: u64) {
    // given
    support::require_program("pmacctd", "pmacct");
    support::require_program("sfacctd", "pmacct");
    support::require_python_mcp();
    let serve = Serve::start();
    let pcap = make_pcap(&serve.scratch("pcap"));

    // when
    let replay = replay(&serve, &pcap, rate);
    let sent = replay["tee"]["datagrams"].clone();
    let report = mcp_http(
        &serve,
        json!({
            "wait": {"sql": TOTALS_SQL, "timeout_s": 60, "settle_s": 2, "datagrams": sent},
            "calls": [
                {"tool": "query_sql", "arguments": {"sql": SUMMARY_SQL}},
                {"tool": "query_sql", "arguments": {"sql": FLOWS_SQL}},
                {"tool": "exporters", "arguments": {}},
            ],
        }),
    );

    // then: sfacctd saw a fair share of the capture. On a loaded machine
    // pmacctd's probe loses samples before exporting them (seen: 2166 of
    // 2500 at rate 1), which both collectors then never receive; so this is
    // a sanity bound, and the exact comparison below is on what the tee
    // delivered to both.
    let sfacctd = &replay["sfacctd"];
    let exporters = ok_json(&report["results"][2]);
    let context = format!(
        "rate {rate}; tee {}; exporters {exporters}; serve log:\n{}",
        replay["tee"],
        serve.log()
    );
    let samples = sfacctd["packets"].as_u64().unwrap();
    let pcap_packets = PCAP_FLOWS * PACKETS_PER_FLOW;
    if rate == 1 {
        assert!(
            (pcap_packets / 2..=pcap_packets).contains(&samples),
            "sfacctd counted {samples} of the capture's {pcap_packets} packets"
        );
    } else {
        // One in `rate` at random, less what the probe may lose under load.
        let expected = pcap_packets / rate;
        assert!(
            (expected / 2..=expected * 6 / 5).contains(&samples),
            "{samples} samples of {pcap_packets} packets at 1 in {rate}"
        );
    }

    // then: flowsage stored one row per flow sample the tee delivered, with
    // packets scaled by each sample's rate (counted from the datagrams
    // themselves, so this holds whatever sfacctd kept up with)
    let wait = &report["wait"];
    assert_eq!(wait["settled"], json!(true), "the flow count never settled: {wait}\n{context}");
    let totals = &wait["rows"][0];
    let delivered = &replay["tee"];
    assert_eq!(
        [&totals[0], &totals[2]],
        [&delivered["flow_samples"], &delivered["sampled_packets"]],
        "flowsage [rows, packets] vs the samples in the delivered datagrams\n{context}"
    );

    // then: when sfacctd kept every sample (it drops silently when its
    // buffers overrun on a loaded machine), its totals and flow keys equal
    // flowsage's, scaled by the rate, less the link overhead
    let sfacctd_kept_all = delivered["flow_samples"] == json!(samples);
    if !sfacctd_kept_all {
        eprintln!(
            "sfacctd kept {samples} of {} delivered samples: its byte totals and flow keys are \
             not comparable in this run",
            delivered["flow_samples"]
        );
    }
    let frame_bytes = sfacctd["bytes"].as_u64().unwrap();
    if sfacctd_kept_all {
        assert_eq!(
            totals,
            &json!([samples, rate * (frame_bytes - LINK_OVERHEAD * samples), rate * samples]),
            "flowsage [rows, bytes, packets] vs sfacctd's [samples, rate * (bytes - 18 * \
             samples), rate * samples]\n{context}"
        );
    }

    // then: one protocol, one rate, the probe's interfaces, both address families
    let summary = &ok_json(&report["results"][0])["rows"][0];
    assert_eq!(summary[0], json!(["sflow_v5"]), "flow_protocol\n{context}");
    assert_eq!(summary[1], json!([rate]), "sampling_rate\n{context}");
    assert_eq!(summary[2], json!([PROBE_IF_INDEX]), "in_if\n{context}");
    assert_eq!(summary[3], json!([0]), "out_if: the device itself is stored as 0\n{context}");
    assert!(summary[4].as_u64().unwrap() > 0, "no IPv6 samples\n{context}");
    // Every ICMP packet of the capture is an echo request (8, 0).
    assert_eq!(summary[5], summary[6], "ICMP rows without dst_port 2048\n{context}");

    // then: every flow key sfacctd counted, flowsage counted alike
    let flows = ok_json(&report["results"][1]);
    assert_eq!(flows["truncated"], json!(false));
    let stored = by_key(flows["rows"].as_array().unwrap().iter().map(|row| from_row(row, rate)));
    let reference = by_key(sfacctd["records"].as_array().unwrap().iter().map(from_sfacctd));
    if sfacctd_kept_all {
        assert_eq!(stored.len(), reference.len(), "flow keys\n{context}");
        let differences: Vec<_> =
            reference.iter().filter(|(key, n)| stored.get(*key) != Some(n)).take(5).collect();
        assert!(
            differences.is_empty(),
            "sfacctd's flows that flowsage counted otherwise: {differences:?}"
        );
    } else {
        // What sfacctd did keep, flowsage has at least as much of.
        let short: Vec<_> =
            reference.iter().filter(|(key, n)| stored.get(*key) < Some(n)).take(5).collect();
        assert!(short.is_empty(), "flows sfacctd counted more of than flowsage: {short:?}");
    }

    // then: the exporter's counters account for every sample, with no errors
    let exporter = &exporters["exporters"][0];
    assert_eq!(exporters["exporters"].as_array().unwrap().len(), 1, "{exporters:#}");
    assert_eq!(exporter["address"], json!("127.0.0.1"));
    assert_eq!(exporter["protocols"], json!(["sflow_v5"]));
    assert_eq!(exporter["records"], totals[0], "{exporters:#}");
    assert_eq!(exporter["datagrams"], replay["tee"]["datagrams"], "{exporters:#}");
    assert_eq!(exporter["decode_errors"], json!({}), "{exporters:#}");
    assert_eq!(exporter["queue_drops"], json!(0), "{exporters:#}");
}

/// Writes the test capture into `dir`.
fn make_pcap(dir: &Path) -> String {
    let pcap = dir.join("flows.pcap").display().to_string();
    let (flows, per_flow) = (PCAP_FLOWS.to_string(), PACKETS_PER_FLOW.to_string());
    support::python("make_pcap.py", &[&pcap, &flows, &per_flow], Duration::from_secs(60));
    pcap
}

/// pmacctd samples `pcap` into sFlow through the tee to `serve` and sfacctd.
fn replay(serve: &Serve, pcap: &str, rate: u64) -> Value {
    let work = serve.scratch(&format!("replay-sflow-{rate}"));
    let (rate, port, work) =
        (rate.to_string(), serve.flow_port.to_string(), work.display().to_string());
    let args = [pcap, rate.as_str(), port.as_str(), work.as_str()];
    support::python_json("replay_sflow.py", &args, REPLAY_TIMEOUT)
}

fn mcp_http(serve: &Serve, plan: Value) -> Value {
    let plan = plan.to_string();
    let args = ["http", serve.mcp_url.as_str(), TOKEN, plan.as_str()];
    support::python_json("mcp_client.py", &args, MCP_TIMEOUT)
}

/// The parsed JSON of a successful tool result; panics with the text otherwise.
fn ok_json(result: &Value) -> &Value {
    assert_eq!(result["is_error"], json!(false), "tool error: {}", result["text"]);
    &result["json"]
}

/// A flow key as sfacctd aggregates: addresses, ports, protocol. sfacctd
/// leaves ICMP ports at 0, where flowsage keeps type * 256 + code.
type Key = (IpAddr, IpAddr, u64, u64, u64);

/// A row of [`FLOWS_SQL`] sampled at 1 in `rate`: its key, and its samples
/// and their bytes as sfacctd counts them.
fn from_row(row: &Value, rate: u64) -> (Key, u64, u64) {
    let addr = |v: &Value| {
        let v6: Ipv6Addr = v.as_str().and_then(|s| s.parse().ok()).expect("an IPv6 string");
        v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6))
    };
    let [src_port, dst_port, protocol, packets, bytes] =
        [&row[2], &row[3], &row[4], &row[5], &row[6]].map(|n| n.as_u64().expect("a number"));
    let dst_port = if matches!(protocol, 1 | 58) { 0 } else { dst_port };
    let key = (addr(&row[0]), addr(&row[1]), src_port, dst_port, protocol);
    let samples = packets / rate;
    (key, samples, bytes / rate + LINK_OVERHEAD * samples)
}

/// A flow of `replay_sflow.py`'s sfacctd listing.
fn from_sfacctd(flow: &Value) -> (Key, u64, u64) {
    let addr = |v: &Value| v.as_str().and_then(|s| s.parse().ok()).expect("an address");
    let number = |v: &Value| v.as_u64().expect("a number");
    let key = (
        addr(&flow["src"]),
        addr(&flow["dst"]),
        number(&flow["src_port"]),
        number(&flow["dst_port"]),
        number(&flow["protocol"]),
    );
    (key, number(&flow["packets"]), number(&flow["bytes"]))
}

/// Packets and bytes summed per key.
fn by_key(flows: impl Iterator<Item = (Key, u64, u64)>) -> BTreeMap<Key, (u64, u64)> {
    let mut sums = BTreeMap::new();
    for (key, packets, bytes) in flows {
        let sum: &mut (u64, u64) = sums.entry(key).or_default();
        sum.0 += packets;
        sum.1 += bytes;
    }
    sums
}
