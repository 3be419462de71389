//! sFlow v5 decoding on datagrams built here, one layout per test.
//!
//! [`W`] writes XDR words; [`datagram`], the sample and record functions and
//! the packet functions below assemble a datagram from the outside in, so a
//! test shows the exact structure it pins. The corpus test
//! (`tests/corpus.rs`) covers real agents; these cover the encodings and
//! faults that the captures happen not to hold.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::decode::{DecodeErrorKind, DecodeReport, FlowDecoder};
use crate::flow::{FlowProtocol, FlowRecord};

use super::wire::{self, Interface, Sample, Xdr};

const RECEIVED_MS: i64 = 1_700_000_000_250;

// ---- building datagrams ----

/// XDR words and bytes, in order.
#[derive(Default, Clone)]
struct W(Vec<u8>);

impl W {
    fn u32(mut self, value: u32) -> Self {
        self.0.extend(value.to_be_bytes());
        self
    }

    fn u64(mut self, value: u64) -> Self {
        self.0.extend(value.to_be_bytes());
        self
    }

    fn bytes(mut self, bytes: &[u8]) -> Self {
        self.0.extend(bytes);
        self
    }

    /// Variable-length opaque: length, bytes, zero padding to four.
    fn opaque(self, bytes: &[u8]) -> Self {
        let padding = [0; 3][..(4 - bytes.len() % 4) % 4].to_vec();
        self.u32(len(bytes)).bytes(bytes).bytes(&padding)
    }

    fn v4(self, address: &str) -> Self {
        self.u32(1).bytes(&address.parse::<Ipv4Addr>().unwrap().octets())
    }

    fn v6(self, address: &str) -> Self {
        self.u32(2).bytes(&address.parse::<Ipv6Addr>().unwrap().octets())
    }
}

fn len(bytes: &[u8]) -> u32 {
    u32::try_from(bytes.len()).unwrap()
}

/// A `sample_datagram_v5` from agent 192.0.2.1, sub-agent 3, with its samples.
fn datagram(samples: &[Vec<u8>]) -> Vec<u8> {
    datagram_from(W::default().v4("192.0.2.1"), samples)
}

fn datagram_from(agent: W, samples: &[Vec<u8>]) -> Vec<u8> {
    let head = W::default().u32(5).bytes(&agent.0).u32(3).u32(42).u32(360_000);
    head.u32(len_items(samples)).bytes(&samples.concat()).0
}

fn len_items(items: &[Vec<u8>]) -> u32 {
    u32::try_from(items.len()).unwrap()
}

/// A sample or record: `data_format` (enterprise, format), length, body.
fn tagged(enterprise: u32, format: u32, body: &[u8]) -> Vec<u8> {
    W::default().u32((enterprise << 12) | format).u32(len(body)).bytes(body).0
}

/// `flow_sample` (0,1) with compact interfaces.
fn flow_sample(rate: u32, input: u32, output: u32, records: &[Vec<u8>]) -> Vec<u8> {
    let body = W::default().u32(9).u32(input).u32(rate).u32(rate * 10).u32(0);
    let body = body.u32(input).u32(output).u32(len_items(records)).bytes(&records.concat());
    tagged(0, 1, &body.0)
}

/// `flow_sample_expanded` (0,3): interfaces as (format, value).
fn expanded_flow_sample(
    rate: u32,
    input: (u32, u32),
    output: (u32, u32),
    records: &[Vec<u8>],
) -> Vec<u8> {
    let body = W::default().u32(9).u32(0).u32(input.1).u32(rate).u32(rate * 10).u32(0);
    let body = body.u32(input.0).u32(input.1).u32(output.0).u32(output.1);
    let body = body.u32(len_items(records)).bytes(&records.concat());
    tagged(0, 3, &body.0)
}

/// `counters_sample` (0,2).
fn counter_sample(records: &[Vec<u8>]) -> Vec<u8> {
    let body = W::default().u32(9).u32(7).u32(len_items(records)).bytes(&records.concat());
    tagged(0, 2, &body.0)
}

