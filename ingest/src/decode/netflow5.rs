//! NetFlow v5 datagrams to flow records.
//!
//! A v5 export packet is a 24-byte header followed by `count` flow records of
//! 48 bytes each, all fields at fixed offsets (Cisco, "NetFlow Export Datagram
//! Format", version 5). There are no templates, so unlike v9 and IPFIX nothing
//! is kept between datagrams: [`decode`] is a plain function of the bytes.
//!
//! The walk is written here rather than taken from `netflow_parser`: that
//! crate (1.0.6) drops a whole packet whose count says more records than the
//! buffer holds, or more than 30, so both malformed captures of the corpus
//! would lose all their records, and it brings `nom`, `nom-derive` and `lru`
//! along for what is a dozen fixed-offset reads.
//!
//! What the walk promises:
//! - The header count never reads past the buffer. A count larger than the
//!   records present decodes those that are there and reports `Truncated`.
//! - Packets put back to back in one datagram (a relay that batches, a stream
//!   capture replayed) are each decoded: the count frames each one. Bytes after
//!   the last packet that are neither zero padding nor a v5 header are
//!   reported as `BadLength`.
//! - Times are absolute: `First` and `Last` are exporter uptimes, turned into
//!   Unix milliseconds against the header's uptime and clock (seconds and
//!   nanoseconds), with the signed-difference rule the v9 decoder uses, so a
//!   32-bit uptime wrap between the flow and its export costs nothing.
//! - The header's sampling field gives `sampling_rate`, and counters are
//!   scaled by it when it is above 1.
//!
//! It deliberately does not move ICMP type and code out of the source port,
//! where some Cisco exporters have put them: v5 defines them in the
//! destination port, and that is where they are read.
//!
//! TODO: `flow_sequence` is read past, not compared with the previous packet's,
//! so records lost between an exporter and flowsage go uncounted; there is no
//! per-exporter counter for such gaps yet (NetFlow v9 and IPFIX lack it too).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{DecodeErrorKind, DecodeReport, be_u32, error, next_message};
use crate::flow::{FlowProtocol, FlowRecord};

/// The version field of a v5 header.
const VERSION: u16 = 5;
/// Length of the v5 packet header.
const HEADER_LEN: usize = 24;
/// Length of one v5 flow record.
const RECORD_LEN: usize = 48;
/// The low 14 bits of the header's sampling field hold the interval; the top
/// two bits say the sampling mode.
const SAMPLING_INTERVAL_MASK: u16 = 0x3fff;
const NANOS_PER_MILLI: u32 = 1_000_000;
const NANOS_PER_SEC: u32 = 1_000_000_000;

/// Decodes every v5 packet of `datagram`, appending one flow record per flow.
pub(super) fn decode(
    exporter: IpAddr,
    received_ms: i64,
    datagram: &[u8],
    out: &mut Vec<FlowRecord>,
    report: &mut DecodeReport,
) {
    report.protocol = Some(FlowProtocol::NetflowV5);
    let mut start = 0;
    while let Some(end) = decode_packet(exporter, received_ms, datagram, start, out, report) {
        match next_message(datagram, end, HEADER_LEN, VERSION, "a NetFlow v5 packet", report) {
            Some(next) => start = next,
            None => break,
        }
    }
}

/// Decodes the packet at `start` of the datagram; returns where its last
/// record ends, or `None` when it runs past the datagram's end.
fn decode_packet(
    exporter: IpAddr,
    received_ms: i64,
    datagram: &[u8],
    start: usize,
    out: &mut Vec<FlowRecord>,
    report: &mut DecodeReport,
) -> Option<usize> {
    let Some(header) = datagram[start..].first_chunk::<HEADER_LEN>() else {
        report.errors.push(error(
            DecodeErrorKind::Truncated,
            start,
            format!(
                "{} bytes is shorter than the 24-byte NetFlow v5 header",
                datagram.len() - start
            ),
        ));
        return None;
    };
    let header = Header::read(header);
    let body = &datagram[start + HEADER_LEN..];
    let (records, _) = body.as_chunks::<RECORD_LEN>();
    let count = usize::from(header.count);

    let truncated = count > records.len();
    if truncated {
        report.errors.push(error(
            DecodeErrorKind::Truncated,
            start + 2,
            format!(
                "header counts {count} records but the {} bytes after it hold {}",
                body.len(),
                records.len()
            ),
        ));
    }
    for record in records.iter().take(count) {
        out.push(header.flow(exporter, received_ms, record));
        report.records += 1;
    }

    (!truncated).then_some(start + HEADER_LEN + count * RECORD_LEN)
}

