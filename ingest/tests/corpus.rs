//! Real exporters' NetFlow v5, v9, IPFIX and sFlow v5 datagrams replayed through [`FlowDecoder`].
//!
//! Every case in [`CASES`] feeds its files, in order, to one decoder, then
//! checks three things: the number of flow records, options records and
//! errors by kind; the facts that the files' sources give about them (their
//! projects' tests and outputs, tshark, or an independent walk of the
//! templates; each case says which, never values read back from our own
//! output); and a JSON-lines golden of every record, compared byte for byte.
//! `UPDATE_GOLDEN=1 cargo test -p flowsage-ingest --test corpus` rewrites the
//! goldens instead of comparing them; review their diff before committing.
//!
//! Files are either raw UDP payloads (`.dat`, one exporter address chosen
//! here) or captures (`.pcap` / `.pcapng`), whose frames are read by
//! `flowsage_ingest::capture`, as `flowsage replay` reads them: the UDP
//! payload of each frame is one datagram, its IP source address the exporter,
//! its capture time the receive time. IP fragments are not reassembled; a
//! capture holding one, or any frame not whole, fails loudly.
//! A `.dat` file's receive time is the export time in its header.
//!
//! A case marked with a [`Gap`] loses records to a known decoder fault; it
//! asserts today's outcome, and fails once the fault is gone so that the source
//! project's facts can be asserted instead. No case has one today.
//!
//! Logstash, the source of the `.dat` files, emits options data records as
//! events too, so its event counts are `records + options` here, and its
//! event indexes count options records that our record indexes skip.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv6Addr};
use std::path::{Path, PathBuf};

use flowsage_ingest::capture::{CaptureReader, Skip};
use flowsage_ingest::decode::{DecodeErrorKind, FlowDecoder};
use flowsage_ingest::flow::FlowRecord;
use serde_json::{Map, Value, json};

use DecodeErrorKind::*;

/// Exporter address used for `.dat` files: RFC 5737 documentation space.
const EXPORTER_A: &str = "192.0.2.1";
/// A second exporter, for cases that interleave two.
const EXPORTER_B: &str = "192.0.2.2";

