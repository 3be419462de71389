//! `FlowDecoder::decode` past the templates: the input becomes the body of
//! a data set whose template the same datagram defines first, so the fuzzer
//! spends its time in record decoding (times, sampling, variable-length and
//! enterprise fields) rather than in finding a valid template by chance.
//!
//! The first input byte picks the template: NetFlow v9 or IPFIX, flow
//! records or options records. After an options template's records, the
//! same bytes are decoded once more as flow records of a second template
//! that names a sampler, so learned sampling rates are applied.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use flowsage_ingest::decode::FlowDecoder;
use libfuzzer_sys::fuzz_target;

const EXPORTER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const RECEIVED_MS: i64 = 1_700_000_000_000;
const EXPORT_SECS: u32 = 1_700_000_000;
const SYS_UPTIME_MS: u32 = 3_600_000;
/// Largest data set body that still fits a set's 16-bit length with room
/// for the headers and templates.
const MAX_BODY: usize = 60_000;
const VARIABLE: u16 = 65_535;
/// An enterprise number (RFC 7011 section 3.2) with no elements known to the parser.
const PEN: u32 = 32_473;

/// A field specifier: element id, length, enterprise number.
type Spec = (u16, u16, Option<u32>);

/// NetFlow v9 flow fields (RFC 3954 section 8).
const V9_FLOW: &[Spec] = &[
    (1, 4, None),   // IN_BYTES
    (2, 4, None),   // IN_PKTS
    (4, 1, None),   // PROTOCOL
    (5, 1, None),   // SRC_TOS
    (6, 1, None),   // TCP_FLAGS
    (7, 2, None),   // L4_SRC_PORT
    (8, 4, None),   // IPV4_SRC_ADDR
    (9, 1, None),   // SRC_MASK
    (10, 2, None),  // INPUT_SNMP
    (11, 2, None),  // L4_DST_PORT
    (12, 4, None),  // IPV4_DST_ADDR
    (15, 4, None),  // IPV4_NEXT_HOP
    (16, 4, None),  // SRC_AS
    (21, 4, None),  // LAST_SWITCHED
    (22, 4, None),  // FIRST_SWITCHED
    (27, 16, None), // IPV6_SRC_ADDR
    (32, 2, None),  // ICMP_TYPE
    (34, 4, None),  // SAMPLING_INTERVAL
    (48, 1, None),  // FLOW_SAMPLER_ID
    (58, 2, None),  // SRC_VLAN
];
/// NetFlow v9 options: scope System, then sampler fields (RFC 3954 section 6.1).
const V9_OPTIONS_SCOPE: &[Spec] = &[(1, 4, None)];
const V9_OPTIONS: &[Spec] = &[
    (34, 4, None), // SAMPLING_INTERVAL
    (35, 1, None), // SAMPLING_ALGORITHM
    (48, 1, None), // FLOW_SAMPLER_ID
    (50, 4, None), // FLOW_SAMPLER_RANDOM_INTERVAL
];
/// IPFIX flow fields (IANA registry), with every time form the decoder reads,
/// a variable-length string and an unknown enterprise element. The latter
/// has a fixed length: an unknown variable-length one fails every record
/// today (a known parser gap, see `ingest/tests/corpus.rs`), which would
/// keep the fuzzer out of record decoding altogether.
const IPFIX_FLOW: &[Spec] = &[
    (1, 8, None),         // octetDeltaCount
    (2, 8, None),         // packetDeltaCount
    (4, 1, None),         // protocolIdentifier
    (7, 2, None),         // sourceTransportPort
    (8, 4, None),         // sourceIPv4Address
    (28, 16, None),       // destinationIPv6Address
    (21, 4, None),        // flowEndSysUpTime
    (22, 4, None),        // flowStartSysUpTime
    (152, 8, None),       // flowStartMilliseconds
    (155, 8, None),       // flowEndMicroseconds
    (158, 4, None),       // flowStartDeltaMicroseconds
    (159, 4, None),       // flowEndDeltaMicroseconds
    (82, VARIABLE, None), // interfaceName
    (1, 4, Some(PEN)),    // an enterprise element
    (302, 8, None),       // selectorId
    (243, 2, None),       // dot1qVlanId
];
/// IPFIX options: scope selectorId, then the sampling and clock fields.
const IPFIX_OPTIONS_SCOPE: &[Spec] = &[(302, 8, None)];
const IPFIX_OPTIONS: &[Spec] = &[
    (160, 8, None), // systemInitTimeMilliseconds
    (305, 4, None), // samplingPacketInterval
    (306, 4, None), // samplingPacketSpace
    (309, 4, None), // samplingSize
    (310, 4, None), // samplingPopulation
    (34, 4, None),  // samplingInterval
];

