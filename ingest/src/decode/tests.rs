//! Decoder regressions, one per fault class, on datagrams built here.
//!
//! [`V9`] and [`Ipfix`] assemble a datagram set by set from field specifiers
//! and record bytes, so each test shows the exact layout it pins. Records are
//! written with [`Rec`]. The corpus test (`tests/corpus.rs`) covers real
//! exporters; these cover the walk's edges that no capture happens to hit.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;

/// Export time written in every built header, Unix seconds.
const EXPORT_SECS: u32 = 1_700_000_000;
const EXPORT_MS: i64 = EXPORT_SECS as i64 * 1000;
/// When the datagrams are "received", a little after their export.
const RECEIVED_MS: i64 = EXPORT_MS + 250;

// Information element ids (RFC 3954 section 8 / IANA IPFIX registry).
const OCTETS: u16 = 1;
const PACKETS: u16 = 2;
const PROTOCOL: u16 = 4;
const SRC_PORT: u16 = 7;
const SRC_IPV4: u16 = 8;
const IN_IF: u16 = 10;
const DST_PORT: u16 = 11;
const DST_IPV4: u16 = 12;
const OUT_IF: u16 = 14;
const LAST_SWITCHED: u16 = 21;
const FIRST_SWITCHED: u16 = 22;
const POST_OCTETS: u16 = 23;
const POST_PACKETS: u16 = 24;
const SRC_IPV6: u16 = 27;
const DST_IPV6: u16 = 28;
const SAMPLING_INTERVAL: u16 = 34;
const ICMP_TYPE_CODE_V4: u16 = 32;
const SAMPLER_ID: u16 = 48;
const SAMPLER_RANDOM_INTERVAL: u16 = 50;
const IPV4_ROUTER_SC: u16 = 43;
const OCTET_TOTAL: u16 = 85;
const PACKET_TOTAL: u16 = 86;
const EXPORTING_PROCESS_ID: u16 = 144;
const FLOW_START_MICROS: u16 = 154;
const FLOW_END_MICROS: u16 = 155;
const SYSTEM_INIT_MS: u16 = 160;
const ICMP_TYPE_V4: u16 = 176;
const ICMP_CODE_V4: u16 = 177;
const INITIATOR_OCTETS: u16 = 231;
const RESPONDER_OCTETS: u16 = 232;
const IN_PHYSICAL_IF: u16 = 252;
const OUT_PHYSICAL_IF: u16 = 253;
const INITIATOR_PACKETS: u16 = 298;
const RESPONDER_PACKETS: u16 = 299;
const SELECTOR_ID: u16 = 302;
const PACKET_INTERVAL: u16 = 305;
const PACKET_SPACE: u16 = 306;
const SAMPLING_SIZE: u16 = 309;
const SAMPLING_POPULATION: u16 = 310;
/// NetFlow v9 options scope type "System" (RFC 3954 section 6.1).
const SCOPE_SYSTEM: u16 = 1;
/// A private enterprise number for made-up vendor elements (RFC 5612's
/// documentation number).
const PEN: u32 = 32473;
/// Variable length in a field specifier (RFC 7011 section 7).
const VARIABLE: u16 = 65535;

/// Record bytes, field by field, big-endian.
#[derive(Default)]
struct Rec(Vec<u8>);

impl Rec {
    fn u16(mut self, value: u16) -> Self {
        self.0.extend(value.to_be_bytes());
        self
    }

    fn u8(mut self, value: u8) -> Self {
        self.0.push(value);
        self
    }

    fn u32(mut self, value: u32) -> Self {
        self.0.extend(value.to_be_bytes());
        self
    }

    fn u64(mut self, value: u64) -> Self {
        self.0.extend(value.to_be_bytes());
        self
    }

    fn ip(mut self, value: &str) -> Self {
        self.0.extend(value.parse::<Ipv4Addr>().unwrap().octets());
        self
    }

    fn ip6(mut self, value: &str) -> Self {
        self.0.extend(value.parse::<Ipv6Addr>().unwrap().octets());
        self
    }

    fn bytes(mut self, value: &[u8]) -> Self {
        self.0.extend(value);
        self
    }

    /// A variable-length value with its prefix (RFC 7011 section 7): one
    /// byte under 255, else 255 and two bytes.
    fn var(mut self, value: &[u8]) -> Self {
        match u8::try_from(value.len()) {
            Ok(short) if short < 255 => self.0.push(short),
            _ => {
                self.0.push(255);
                self.0.extend(u16::try_from(value.len()).unwrap().to_be_bytes());
            }
        }
        self.0.extend(value);
        self
    }
}

fn set(id: u16, body: &[u8]) -> Vec<u8> {
    let length = u16::try_from(body.len() + 4).unwrap();
    [&id.to_be_bytes()[..], &length.to_be_bytes(), body].concat()
}

fn specs(fields: &[(u16, u16)]) -> Vec<u8> {
    fields.iter().flat_map(|(id, len)| [id.to_be_bytes(), len.to_be_bytes()]).flatten().collect()
}