/// `discarded_packet` (0,5), dropped by an ACL (reason 258).
fn discarded_packet(records: &[Vec<u8>]) -> Vec<u8> {
    let body = W::default().u32(9).u32(0).u32(7).u32(1).u32(7).u32(0).u32(258);
    tagged(0, 5, &body.u32(len_items(records)).bytes(&records.concat()).0)
}

/// `sampled_header` (0,1): header protocol, frame length, stripped, bytes.
fn header_record(protocol: u32, frame_length: u32, bytes: &[u8]) -> Vec<u8> {
    tagged(0, 1, &W::default().u32(protocol).u32(frame_length).u32(4).opaque(bytes).0)
}

/// `sampled_ipv4` (0,3).
fn ipv4_record(length: u32, protocol: u32, src: &str, dst: &str, ports: (u32, u32)) -> Vec<u8> {
    let body = W::default().u32(length).u32(protocol);
    let body = body.bytes(&src.parse::<Ipv4Addr>().unwrap().octets());
    let body = body.bytes(&dst.parse::<Ipv4Addr>().unwrap().octets());
    tagged(0, 3, &body.u32(ports.0).u32(ports.1).u32(0x12).u32(0x28).0)
}

/// `extended_switch` (0,1001).
fn switch_record(src_vlan: u32, dst_vlan: u32) -> Vec<u8> {
    tagged(0, 1001, &W::default().u32(src_vlan).u32(0).u32(dst_vlan).u32(0).0)
}

/// `extended_router` (0,1002).
fn router_record(next_hop: &str, src_mask: u32, dst_mask: u32) -> Vec<u8> {
    tagged(0, 1002, &W::default().v4(next_hop).u32(src_mask).u32(dst_mask).0)
}

/// `extended_gateway` (0,1003) with one AS_SEQUENCE path and one community.
fn gateway_record(next_hop: &str, src_as: u32, path: &[u32]) -> Vec<u8> {
    let body = W::default().v6(next_hop).u32(64_500).u32(src_as).u32(64_501);
    let path_bytes: Vec<u8> = path.iter().flat_map(|asn| asn.to_be_bytes()).collect();
    let body = body.u32(1).u32(2).u32(u32::try_from(path.len()).unwrap());
    let body = body.bytes(&path_bytes);
    tagged(0, 1003, &body.u32(1).u32(0xFDE8_0001).u32(100).0)
}

/// `if_counters` (0,1) with ifIndex 7, 10 Gb/s, and distinct counter values.
fn generic_counters_record() -> Vec<u8> {
    let body = W::default().u32(7).u32(6).u64(10_000_000_000).u32(1).u32(3);
    let body = body.u64(1_000_000).u32(11).u32(12).u32(13).u32(14).u32(15).u32(16);
    let body = body.u64(2_000_000).u32(21).u32(22).u32(23).u32(24).u32(25).u32(1);
    tagged(0, 1, &body.0)
}

// ---- building sampled packets ----

const ETH_IPV4: u16 = 0x0800;
const ETH_CTAG: u16 = 0x8100;
const ETH_STAG: u16 = 0x88A8;
const ETH_MPLS: u16 = 0x8847;