/// What the header says that every record of its packet needs.
#[derive(Debug)]
struct Header {
    count: u16,
    /// Exporter uptime when the packet was sent.
    sys_uptime_ms: u32,
    /// Exporter clock when the packet was sent, Unix milliseconds.
    export_ms: i64,
    /// `engine_type << 8 | engine_id`: one exporter's flow caches apart.
    observation_domain: u32,
    /// 1 in N; 0 when the header does not say.
    sampling_rate: u32,
}

impl Header {
    /// Layout: version (2), count (2), sysUptime (4), unix_secs (4),
    /// unix_nsecs (4), flow_sequence (4), engine_type (1), engine_id (1),
    /// sampling (2).
    fn read(bytes: &[u8; HEADER_LEN]) -> Self {
        let export_secs = be_u32(&bytes[8..12]);
        let nanos = be_u32(&bytes[12..16]);
        // A residual of a second or more cannot be right; the seconds still are.
        let export_millis = if nanos < NANOS_PER_SEC { nanos / NANOS_PER_MILLI } else { 0 };
        let sampling = be_u16(&bytes[22..24]);
        // The top two bits say the mode: 1 deterministic, 2 random, 0 none
        // configured. Juniper sends mode 0 with the interval set, and samples
        // all the same, so the interval alone decides, as nfdump reads it.
        let interval = sampling & SAMPLING_INTERVAL_MASK;
        Self {
            count: be_u16(&bytes[2..4]),
            sys_uptime_ms: be_u32(&bytes[4..8]),
            export_ms: i64::from(export_secs) * 1000 + i64::from(export_millis),
            observation_domain: u32::from(bytes[20]) << 8 | u32::from(bytes[21]),
            sampling_rate: u32::from(interval),
        }
    }

    /// The flow record of one 48-byte v5 record.
    ///
    /// Layout: srcaddr (4), dstaddr (4), nexthop (4), input (2), output (2),
    /// dPkts (4), dOctets (4), First (4), Last (4), srcport (2), dstport (2),
    /// pad (1), tcp_flags (1), prot (1), tos (1), src_as (2), dst_as (2),
    /// src_mask (1), dst_mask (1), pad (2).
    fn flow(&self, exporter: IpAddr, received_ms: i64, r: &[u8; RECORD_LEN]) -> FlowRecord {
        let mut flow = FlowRecord::new(
            exporter,
            FlowProtocol::NetflowV5,
            self.observation_domain,
            received_ms,
        );
        flow.ip_version = 4;
        flow.src_addr = ipv4(&r[0..4]);
        flow.dst_addr = ipv4(&r[4..8]);
        flow.next_hop = ipv4(&r[8..12]);
        flow.in_if = u32::from(be_u16(&r[12..14]));
        flow.out_if = u32::from(be_u16(&r[14..16]));
        flow.packets = u64::from(be_u32(&r[16..20]));
        flow.bytes = u64::from(be_u32(&r[20..24]));
        flow.time_start_ms = self.uptime_to_unix_ms(be_u32(&r[24..28]));
        flow.time_end_ms = self.uptime_to_unix_ms(be_u32(&r[28..32]));
        flow.src_port = be_u16(&r[32..34]);
        // For ICMP this is type * 256 + code already.
        flow.dst_port = be_u16(&r[34..36]);
        flow.tcp_flags = r[37];
        flow.protocol = r[38];
        flow.tos = r[39];
        flow.src_as = u32::from(be_u16(&r[40..42]));
        flow.dst_as = u32::from(be_u16(&r[42..44]));
        flow.src_mask = r[44];
        flow.dst_mask = r[45];

        flow.sampling_rate = self.sampling_rate;
        if self.sampling_rate > 1 {
            flow.packets = flow.packets.saturating_mul(u64::from(self.sampling_rate));
            flow.bytes = flow.bytes.saturating_mul(u64::from(self.sampling_rate));
        }
        flow
    }