fuzz_target!(|input: &[u8]| {
    let Some((&choice, body)) = input.split_first() else { return };
    let body = &body[..body.len().min(MAX_BODY)];
    let mut decoder = FlowDecoder::new();
    let mut out = Vec::new();

    let datagrams = match choice % 4 {
        0 => vec![v9(&[set(0, &template(256, V9_FLOW)), set(256, body)])],
        1 => vec![
            v9(&[set(1, &v9_options_template(256, V9_OPTIONS_SCOPE, V9_OPTIONS)), set(256, body)]),
            v9(&[set(0, &template(257, V9_FLOW)), set(257, body)]),
        ],
        2 => vec![ipfix(&[set(2, &template(256, IPFIX_FLOW)), set(256, body)])],
        _ => vec![
            ipfix(&[
                set(3, &ipfix_options_template(256, IPFIX_OPTIONS_SCOPE, IPFIX_OPTIONS)),
                set(256, body),
            ]),
            ipfix(&[set(2, &template(257, IPFIX_FLOW)), set(257, body)]),
        ],
    };
    for datagram in datagrams {
        let before = out.len();
        let report = decoder.decode(EXPORTER, RECEIVED_MS, &datagram, &mut out);
        assert_eq!(out.len() - before, report.records, "records appended vs reported");
    }
});

fn specs(out: &mut Vec<u8>, specs: &[Spec]) {
    for (id, len, enterprise) in specs {
        let id = if enterprise.is_some() { id | 0x8000 } else { *id };
        out.extend(id.to_be_bytes());
        out.extend(len.to_be_bytes());
        if let Some(number) = enterprise {
            out.extend(number.to_be_bytes());
        }
    }
}

/// A template record (RFC 3954 5.2, RFC 7011 3.4.1).
fn template(id: u16, fields: &[Spec]) -> Vec<u8> {
    let mut out = [id.to_be_bytes(), count(fields.len())].concat();
    specs(&mut out, fields);
    out
}

/// A NetFlow v9 options template record (RFC 3954 section 6.1): scope and
/// option lengths in bytes.
fn v9_options_template(id: u16, scope: &[Spec], fields: &[Spec]) -> Vec<u8> {
    let mut out = [id.to_be_bytes(), count(scope.len() * 4), count(fields.len() * 4)].concat();
    specs(&mut out, scope);
    specs(&mut out, fields);
    out
}

/// An IPFIX options template record (RFC 7011 section 3.4.2.2): field and
/// scope counts.
fn ipfix_options_template(id: u16, scope: &[Spec], fields: &[Spec]) -> Vec<u8> {
    let total = scope.len() + fields.len();
    let mut out = [id.to_be_bytes(), count(total), count(scope.len())].concat();
    specs(&mut out, scope);
    specs(&mut out, fields);
    out
}

/// A set: id, length, body, padded to 4 bytes.
fn set(id: u16, body: &[u8]) -> Vec<u8> {
    let padded = body.len().div_ceil(4) * 4;
    let mut out = [id.to_be_bytes(), count(4 + padded)].concat();
    out.extend(body);
    out.resize(4 + padded, 0);
    out
}

/// A NetFlow v9 datagram (RFC 3954 section 5.1).
fn v9(sets: &[Vec<u8>]) -> Vec<u8> {
    let mut out = [9u16.to_be_bytes(), count(sets.len())].concat();
    out.extend(SYS_UPTIME_MS.to_be_bytes());
    out.extend(EXPORT_SECS.to_be_bytes());
    out.extend(1u32.to_be_bytes()); // sequence
    out.extend(7u32.to_be_bytes()); // source id
    sets.iter().for_each(|set| out.extend(set));
    out
}

/// An IPFIX message (RFC 7011 section 3.1).
fn ipfix(sets: &[Vec<u8>]) -> Vec<u8> {
    let len = 16 + sets.iter().map(Vec::len).sum::<usize>();
    let mut out = [10u16.to_be_bytes(), count(len)].concat();
    out.extend(EXPORT_SECS.to_be_bytes());
    out.extend(1u32.to_be_bytes()); // sequence
    out.extend(7u32.to_be_bytes()); // observation domain
    sets.iter().for_each(|set| out.extend(set));
    out
}

fn count(n: usize) -> [u8; 2] {
    u16::try_from(n).expect("fits 16 bits").to_be_bytes()
}