fn ethernet(ether_type: u16) -> Vec<u8> {
    let macs = [0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    [&macs[..], &ether_type.to_be_bytes()].concat()
}

/// An 802.1Q tag (priority 0) followed by `ether_type`.
fn vlan_tag(id: u16, ether_type: u16) -> Vec<u8> {
    [id.to_be_bytes(), ether_type.to_be_bytes()].concat()
}

/// An IPv4 header without options; `total` is its total length field.
fn ipv4(protocol: u8, src: &str, dst: &str, total: u16, tos: u8) -> Vec<u8> {
    let mut h = vec![0x45, tos];
    h.extend(total.to_be_bytes());
    h.extend([0, 1, 0, 0, 64, protocol, 0, 0]);
    h.extend(src.parse::<Ipv4Addr>().unwrap().octets());
    h.extend(dst.parse::<Ipv4Addr>().unwrap().octets());
    h
}

/// An IPv6 header; `payload` is its payload length field.
fn ipv6(next: u8, src: &str, dst: &str, payload: u16, traffic_class: u8) -> Vec<u8> {
    let mut h = vec![0x60 | traffic_class >> 4, traffic_class << 4, 0, 0];
    h.extend(payload.to_be_bytes());
    h.extend([next, 64]);
    h.extend(src.parse::<Ipv6Addr>().unwrap().octets());
    h.extend(dst.parse::<Ipv6Addr>().unwrap().octets());
    h
}

fn udp(src: u16, dst: u16, length: u16) -> Vec<u8> {
    [src.to_be_bytes(), dst.to_be_bytes(), length.to_be_bytes(), [0, 0]].concat()
}

/// A 20-byte TCP header with the given flags byte.
fn tcp(src: u16, dst: u16, flags: u8) -> Vec<u8> {
    let mut h = [src.to_be_bytes(), dst.to_be_bytes()].concat();
    h.extend([0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]);
    h
}

/// An untagged Ethernet frame holding UDP 198.51.100.1:5000 ->
/// 203.0.113.9:53 in a 1500-byte IPv4 packet, cut at 64 bytes.
fn eth_udp_1500() -> Vec<u8> {
    let frame = [
        ethernet(ETH_IPV4),
        ipv4(17, "198.51.100.1", "203.0.113.9", 1500, 0),
        udp(5000, 53, 1480),
        vec![0xAB; 64],
    ]
    .concat();
    frame[..64].to_vec()
}

// ---- running the decoder ----

fn decode(datagram: &[u8]) -> (Vec<FlowRecord>, DecodeReport) {
    let mut records = Vec::new();
    let from = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));
    let report = FlowDecoder::new().decode(from, RECEIVED_MS, datagram, &mut records);
    (records, report)
}

/// Decodes a datagram that must decode without errors into one row.
fn one_row(datagram: &[u8]) -> FlowRecord {
    let (mut records, report) = decode(datagram);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(records.len(), 1, "{records:?}");
    records.remove(0)
}

fn kinds(report: &DecodeReport) -> Vec<DecodeErrorKind> {
    report.errors.iter().map(|e| e.kind).collect()
}

fn v4(address: &str) -> Ipv6Addr {
    address.parse::<Ipv4Addr>().unwrap().to_ipv6_mapped()
}

fn v6(address: &str) -> Ipv6Addr {
    address.parse().unwrap()
}

// ---- samples to rows ----

#[test]
fn a_flow_sample_becomes_one_row_scaled_by_its_rate() {
    // given: 1 in 256, a 1514-byte frame (with FCS 1518) of a 1500-byte IPv4 packet
    let header = header_record(1, 1518, &eth_udp_1500());
    let datagram = datagram(&[flow_sample(256, 3, 4, &[header])]);

    // when
    let row = one_row(&datagram);

    // then
    assert_eq!(row.flow_protocol, FlowProtocol::SflowV5);
    assert_eq!(row.exporter, v4("192.0.2.100"), "the datagram's source, not the agent");
    assert_eq!(row.observation_domain, 3, "the sub-agent id");
    assert_eq!((row.time_start_ms, row.time_end_ms), (RECEIVED_MS, RECEIVED_MS));
    assert_eq!(
        (row.ip_version, row.src_addr, row.dst_addr),
        (4, v4("198.51.100.1"), v4("203.0.113.9"))
    );
    assert_eq!((row.protocol, row.src_port, row.dst_port), (17, 5000, 53));
    assert_eq!((row.in_if, row.out_if), (3, 4));
    assert_eq!((row.sampling_rate, row.packets, row.bytes), (256, 256, 1500 * 256));
}

#[test]
fn sampling_rate_scales_packets_and_bytes_and_an_unknown_rate_scales_nothing() {
    for (rate, packets, bytes) in [(1, 1, 1500), (1000, 1000, 1_500_000), (0, 1, 1500)] {
        // given
        let header = header_record(1, 1518, &eth_udp_1500());
        let datagram = datagram(&[flow_sample(rate, 3, 4, &[header])]);

        // when
        let row = one_row(&datagram);

        // then
        assert_eq!(
            (row.sampling_rate, row.packets, row.bytes),
            (rate, packets, bytes),
            "rate {rate}"
        );
    }
}