    /// Unix milliseconds of an exporter uptime.
    ///
    /// The same rule as NetFlow v9's (`fields::RecordTimes`): the difference
    /// to the export's uptime is taken as a signed 32-bit number, so a wrap of
    /// the uptime counter in between still gives a small offset; a time after
    /// the export cannot be, and is held at the export time.
    fn uptime_to_unix_ms(&self, uptime_ms: u32) -> i64 {
        let before_export = i64::from(self.sys_uptime_ms.wrapping_sub(uptime_ms) as i32);
        self.export_ms - before_export.max(0)
    }
}

fn ipv4(bytes: &[u8]) -> Ipv6Addr {
    Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_ipv6_mapped()
}

fn be_u16(bytes: &[u8]) -> u16 {
    u16::from_be_bytes([bytes[0], bytes[1]])
}

#[cfg(test)]
mod tests {
    //! v5 packets built field by field, for the edges the corpus does not hit.

    use super::*;

    /// Export clock written in every built header.
    const EXPORT_SECS: u32 = 1_700_000_000;
    const EXPORT_NANOS: u32 = 250_000_000;
    const EXPORT_MS: i64 = EXPORT_SECS as i64 * 1000 + 250;
    const RECEIVED_MS: i64 = EXPORT_MS + 40;

    /// A v5 header; `count` is written as given, whatever follows it.
    struct Packet {
        count: u16,
        sys_uptime_ms: u32,
        engine: (u8, u8),
        sampling: u16,
        records: Vec<[u8; RECORD_LEN]>,
    }

    impl Packet {
        fn new(records: Vec<[u8; RECORD_LEN]>) -> Self {
            let count = u16::try_from(records.len()).unwrap();
            Self { count, sys_uptime_ms: 60_000, engine: (0, 0), sampling: 0, records }
        }

        fn build(&self) -> Vec<u8> {
            let mut bytes = Vec::new();
            bytes.extend(VERSION.to_be_bytes());
            bytes.extend(self.count.to_be_bytes());
            bytes.extend(self.sys_uptime_ms.to_be_bytes());
            bytes.extend(EXPORT_SECS.to_be_bytes());
            bytes.extend(EXPORT_NANOS.to_be_bytes());
            bytes.extend(7u32.to_be_bytes()); // flow_sequence
            bytes.extend([self.engine.0, self.engine.1]);
            bytes.extend(self.sampling.to_be_bytes());
            bytes.extend(self.records.iter().flatten());
            bytes
        }
    }

    /// A record from 198.51.100.1:40000 to 203.0.113.9:443 whose uptimes,
    /// packets and bytes are given; the other fields distinct and non-zero.
    fn record(first: u32, last: u32, packets: u32, bytes: u32) -> [u8; RECORD_LEN] {
        let mut r = [0u8; RECORD_LEN];
        r[0..4].copy_from_slice(&[198, 51, 100, 1]);
        r[4..8].copy_from_slice(&[203, 0, 113, 9]);
        r[8..12].copy_from_slice(&[192, 0, 2, 254]);
        r[12..14].copy_from_slice(&3u16.to_be_bytes());
        r[14..16].copy_from_slice(&65_000u16.to_be_bytes());
        r[16..20].copy_from_slice(&packets.to_be_bytes());
        r[20..24].copy_from_slice(&bytes.to_be_bytes());
        r[24..28].copy_from_slice(&first.to_be_bytes());
        r[28..32].copy_from_slice(&last.to_be_bytes());
        r[32..34].copy_from_slice(&40_000u16.to_be_bytes());
        r[34..36].copy_from_slice(&443u16.to_be_bytes());
        r[36] = 0xaa; // pad1, ignored
        r[37] = 0x1b; // tcp_flags
        r[38] = 6;
        r[39] = 0xb8; // tos
        r[40..42].copy_from_slice(&64_496u16.to_be_bytes());
        r[42..44].copy_from_slice(&15_169u16.to_be_bytes());
        r[44] = 24;
        r[45] = 16;
        r
    }