/// One file of a case.
enum Input {
    /// A raw UDP payload from the exporter at this address.
    Dat(&'static str, &'static str),
    /// A capture and the number of UDP datagrams in it.
    Pcap(&'static str, usize),
}

/// A value the source project asserts about the decoded records.
enum Fact {
    /// Record `.0`'s golden field `.1` renders as `.2` (numbers without quotes).
    At(usize, &'static str, &'static str),
    /// Some record has all these golden fields.
    Any(&'static [(&'static str, &'static str)]),
    /// The numeric golden field `.0` adds up to `.1` over all records.
    Sum(&'static str, u64),
    /// The replay decoded this many sFlow counter samples (counted, not stored).
    CounterSamples(usize),
}

use Fact::{Any, At, CounterSamples, Sum};

struct Case {
    /// Names the golden file `tests/corpus/golden/<name>.jsonl`.
    name: &'static str,
    inputs: &'static [Input],
    /// Flow records appended to the output.
    records: usize,
    /// Options data records applied (sampling, clock, names).
    options: usize,
    errors: &'static [(DecodeErrorKind, usize)],
    facts: &'static [Fact],
    /// Why the case decodes less than its source project says, if it does.
    gap: Option<Gap>,
}

/// Known decoder faults that lose real exporters' records, one variant per
/// fault, named by what goes wrong. A case with a gap asserts today's outcome
/// and its comment gives what the source project decodes.
///
/// None today: the five faults of `netgauze-flow-pkt` 0.13 that 18 cases were
/// marked with (v9 vendor types read as enterprise elements, unassigned ids
/// and lengths outside the registry rejecting templates, unknown or long-form
/// variable-length fields) went with it, when flowsage took over the NetFlow
/// v9 and IPFIX decoding.
#[derive(Debug, Clone, Copy)]
enum Gap {}

const CASES: &[Case] = &[
    // ---- NetFlow v5: logstash-codec-netflow spec/codecs ----
    Case {
        name: "nf5_softflowd",
        // softflowd, captured with nc: twelve v5 packets back to back. Logstash reads
        // the first only, its 2 events; the twelve hold 30 records, 230 packets and
        // 18684 bytes (independent walk). Record 0's First is 0xffffffff, a millisecond
        // before the uptime clock began: with sysUptime 3381 at the export, 18:38:08.280,
        // it starts 3.382 s and ends (Last 2577) 0.804 s earlier. Logstash shows First
        // unwrapped, on 2015-06-21.
        inputs: &[Input::Dat("netflow5/logstash-netflow5.dat", EXPORTER_A)],
        records: 30,
        options: 0,
        errors: &[],
        facts: &[
            At(0, "src_addr", "::ffff:10.0.2.2"),
            At(0, "src_port", "54435"),
            At(0, "dst_addr", "::ffff:10.0.2.15"),
            At(0, "dst_port", "22"),
            At(0, "tcp_flags", "16"),
            At(0, "packets", "5"),
            At(0, "bytes", "230"),
            At(0, "time_start", "2015-05-02T18:38:04.898Z"),
            At(0, "time_end", "2015-05-02T18:38:07.476Z"),
            At(1, "src_addr", "::ffff:10.0.2.15"),
            At(1, "src_port", "22"),
            At(1, "dst_addr", "::ffff:10.0.2.2"),
            At(1, "dst_port", "54435"),
            At(1, "tcp_flags", "24"),
            At(1, "packets", "4"),
            At(1, "bytes", "304"),
            Sum("packets", 230),
            Sum("bytes", 18684),
        ],
        gap: None,
    },
    Case {
        name: "nf5_invalid01",
        // Logstash asserts only that decoding does not fail. The header counts 55582
        // records (tshark); the 1440 bytes after it hold 30, which decode.
        inputs: &[Input::Dat("netflow5/logstash-netflow5_test_invalid01.dat", EXPORTER_A)],
        records: 30,
        options: 0,
        errors: &[(Truncated, 1)],
        facts: &[],
        gap: None,
    },
    Case {
        name: "nf5_invalid02",
        // Logstash asserts only that decoding does not fail. The header counts 163
        // records (tshark); the 1440 bytes after it hold 30, which decode.
        inputs: &[Input::Dat("netflow5/logstash-netflow5_test_invalid02.dat", EXPORTER_A)],
        records: 30,
        options: 0,
        errors: &[(Truncated, 1)],
        facts: &[],
        gap: None,
    },
    Case {
        name: "nf5_juniper_mx80",
        // Logstash: 29 records, flow_seq_num 528678 (a header field flowsage does not
        // keep), sampling interval 1000 with the mode bits clear; record 28 sent 2
        // packets and 104 bytes, stored here scaled by 1000. Its First and Last are
        // 18.064 s before the export at 13:52:52.000; logstash's 13:52:34.936 is a
        // second late. The 29 records add up to 31 packets and 3989 bytes unscaled
        // (independent walk).
        inputs: &[Input::Dat("netflow5/logstash-netflow5_test_juniper_mx80.dat", EXPORTER_A)],
        records: 29,
        options: 0,
        errors: &[],
        facts: &[
            At(28, "src_addr", "::ffff:66.249.92.75"),
            At(28, "src_port", "37387"),
            At(28, "dst_addr", "::ffff:192.168.0.1"),
            At(28, "dst_port", "80"),
            At(28, "next_hop", "::ffff:192.168.0.1"),
            At(28, "in_if", "542"),
            At(28, "out_if", "536"),
            At(28, "protocol", "6"),
            At(28, "tcp_flags", "16"),
            At(28, "tos", "0"),
            At(28, "src_as", "15169"),
            At(28, "dst_as", "64496"),
            At(28, "src_mask", "19"),
            At(28, "dst_mask", "24"),
            At(28, "sampling_rate", "1000"),
            At(28, "packets", "2000"),
            At(28, "bytes", "104000"),
            At(28, "time_start", "2016-07-21T13:52:33.936Z"),
            At(28, "time_end", "2016-07-21T13:52:33.936Z"),
            Sum("packets", 31_000),
            Sum("bytes", 3_989_000),
        ],
        gap: None,
    },
    Case {
        name: "nf5_mikrotik",
        // Logstash: 30 records, flow_seq_num 8140050 (not kept). Record 29's First and
        // Last are 15.260 s before the export at 13:51:57.514: 13:51:42.254, as
        // logstash's older spec had it (its current one drops the milliseconds of the
        // export). Unsampled: 160 packets and 40812 bytes (independent walk).
        inputs: &[Input::Dat("netflow5/logstash-netflow5_test_microtik.dat", EXPORTER_A)],
        records: 30,
        options: 0,
        errors: &[],
        facts: &[
            At(29, "src_addr", "::ffff:10.0.8.1"),
            At(29, "src_port", "80"),
            At(29, "dst_addr", "::ffff:192.168.0.1"),
            At(29, "dst_port", "51826"),
            At(29, "next_hop", "::ffff:192.168.0.1"),
            At(29, "in_if", "13"),
            At(29, "out_if", "46"),
            At(29, "protocol", "6"),
            At(29, "tcp_flags", "82"),
            At(29, "tos", "40"),
            At(29, "packets", "13"),
            At(29, "bytes", "11442"),
            At(29, "sampling_rate", "0"),
            At(29, "time_start", "2016-07-21T13:51:42.254Z"),
            Sum("packets", 160),
            Sum("bytes", 40_812),
        ],
        gap: None,
    },
    // ---- NetFlow v9: logstash-codec-netflow spec/codecs ----
    Case {
        name: "nf9_softflowd_valid01",
        // softflowd: two templates and seven data records in one datagram. Logstash
        // shows FIRST_SWITCHED as 19:03:47.999: it applies the millisecond remainder
        // as microseconds. From the wire: export at 19:04:30 with sysUpTime 45076 ms,
        // FIRST_SWITCHED 1216 and LAST_SWITCHED 1217 are 43.860 s and 43.859 s earlier.
        inputs: &[Input::Dat("netflow9/logstash-netflow9_test_valid01.dat", EXPORTER_A)],
        records: 7,
        options: 0,
        errors: &[],
        facts: &[
            At(0, "src_addr", "::ffff:172.16.32.100"),
            At(0, "dst_addr", "::ffff:172.16.32.248"),
            At(0, "src_port", "123"),
            At(0, "dst_port", "123"),
            At(0, "protocol", "17"),
            At(0, "bytes", "76"),
            At(0, "packets", "1"),
            At(0, "time_start", "2015-10-08T19:03:46.140Z"),
            At(0, "time_end", "2015-10-08T19:03:46.141Z"),
        ],
        gap: None,
    },
    Case {
        name: "nf9_two_exporters_nprobe_softflowd",
        // Logstash's 9 events: nProbe's options record, softflowd's 7 flows, nProbe's
        // flow. nProbe pads its data set with non-zero bytes.
        inputs: &[
            Input::Dat("netflow9/logstash-netflow9_test_nprobe_tpl.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_softflowd_tpl_data.dat", EXPORTER_B),
            Input::Dat("netflow9/logstash-netflow9_test_nprobe_data.dat", EXPORTER_A),
        ],
        records: 8,
        options: 1,
        errors: &[],
        facts: &[
            At(0, "src_port", "123"),
            At(0, "exporter", "::ffff:192.0.2.2"),
            At(7, "exporter", "::ffff:192.0.2.1"),
            At(7, "src_addr", "::ffff:172.16.32.201"),
            At(7, "src_port", "22"),
            At(7, "dst_addr", "::ffff:172.16.32.1"),
            At(7, "dst_port", "65058"),
            At(7, "bytes", "200"),
            At(7, "packets", "2"),
            At(7, "tos", "16"),
            At(7, "tcp_flags", "24"),
        ],
        gap: None,
    },
    Case {
        name: "nf9_macaddr",
        // Logstash's event 1 is our record 0: its event 0 is the options record.
        // 29 records by an independent walk of template 257.
        inputs: &[
            Input::Dat("netflow9/logstash-netflow9_test_macaddr_tpl.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_macaddr_data.dat", EXPORTER_A),
        ],
        records: 29,
        options: 1,
        errors: &[],
        facts: &[
            At(0, "src_addr", "::ffff:172.16.32.1"),
            At(0, "src_port", "65058"),
            At(0, "dst_addr", "::ffff:172.16.32.201"),
            At(0, "dst_port", "22"),
            At(0, "protocol", "6"),
        ],
        gap: None,
    },
    Case {
        name: "nf9_cisco_asa_1",
        // Logstash: 14 records; record 1 is 192.168.23.22:17549 -> 164.164.37.11, interfaces
        // 2 -> 3, ICMP echo request (icmp_type 8, code 0: dst_port 2048 here, where
        // logstash leaves l4_dst_port 0), in_permanent_bytes 56 (octetTotalCount, the only
        // counter NSEL flow-create events carry), flowStartMilliseconds 1444384068169. The
        // templates carry 80 vendor types (>= 32768). The 14 records add up to 888 bytes
        // (independent walk).
        inputs: &[
            Input::Dat("netflow9/logstash-netflow9_test_cisco_asa_1_tpl.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_cisco_asa_1_data.dat", EXPORTER_A),
        ],
        records: 14,
        options: 0,
        errors: &[],
        facts: &[
            At(1, "src_addr", "::ffff:192.168.23.22"),
            At(1, "src_port", "17549"),
            At(1, "dst_addr", "::ffff:164.164.37.11"),
            At(1, "dst_port", "2048"),
            At(1, "protocol", "1"),
            At(1, "in_if", "2"),
            At(1, "out_if", "3"),
            At(1, "bytes", "56"),
            At(1, "time_start", "2015-10-09T09:47:48.169Z"),
            Sum("bytes", 888),
        ],
        gap: None,
    },
    Case {
        name: "nf9_cisco_asa_2",
        // Logstash: 19 records; record 18 is 192.168.0.1:56651 -> 192.168.0.18:80,
        // interfaces 3 -> 4, TCP, fwd_flow_delta_bytes 69 and rev_flow_delta_bytes 14178
        // (initiatorOctets, responderOctets: the connection's 14247 bytes here),
        // flowStartMilliseconds 1469109036395. The records of template 256 (flow-create
        // events, no counters) decoded before with source 0.0.0.0: the old parser misread
        // the template after its first vendor type. All 19 add up to 130362 bytes
        // (independent walk).
        inputs: &[
            Input::Dat("netflow9/logstash-netflow9_test_cisco_asa_2_tpl_26x.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_cisco_asa_2_tpl_27x.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_cisco_asa_2_data.dat", EXPORTER_A),
        ],
        records: 19,
        options: 0,
        errors: &[],
        facts: &[
            At(18, "src_addr", "::ffff:192.168.0.1"),
            At(18, "src_port", "56651"),
            At(18, "dst_addr", "::ffff:192.168.0.18"),
            At(18, "dst_port", "80"),
            At(18, "protocol", "6"),
            At(18, "in_if", "3"),
            At(18, "out_if", "4"),
            At(18, "bytes", "14247"),
            At(18, "time_start", "2016-07-21T13:50:36.395Z"),
            Sum("bytes", 130_362),
        ],
        gap: None,
    },
    Case {
        name: "nf9_cisco_asr9k",
        // One ASR 9000 (source id 2177): options templates 256, 257, 334, data
        // templates 260 and 266, 19 interface-name options records, then flows.
        // FLOW_SAMPLER_ID 1 has no sampler options record here: rate unknown.
        inputs: &[
            Input::Dat("netflow9/logstash-netflow9_test_cisco_asr9k_opttpl256.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_cisco_asr9k_opttpl257.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_cisco_asr9k_opttpl334.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_cisco_asr9k_tpl260.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_cisco_asr9k_tpl266.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_cisco_asr9k_data256.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_cisco_asr9k_data260.dat", EXPORTER_A),
        ],
        records: 21,
        options: 19,
        errors: &[],
        facts: &[
            At(20, "observation_domain", "2177"),
            At(20, "src_addr", "::ffff:10.0.29.46"),
            At(20, "dst_addr", "::ffff:10.0.15.38"),
            At(20, "src_port", "443"),
            At(20, "dst_port", "52364"),
            At(20, "protocol", "6"),
            At(20, "tcp_flags", "18"),
            At(20, "bytes", "112"),
            At(20, "packets", "2"),
            At(20, "sampling_rate", "0"),
            At(20, "in_if", "75"),
            At(20, "out_if", "158"),
            At(20, "src_as", "15169"),
            At(20, "dst_as", "64498"),
            At(20, "src_mask", "24"),
            At(20, "dst_mask", "24"),
            At(20, "next_hop", "::ffff:10.0.14.27"),
        ],
        gap: None,
    },
    Case {
        name: "nf9_cisco_nbar_options",
        // Fifteen application-name options records, no flows.
        inputs: &[Input::Dat(
            "netflow9/logstash-netflow9_test_cisco_nbar_opttpl260.dat",
            EXPORTER_A,
        )],
        records: 0,
        options: 15,
        errors: &[],
        facts: &[],
        gap: None,
    },
    Case {
        name: "nf9_cisco_nbar_flows",
        inputs: &[
            Input::Dat("netflow9/logstash-netflow9_test_cisco_nbar_tpl262.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_cisco_nbar_data262.dat", EXPORTER_A),
        ],
        records: 5,
        options: 0,
        errors: &[],
        facts: &[
            At(4, "src_addr", "::ffff:10.10.172.60"),
            At(4, "src_port", "45269"),
            At(4, "dst_addr", "::ffff:10.30.19.180"),
            At(4, "dst_port", "161"),
            At(4, "protocol", "17"),
            At(4, "packets", "36"),
            At(4, "bytes", "2794"),
            At(4, "in_if", "1"),
        ],
        gap: None,
    },
    Case {
        name: "nf9_cisco_wlc",
        // The options template set ends in two non-zero padding bytes.
        inputs: &[
            Input::Dat("netflow9/logstash-netflow9_test_cisco_wlc_tpl.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_cisco_wlc_data261.dat", EXPORTER_A),
        ],
        records: 19,
        options: 0,
        errors: &[],
        facts: &[At(18, "bytes", "80973880")],
        gap: None,
    },
    Case {
        name: "nf9_cisco_wlc_8510_templates",
        // Templates only; logstash asserts that decoding does not fail. Options
        // template 258 and template 262 carry field type 20000, skipped by length.
        inputs: &[Input::Dat(
            "netflow9/logstash-netflow9_test_cisco_wlc_8510_tpl_262.dat",
            EXPORTER_A,
        )],
        records: 0,
        options: 0,
        errors: &[],
        facts: &[],
        gap: None,
    },
    Case {
        name: "nf9_cisco_aci",
        // The template datagram ends in 64 zero bytes after its three sets.
        inputs: &[
            Input::Dat("netflow9/logstash-netflow9_test_cisco_aci_tpl256-258.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_cisco_aci_data256.dat", EXPORTER_A),
        ],
        records: 3,
        options: 0,
        errors: &[],
        facts: &[
            At(0, "src_addr", "::ffff:10.154.231.145"),
            At(0, "dst_addr", "::ffff:10.154.231.146"),
            At(0, "src_port", "179"),
            At(0, "dst_port", "49411"),
            At(0, "packets", "2"),
        ],
        gap: None,
    },
    Case {
        name: "nf9_cisco_asr1001x",
        // Header count 26 = one template + 25 data records (tshark).
        inputs: &[Input::Dat("netflow9/logstash-netflow9_cisco_asr1001x_tpl259.dat", EXPORTER_A)],
        records: 25,
        options: 0,
        errors: &[],
        facts: &[],
        gap: None,
    },
    Case {
        name: "nf9_cisco_1941k9",
        // Header count 30 = one template + 29 data records (tshark).
        inputs: &[Input::Dat("netflow9/logstash-netflow9_test_cisco_1941K9.dat", EXPORTER_A)],
        records: 29,
        options: 0,
        errors: &[],
        facts: &[],
        gap: None,
    },
    Case {
        name: "nf9_layer2segmentid",
        inputs: &[
            Input::Dat("netflow9/logstash-netflow9_test_field_layer2segmentid_tpl.dat", EXPORTER_A),
            Input::Dat(
                "netflow9/logstash-netflow9_test_field_layer2segmentid_data.dat",
                EXPORTER_A,
            ),
        ],
        records: 1,
        options: 0,
        errors: &[],
        facts: &[At(0, "dst_addr", "::ffff:80.82.237.40")],
        gap: None,
    },
    Case {
        name: "nf9_fortigate_521",
        // Logstash's event 0 is the options record (total_bytes_exp), event 1 our
        // record 0. FortiOS 5.2.1 runs FIRST/LAST_SWITCHED (621761700, 621770700 ms)
        // days ahead of the header's sysUpTime (20412178 ms): the flow would end a
        // week after its export, so its times are held at the export time.
        inputs: &[
            Input::Dat("netflow9/logstash-netflow9_test_fortigate_fortios_521_tpl.dat", EXPORTER_A),
            Input::Dat(
                "netflow9/logstash-netflow9_test_fortigate_fortios_521_data256.dat",
                EXPORTER_A,
            ),
            Input::Dat(
                "netflow9/logstash-netflow9_test_fortigate_fortios_521_data257.dat",
                EXPORTER_A,
            ),
        ],
        records: 1,
        options: 1,
        errors: &[],
        facts: &[
            At(0, "src_addr", "::ffff:192.168.99.7"),
            At(0, "time_start", "2017-07-18T05:41:59.000Z"),
            At(0, "time_end", "2017-07-18T05:41:59.000Z"),
        ],
        gap: None,
    },
    Case {
        name: "nf9_fortigate_542_appid",
        // Logstash: 17 records (its facts are application ids, which flowsage does not
        // keep). The templates carry field type 65, skipped by length. Record 0 and the
        // sums, 29492 bytes and 105 packets (IN_BYTES, equal to OUT_BYTES here), by an
        // independent walk.
        inputs: &[
            Input::Dat(
                "netflow9/logstash-netflow9_test_fortigate_fortios_542_appid_tpl258-269.dat",
                EXPORTER_A,
            ),
            Input::Dat(
                "netflow9/logstash-netflow9_test_fortigate_fortios_542_appid_data258_262.dat",
                EXPORTER_A,
            ),
        ],
        records: 17,
        options: 0,
        errors: &[],
        facts: &[
            At(0, "src_addr", "::ffff:192.168.100.151"),
            At(0, "src_port", "45380"),
            At(0, "dst_addr", "::ffff:182.50.136.239"),
            At(0, "dst_port", "80"),
            At(0, "in_if", "8"),
            At(0, "out_if", "2"),
            At(0, "bytes", "748"),
            At(0, "packets", "6"),
            Sum("bytes", 29_492),
            Sum("packets", 105),
        ],
        gap: None,
    },
    Case {
        name: "nf9_h3c",
        // Logstash: 16 records (its facts are traffic indexes, which flowsage does not
        // keep). The template sends element 43 in 2 bytes and field type 0. Record 0 and
        // the sums by an independent walk.
        inputs: &[
            Input::Dat("netflow9/logstash-netflow9_test_h3c_tpl3281.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_h3c_data3281.dat", EXPORTER_A),
        ],
        records: 16,
        options: 0,
        errors: &[],
        facts: &[
            At(0, "observation_domain", "2816"),
            At(0, "src_addr", "::ffff:10.22.166.30"),
            At(0, "dst_addr", "::ffff:10.22.163.21"),
            At(0, "in_if", "2662"),
            At(0, "out_if", "1590"),
            At(0, "bytes", "1027087"),
            At(0, "packets", "697"),
            Sum("bytes", 8_729_687),
            Sum("packets", 6113),
        ],
        gap: None,
    },
    Case {
        name: "nf9_h3c_varstring",
        // Logstash: 1 record, source port 137, VRFname ''. The template uses IPFIX's
        // variable-length marker 65535, which NetFlow v9 does not define, and is read
        // as IPFIX's. Addresses and counters by an independent walk.
        inputs: &[
            Input::Dat(
                "netflow9/logstash-netflow9_test_h3c_netstream_varstring_tpl3281.dat",
                EXPORTER_A,
            ),
            Input::Dat(
                "netflow9/logstash-netflow9_test_h3c_netstream_varstring_data3281.dat",
                EXPORTER_A,
            ),
        ],
        records: 1,
        options: 0,
        errors: &[],
        facts: &[
            At(0, "src_port", "137"),
            At(0, "src_addr", "::ffff:20.20.20.20"),
            At(0, "dst_addr", "::ffff:20.20.255.255"),
            At(0, "bytes", "702"),
            At(0, "packets", "9"),
        ],
        gap: None,
    },
    Case {
        name: "nf9_huawei_netstream",
        inputs: &[
            Input::Dat("netflow9/logstash-netflow9_test_huawei_netstream_tpl.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_huawei_netstream_data.dat", EXPORTER_A),
        ],
        records: 1,
        options: 0,
        errors: &[],
        facts: &[],
        gap: None,
    },
    Case {
        name: "nf9_invalid01",
        // Logstash asserts only that decoding does not fail. An options record says
        // 1 in 100 sampling for the whole exporter; two flows follow, scaled by it.
        inputs: &[Input::Dat("netflow9/logstash-netflow9_test_invalid01.dat", EXPORTER_A)],
        records: 2,
        options: 1,
        errors: &[],
        facts: &[],
        gap: None,
    },
    Case {
        name: "nf9_iptnetflow_reduced_size",
        // ipt_netflow sends data sets 259 and 262 whose templates are not in the
        // datagram: six sets counted and skipped, the twelve records of 260 kept.
        inputs: &[Input::Dat(
            "netflow9/logstash-netflow9_test_iptnetflow_reduced_size_encoding_tpldata260.dat",
            EXPORTER_A,
        )],
        records: 12,
        options: 0,
        errors: &[(MissingTemplate, 6)],
        facts: &[At(11, "src_addr", "::ffff:2.17.140.47")],
        gap: None,
    },
    Case {
        name: "nf9_juniper_srx_options",
        // One options record (sampling algorithm 2, interval 1) and a template.
        inputs: &[Input::Dat("netflow9/logstash-netflow9_test_juniper_srx_tplopt.dat", EXPORTER_A)],
        records: 0,
        options: 1,
        errors: &[],
        facts: &[],
        gap: None,
    },
    Case {
        name: "nf9_nprobe_dpi",
        // Logstash: 1 record, in_bytes 82; nProbe's L7 protocol is in types >= 32768,
        // skipped by length. The header's export time is 502 s after 1970.
        inputs: &[Input::Dat("netflow9/logstash-netflow9_test_nprobe_dpi.dat", EXPORTER_A)],
        records: 1,
        options: 0,
        errors: &[],
        facts: &[At(0, "bytes", "82"), At(0, "packets", "1")],
        gap: None,
    },
    Case {
        name: "nf9_paloalto_81_zero_filled",
        // Logstash: 1 record, 134.220.2.6, app-id kerberos (a vendor type). The data
        // datagram is one set, then zero bytes up to 1400: padding, not an error.
        // Counters by an independent walk.
        inputs: &[
            Input::Dat("netflow9/logstash-netflow9_test_paloalto_81_tpl256-263.dat", EXPORTER_A),
            Input::Dat(
                "netflow9/logstash-netflow9_test_paloalto_81_data257_1flowset_in_large_zerofilled_packet.dat",
                EXPORTER_A,
            ),
        ],
        records: 1,
        options: 0,
        errors: &[],
        facts: &[
            At(0, "src_addr", "::ffff:134.220.2.6"),
            At(0, "bytes", "363"),
            At(0, "packets", "3"),
        ],
        gap: None,
    },
    Case {
        name: "nf9_paloalto_panos",
        // Logstash: 8 records (its fact is an app-id, a vendor type skipped here).
        // Sums by an independent walk.
        inputs: &[
            Input::Dat("netflow9/logstash-netflow9_test_paloalto_panos_tpl.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_paloalto_panos_data.dat", EXPORTER_A),
        ],
        records: 8,
        options: 0,
        errors: &[],
        facts: &[Sum("bytes", 617), Sum("packets", 8)],
        gap: None,
    },
    Case {
        name: "nf9_streamcore",
        // Logstash: 4 records; the templates carry field type 8196 and other
        // unassigned ones. Logstash's times are not asserted: it shows the millisecond
        // remainder as microseconds (see nf9_softflowd_valid01).
        inputs: &[
            Input::Dat("netflow9/logstash-netflow9_test_streamcore_tpl_data256.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_streamcore_tpl_data260.dat", EXPORTER_A),
        ],
        records: 4,
        options: 0,
        errors: &[],
        facts: &[
            At(0, "src_addr", "::ffff:100.78.40.201"),
            At(0, "src_port", "8080"),
            At(0, "dst_addr", "::ffff:10.231.128.150"),
            At(0, "dst_port", "50073"),
            At(0, "protocol", "6"),
            At(0, "tcp_flags", "19"),
            At(0, "tos", "40"),
            At(0, "packets", "3"),
            At(0, "bytes", "128"),
            At(0, "in_if", "1152"),
            At(0, "out_if", "1148"),
            At(3, "src_addr", "::ffff:10.27.8.20"),
            At(3, "src_port", "53483"),
            At(3, "dst_addr", "::ffff:100.78.40.201"),
            At(3, "dst_port", "8080"),
            At(3, "packets", "11"),
            At(3, "bytes", "3052"),
            At(3, "in_if", "1148"),
            At(3, "out_if", "1152"),
        ],
        gap: None,
    },
    Case {
        name: "nf9_ubnt_edgerouter",
        inputs: &[
            Input::Dat("netflow9/logstash-netflow9_test_ubnt_edgerouter_tpl.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_ubnt_edgerouter_data1024.dat", EXPORTER_A),
            Input::Dat("netflow9/logstash-netflow9_test_ubnt_edgerouter_data1025.dat", EXPORTER_A),
        ],
        records: 16,
        options: 0,
        errors: &[],
        facts: &[
            At(0, "src_addr", "::ffff:10.1.0.135"),
            At(15, "src_addr", "::ffff:192.168.1.102"),
            At(15, "src_port", "47690"),
            At(15, "dst_addr", "::ffff:10.2.0.95"),
            At(15, "dst_port", "443"),
            At(15, "packets", "21"),
            At(15, "bytes", "3668"),
            At(15, "tcp_flags", "27"),
            At(15, "in_if", "2"),
            At(15, "out_if", "4"),
        ],
        gap: None,
    },
    Case {
        name: "nf9_zero_length_fields",
        // Logstash: 10 records; record 9 is 192.168.1.33 -> 239.255.255.250, IGMP,
        // interfaces 2 -> 3, masks /32, in_bytes 0 and out_bytes 32, in_pkts 0 and
        // out_pkts 1: an egress record, whose OUT counters (postOctetDeltaCount) stand
        // in for the zero IN ones. The template carries field type 0 with length 0.
        // Over all records, IN and OUT add up to 160 bytes and 5 packets, never both
        // in one record (independent walk).
        inputs: &[Input::Dat(
            "netflow9/logstash-netflow9_test_0length_fields_tpl_data.dat",
            EXPORTER_A,
        )],
        records: 10,
        options: 0,
        errors: &[],
        facts: &[
            At(9, "src_addr", "::ffff:192.168.1.33"),
            At(9, "dst_addr", "::ffff:239.255.255.250"),
            At(9, "protocol", "2"),
            At(9, "in_if", "2"),
            At(9, "out_if", "3"),
            At(9, "src_mask", "32"),
            At(9, "dst_mask", "32"),
            At(9, "bytes", "32"),
            At(9, "packets", "1"),
            Sum("bytes", 160),
            Sum("packets", 5),
        ],
        gap: None,
    },
    Case {
        name: "nf9_flow_start_seconds",
        // Options templates 256/257, templates 266/292 and one record of each.
        inputs: &[Input::Dat(
            "netflow9/logstash-netflow9_test_unknown_tpl266_292_data.dat",
            EXPORTER_A,
        )],
        records: 2,
        options: 0,
        errors: &[],
        facts: &[At(1, "time_start", "2017-12-01T17:04:29.000Z")],
        gap: None,
    },
    // ---- NetFlow v9 captures: pmacct tests, NetGauze snapshots ----
    Case {
        name: "nf9_pmacct_101_asr9k",
        // 51 records per tshark and the NetGauze snapshot; pmacct's aggregates add up
        // to 56 packets and 4500 bytes.
        inputs: &[Input::Pcap("netflow9/pmacct-101-nfv9-cisco-asr9k.pcap", 40)],
        records: 51,
        options: 0,
        errors: &[],
        facts: &[Sum("packets", 56), Sum("bytes", 4500)],
        gap: None,
    },
    Case {
        name: "nf9_pmacct_102_two_source_ids",
        // One exporter, source ids 2081 and 2193 with their own template 313 each;
        // 35 records in the NetGauze snapshot.
        inputs: &[Input::Pcap("netflow9/pmacct-102-nfv9-cisco-two-source-ids.pcap", 25)],
        records: 35,
        options: 0,
        errors: &[],
        facts: &[Any(&[("observation_domain", "2081")]), Any(&[("observation_domain", "2193")])],
        gap: None,
    },
    Case {
        name: "nf9_pmacct_111_ipv4_exporter",
        // 11 records in the NetGauze snapshot.
        inputs: &[Input::Pcap("netflow9/pmacct-111-nfv9-ipv4-exporter.pcap", 11)],
        records: 11,
        options: 0,
        errors: &[],
        facts: &[],
        gap: None,
    },
    // ---- IPFIX: logstash-codec-netflow spec/codecs ----
    Case {
        name: "ipfix_softflowd",
        // Captured with nc: three IPFIX messages back to back in one file. Logstash
        // reads the first only: its 7 events are the options record
        // (systemInitTimeMilliseconds 1431516013506, sampling 1 in 1) and 6 flows;
        // the other two messages add 1 and 5 flows (independent walk). The first flow
        // has flowStartSysUpTime 0 and flowEndSysUpTime 12726, the fifth 1142 and 2392.
        inputs: &[Input::Dat("ipfix/logstash-ipfix.dat", EXPORTER_A)],
        records: 12,
        options: 1,
        errors: &[],
        facts: &[
            At(0, "src_addr", "::ffff:192.168.253.1"),
            At(0, "src_port", "60560"),
            At(0, "dst_addr", "::ffff:192.168.253.128"),
            At(0, "dst_port", "22"),
            At(0, "protocol", "6"),
            At(0, "tcp_flags", "16"),
            At(0, "bytes", "260"),
            At(0, "packets", "5"),
            At(0, "sampling_rate", "1"),
            At(0, "time_start", "2015-05-13T11:20:13.506Z"),
            At(0, "time_end", "2015-05-13T11:20:26.232Z"),
            At(4, "src_addr", "::ffff:54.214.9.161"),
            At(4, "src_port", "443"),
            At(4, "dst_addr", "::ffff:192.168.253.132"),
            At(4, "dst_port", "49935"),
            At(4, "tcp_flags", "26"),
            At(4, "bytes", "5946"),
            At(4, "packets", "14"),
            At(4, "time_start", "2015-05-13T11:20:14.648Z"),
            At(4, "time_end", "2015-05-13T11:20:15.898Z"),
        ],
        gap: None,
    },
    Case {
        name: "ipfix_barracuda",
        inputs: &[
            Input::Dat("ipfix/logstash-ipfix_test_barracuda_tpl.dat", EXPORTER_A),
            Input::Dat("ipfix/logstash-ipfix_test_barracuda_data256.dat", EXPORTER_A),
        ],
        records: 8,
        options: 0,
        errors: &[],
        facts: &[],
        gap: None,
    },
    Case {
        name: "ipfix_barracuda_extended_uniflow",
        // Logstash: 2 records with Barracuda's variable-length strings (FW_Rule,
        // ReasonText), skipped by their prefixes. Addresses by an independent walk; all
        // counters are 0 in both records.
        inputs: &[
            Input::Dat(
                "ipfix/logstash-ipfix_test_barracuda_extended_uniflow_tpl256.dat",
                EXPORTER_A,
            ),
            Input::Dat(
                "ipfix/logstash-ipfix_test_barracuda_extended_uniflow_data256.dat",
                EXPORTER_A,
            ),
        ],
        records: 2,
        options: 0,
        errors: &[],
        facts: &[
            At(1, "src_addr", "::ffff:64.235.151.76"),
            At(1, "src_port", "443"),
            At(1, "dst_addr", "::ffff:10.236.5.4"),
            At(1, "dst_port", "51917"),
            Sum("bytes", 0),
        ],
        gap: None,
    },
    Case {
        name: "ipfix_ixia_256",
        // Logstash: 1 record with Ixia's variable-length AS names. Its other values by
        // an independent walk.
        inputs: &[Input::Dat("ipfix/logstash-ipfix_test_ixia_tpldata256.dat", EXPORTER_A)],
        records: 1,
        options: 0,
        errors: &[],
        facts: &[
            At(0, "src_addr", "::ffff:119.103.128.175"),
            At(0, "src_port", "51695"),
            At(0, "dst_addr", "::ffff:202.170.60.247"),
            At(0, "dst_port", "36197"),
            At(0, "protocol", "17"),
            At(0, "bytes", "360"),
            At(0, "packets", "4"),
            At(0, "src_as", "4134"),
            At(0, "dst_as", "24090"),
        ],
        gap: None,
    },
    Case {
        name: "ipfix_ixia_271",
        // Not asserted upstream; 2 records, 132 bytes and 2 packets by an independent
        // walk of the template.
        inputs: &[Input::Dat("ipfix/logstash-ipfix_test_ixia_tpldata271.dat", EXPORTER_A)],
        records: 2,
        options: 0,
        errors: &[],
        facts: &[Sum("bytes", 132), Sum("packets", 2)],
        gap: None,
    },
    Case {
        name: "ipfix_juniper_mx240_options",
        // One options record (exporterIPv4Address 10.0.0.1), no flows.
        inputs: &[
            Input::Dat(
                "ipfix/logstash-ipfix_test_juniper_mx240_junos151r6s3_opttpl512.dat",
                EXPORTER_A,
            ),
            Input::Dat(
                "ipfix/logstash-ipfix_test_juniper_mx240_junos151r6s3_data512.dat",
                EXPORTER_A,
            ),
        ],
        records: 0,
        options: 1,
        errors: &[],
        facts: &[],
        gap: None,
    },
    Case {
        name: "ipfix_mikrotik",
        inputs: &[
            Input::Dat("ipfix/logstash-ipfix_test_mikrotik_tpl.dat", EXPORTER_A),
            Input::Dat("ipfix/logstash-ipfix_test_mikrotik_data258.dat", EXPORTER_A),
            Input::Dat("ipfix/logstash-ipfix_test_mikrotik_data259.dat", EXPORTER_A),
        ],
        records: 46,
        options: 0,
        errors: &[],
        facts: &[At(45, "next_hop", "ff02::1")],
        gap: None,
    },
    Case {
        name: "ipfix_netscaler",
        // Logstash: 3 records, from sets 258, 257 and 258; record 0 is 192.168.0.1 ->
        // 10.0.0.1 ending 2016-11-11T12:09:19Z; record 2, in its JSON, 192.168.0.1:51053
        // -> 10.0.0.1:443, 2 packets, 1541 bytes, TCP flags 24, interfaces 8 ->
        // 2147483651. Set 258's variable-length fields hold a cookie of more than 255
        // bytes (long-form prefix). Data set 280 has no template: counted, skipped.
        inputs: &[
            Input::Dat("ipfix/logstash-ipfix_test_netscaler_tpl.dat", EXPORTER_A),
            Input::Dat("ipfix/logstash-ipfix_test_netscaler_data.dat", EXPORTER_A),
        ],
        records: 3,
        options: 0,
        errors: &[(MissingTemplate, 1)],
        facts: &[
            At(0, "src_addr", "::ffff:192.168.0.1"),
            At(0, "dst_addr", "::ffff:10.0.0.1"),
            At(0, "time_end", "2016-11-11T12:09:19.000Z"),
            At(2, "src_addr", "::ffff:192.168.0.1"),
            At(2, "src_port", "51053"),
            At(2, "dst_addr", "::ffff:10.0.0.1"),
            At(2, "dst_port", "443"),
            At(2, "protocol", "6"),
            At(2, "tcp_flags", "24"),
            At(2, "packets", "2"),
            At(2, "bytes", "1541"),
            At(2, "in_if", "8"),
            At(2, "out_if", "2147483651"),
        ],
        gap: None,
    },
    Case {
        name: "ipfix_netscaler_data_without_templates",
        // Logstash: no events and a warning.
        inputs: &[Input::Dat("ipfix/logstash-ipfix_test_netscaler_data.dat", EXPORTER_A)],
        records: 0,
        options: 0,
        errors: &[(MissingTemplate, 4)],
        facts: &[],
        gap: None,
    },
    Case {
        name: "ipfix_nokia_bras",
        inputs: &[
            Input::Dat("ipfix/logstash-ipfix_test_nokia_bras_tpl.dat", EXPORTER_A),
            Input::Dat("ipfix/logstash-ipfix_test_nokia_bras_data256.dat", EXPORTER_A),
        ],
        records: 1,
        options: 0,
        errors: &[],
        facts: &[],
        gap: None,
    },
    Case {
        name: "ipfix_openbsd_pflow",
        inputs: &[
            Input::Dat("ipfix/logstash-ipfix_test_openbsd_pflow_tpl.dat", EXPORTER_A),
            Input::Dat("ipfix/logstash-ipfix_test_openbsd_pflow_data.dat", EXPORTER_A),
        ],
        records: 26,
        options: 0,
        errors: &[],
        facts: &[
            At(25, "src_addr", "::ffff:192.168.0.1"),
            At(25, "src_port", "80"),
            At(25, "dst_addr", "::ffff:192.168.0.17"),
            At(25, "dst_port", "64026"),
            At(25, "bytes", "6425"),
            At(25, "packets", "8"),
            At(25, "in_if", "1"),
            At(25, "out_if", "1"),
            At(25, "time_start", "2016-07-21T13:29:59.000Z"),
            At(25, "time_end", "2016-07-21T13:30:01.000Z"),
        ],
        gap: None,
    },
    Case {
        name: "ipfix_procera",
        // Logstash: 8 records; record 7 is from 138.44.161.14. The template has IPv4
        // and IPv6 addresses; the family a flow does not use is zero-filled. Its
        // counters are enterprise elements, so bytes and packets stay 0.
        inputs: &[
            Input::Dat("ipfix/logstash-ipfix_test_procera_tpl52935.dat", EXPORTER_A),
            Input::Dat("ipfix/logstash-ipfix_test_procera_data52935.dat", EXPORTER_A),
        ],
        records: 8,
        options: 0,
        errors: &[],
        facts: &[At(7, "src_addr", "::ffff:138.44.161.14"), At(7, "ip_version", "4")],
        gap: None,
    },
    Case {
        name: "ipfix_viptela",
        inputs: &[
            Input::Dat("ipfix/logstash-ipfix_test_viptela_tpl257.dat", EXPORTER_A),
            Input::Dat("ipfix/logstash-ipfix_test_viptela_data257.dat", EXPORTER_A),
        ],
        records: 1,
        options: 0,
        errors: &[],
        facts: &[],
        gap: None,
    },
    Case {
        name: "ipfix_vmware_vds",
        inputs: &[
            Input::Dat("ipfix/logstash-ipfix_test_vmware_vds_tpl.dat", EXPORTER_A),
            Input::Dat("ipfix/logstash-ipfix_test_vmware_vds_data264.dat", EXPORTER_A),
            Input::Dat("ipfix/logstash-ipfix_test_vmware_vds_data266.dat", EXPORTER_A),
            Input::Dat("ipfix/logstash-ipfix_test_vmware_vds_data266_267.dat", EXPORTER_A),
        ],
        records: 5,
        options: 0,
        errors: &[],
        facts: &[
            At(0, "src_addr", "::ffff:172.18.65.21"),
            At(0, "src_port", "61209"),
            At(0, "dst_addr", "::ffff:172.18.65.211"),
            At(0, "dst_port", "5985"),
            At(0, "bytes", "100"),
            At(0, "packets", "2"),
            At(0, "in_if", "3"),
            At(0, "out_if", "11"),
            At(0, "time_start", "2016-12-22T12:17:37.000Z"),
            At(4, "src_addr", "fe80::5187:5cd8:d750:cdc9"),
            At(4, "dst_addr", "ff02::1:3"),
            At(4, "dst_port", "5355"),
            At(4, "bytes", "144"),
        ],
        gap: None,
    },
    Case {
        name: "ipfix_yaf",
        // Logstash's 3 events: 2 flows (silkAppLabel 53; initialTCPFlags 194) and one
        // options record. Both flows carry a subTemplateMultiList with a long-form
        // length, and count in octetTotalCount / packetTotalCount only (the reverse
        // direction's counters are enterprise elements). Values by an independent walk.
        inputs: &[
            Input::Dat("ipfix/logstash-ipfix_test_yaf_tpls_option_tpl.dat", EXPORTER_A),
            Input::Dat("ipfix/logstash-ipfix_test_yaf_tpl45841.dat", EXPORTER_A),
            Input::Dat("ipfix/logstash-ipfix_test_yaf_data45841.dat", EXPORTER_A),
            Input::Dat("ipfix/logstash-ipfix_test_yaf_data45873.dat", EXPORTER_A),
            Input::Dat("ipfix/logstash-ipfix_test_yaf_data53248.dat", EXPORTER_A),
        ],
        records: 2,
        options: 1,
        errors: &[],
        facts: &[
            At(0, "src_addr", "::ffff:172.16.32.201"),
            At(0, "src_port", "46086"),
            At(0, "dst_addr", "::ffff:172.16.32.100"),
            At(0, "dst_port", "53"),
            At(0, "bytes", "132"),
            At(0, "packets", "2"),
            At(1, "src_addr", "::ffff:172.16.32.100"),
            At(1, "dst_port", "9997"),
            At(1, "bytes", "172"),
            At(1, "packets", "4"),
        ],
        gap: None,
    },
    // ---- IPFIX captures: pmacct tests and NetGauze ----
    Case {
        name: "ipfix_pmacct_100_asr9k",
        // 12 records per the NetGauze snapshot; pmacct: 34 packets, 34172 bytes.
        inputs: &[Input::Pcap("ipfix/pmacct-100-ipfix-cisco-asr9k.pcap", 6)],
        records: 12,
        options: 0,
        errors: &[],
        facts: &[
            Sum("packets", 34),
            Sum("bytes", 34172),
            Any(&[("observation_domain", "851968")]),
            Any(&[("observation_domain", "917504")]),
            Any(&[
                ("src_addr", "::ffff:10.231.65.56"),
                ("dst_addr", "::ffff:10.192.12.213"),
                ("packets", "2"),
                ("bytes", "220"),
            ]),
        ],
        gap: None,
    },
    Case {
        name: "ipfix_pmacct_104_sampling_option",
        // The options record says 1 packet sampled of every 256 (samplingSize,
        // samplingPopulation) for selector 1; pmacct renormalises to 30976 packets
        // and 2721792 bytes.
        inputs: &[Input::Pcap("ipfix/pmacct-104-ipfix-ipv6-cisco-sampling-option.pcap", 5)],
        records: 3,
        options: 1,
        errors: &[],
        facts: &[
            Sum("packets", 30976),
            Sum("bytes", 2721792),
            Any(&[
                ("src_addr", "fe80::fa53:29ff:fe3a:3152"),
                ("dst_addr", "fe80::ea5c:aff:fe3b:fc00"),
                ("protocol", "58"),
                ("packets", "256"),
                ("bytes", "18432"),
                ("in_if", "42"),
                ("sampling_rate", "256"),
            ]),
        ],
        gap: None,
    },
    Case {
        name: "ipfix_pmacct_106_huawei",
        // pmacct's first aggregate: 192.0.2.110 -> 192.0.2.14, 613 packets, 142216 bytes.
        inputs: &[Input::Pcap("ipfix/pmacct-106-ipfix-huawei-vrf-name.pcap", 6)],
        records: 3,
        options: 1,
        errors: &[],
        facts: &[
            Any(&[("observation_domain", "2149482752")]),
            Any(&[
                ("src_addr", "::ffff:192.0.2.110"),
                ("dst_addr", "::ffff:192.0.2.14"),
                ("packets", "613"),
                ("bytes", "142216"),
            ]),
        ],
        gap: None,
    },
    Case {
        name: "ipfix_pmacct_111_ipv6_exporter",
        // 13 records in the NetGauze snapshot.
        inputs: &[Input::Pcap("ipfix/pmacct-111-ipfix-ipv6-exporter.pcap", 11)],
        records: 13,
        options: 0,
        errors: &[],
        facts: &[At(0, "exporter", "2001:4d98:a100:303:0:931:f:1")],
        gap: None,
    },
    Case {
        name: "ipfix_pmacct_112_options_reassignment",
        // Linux SLL capture. pmacct: 9 aggregates, 19 packets, 1197 bytes. Four data
        // sets arrive before their template (independent walk of the capture).
        inputs: &[Input::Pcap("ipfix/pmacct-112-ipfix-cisco-options-vrf-reassignment.pcap", 21)],
        records: 9,
        options: 76,
        errors: &[(MissingTemplate, 4)],
        facts: &[Sum("packets", 19), Sum("bytes", 1197)],
        gap: None,
    },
    Case {
        name: "ipfix_pmacct_500_srv6",
        // 43 frames, BGP over TCP among them. Counts by an independent walk.
        inputs: &[Input::Pcap("ipfix/pmacct-500-ipfix-bgp-cisco-srv6.pcap", 40)],
        records: 43,
        options: 10,
        errors: &[],
        facts: &[],
        gap: None,
    },
    Case {
        name: "ipfix_pmacct_502_srv6_lcomms",
        // 92 frames, BGP over TCP among them. Counts by an independent walk, which
        // also shows template 313 sending IPv6 addresses, then zero IPv4 ones: its
        // six records are IPv6 flows, such as 2001:db8::16 -> 2001:db8::12 from
        // port 1111, 601 packets, 116594 bytes.
        inputs: &[Input::Pcap("ipfix/pmacct-502-ipfix-bgp-ipv6-cisco-srv6-lcomms.pcap", 64)],
        records: 75,
        options: 39,
        errors: &[],
        facts: &[Any(&[
            ("ip_version", "6"),
            ("src_addr", "2001:db8::16"),
            ("dst_addr", "2001:db8::12"),
            ("src_port", "1111"),
            ("packets", "601"),
            ("bytes", "116594"),
        ])],
        gap: None,
    },
    Case {
        name: "ipfix_netgauze_srv6",
        // 86 data and 86 options records in the NetGauze snapshot.
        inputs: &[Input::Pcap("ipfix/netgauze-srv6.pcap", 170)],
        records: 86,
        options: 86,
        errors: &[],
        facts: &[At(0, "exporter", "2a02:a90:4007:700::54")],
        gap: None,
    },
    // ---- sFlow v5: tcpdump tests ----
    Case {
        name: "sflow_tcpdump_v6_agent",
        // tcpdump sflow-print-v6.out and tshark: 25 datagrams from agent 30::1:1:1 (also
        // the datagram source), agent-id 0, holding 48 counter samples and 13 flow
        // samples. Each flow sample: rate 1, input ifIndex 7001, output 0x80000000
        // (several interfaces, stored as 0), extended switch VLANs 10 in and out, and an
        // Ethernet header of 10.10.10.2 -> 50.1.1.2, IP protocol 63, no ports. tshark's IP
        // total lengths: eleven of 46 bytes (64-byte frames), one of 232 (250), one of 482
        // (500); sfacctd would count the frame lengths, 1454 bytes.
        inputs: &[Input::Pcap("sflow/tcpdump-sflow-print-v6.pcap", 25)],
        records: 13,
        options: 0,
        errors: &[],
        facts: &[
            CounterSamples(48),
            At(0, "exporter", "30::1:1:1"),
            At(0, "flow_protocol", "sflow_v5"),
            At(0, "observation_domain", "0"),
            At(0, "src_addr", "::ffff:10.10.10.2"),
            At(0, "dst_addr", "::ffff:50.1.1.2"),
            At(0, "protocol", "63"),
            At(0, "bytes", "46"),
            At(0, "packets", "1"),
            At(0, "sampling_rate", "1"),
            At(0, "in_if", "7001"),
            At(0, "out_if", "0"),
            At(0, "src_vlan", "10"),
            At(0, "dst_vlan", "10"),
            At(1, "bytes", "232"),
            At(2, "bytes", "482"),
            Sum("packets", 13),
            Sum("bytes", 1220),
            Sum("in_if", 13 * 7001),
        ],
        gap: None,
    },
    Case {
        name: "sflow_tcpdump_30_datagrams",
        // tcpdump sflow_multiple_counter_30_pdus-nv.out and tshark: 25 sFlow datagrams
        // (frame 1: agent 15.184.8.4, agent-id 2, sent from 15.184.1.76) holding 142
        // expanded counter samples and 2 counter samples, no flow samples. The other 5
        // datagrams to port 6343 are NetFlow v5 (tshark, decoded as cflow): 7 records,
        // 12 packets, 1953 bytes; frame 13's record is TCP 87.218.217.112:37426 ->
        // 168.87.242.174:80, 60 bytes, interfaces 2 -> 5, AS 22911 -> 0.
        inputs: &[Input::Pcap("sflow/tcpdump-sflow_multiple_counter_30_pdus.pcap", 30)],
        records: 7,
        options: 0,
        errors: &[],
        facts: &[
            CounterSamples(144),
            At(0, "flow_protocol", "netflow_v5"),
            At(0, "exporter", "::ffff:168.87.240.2"),
            At(0, "src_addr", "::ffff:87.218.217.112"),
            At(0, "dst_addr", "::ffff:168.87.242.174"),
            At(0, "src_port", "37426"),
            At(0, "dst_port", "80"),
            At(0, "bytes", "60"),
            At(0, "in_if", "2"),
            At(0, "out_if", "5"),
            At(0, "src_as", "22911"),
            Sum("packets", 12),
            Sum("bytes", 1953),
        ],
        gap: None,
    },
    Case {
        name: "sflow_tcpdump_segv",
        // tcpdump sflow_print-segv.out: "sFlowv5 [length 8 < 28] (invalid)", the frame
        // that made tcpdump 4.9.2 read past its buffer. Its UDP length says 8 bytes of
        // payload, all a socket would deliver: the version and the agent address type,
        // then nothing. (The 872 bytes the frame holds past that are decoded by the
        // unit test `bytes_past_the_udp_length_of_tcpdumps_segv_frame_are_errors`.)
        inputs: &[Input::Pcap("sflow/tcpdump-sflow_print-segv.pcap", 1)],
        records: 0,
        options: 0,
        errors: &[(Truncated, 1)],
        facts: &[CounterSamples(0)],
        gap: None,
    },
];

#[test]
fn corpus_cases_decode_to_their_cited_facts_and_goldens() {
    // given
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut failures = Vec::new();

    for case in CASES {
        // when
        let outcome = replay(case);

        // then
        let mut problems = check_counts(case, &outcome);
        problems.extend(case.facts.iter().filter_map(|fact| check_fact(fact, &outcome)));
        problems.extend(check_golden(case.name, &outcome.golden(), update));
        failures.extend(problems.into_iter().map(|p| format!("{}: {p}", case.name)));
    }

    assert!(failures.is_empty(), "{} corpus problem(s):\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_golden_file_belongs_to_a_case() {
    // given
    let names: Vec<String> = CASES.iter().map(|c| format!("{}.jsonl", c.name)).collect();

    // when
    let strays: Vec<String> = std::fs::read_dir(corpus_dir().join("golden"))
        .expect("read the golden directory")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|file| !names.contains(file))
        .collect();

    // then
    assert!(strays.is_empty(), "goldens without a case (delete them): {strays:?}");
}

/// What one case's replay gave.
struct Outcome {
    datagrams: Vec<(String, usize)>,
    lines: Vec<Map<String, Value>>,
    options: usize,
    counter_samples: usize,
    errors: BTreeMap<DecodeErrorKind, usize>,
    /// Each error as displayed, with its file, for failure messages.
    error_details: Vec<String>,
}

impl Outcome {
    fn golden(&self) -> String {
        let mut text = String::new();
        for line in &self.lines {
            writeln!(text, "{}", Value::Object(line.clone())).unwrap();
        }
        let errors: Map<String, Value> =
            self.errors.iter().map(|(kind, n)| (kind.as_str().to_owned(), json!(n))).collect();
        writeln!(text, "{}", json!({ "errors": errors })).unwrap();
        text
    }
}

fn replay(case: &Case) -> Outcome {
    let mut decoder = FlowDecoder::new();
    let mut records = Vec::new();
    let mut outcome = Outcome {
        datagrams: Vec::new(),
        lines: Vec::new(),
        options: 0,
        counter_samples: 0,
        errors: BTreeMap::new(),
        error_details: Vec::new(),
    };

    for input in case.inputs {
        let (file, datagrams) = match input {
            Input::Dat(file, exporter) => {
                let payload = read(file);
                let received_ms = export_ms(&payload);
                (file, vec![Datagram { received_ms, exporter: exporter.parse().unwrap(), payload }])
            }
            Input::Pcap(file, _) => (file, udp_datagrams(&read(file))),
        };
        outcome.datagrams.push((file.to_string(), datagrams.len()));
        for datagram in datagrams {
            let report = decoder.decode(
                datagram.exporter,
                datagram.received_ms,
                &datagram.payload,
                &mut records,
            );
            outcome.options += report.option_records;
            outcome.counter_samples += report.counter_samples;
            for error in report.errors {
                *outcome.errors.entry(error.kind).or_default() += 1;
                outcome.error_details.push(format!("{file}: {error}"));
            }
        }
    }

    outcome.lines = records.iter().map(golden_line).collect();
    outcome
}

fn check_counts(case: &Case, outcome: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    for (input, (file, got)) in case.inputs.iter().zip(&outcome.datagrams) {
        if let Input::Pcap(_, want) = input
            && want != got
        {
            problems.push(format!("{file}: {got} UDP datagrams, want {want}"));
        }
    }
    if outcome.lines.len() != case.records {
        problems.push(format!("{} flow records, want {}", outcome.lines.len(), case.records));
    }
    if outcome.options != case.options {
        problems.push(format!("{} options records, want {}", outcome.options, case.options));
    }
    if let Some(gap) = case.gap
        && outcome.errors.is_empty()
    {
        problems.push(format!("{gap:?} no longer loses records: assert the source's facts"));
    }
    let want: BTreeMap<DecodeErrorKind, usize> = case.errors.iter().copied().collect();
    if outcome.errors != want {
        let details = outcome.error_details.join("\n    ");
        problems.push(format!("errors {:?}, want {want:?}:\n    {details}", outcome.errors));
    }
    problems
}

fn check_fact(fact: &Fact, outcome: &Outcome) -> Option<String> {
    let lines = &outcome.lines;
    match fact {
        At(index, key, want) => {
            let got = lines.get(*index).map(|line| rendered(line, key));
            (got.as_deref() != Some(*want))
                .then(|| format!("record {index} {key} = {got:?}, want {want}"))
        }
        Any(fields) => {
            let found = lines
                .iter()
                .any(|line| fields.iter().all(|(key, want)| rendered(line, key) == *want));
            (!found).then(|| format!("no record has {fields:?}"))
        }
        Sum(key, want) => {
            let got: u64 = lines.iter().filter_map(|line| line.get(*key)?.as_u64()).sum();
            (got != *want).then(|| format!("sum of {key} = {got}, want {want}"))
        }
        CounterSamples(want) => {
            let got = outcome.counter_samples;
            (got != *want).then(|| format!("{got} sFlow counter samples, want {want}"))
        }
    }
}

/// A golden field as text: strings bare, numbers in decimal, absent as "0".
fn rendered(line: &Map<String, Value>, key: &str) -> String {
    match line.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "0".to_owned(),
    }
}

fn check_golden(name: &str, text: &str, update: bool) -> Option<String> {
    let path = corpus_dir().join("golden").join(format!("{name}.jsonl"));
    if update {
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        return None;
    }

    let Ok(want) = std::fs::read_to_string(&path) else {
        return Some(format!("no golden {}; run with UPDATE_GOLDEN=1", path.display()));
    };
    if want == text {
        return None;
    }
    let (got_lines, want_lines): (Vec<&str>, Vec<&str>) =
        (text.lines().collect(), want.lines().collect());
    let line = (0..got_lines.len().max(want_lines.len()))
        .find(|&i| got_lines.get(i) != want_lines.get(i))
        .unwrap_or(0);
    Some(format!(
        "golden differs at line {}:\n  got  {}\n  want {}\n(UPDATE_GOLDEN=1 rewrites it)",
        line + 1,
        got_lines.get(line).unwrap_or(&"<end>"),
        want_lines.get(line).unwrap_or(&"<end>"),
    ))
}

/// One record as a golden line: its non-zero fields, in the record's order.
fn golden_line(flow: &FlowRecord) -> Map<String, Value> {
    let time = |ms: i64| {
        let at = chrono::DateTime::from_timestamp_millis(ms).expect("a representable time");
        Some(json!(at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()))
    };
    let address = |a: Ipv6Addr| (a != Ipv6Addr::UNSPECIFIED).then(|| json!(a.to_string()));
    let number = |n: u64| (n != 0).then(|| json!(n));
    let fields = [
        ("time_received", time(flow.time_received_ms)),
        ("time_start", time(flow.time_start_ms)),
        ("time_end", time(flow.time_end_ms)),
        ("exporter", Some(json!(flow.exporter.to_string()))),
        ("flow_protocol", Some(json!(flow.flow_protocol.as_str()))),
        ("observation_domain", number(flow.observation_domain.into())),
        ("ip_version", number(flow.ip_version.into())),
        ("src_addr", address(flow.src_addr)),
        ("dst_addr", address(flow.dst_addr)),
        ("src_port", number(flow.src_port.into())),
        ("dst_port", number(flow.dst_port.into())),
        ("protocol", number(flow.protocol.into())),
        ("tcp_flags", number(flow.tcp_flags.into())),
        ("tos", number(flow.tos.into())),
        ("bytes", number(flow.bytes)),
        ("packets", number(flow.packets)),
        ("sampling_rate", number(flow.sampling_rate.into())),
        ("in_if", number(flow.in_if.into())),
        ("out_if", number(flow.out_if.into())),
        ("src_as", number(flow.src_as.into())),
        ("dst_as", number(flow.dst_as.into())),
        ("src_mask", number(flow.src_mask.into())),
        ("dst_mask", number(flow.dst_mask.into())),
        ("next_hop", address(flow.next_hop)),
        ("src_vlan", number(flow.src_vlan.into())),
        ("dst_vlan", number(flow.dst_vlan.into())),
    ];
    fields.into_iter().filter_map(|(key, value)| Some((key.to_owned(), value?))).collect()
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("corpus")
}

fn read(file: &str) -> Vec<u8> {
    let path = corpus_dir().join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The export time in a NetFlow v5, v9 or IPFIX header, Unix milliseconds,
/// standing in for the receive time of a `.dat` file, which has none.
fn export_ms(payload: &[u8]) -> i64 {
    let word = |at: usize| i64::from(u32::from_be_bytes(payload[at..at + 4].try_into().unwrap()));
    match payload[..2] {
        // NetFlow v5 gives the residual nanoseconds too.
        [0, 5] => word(8) * 1000 + word(12) / 1_000_000,
        [0, 9] => word(8) * 1000,
        _ => word(4) * 1000,
    }
}

// ---------------------------------------------------------------------------
// Captures, through the crate's capture reader.

/// One UDP payload of a capture.
struct Datagram {
    received_ms: i64,
    exporter: IpAddr,
    payload: Vec<u8>,
}

/// The UDP datagrams of a capture, in capture order; frames that are not UDP
/// are skipped, and anything else that is not a whole datagram fails the test.
fn udp_datagrams(capture: &[u8]) -> Vec<Datagram> {
    let mut reader = CaptureReader::new(capture).unwrap_or_else(|e| panic!("{e}"));
    let mut datagrams = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap_or_else(|e| panic!("{e}")) {
        match frame.udp() {
            Ok(udp) => datagrams.push(Datagram {
                received_ms: frame.time_ms.unwrap_or(0),
                exporter: udp.source.ip(),
                payload: udp.payload.to_vec(),
            }),
            Err(Skip::NotUdp) => {}
            Err(skip) => panic!("frame {}: {skip}", frame.number),
        }
    }
    datagrams
}

#[test]
fn pcapng_reader_frames_udp_from_an_enhanced_packet_block() {
    // given: one interface (Ethernet, millisecond resolution) and one IPv4/UDP frame
    let ip_udp = [
        &[0x45, 0, 0, 31, 0, 0, 0x40, 0, 64, 17, 0, 0][..],
        &[192, 0, 2, 9, 198, 51, 100, 1],
        &[0x08, 0x07, 0x08, 0x07, 0, 11, 0, 0, b'f', b'l', b'o'],
    ]
    .concat();
    let ethernet = [&[0u8; 12][..], &[0x08, 0x00], &ip_udp].concat();
    let mut file = Vec::new();
    let block = |file: &mut Vec<u8>, kind: u32, body: &[u8]| {
        let padded = body.len().div_ceil(4) * 4;
        let total = u32::try_from(12 + padded).unwrap();
        file.extend(kind.to_le_bytes());
        file.extend(total.to_le_bytes());
        file.extend(body);
        file.extend(vec![0; padded - body.len()]);
        file.extend(total.to_le_bytes());
    };
    block(
        &mut file,
        0x0a0d_0d0a,
        &[0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    );
    block(&mut file, 1, &[1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0]);
    let mut packet = vec![0, 0, 0, 0, 0, 0, 0, 0, 0x39, 0x30, 0, 0]; // interface 0, 12345 ms
    packet.extend(u32::try_from(ethernet.len()).unwrap().to_le_bytes());
    packet.extend(u32::try_from(ethernet.len()).unwrap().to_le_bytes());
    packet.extend(&ethernet);
    block(&mut file, 6, &packet);

    // when
    let datagrams = udp_datagrams(&file);

    // then
    assert_eq!(datagrams.len(), 1);
    assert_eq!(datagrams[0].exporter, "192.0.2.9".parse::<IpAddr>().unwrap());
    assert_eq!(datagrams[0].received_ms, 12_345);
    assert_eq!(datagrams[0].payload, b"flo");
}