#[test]
fn compact_and_expanded_flow_samples_give_the_same_row() {
    // given: the same packet, once with compact interfaces, once expanded
    let header = header_record(1, 1518, &eth_udp_1500());
    let compact = datagram(&[flow_sample(100, 3, 4, std::slice::from_ref(&header))]);
    let expanded = datagram(&[expanded_flow_sample(100, (0, 3), (0, 4), &[header])]);

    // when
    let (compact, expanded) = (one_row(&compact), one_row(&expanded));

    // then
    assert_eq!(compact, expanded);
}

#[test]
fn interface_encodings_map_to_an_if_index_or_zero() {
    // (what, compact word or expanded (format, value), expected in_if)
    let compact: &[(&str, u32, u32)] = &[
        ("an ifIndex", 7, 7),
        ("the largest compact ifIndex", 0x3FFF_FFFE, 0x3FFF_FFFE),
        ("0x3FFFFFFF: the device itself", 0x3FFF_FFFF, 0),
        ("format 1: discarded by an ACL", 0x4000_0102, 0),
        ("format 2: several interfaces, number unknown", 0x8000_0000, 0),
        ("format 2: three interfaces", 0x8000_0003, 0),
        ("format 3: undefined", 0xC000_0005, 0),
        ("0: unknown", 0, 0),
    ];
    let expanded: &[(&str, (u32, u32), u32)] = &[
        ("an ifIndex above 2^30", (0, 0x4000_0001), 0x4000_0001),
        ("an ifIndex above 2^31", (0, 0x8000_0005), 0x8000_0005),
        ("0x3FFFFFFF is an ifIndex when expanded", (0, 0x3FFF_FFFF), 0x3FFF_FFFF),
        ("0xFFFFFFFF: the device itself", (0, 0xFFFF_FFFF), 0),
        ("format 1: discarded", (1, 258), 0),
        ("format 2: several interfaces", (2, 4), 0),
        ("format 9: undefined", (9, 4), 0),
    ];

    for (what, word, in_if) in compact {
        // given
        let header = header_record(1, 1518, &eth_udp_1500());
        let datagram = datagram(&[flow_sample(1, *word, *word, &[header])]);

        // when
        let row = one_row(&datagram);

        // then
        assert_eq!((row.in_if, row.out_if), (*in_if, *in_if), "compact {what}");
    }
    for (what, pair, in_if) in expanded {
        // given
        let header = header_record(1, 1518, &eth_udp_1500());
        let datagram = datagram(&[expanded_flow_sample(1, *pair, *pair, &[header])]);

        // when
        let row = one_row(&datagram);

        // then
        assert_eq!((row.in_if, row.out_if), (*in_if, *in_if), "expanded {what}");
    }
}

#[test]
fn interface_formats_are_told_apart() {
    assert_eq!(Interface::compact(0x3FFF_FFFF), Interface::Internal);
    assert_eq!(Interface::compact(0x4000_0102), Interface::Discarded);
    assert_eq!(Interface::compact(0x8000_0000), Interface::Multiple);
    assert_eq!(Interface::compact(0xC000_0001), Interface::Undefined);
    assert_eq!(Interface::expanded(0, u32::MAX), Interface::Internal);
    assert_eq!(Interface::expanded(0, 0x3FFF_FFFF), Interface::Index(0x3FFF_FFFF));
}

// ---- sampled headers ----

#[test]
fn qinq_frame_gives_the_outer_vlan_and_the_inner_packet() {
    // given: S-tag 100, C-tag 200, then TCP SYN+ACK in IPv4 (TOS 0xB8)
    let frame = [
        ethernet(ETH_STAG),
        vlan_tag(100, ETH_CTAG),
        vlan_tag(200, ETH_IPV4),
        ipv4(6, "198.51.100.7", "203.0.113.8", 60, 0xB8),
        tcp(443, 50_000, 0x12),
    ]
    .concat();
    let datagram = datagram(&[flow_sample(10, 3, 4, &[header_record(1, 82, &frame)])]);

    // when
    let row = one_row(&datagram);

    // then
    assert_eq!((row.src_vlan, row.dst_vlan), (100, 0));
    assert_eq!((row.src_addr, row.dst_addr), (v4("198.51.100.7"), v4("203.0.113.8")));
    assert_eq!((row.protocol, row.src_port, row.dst_port), (6, 443, 50_000));
    assert_eq!((row.tcp_flags, row.tos), (0x12, 0xB8));
    assert_eq!(row.bytes, 60 * 10);
}