    fn plain_record() -> [u8; RECORD_LEN] {
        record(50_000, 59_000, 10, 1_500)
    }

    fn run(datagram: &[u8]) -> (Vec<FlowRecord>, DecodeReport) {
        let mut out = Vec::new();
        let mut report = DecodeReport::default();
        decode("192.0.2.1".parse().unwrap(), RECEIVED_MS, datagram, &mut out, &mut report);
        (out, report)
    }

    fn kinds(report: &DecodeReport) -> Vec<(DecodeErrorKind, usize)> {
        report.errors.iter().map(|e| (e.kind, e.offset)).collect()
    }

    fn v4(address: &str) -> Ipv6Addr {
        address.parse::<Ipv4Addr>().unwrap().to_ipv6_mapped()
    }

    #[test]
    fn every_field_of_a_record_lands_in_its_column() {
        // given
        let mut packet = Packet::new(vec![plain_record()]);
        packet.engine = (1, 2);

        // when
        let (flows, report) = run(&packet.build());

        // then
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!((report.protocol, report.records), (Some(FlowProtocol::NetflowV5), 1));
        let mut want = FlowRecord::new(
            "192.0.2.1".parse().unwrap(),
            FlowProtocol::NetflowV5,
            0x0102,
            RECEIVED_MS,
        );
        want.time_start_ms = EXPORT_MS - 10_000;
        want.time_end_ms = EXPORT_MS - 1_000;
        want.ip_version = 4;
        want.src_addr = v4("198.51.100.1");
        want.dst_addr = v4("203.0.113.9");
        want.next_hop = v4("192.0.2.254");
        want.src_port = 40_000;
        want.dst_port = 443;
        want.protocol = 6;
        want.tcp_flags = 0x1b;
        want.tos = 0xb8;
        want.packets = 10;
        want.bytes = 1_500;
        want.in_if = 3;
        want.out_if = 65_000;
        want.src_as = 64_496;
        want.dst_as = 15_169;
        want.src_mask = 24;
        want.dst_mask = 16;
        assert_eq!(flows, [want]);
    }

    #[test]
    fn first_and_last_count_back_from_the_export_clock() {
        for (what, uptime_at_export, first, last, start_before, end_before) in [
            ("plain", 60_000, 50_000, 59_000, 10_000, 1_000),
            // The uptime wrapped past 2^32 between the flow and the export.
            ("across a wrap", 1_000, u32::MAX - 999, 500, 2_000, 500),
            // softflowd: a flow that began in the millisecond before its boot.
            ("first before boot", 3_381, u32::MAX, 2_577, 3_382, 804),
            // A flow cannot end after its export: the export time bounds it.
            ("after the export", 10_000, 9_000, 15_000, 1_000, 0),
        ] {
            // given
            let mut packet = Packet::new(vec![record(first, last, 1, 40)]);
            packet.sys_uptime_ms = uptime_at_export;

            // when
            let (flows, _) = run(&packet.build());

            // then: the header's nanoseconds count too (EXPORT_MS ends in .250)
            let times = (flows[0].time_start_ms, flows[0].time_end_ms);
            assert_eq!(times, (EXPORT_MS - start_before, EXPORT_MS - end_before), "{what}");
        }
    }

    #[test]
    fn sampling_field_gives_the_rate_and_scales_the_counters() {
        for (what, sampling, rate, packets, bytes) in [
            ("not said", 0x0000, 0, 10, 1_500),
            ("deterministic 1 in 100", 0x4000 | 100, 100, 1_000, 150_000),
            ("random 1 in 10", 0x8000 | 10, 10, 100, 15_000),
            // Juniper MX: mode bits clear, interval set, and it does sample.
            ("mode 0, 1 in 1000", 1_000, 1_000, 10_000, 1_500_000),
            ("mode set, no interval", 0x4000, 0, 10, 1_500),
            ("1 in 1", 0x4000 | 1, 1, 10, 1_500),
            ("largest interval", 0xffff, 16_383, 163_830, 24_574_500),
        ] {
            // given
            let mut packet = Packet::new(vec![plain_record()]);
            packet.sampling = sampling;

            // when
            let (flows, _) = run(&packet.build());

            // then
            let got = (flows[0].sampling_rate, flows[0].packets, flows[0].bytes);
            assert_eq!(got, (rate, packets, bytes), "{what}");
        }
    }