/// IPFIX field specifiers with enterprise numbers (RFC 7011 section 3.2);
/// a number other than 0 sets the enterprise bit and follows the length.
fn enterprise_specs(fields: &[(u16, u16, u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (id, len, pen) in fields {
        let bit = if *pen == 0 { 0 } else { 0x8000 };
        out.extend((id | bit).to_be_bytes());
        out.extend(len.to_be_bytes());
        if *pen != 0 {
            out.extend(pen.to_be_bytes());
        }
    }
    out
}

/// A NetFlow v9 packet (RFC 3954 section 5) under construction.
struct V9 {
    source_id: u32,
    uptime_ms: u32,
    count: Option<u16>,
    records: u16,
    sets: Vec<u8>,
}

impl V9 {
    fn new(source_id: u32) -> Self {
        Self { source_id, uptime_ms: 3_600_000, count: None, records: 0, sets: Vec::new() }
    }

    fn uptime(mut self, uptime_ms: u32) -> Self {
        self.uptime_ms = uptime_ms;
        self
    }

    /// The header's record count; by default templates plus records, as the RFC has it.
    fn count(mut self, count: u16) -> Self {
        self.count = Some(count);
        self
    }

    fn template(mut self, id: u16, fields: &[(u16, u16)]) -> Self {
        let field_count = u16::try_from(fields.len()).unwrap();
        let body = [&id.to_be_bytes()[..], &field_count.to_be_bytes(), &specs(fields)].concat();
        self.sets.extend(set(0, &body));
        self.records += 1;
        self
    }

    fn options_template(mut self, id: u16, scope: &[(u16, u16)], fields: &[(u16, u16)]) -> Self {
        let (scope, fields) = (specs(scope), specs(fields));
        let scope_len = u16::try_from(scope.len()).unwrap().to_be_bytes();
        let fields_len = u16::try_from(fields.len()).unwrap().to_be_bytes();
        let body = [&id.to_be_bytes()[..], &scope_len, &fields_len, &scope, &fields].concat();
        self.sets.extend(set(1, &body));
        self.records += 1;
        self
    }

    fn data(mut self, template: u16, records: &[Rec]) -> Self {
        let body: Vec<u8> = records.iter().flat_map(|r| r.0.clone()).collect();
        self.sets.extend(set(template, &body));
        self.records += u16::try_from(records.len()).unwrap();
        self
    }

    /// Bytes appended as they are: a broken set, padding.
    fn raw(mut self, bytes: &[u8]) -> Self {
        self.sets.extend(bytes);
        self
    }

    fn build(self) -> Vec<u8> {
        let count = self.count.unwrap_or(self.records);
        let header = [
            &9u16.to_be_bytes()[..],
            &count.to_be_bytes(),
            &self.uptime_ms.to_be_bytes(),
            &EXPORT_SECS.to_be_bytes(),
            &1u32.to_be_bytes(),
            &self.source_id.to_be_bytes(),
        ]
        .concat();
        [header, self.sets].concat()
    }
}

/// An IPFIX message (RFC 7011 section 3) under construction.
struct Ipfix {
    domain: u32,
    export_secs: u32,
    sets: Vec<u8>,
}

impl Ipfix {
    fn new(domain: u32) -> Self {
        Self { domain, export_secs: EXPORT_SECS, sets: Vec::new() }
    }

    fn template(mut self, id: u16, fields: &[(u16, u16)]) -> Self {
        let field_count = u16::try_from(fields.len()).unwrap();
        let body = [&id.to_be_bytes()[..], &field_count.to_be_bytes(), &specs(fields)].concat();
        self.sets.extend(set(2, &body));
        self
    }

    fn options_template(mut self, id: u16, scope: &[(u16, u16)], fields: &[(u16, u16)]) -> Self {
        let total = u16::try_from(scope.len() + fields.len()).unwrap().to_be_bytes();
        let scoped = u16::try_from(scope.len()).unwrap().to_be_bytes();
        let body = [&id.to_be_bytes()[..], &total, &scoped, &specs(scope), &specs(fields)].concat();
        self.sets.extend(set(3, &body));
        self
    }

    fn data(mut self, template: u16, records: &[Rec]) -> Self {
        let body: Vec<u8> = records.iter().flat_map(|r| r.0.clone()).collect();
        self.sets.extend(set(template, &body));
        self
    }

    /// Bytes appended as they are: a hand-made set, padding.
    fn raw(mut self, bytes: &[u8]) -> Self {
        self.sets.extend(bytes);
        self
    }

    fn build(self) -> Vec<u8> {
        let length = u16::try_from(16 + self.sets.len()).unwrap();
        let header = [
            &10u16.to_be_bytes()[..],
            &length.to_be_bytes(),
            &self.export_secs.to_be_bytes(),
            &1u32.to_be_bytes(),
            &self.domain.to_be_bytes(),
        ]
        .concat();
        [header, self.sets].concat()
    }
}

fn exporter(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

fn v4(address: &str) -> Ipv6Addr {
    address.parse::<Ipv4Addr>().unwrap().to_ipv6_mapped()
}

/// Decodes the datagrams in order with one decoder, all from `from`.
fn decode_all(from: IpAddr, datagrams: &[Vec<u8>]) -> (Vec<FlowRecord>, Vec<DecodeReport>) {
    let mut decoder = FlowDecoder::new();
    let mut records = Vec::new();
    let reports = datagrams
        .iter()
        .map(|datagram| decoder.decode(from, RECEIVED_MS, datagram, &mut records))
        .collect();
    (records, reports)
}

fn kinds(report: &DecodeReport) -> Vec<DecodeErrorKind> {
    report.errors.iter().map(|e| e.kind).collect()
}

// (a) Templates are scoped per exporter and per source id / observation domain.

#[test]
fn same_template_id_from_two_exporters_decodes_with_each_ones_layout() {
    // given: both routers define template 256, with different layouts
    let a_template = V9::new(0).template(256, &[(SRC_IPV4, 4), (OCTETS, 4)]).build();
    let b_template = V9::new(0).template(256, &[(OCTETS, 8), (DST_IPV4, 4)]).build();
    let a_data = V9::new(0).data(256, &[Rec::default().ip("198.51.100.1").u32(1000)]).build();
    let b_data = V9::new(0).data(256, &[Rec::default().u64(2000).ip("203.0.113.9")]).build();
    let mut decoder = FlowDecoder::new();
    let mut records = Vec::new();

    // when
    for (from, datagram) in [(1, &a_template), (2, &b_template), (1, &a_data), (2, &b_data)] {
        let report = decoder.decode(exporter(from), RECEIVED_MS, datagram, &mut records);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }

    // then
    assert_eq!(records.len(), 2);
    assert_eq!((records[0].src_addr, records[0].bytes), (v4("198.51.100.1"), 1000));
    assert_eq!((records[1].dst_addr, records[1].bytes), (v4("203.0.113.9"), 2000));
    assert_eq!(records[1].src_addr, Ipv6Addr::UNSPECIFIED);
    assert_eq!(decoder.templates_known(exporter(1)), 1);
}

#[test]
fn same_template_id_under_two_source_ids_decodes_with_each_ones_layout() {
    // given: one router, two source ids (line cards), template 300 in each
    let datagrams = [
        V9::new(1).template(300, &[(SRC_IPV4, 4), (OCTETS, 4)]).build(),
        V9::new(2).template(300, &[(OCTETS, 4), (SRC_IPV4, 4)]).build(),
        V9::new(1).data(300, &[Rec::default().ip("198.51.100.1").u32(10)]).build(),
        V9::new(2).data(300, &[Rec::default().u32(20).ip("198.51.100.2")]).build(),
    ];

    // when
    let (records, reports) = decode_all(exporter(1), &datagrams);

    // then
    assert!(reports.iter().all(|r| r.errors.is_empty()));
    let got: Vec<_> = records.iter().map(|r| (r.observation_domain, r.src_addr, r.bytes)).collect();
    assert_eq!(got, [(1, v4("198.51.100.1"), 10), (2, v4("198.51.100.2"), 20)]);
}

#[test]
fn same_template_id_in_two_ipfix_observation_domains_decodes_with_each_ones_layout() {
    // given
    let datagrams = [
        Ipfix::new(7).template(256, &[(SRC_IPV4, 4), (PACKETS, 4)]).build(),
        Ipfix::new(8).template(256, &[(PACKETS, 4), (SRC_IPV4, 4)]).build(),
        Ipfix::new(7).data(256, &[Rec::default().ip("198.51.100.7").u32(3)]).build(),
        Ipfix::new(8).data(256, &[Rec::default().u32(4).ip("198.51.100.8")]).build(),
    ];

    // when
    let (records, _) = decode_all(exporter(1), &datagrams);

    // then
    let got: Vec<_> = records.iter().map(|r| (r.src_addr, r.packets)).collect();
    assert_eq!(got, [(v4("198.51.100.7"), 3), (v4("198.51.100.8"), 4)]);
}

// (b) The NetFlow v9 header count is not trusted.

#[test]
fn v9_header_count_does_not_limit_the_records_decoded() {
    for (what, count) in [
        ("softflowd: data records only", 3),
        ("RFC 3954: templates and records", 4),
        ("zero", 0),
        ("too large", 1000),
    ] {
        // given: one template set, then a data set of three records
        let records = [10, 20, 30].map(|bytes| Rec::default().ip("198.51.100.1").u32(bytes));
        let datagram = V9::new(0)
            .template(256, &[(SRC_IPV4, 4), (OCTETS, 4)])
            .data(256, &records)
            .count(count)
            .build();

        // when
        let (records, reports) = decode_all(exporter(1), &[datagram]);

        // then
        let bytes: Vec<u64> = records.iter().map(|r| r.bytes).collect();
        assert_eq!(bytes, [10, 20, 30], "count {what}");
        assert!(reports[0].errors.is_empty(), "count {what}: {:?}", reports[0].errors);
    }
}

// (c) A data set with an unknown template is counted and skipped.

#[test]
fn data_set_before_its_template_is_counted_and_the_later_sets_decode() {
    // given: [data 256, template 256, data 256] in one datagram
    let datagram = V9::new(0)
        .data(256, &[Rec::default().ip("198.51.100.1").u32(1)])
        .template(256, &[(SRC_IPV4, 4), (OCTETS, 4)])
        .data(256, &[Rec::default().ip("198.51.100.2").u32(2)])
        .build();

    // when
    let (records, reports) = decode_all(exporter(1), &[datagram]);

    // then
    assert_eq!(kinds(&reports[0]), [DecodeErrorKind::MissingTemplate]);
    assert_eq!(reports[0].errors[0].offset, V9_HEADER_LEN);
    assert_eq!((reports[0].records, reports[0].templates), (1, 1));
    assert_eq!(records.len(), 1);
    assert_eq!((records[0].src_addr, records[0].bytes), (v4("198.51.100.2"), 2));
}

// (d) A set that cannot be framed ends the walk; what came before stays.

#[test]
fn truncated_set_ends_the_walk_and_keeps_the_records_before_it() {
    // given: a good data set, then a set header declaring 100 bytes with 8 left
    let good = V9::new(0)
        .template(256, &[(SRC_IPV4, 4), (OCTETS, 4)])
        .data(256, &[Rec::default().ip("198.51.100.1").u32(5)])
        .build();
    let broken_at = good.len();
    let datagram = [good, vec![1, 0, 0, 100, 0, 0, 0, 0]].concat();

    // when
    let (records, reports) = decode_all(exporter(1), &[datagram]);

    // then
    assert_eq!(records.len(), 1);
    let error = &reports[0].errors[..];
    assert_eq!(kinds(&reports[0]), [DecodeErrorKind::Truncated]);
    assert_eq!(error[0].offset, broken_at + 2);
    assert_eq!(error[0].detail, "set 256 declares 100 bytes but 8 remain");
}

#[test]
fn set_shorter_than_its_header_ends_the_walk_and_keeps_the_records_before_it() {
    // given: a good data set, then set 256 declaring length 2, then another good set
    let datagram = V9::new(0)
        .template(256, &[(SRC_IPV4, 4), (OCTETS, 4)])
        .data(256, &[Rec::default().ip("198.51.100.1").u32(5)])
        .raw(&[1, 0, 0, 2])
        .data(256, &[Rec::default().ip("198.51.100.2").u32(6)])
        .build();

    // when
    let (records, reports) = decode_all(exporter(1), &[datagram]);

    // then: the set after the bad one cannot be found, so it is not decoded
    assert_eq!(records.iter().map(|r| r.bytes).collect::<Vec<_>>(), [5]);
    assert_eq!(kinds(&reports[0]), [DecodeErrorKind::BadLength]);
    assert_eq!(
        reports[0].errors[0].detail,
        "set 256 declares length 2, under the 4-byte set header"
    );
}

// (e) NetFlow v9 FIRST_SWITCHED / LAST_SWITCHED are sysUpTime milliseconds.

#[test]
fn v9_switched_times_count_back_from_the_export_time() {
    for (what, uptime_at_export, first, last, start_before, end_before) in [
        ("plain", 10_000, 4_000, 9_000, 6_000, 1_000),
        // sysUpTime wrapped past 2^32 between the flow and the export.
        ("across a wrap", 1_000, u32::MAX - 999, 500, 2_000, 500),
        // FortiOS: the flow clock runs ahead of sysUpTime; a flow cannot
        // end after its export, so the export time bounds it.
        ("after the export", 10_000, 9_000, 15_000, 1_000, 0),
    ] {
        // given
        let datagram = V9::new(0)
            .uptime(uptime_at_export)
            .template(256, &[(FIRST_SWITCHED, 4), (LAST_SWITCHED, 4)])
            .data(256, &[Rec::default().u32(first).u32(last)])
            .build();

        // when
        let (records, _) = decode_all(exporter(1), &[datagram]);

        // then
        let times = (records[0].time_start_ms, records[0].time_end_ms);
        assert_eq!(times, (EXPORT_MS - start_before, EXPORT_MS - end_before), "{what}");
    }
}

// (f) IPFIX uptime times need the exporter's systemInitTimeMilliseconds.

#[test]
fn ipfix_sysuptime_times_use_the_init_time_learned_from_options() {
    // given: a flow before the options record, the options record, a flow after
    let booted_ms: u64 = 1_699_000_000_000;
    let flow = |start: u32, end: u32| Rec::default().u32(start).u32(end);
    let datagrams = [
        Ipfix::new(0)
            .template(256, &[(FIRST_SWITCHED, 4), (LAST_SWITCHED, 4)])
            .data(256, &[flow(5_000, 7_000)])
            .build(),
        Ipfix::new(0)
            .options_template(257, &[(EXPORTING_PROCESS_ID, 4)], &[(SYSTEM_INIT_MS, 8)])
            .data(257, &[Rec::default().u32(1).u64(booted_ms)])
            .data(256, &[flow(5_000, 7_000)])
            .build(),
    ];

    // when
    let (records, reports) = decode_all(exporter(1), &datagrams);

    // then: unknown until learned, then boot time plus uptime
    assert_eq!(reports[1].option_records, 1);
    assert_eq!((records[0].time_start_ms, records[0].time_end_ms), (RECEIVED_MS, RECEIVED_MS));
    let booted = i64::try_from(booted_ms).unwrap();
    assert_eq!(
        (records[1].time_start_ms, records[1].time_end_ms),
        (booted + 5_000, booted + 7_000)
    );
}

#[test]
fn ipfix_microsecond_times_count_from_the_ntp_epoch() {
    // given: flowStart/EndMicroseconds in NTP format (RFC 7011 6.1.9), seconds
    // since 1900 and a 2^-32 fraction; 2^31 is half a second
    let ntp_secs = |unix: u32| unix + 2_208_988_800;
    let datagram = Ipfix::new(0)
        .template(256, &[(FLOW_START_MICROS, 8), (FLOW_END_MICROS, 8)])
        .data(
            256,
            &[Rec::default()
                .u32(ntp_secs(EXPORT_SECS - 10))
                .u32(0)
                .u32(ntp_secs(EXPORT_SECS - 1))
                .u32(1 << 31)],
        )
        .build();

    // when
    let (records, _) = decode_all(exporter(1), &[datagram]);

    // then
    let times = (records[0].time_start_ms, records[0].time_end_ms);
    assert_eq!(times, (EXPORT_MS - 10_000, EXPORT_MS - 500));
}

// (g) Sampling: bytes and packets are scaled by a known rate, never by 0.

#[test]
fn sampling_interval_in_the_record_scales_bytes_and_packets() {
    // given
    let datagram = V9::new(0)
        .template(256, &[(OCTETS, 4), (PACKETS, 4), (SAMPLING_INTERVAL, 4)])
        .data(256, &[Rec::default().u32(1_500).u32(3).u32(100)])
        .build();

    // when
    let (records, _) = decode_all(exporter(1), &[datagram]);

    // then
    let got = (records[0].sampling_rate, records[0].bytes, records[0].packets);
    assert_eq!(got, (100, 150_000, 300));
}

#[test]
fn v9_sampler_options_rate_applies_to_later_records_of_that_sampler() {
    // given: sampler 7 samples 1 in 512; records name sampler 7 and sampler 9
    let datagrams = [
        V9::new(0)
            .options_template(
                300,
                &[(SCOPE_SYSTEM, 4)],
                &[(SAMPLER_ID, 1), (SAMPLER_RANDOM_INTERVAL, 4)],
            )
            .data(300, &[Rec::default().u32(0).u8(7).u32(512)])
            .build(),
        V9::new(0)
            .template(256, &[(OCTETS, 4), (PACKETS, 4), (SAMPLER_ID, 1)])
            .data(
                256,
                &[Rec::default().u32(100).u32(2).u8(7), Rec::default().u32(100).u32(2).u8(9)],
            )
            .build(),
    ];

    // when
    let (records, reports) = decode_all(exporter(1), &datagrams);

    // then: sampler 9 has no known rate, so its record stays unscaled
    assert_eq!(reports[0].option_records, 1);
    let got: Vec<_> = records.iter().map(|r| (r.sampling_rate, r.bytes, r.packets)).collect();
    assert_eq!(got, [(512, 51_200, 1_024), (0, 100, 2)]);
}

#[test]
fn ipfix_selector_options_rate_from_sampling_population() {
    // given: Cisco's random 1-out-of-256 selector 1 (samplingSize 1 of
    // samplingPopulation 256; samplingPacketInterval 1 says nothing of the rate)
    let datagram = Ipfix::new(0)
        .options_template(
            257,
            &[(SELECTOR_ID, 4)],
            &[(PACKET_INTERVAL, 4), (SAMPLING_SIZE, 4), (SAMPLING_POPULATION, 4)],
        )
        .data(257, &[Rec::default().u32(1).u32(1).u32(1).u32(256)])
        .template(256, &[(OCTETS, 4), (PACKETS, 4), (SELECTOR_ID, 4)])
        .data(256, &[Rec::default().u32(72).u32(1).u32(1)])
        .build();

    // when
    let (records, _) = decode_all(exporter(1), &[datagram]);

    // then
    let got = (records[0].sampling_rate, records[0].bytes, records[0].packets);
    assert_eq!(got, (256, 18_432, 256));
}

#[test]
fn sampling_elements_of_one_record_are_read_together() {
    // given: systematic sampling, take 1 packet then skip 99
    let datagram = Ipfix::new(0)
        .template(256, &[(PACKETS, 4), (PACKET_INTERVAL, 4), (PACKET_SPACE, 4)])
        .data(256, &[Rec::default().u32(5).u32(1).u32(99)])
        .build();

    // when
    let (records, _) = decode_all(exporter(1), &[datagram]);

    // then
    assert_eq!((records[0].sampling_rate, records[0].packets), (100, 500));
}

#[test]
fn sampling_rate_of_zero_is_unknown_and_scales_nothing() {
    // given: an options record and a data record both saying rate 0
    let datagram = V9::new(0)
        .options_template(300, &[(SCOPE_SYSTEM, 4)], &[(SAMPLING_INTERVAL, 4)])
        .data(300, &[Rec::default().u32(0).u32(0)])
        .template(256, &[(OCTETS, 4), (PACKETS, 4), (SAMPLING_INTERVAL, 4)])
        .data(256, &[Rec::default().u32(1_500).u32(3).u32(0)])
        .build();

    // when
    let (records, _) = decode_all(exporter(1), &[datagram]);

    // then
    let got = (records[0].sampling_rate, records[0].bytes, records[0].packets);
    assert_eq!(got, (0, 1_500, 3));
}

// (h) Datagrams that are neither protocol, or too short to say.

#[test]
fn unsupported_version_is_an_error_and_nothing_else() {
    // given: a NetFlow v7 header (Catalyst switches), which flowsage does not read
    let datagram = [&7u16.to_be_bytes()[..], &[0; 22]].concat();

    // when
    let (records, reports) = decode_all(exporter(1), &[datagram]);

    // then
    assert!(records.is_empty());
    assert_eq!(reports[0].protocol, None);
    assert_eq!(kinds(&reports[0]), [DecodeErrorKind::UnsupportedVersion]);
    assert_eq!(
        reports[0].errors[0].detail,
        "version 7 is none of NetFlow v5, v9, IPFIX (10) or sFlow v5"
    );
}

#[test]
fn datagram_under_two_bytes_is_truncated() {
    for datagram in [vec![], vec![0]] {
        // given / when
        let (records, reports) = decode_all(exporter(1), std::slice::from_ref(&datagram));

        // then
        assert!(records.is_empty());
        assert_eq!(kinds(&reports[0]), [DecodeErrorKind::Truncated], "{datagram:?}");
    }
}

// Faults found by the corpus (tests/corpus.rs).

#[test]
fn ipfix_messages_back_to_back_in_one_datagram_all_decode() {
    // given: two messages in one buffer, as a stream capture replays them,
    // then bytes that are no message
    let first = Ipfix::new(0)
        .template(256, &[(SRC_IPV4, 4), (OCTETS, 4)])
        .data(256, &[Rec::default().ip("198.51.100.1").u32(1)])
        .build();
    let second = Ipfix::new(0).data(256, &[Rec::default().ip("198.51.100.2").u32(2)]).build();
    let end = first.len() + second.len();
    let datagram = [first, second, vec![0xde, 0xad]].concat();

    // when
    let (records, reports) = decode_all(exporter(1), &[datagram]);

    // then
    assert_eq!(records.iter().map(|r| r.bytes).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(kinds(&reports[0]), [DecodeErrorKind::BadLength]);
    assert_eq!(reports[0].errors[0].offset, end);
}

#[test]
fn v9_non_zero_padding_after_the_last_record_is_ignored() {
    // given: nProbe-style garbage after a data set's record, Cisco WLC-style
    // garbage after an options template record
    let datagram = V9::new(0)
        .raw(&set(
            1,
            &[&[1, 44, 0, 4, 0, 4][..], &specs(&[(SCOPE_SYSTEM, 4), (OCTETS, 4)]), &[0x2d, 0x67]]
                .concat(),
        ))
        .template(256, &[(SRC_IPV4, 4), (OCTETS, 1)])
        .raw(&set(256, &Rec::default().ip("198.51.100.1").u8(9).u8(0x0d).u8(0).u8(1).0))
        .build();

    // when
    let (records, reports) = decode_all(exporter(1), &[datagram]);

    // then
    assert!(reports[0].errors.is_empty(), "{:?}", reports[0].errors);
    assert_eq!(reports[0].templates, 2);
    assert_eq!((records.len(), records[0].bytes), (1, 9));
}

#[test]
fn icmp_type_and_code_go_to_dst_port_for_icmp_flows_only() {
    // given: one template for all protocols, as softflowd sends it; the ICMP
    // element is 0 in TCP records and must not overwrite their port
    let layout = [(PROTOCOL, 1), (DST_PORT, 2), (ICMP_TYPE_CODE_V4, 2)];
    let datagram = V9::new(0)
        .template(260, &layout)
        .data(260, &[Rec::default().u8(1).u16(0).u16(0x0800), Rec::default().u8(6).u16(22).u16(0)])
        .build();

    // when
    let (records, _) = decode_all(exporter(1), &[datagram]);

    // then: echo request is type 8, code 0
    let got: Vec<(u8, u16)> = records.iter().map(|r| (r.protocol, r.dst_port)).collect();
    assert_eq!(got, [(1, 2048), (6, 22)]);
}

// (i) Templates as real exporters write them (tests/corpus.rs found each one).

#[test]
fn v9_vendor_field_types_are_skipped_by_their_length() {
    // given: Cisco ASA NSEL and Palo Alto vendor types (32768 and more) between
    // known fields; an IPFIX parser would read a 4-byte enterprise number after each
    let layout = [(SRC_IPV4, 4), (40_005, 1), (33_000, 12), (56_701, 3), (OCTETS, 4)];
    let datagram = V9::new(0)
        .template(256, &layout)
        .data(256, &[Rec::default().ip("198.51.100.1").u8(9).bytes(&[0xee; 15]).u32(1_234)])
        .build();

    // when
    let (records, reports) = decode_all(exporter(1), &[datagram]);

    // then
    assert!(reports[0].errors.is_empty(), "{:?}", reports[0].errors);
    assert_eq!((records[0].src_addr, records[0].bytes), (v4("198.51.100.1"), 1_234));
}

#[test]
fn unassigned_and_zero_field_types_are_skipped_by_their_length() {
    // given: FortiGate's type 65, Streamcore's 8196, a Cisco WLC's 20000, type 0
    // with length 0 and with length 1
    let layout = [(65, 2), (SRC_IPV4, 4), (8_196, 1), (20_000, 2), (0, 0), (0, 1), (PACKETS, 4)];
    let datagram = V9::new(0)
        .template(256, &layout)
        .data(256, &[Rec::default().u16(7).ip("198.51.100.2").u8(1).u16(2).u8(3).u32(17)])
        .build();

    // when
    let (records, reports) = decode_all(exporter(1), &[datagram]);

    // then
    assert!(reports[0].errors.is_empty(), "{:?}", reports[0].errors);
    assert_eq!((records[0].src_addr, records[0].packets), (v4("198.51.100.2"), 17));
}

#[test]
fn field_lengths_outside_the_registry_do_not_reject_the_template() {
    // given: H3C's ipv4RouterSc in 2 bytes instead of 4, and a source address
    // in 2 bytes, which cannot be an address and is left out
    let layout = [(IPV4_ROUTER_SC, 2), (SRC_IPV4, 2), (DST_IPV4, 4), (OCTETS, 4)];
    let datagram = V9::new(0)
        .template(256, &layout)
        .data(256, &[Rec::default().u16(0x0a01).u16(0x0a02).ip("203.0.113.5").u32(99)])
        .build();

    // when
    let (records, reports) = decode_all(exporter(1), &[datagram]);

    // then
    assert!(reports[0].errors.is_empty(), "{:?}", reports[0].errors);
    let got = (records[0].src_addr, records[0].dst_addr, records[0].bytes);
    assert_eq!(got, (Ipv6Addr::UNSPECIFIED, v4("203.0.113.5"), 99));
}

#[test]
fn reduced_size_counters_of_1_to_8_bytes_are_read_whole() {
    for length in 1..=8u16 {
        // given: octets at their largest for the length, packets 1
        let largest = u64::MAX >> (64 - 8 * u32::from(length));
        let size = usize::from(length);
        let octets = &largest.to_be_bytes()[8 - size..];
        let packets = &1u64.to_be_bytes()[8 - size..];
        let datagram = Ipfix::new(0)
            .template(256, &[(OCTETS, length), (PACKETS, length)])
            .data(256, &[Rec::default().bytes(octets).bytes(packets)])
            .build();

        // when
        let (records, reports) = decode_all(exporter(1), &[datagram]);

        // then
        assert!(reports[0].errors.is_empty(), "{length} bytes: {:?}", reports[0].errors);
        assert_eq!((records[0].bytes, records[0].packets), (largest, 1), "{length} bytes");
    }
}

#[test]
fn variable_length_fields_take_the_length_their_prefix_gives() {
    for (what, first, second) in [
        ("short form", vec![b'a'; 3], vec![b'b'; 0]),
        ("short form, 254 bytes", vec![b'a'; 254], vec![b'b'; 1]),
        // Netscaler's cookies and YAF's lists: 255, then a 2-byte length.
        ("long form", vec![b'a'; 300], vec![b'b'; 2]),
        ("long form under 255", vec![b'a'; 5], vec![b'b'; 255]),
    ] {
        // given: two unknown variable-length enterprise elements around known
        // fields, and two consecutive records
        let layout = [
            (SRC_IPV4, 4, 0),
            (1, VARIABLE, PEN),
            (OCTETS, 4, 0),
            (2, VARIABLE, PEN),
            (PACKETS, 4, 0),
        ];
        let template = [&256u16.to_be_bytes()[..], &5u16.to_be_bytes(), &enterprise_specs(&layout)];
        let long = |r: Rec, value: &[u8]| {
            r.bytes(&[255]).bytes(&u16::try_from(value.len()).unwrap().to_be_bytes()).bytes(value)
        };
        let record = |n: u32| {
            let r = Rec::default().ip("198.51.100.3");
            let r = if what.starts_with("long") { long(r, &first) } else { r.var(&first) };
            r.u32(n).var(&second).u32(n + 1)
        };
        let datagram = Ipfix::new(0)
            .raw(&set(2, &template.concat()))
            .data(256, &[record(10), record(20)])
            .build();

        // when
        let (records, reports) = decode_all(exporter(1), &[datagram]);

        // then
        assert!(reports[0].errors.is_empty(), "{what}: {:?}", reports[0].errors);
        let got: Vec<_> = records.iter().map(|r| (r.src_addr, r.bytes, r.packets)).collect();
        let want = [(v4("198.51.100.3"), 10, 11), (v4("198.51.100.3"), 20, 21)];
        assert_eq!(got, want, "{what}");
    }
}

#[test]
fn v9_length_65535_is_variable_as_in_ipfix() {
    // given: H3C NetStream's VRF name, sent empty
    let datagram = V9::new(0)
        .template(256, &[(SRC_PORT, 2), (236, VARIABLE), (OCTETS, 4)])
        .data(256, &[Rec::default().u16(137).var(b"").u32(702)])
        .build();

    // when
    let (records, reports) = decode_all(exporter(1), &[datagram]);

    // then
    assert!(reports[0].errors.is_empty(), "{:?}", reports[0].errors);
    assert_eq!((records[0].src_port, records[0].bytes), (137, 702));
}

#[test]
fn variable_length_record_past_the_set_end_loses_its_set_only() {
    // given: a record whose prefix says 200 bytes with 2 left, then a good set
    let layout = [(OCTETS, 4, 0), (1, VARIABLE, PEN)];
    let template = [&256u16.to_be_bytes()[..], &2u16.to_be_bytes(), &enterprise_specs(&layout)];
    let good = Rec::default().u32(1).var(b"ok");
    let datagram = Ipfix::new(0)
        .raw(&set(2, &template.concat()))
        .data(256, &[Rec::default().u32(1).var(b"ok"), Rec::default().u32(2).bytes(&[200, 0, 0])])
        .data(256, &[good])
        .build();

    // when
    let (records, reports) = decode_all(exporter(1), &[datagram]);

    // then: the broken set's first record is dropped with it; record 1 starts
    // after the 16-byte header, the 20-byte template set, a set header and the
    // 7 bytes of record 0
    assert_eq!(kinds(&reports[0]), [DecodeErrorKind::BadDataSet]);
    assert_eq!(
        reports[0].errors[0].detail,
        "in set 256: record 1 at byte offset 47 runs past the set end: field 1 needs 201 bytes, \
         3 left"
    );
    assert_eq!(records.iter().map(|r| r.bytes).collect::<Vec<_>>(), [1]);
}

#[test]
fn padding_after_the_last_template_is_ignored() {
    for padding in 1..=7 {
        // given: template 256 in a set padded with zeros inside its length, then
        // a record, in each protocol
        let body = [&[1, 0, 0, 1][..], &specs(&[(OCTETS, 4)]), &vec![0; padding]].concat();
        let record = || Rec::default().u32(5);
        let datagrams = [
            ("v9", V9::new(0).raw(&set(0, &body)).data(256, &[record()]).build()),
            ("IPFIX", Ipfix::new(0).raw(&set(2, &body)).data(256, &[record()]).build()),
        ];

        for (what, datagram) in datagrams {
            // when
            let (records, reports) = decode_all(exporter(1), &[datagram]);

            // then
            let context = format!("{what}, {padding} bytes");
            assert!(reports[0].errors.is_empty(), "{context}: {:?}", reports[0].errors);
            assert_eq!((reports[0].templates, records.len()), (1, 1), "{context}");
        }
    }
}

#[test]
fn zero_padding_after_the_last_set_is_ignored() {
    // given: Palo Alto's one data set in a datagram zero-filled to 1400 bytes,
    // after 5 bytes of padding inside the set
    let templates = V9::new(0).template(256, &[(SRC_IPV4, 4), (OCTETS, 4)]).build();
    let mut data = V9::new(0)
        .raw(&set(256, &Rec::default().ip("198.51.100.4").u32(363).bytes(&[0; 5]).0))
        .build();
    data.resize(1400, 0);

    // when
    let (records, reports) = decode_all(exporter(1), &[templates, data]);

    // then
    assert!(reports[1].errors.is_empty(), "{:?}", reports[1].errors);
    assert_eq!((records.len(), records[0].bytes), (1, 363));
}

#[test]
fn counters_other_than_the_deltas_stand_in_for_them() {
    for (what, layout, values, want) in [
        ("delta", &[(OCTETS, 4), (OCTET_TOTAL, 4)][..], &[10, 99][..], 10),
        ("delta 0, post delta", &[(OCTETS, 4), (POST_OCTETS, 4)], &[0, 32], 32),
        ("delta and post delta", &[(OCTETS, 4), (POST_OCTETS, 4)], &[7, 8], 7),
        ("post delta only", &[(POST_OCTETS, 4)], &[32], 32),
        (
            "ASA initiator and responder",
            &[(INITIATOR_OCTETS, 4), (RESPONDER_OCTETS, 4)],
            &[69, 14_178],
            14_247,
        ),
        ("ASA initiator only", &[(INITIATOR_OCTETS, 4)], &[81], 81),
        ("total only", &[(OCTET_TOTAL, 4)], &[56], 56),
        // A total repeats what earlier exports counted; a zero delta beats it.
        ("delta 0 and total", &[(OCTETS, 4), (OCTET_TOTAL, 4)], &[0, 65], 0),
        ("none", &[(SRC_PORT, 4)], &[1], 0),
    ] {
        // given: the same layout for octets and packets
        let packets: Vec<(u16, u16)> = layout
            .iter()
            .map(|(id, len)| {
                let id = match *id {
                    OCTETS => PACKETS,
                    POST_OCTETS => POST_PACKETS,
                    INITIATOR_OCTETS => INITIATOR_PACKETS,
                    RESPONDER_OCTETS => RESPONDER_PACKETS,
                    OCTET_TOTAL => PACKET_TOTAL,
                    other => other,
                };
                (id, *len)
            })
            .collect();
        let fields = [layout, &packets].concat();
        let record = values.iter().chain(values).fold(Rec::default(), |r, v| r.u32(*v));
        let datagram = V9::new(0).template(256, &fields).data(256, &[record]).build();

        // when
        let (records, _) = decode_all(exporter(1), &[datagram]);

        // then
        assert_eq!((records[0].bytes, records[0].packets), (want, want), "{what}");
    }
}

#[test]
fn physical_interfaces_stand_in_for_missing_or_unknown_logical_ones() {
    for (what, layout, values, want) in [
        ("physical only", &[(IN_PHYSICAL_IF, 4), (OUT_PHYSICAL_IF, 4)][..], &[5, 6][..], (5, 6)),
        (
            "logical 0",
            &[(IN_IF, 4), (OUT_IF, 4), (IN_PHYSICAL_IF, 4), (OUT_PHYSICAL_IF, 4)],
            &[0, 0, 5, 6],
            (5, 6),
        ),
        (
            "logical first",
            &[(IN_PHYSICAL_IF, 4), (OUT_PHYSICAL_IF, 4), (IN_IF, 4), (OUT_IF, 4)],
            &[5, 6, 1, 2],
            (1, 2),
        ),
    ] {
        // given
        let record = values.iter().fold(Rec::default(), |r, v| r.u32(*v));
        let datagram = Ipfix::new(0).template(256, layout).data(256, &[record]).build();

        // when
        let (records, _) = decode_all(exporter(1), &[datagram]);

        // then
        assert_eq!((records[0].in_if, records[0].out_if), want, "{what}");
    }
}

#[test]
fn icmp_type_and_code_sent_apart_go_to_dst_port() {
    // given: Cisco ASA's separate type and code elements, echo request
    let layout = [(PROTOCOL, 1), (DST_PORT, 2), (ICMP_TYPE_V4, 1), (ICMP_CODE_V4, 1)];
    let datagram = V9::new(0)
        .template(256, &layout)
        .data(
            256,
            &[Rec::default().u8(1).u16(0).u8(8).u8(0), Rec::default().u8(1).u16(9).u8(3).u8(3)],
        )
        .build();

    // when
    let (records, _) = decode_all(exporter(1), &[datagram]);

    // then
    assert_eq!(records.iter().map(|r| r.dst_port).collect::<Vec<_>>(), [0x0800, 0x0303]);
}

#[test]
fn zero_address_of_the_other_family_does_not_replace_the_flows_own() {
    // given: one template for both families, the unused one zero-filled
    // (Procera; Cisco's SRv6 templates put IPv4 after IPv6)
    let layout = [(SRC_IPV4, 4), (SRC_IPV6, 16), (DST_IPV6, 16), (DST_IPV4, 4)];
    let datagram = Ipfix::new(0)
        .template(256, &layout)
        .data(
            256,
            &[
                Rec::default().ip("198.51.100.5").ip6("::").ip6("::").ip("203.0.113.6"),
                Rec::default().ip("0.0.0.0").ip6("2001:db8::1").ip6("2001:db8::2").ip("0.0.0.0"),
            ],
        )
        .build();

    // when
    let (records, _) = decode_all(exporter(1), &[datagram]);

    // then
    let got: Vec<_> = records.iter().map(|r| (r.ip_version, r.src_addr, r.dst_addr)).collect();
    let v6 = |a: &str| a.parse::<Ipv6Addr>().unwrap();
    assert_eq!(
        got,
        [(4, v4("198.51.100.5"), v4("203.0.113.6")), (6, v6("2001:db8::1"), v6("2001:db8::2")),]
    );
}

#[test]
fn template_redefinition_replaces_the_layout() {
    // given: template 256 defined, used, redefined, used again
    let datagrams = [
        Ipfix::new(0)
            .template(256, &[(SRC_IPV4, 4), (OCTETS, 4)])
            .data(256, &[Rec::default().ip("198.51.100.1").u32(1)])
            .build(),
        Ipfix::new(0)
            .template(256, &[(OCTETS, 8), (SRC_IPV4, 4)])
            .data(256, &[Rec::default().u64(2).ip("198.51.100.2")])
            .build(),
    ];

    // when
    let mut decoder = FlowDecoder::new();
    let mut records = Vec::new();
    for datagram in &datagrams {
        decoder.decode(exporter(1), RECEIVED_MS, datagram, &mut records);
    }

    // then
    let got: Vec<_> = records.iter().map(|r| (r.src_addr, r.bytes)).collect();
    assert_eq!(got, [(v4("198.51.100.1"), 1), (v4("198.51.100.2"), 2)]);
    assert_eq!(decoder.templates_known(exporter(1)), 1);
}

#[test]
fn ipfix_template_withdrawal_forgets_the_template() {
    for (what, withdrawal, templates_left) in [
        // RFC 7011 8.1: field count 0 withdraws that template id...
        ("one", set(2, &[1, 0, 0, 0]), 1),
        // ...and template id 2 withdraws every template of the set's kind.
        ("all", set(2, &[0, 2, 0, 0]), 0),
    ] {
        // given: templates 256 and 257, the withdrawal, then data for 256
        let datagram = Ipfix::new(0)
            .template(256, &[(OCTETS, 4)])
            .template(257, &[(PACKETS, 4)])
            .raw(&withdrawal)
            .data(256, &[Rec::default().u32(1)])
            .build();
        let mut decoder = FlowDecoder::new();
        let mut records = Vec::new();

        // when
        let report = decoder.decode(exporter(1), RECEIVED_MS, &datagram, &mut records);

        // then
        assert_eq!(kinds(&report), [DecodeErrorKind::MissingTemplate], "{what}");
        assert!(records.is_empty(), "{what}");
        assert_eq!(decoder.templates_known(exporter(1)), templates_left, "{what}");
    }
}