#[test]
fn extended_switch_vlans_win_over_the_header_tag() {
    // given: a frame tagged 100, and switch data saying 300 in, 400 out
    let frame =
        [ethernet(ETH_CTAG), vlan_tag(100, ETH_IPV4), eth_udp_1500()[14..].to_vec()].concat();
    let records = [switch_record(300, 400), header_record(1, 1522, &frame)];
    let datagram = datagram(&[flow_sample(1, 3, 4, &records)]);

    // when
    let row = one_row(&datagram);

    // then
    assert_eq!((row.src_vlan, row.dst_vlan), (300, 400));
}

#[test]
fn bare_ip_header_protocols_decode_without_a_link_layer() {
    // (what, header protocol, header bytes, frame length, expected row fields)
    let ipv4_udp =
        [ipv4(17, "198.51.100.1", "203.0.113.9", 1500, 0x10), udp(123, 123, 1480)].concat();
    let ipv6_tcp =
        [ipv6(6, "2001:db8::1", "2001:db8::2", 1440, 0x20), tcp(22, 40_000, 0x18)].concat();
    let cases = [
        ("IPv4 (11)", 11, ipv4_udp, 1500, (4, v4("198.51.100.1"), 17, 123, 0x10, 1500)),
        ("IPv6 (12)", 12, ipv6_tcp, 1480, (6, v6("2001:db8::1"), 6, 22, 0x20, 1480)),
    ];

    for (what, protocol, bytes, frame_length, expected) in cases {
        // given
        let datagram =
            datagram(&[flow_sample(1, 3, 4, &[header_record(protocol, frame_length, &bytes)])]);

        // when
        let row = one_row(&datagram);

        // then
        let got = (row.ip_version, row.src_addr, row.protocol, row.src_port, row.tos, row.bytes);
        assert_eq!(got, expected, "{what}");
    }
}

#[test]
fn mpls_labels_inside_ethernet_are_skipped_to_the_ip_packet() {
    // given: two labels (the second bottom of stack), then IPv6 UDP
    let frame = [
        ethernet(ETH_MPLS),
        vec![0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40],
        ipv6(17, "2001:db8::a", "2001:db8::b", 100, 0),
        udp(4789, 4789, 100),
    ]
    .concat();
    let datagram = datagram(&[flow_sample(1, 3, 4, &[header_record(1, 180, &frame)])]);

    // when
    let row = one_row(&datagram);

    // then
    assert_eq!((row.src_addr, row.dst_port, row.bytes), (v6("2001:db8::a"), 4789, 140));
}

#[test]
fn icmp_type_and_code_go_in_the_destination_port() {
    // given: ICMP echo request (type 8, code 0)
    let frame = [
        ethernet(ETH_IPV4),
        ipv4(1, "198.51.100.1", "203.0.113.9", 84, 0),
        vec![8, 0, 0, 0, 0, 1, 0, 1],
    ]
    .concat();
    let datagram = datagram(&[flow_sample(1, 3, 4, &[header_record(1, 102, &frame)])]);

    // when
    let row = one_row(&datagram);

    // then
    assert_eq!((row.protocol, row.src_port, row.dst_port), (1, 0, 8 * 256));
}

#[test]
fn a_tcp_header_cut_short_still_gives_its_ports_and_flags() {
    // given: IPv6 TCP whose header the agent cut after 14 of its 20 bytes
    let packet = [ipv6(6, "2001:db8::1", "2001:db8::2", 1000, 0), tcp(22, 40_000, 0x11)].concat();
    let datagram = datagram(&[flow_sample(1, 3, 4, &[header_record(12, 1040, &packet[..54])])]);

    // when
    let row = one_row(&datagram);

    // then
    assert_eq!((row.src_port, row.dst_port, row.tcp_flags), (22, 40_000, 0x11));
}