    #[test]
    fn count_larger_than_the_records_present_decodes_those_and_reports_truncation() {
        for (what, count, records, tail) in [
            ("two records, count five", 5, 2, 0),
            ("two records and part of a third", 3, 2, 20),
            ("no records, count one", 1, 0, 0),
            ("count 55582", 55_582, 3, 47),
        ] {
            // given
            let mut packet = Packet::new(vec![plain_record(); records]);
            packet.count = count;
            let datagram = [packet.build(), vec![0x5a; tail]].concat();

            // when
            let (flows, report) = run(&datagram);

            // then
            assert_eq!((flows.len(), report.records), (records, records), "{what}");
            assert_eq!(kinds(&report), [(DecodeErrorKind::Truncated, 2)], "{what}");
        }
    }

    #[test]
    fn header_alone_is_an_empty_packet_or_a_truncated_one() {
        for (what, count, errors) in
            [("count zero", 0, vec![]), ("count three", 3, vec![(DecodeErrorKind::Truncated, 2)])]
        {
            // given
            let mut packet = Packet::new(vec![]);
            packet.count = count;

            // when
            let (flows, report) = run(&packet.build());

            // then
            assert!(flows.is_empty(), "{what}");
            assert_eq!(kinds(&report), errors, "{what}");
        }
    }

    #[test]
    fn shorter_than_the_header_is_truncated() {
        // given
        let datagram = &Packet::new(vec![]).build()[..HEADER_LEN - 1];

        // when
        let (flows, report) = run(datagram);

        // then
        assert!(flows.is_empty());
        assert_eq!(kinds(&report), [(DecodeErrorKind::Truncated, 0)]);
        assert_eq!(
            report.errors[0].detail,
            "23 bytes is shorter than the 24-byte NetFlow v5 header"
        );
    }

    #[test]
    fn every_prefix_of_a_datagram_decodes_without_panicking() {
        // given
        let datagram = Packet::new(vec![plain_record(); 3]).build();

        for len in 0..datagram.len() {
            // when
            let (flows, report) = run(&datagram[..len]);

            // then: whole records are kept, the cut is reported
            let whole = len.saturating_sub(HEADER_LEN) / RECORD_LEN;
            assert_eq!(flows.len(), whole, "first {len} bytes");
            assert_eq!(report.errors.len(), 1, "first {len} bytes: {:?}", report.errors);
            assert_eq!(report.errors[0].kind, DecodeErrorKind::Truncated, "first {len} bytes");
        }
    }

    #[test]
    fn packets_back_to_back_are_each_decoded() {
        // given: a packet of two records, then one of one from another engine
        let first = Packet::new(vec![plain_record(); 2]).build();
        let mut second = Packet::new(vec![record(55_000, 56_000, 1, 60)]);
        second.engine = (0, 9);
        let datagram = [first, second.build()].concat();

        // when
        let (flows, report) = run(&datagram);

        // then
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let got: Vec<_> = flows.iter().map(|f| (f.observation_domain, f.bytes)).collect();
        assert_eq!(got, [(0, 1_500), (0, 1_500), (9, 60)]);
    }

    #[test]
    fn bytes_after_the_last_record_are_padding_or_a_bad_length() {
        for (what, tail, errors) in [
            ("zero padding", vec![0; 30], vec![]),
            ("a stray record", vec![1; RECORD_LEN], vec![(DecodeErrorKind::BadLength, 72)]),
            ("a short v5 header", vec![0, 5, 0, 1], vec![(DecodeErrorKind::BadLength, 72)]),
        ] {
            // given: one packet of one record, then the tail
            let datagram = [Packet::new(vec![plain_record()]).build(), tail].concat();

            // when
            let (flows, report) = run(&datagram);

            // then: the packet's record is kept either way
            assert_eq!(flows.len(), 1, "{what}");
            assert_eq!(kinds(&report), errors, "{what}");
        }
    }
}