#[test]
fn a_frame_that_is_not_ip_counts_its_bytes_below_the_link_layer() {
    // given: an ARP request, 60 bytes plus FCS on the wire
    let frame = [ethernet(0x0806), vec![0, 1, 8, 0, 6, 4, 0, 1], vec![0; 38]].concat();
    let datagram = datagram(&[flow_sample(2, 3, 4, &[header_record(1, 64, &frame)])]);

    // when
    let row = one_row(&datagram);

    // then: 64 - 4 stripped - 14 Ethernet = 46, twice
    assert_eq!(
        (row.ip_version, row.src_addr, row.bytes, row.packets),
        (0, Ipv6Addr::UNSPECIFIED, 92, 2)
    );
}

// ---- other flow records ----

#[test]
fn a_sampled_ipv4_record_stands_in_for_a_missing_header() {
    // given
    let record = ipv4_record(576, 6, "198.51.100.3", "203.0.113.4", (1234, 80));
    let datagram = datagram(&[flow_sample(5, 3, 4, &[record])]);

    // when
    let row = one_row(&datagram);

    // then
    assert_eq!((row.src_addr, row.dst_addr), (v4("198.51.100.3"), v4("203.0.113.4")));
    assert_eq!((row.protocol, row.src_port, row.dst_port), (6, 1234, 80));
    assert_eq!((row.tcp_flags, row.tos, row.bytes), (0x12, 0x28, 576 * 5));
}

#[test]
fn router_and_gateway_data_give_next_hop_masks_and_as_numbers() {
    // given: router data and BGP data (path 64501 64502 65000, BGP next hop 2001:db8::ff)
    let header = header_record(1, 1518, &eth_udp_1500());
    let router = router_record("192.0.2.254", 24, 22);
    let gateway = gateway_record("2001:db8::ff", 64_496, &[64_501, 64_502, 65_000]);
    let with_router = datagram(&[flow_sample(1, 3, 4, &[header.clone(), router, gateway.clone()])]);
    let without_router = datagram(&[flow_sample(1, 3, 4, &[header, gateway])]);

    // when
    let (with_router, without_router) = (one_row(&with_router), one_row(&without_router));

    // then
    assert_eq!((with_router.src_mask, with_router.dst_mask), (24, 22));
    assert_eq!(with_router.next_hop, v4("192.0.2.254"), "the IP next hop wins");
    assert_eq!((with_router.src_as, with_router.dst_as), (64_496, 65_000));
    assert_eq!(without_router.next_hop, v6("2001:db8::ff"), "else the BGP next hop");
}

#[test]
fn unknown_records_are_skipped_by_their_length() {
    // given: a vendor record and an undefined standard one around the header
    let vendor = tagged(4413, 7, &[1, 2, 3, 4, 5, 6, 7, 8]);
    let undefined = tagged(0, 2999, &[9; 12]);
    let records = [vendor, header_record(1, 1518, &eth_udp_1500()), undefined];
    let datagram = datagram(&[flow_sample(1, 3, 4, &records)]);

    // when
    let row = one_row(&datagram);

    // then
    assert_eq!((row.src_addr, row.bytes), (v4("198.51.100.1"), 1500));
}

#[test]
fn unknown_sample_types_are_skipped_by_their_length() {
    // given: an sFlow-RT sample (enterprise 4300) before a flow sample
    let other = tagged(4300, 1002, &[0; 20]);
    let datagram =
        datagram(&[other, flow_sample(1, 3, 4, &[header_record(1, 1518, &eth_udp_1500())])]);

    // when
    let row = one_row(&datagram);

    // then
    assert_eq!(row.in_if, 3);
}

// ---- other samples ----

#[test]
fn counter_samples_are_counted_and_give_no_row() {
    // given
    let datagram = datagram(&[counter_sample(&[generic_counters_record()]), counter_sample(&[])]);

    // when
    let (records, report) = decode(&datagram);

    // then
    assert!(records.is_empty());
    assert_eq!((report.counter_samples, report.records), (2, 0));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
}

#[test]
fn generic_interface_counters_decode_into_their_fields() {
    // given
    let sample = counter_sample(&[tagged(0, 2, &[0; 52]), generic_counters_record()]);

    // when
    let parsed = wire::sample(0, 2, Xdr::new(&sample[8..], 8)).unwrap();

    // then
    let Sample::Counters(counters) = parsed else { panic!("{parsed:?}") };
    let c = counters.interface.expect("generic counters");
    assert_eq!(
        (c.if_index, c.if_type, c.if_speed, c.if_direction, c.if_status),
        (7, 6, 10_000_000_000, 1, 3)
    );
    assert_eq!((c.in_octets, c.in_unicast_packets, c.in_unknown_protocols), (1_000_000, 11, 16));
    assert_eq!(
        (c.out_octets, c.out_broadcast_packets, c.out_errors, c.promiscuous_mode),
        (2_000_000, 23, 25, 1)
    );
}

#[test]
fn a_real_agents_counter_sample_gives_tcpdumps_values() {
    // given: the first datagram of tcpdump's sflow-print-v6.pcap: pcap header
    // (24), record header (16), Ethernet (14), IPv6 (40), UDP (8), then 216 bytes.
    // tcpdump's sflow-print-v6.out: counter sample, seqnum 28, idx 23001; generic
    // counters ifindex 23001, iftype 6, ifspeed 400000000000, ifdirection 1,
    // ifstatus 3, out octets 9717, out multicast pkts 79.
    let capture = include_bytes!("../../../tests/corpus/sflow/tcpdump-sflow-print-v6.pcap");
    let datagram = &capture[102..102 + 216];
    let sample_at = 4 + 20 + 12 + 4;

    // when
    let parsed = wire::sample(0, 2, Xdr::new(&datagram[sample_at + 8..], sample_at + 8)).unwrap();
    let (_, report) = decode(datagram);

    // then
    let Sample::Counters(counters) = parsed else { panic!("{parsed:?}") };
    let c = counters.interface.expect("generic counters");
    assert_eq!((c.if_index, c.if_type, c.if_speed), (23001, 6, 400_000_000_000));
    assert_eq!((c.if_direction, c.if_status), (1, 3));
    assert_eq!((c.out_octets, c.out_multicast_packets, c.in_octets), (9717, 79, 0));
    assert_eq!((report.counter_samples, report.records, report.errors.len()), (1, 0, 0));
}

#[test]
fn discarded_packet_samples_are_checked_and_give_no_row() {
    // given: a drop notification, then a flow sample
    let header = header_record(1, 1518, &eth_udp_1500());
    let datagram = datagram(&[
        discarded_packet(std::slice::from_ref(&header)),
        flow_sample(1, 3, 4, &[header]),
    ]);

    // when
    let row = one_row(&datagram);

    // then
    assert_eq!(row.in_if, 3);
}

// ---- datagrams ----

#[test]
fn an_ipv6_agent_address_is_read_and_the_samples_after_it_decode() {
    // given
    let agent = W::default().v6("2001:db8::5");
    let datagram =
        datagram_from(agent, &[flow_sample(1, 3, 4, &[header_record(1, 1518, &eth_udp_1500())])]);

    // when
    let row = one_row(&datagram);

    // then
    assert_eq!(row.src_addr, v4("198.51.100.1"));
}

#[test]
fn a_truncated_sample_after_a_good_one_keeps_the_good_one() {
    // given: two flow samples, the datagram cut 20 bytes into the second
    let sample = flow_sample(1, 3, 4, &[header_record(1, 1518, &eth_udp_1500())]);
    let whole = datagram(&[sample.clone(), sample.clone()]);
    let second_at = whole.len() - sample.len();
    let cut = &whole[..second_at + 20];

    // when
    let (records, report) = decode(cut);

    // then
    assert_eq!(records.len(), 1);
    assert_eq!(kinds(&report), [DecodeErrorKind::Truncated]);
    assert_eq!(report.errors[0].offset, second_at + 4, "the second sample's length field");
    assert!(report.errors[0].detail.contains("agent 192.0.2.1"), "{}", report.errors[0]);
}

#[test]
fn a_bad_sample_between_good_ones_costs_only_itself() {
    // given: the middle sample's only record declares more bytes than the sample holds
    let good = flow_sample(1, 3, 4, &[header_record(1, 1518, &eth_udp_1500())]);
    let bad_record = W::default().u32(1).u32(4000).bytes(&[0; 16]).0;
    let bad = flow_sample(1, 5, 6, &[bad_record]);
    let datagram = datagram(&[good.clone(), bad, good.clone()]);

    // when
    let (records, report) = decode(&datagram);

    // then
    assert_eq!(records.len(), 2);
    assert_eq!(kinds(&report), [DecodeErrorKind::BadLength]);
    let record_length_at = 28 + good.len() + 8 + 32 + 4;
    assert_eq!(report.errors[0].offset, record_length_at);
}

#[test]
fn a_record_shorter_than_its_fields_is_a_bad_record() {
    // given: extended router data of 8 bytes, too short for its masks
    let short_router = tagged(0, 1002, &W::default().v4("192.0.2.254").0);
    let datagram = datagram(&[flow_sample(1, 3, 4, &[short_router])]);

    // when
    let (records, report) = decode(&datagram);

    // then
    assert!(records.is_empty());
    assert_eq!(kinds(&report), [DecodeErrorKind::BadRecord]);
}

#[test]
fn faults_in_the_datagram_header_are_errors_not_panics() {
    // (what, datagram, expected error kind)
    let good = datagram(&[flow_sample(1, 3, 4, &[header_record(1, 1518, &eth_udp_1500())])]);
    let bad_agent = [&good[..4], &[0, 0, 0, 7], &good[8..]].concat();
    let cases: [(&str, &[u8], DecodeErrorKind); 4] = [
        ("version only", &good[..4], DecodeErrorKind::Truncated),
        ("cut in the header", &good[..20], DecodeErrorKind::Truncated),
        ("address type 7", &bad_agent, DecodeErrorKind::BadRecord),
        ("header promising a sample", &good[..28], DecodeErrorKind::Truncated),
    ];

    for (what, datagram, kind) in cases {
        // when
        let (records, report) = decode(datagram);

        // then
        assert!(records.is_empty(), "{what}");
        assert_eq!(kinds(&report), [kind], "{what}: {:?}", report.errors);
    }
}

#[test]
fn every_prefix_of_a_datagram_decodes_without_panicking() {
    // given: a datagram with each kind of sample and record
    let records = [
        switch_record(10, 20),
        header_record(1, 1518, &eth_udp_1500()),
        router_record("192.0.2.254", 24, 22),
        gateway_record("2001:db8::ff", 64_496, &[64_501]),
    ];
    let whole = datagram(&[
        flow_sample(1, 3, 4, &records),
        counter_sample(&[generic_counters_record()]),
        discarded_packet(&[ipv4_record(40, 6, "198.51.100.3", "203.0.113.4", (1, 2))]),
    ]);

    for end in 0..whole.len() {
        // when
        let (records, report) = decode(&whole[..end]);

        // then: whatever is cut, a sample decodes whole or is an error
        assert!(records.len() + report.counter_samples <= 2, "cut at {end}");
        assert!(!report.errors.is_empty(), "cut at {end} went unnoticed");
    }
    let (records, report) = decode(&whole);
    assert_eq!((records.len(), report.counter_samples, report.errors.len()), (1, 1, 0));
}

#[test]
fn bytes_past_the_udp_length_of_tcpdumps_segv_frame_are_errors() {
    // given: tcpdump's sflow_print-segv.pcap, the 872 bytes after the UDP header
    // (pcap header 24, record header 16, Ethernet 14, IPv4 20, UDP 8), which its
    // UDP length leaves out and tcpdump 4.9.2 read anyway. They claim 5 samples;
    // the first is a flow sample whose first record declares 0x465E0298 bytes.
    let capture = include_bytes!("../../../tests/corpus/sflow/tcpdump-sflow_print-segv.pcap");
    let datagram = &capture[82..82 + 872];

    // when
    let (records, report) = decode(datagram);

    // then: the first sample fails on its record, the second cannot be framed
    assert!(records.is_empty());
    assert_eq!(kinds(&report), [DecodeErrorKind::BadLength, DecodeErrorKind::Truncated]);
    let offsets: Vec<usize> = report.errors.iter().map(|e| e.offset).collect();
    assert_eq!(offsets, [72, 196], "{:?}", report.errors);
}
