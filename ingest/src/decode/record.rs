//! Data records of NetFlow v9 and IPFIX, walked with their template and
//! written straight into the columns of a flow record.
//!
//! [`DataSet`] frames the records of one data set (RFC 3954 section 5.3, RFC
//! 7011 section 3.3.1) and [`fields`] the fields of one record: a field takes
//! its template length, or the length its prefix gives when variable (RFC
//! 7011 section 7: one byte, or 255 then two bytes). [`fill`] maps the IANA
//! elements flowsage stores into a [`FlowRecord`], reading each value by id
//! and length in place; [`SessionState`] learns sampling rates and the
//! exporter's boot time from options records. NetFlow v9 field types 1-127
//! are the IPFIX elements of the same number, so one mapping serves both.
//!
//! Integers may come in fewer bytes than the registry's type, or more
//! (reduced-size encoding, RFC 7011 section 6.2; H3C and ASAs do it): any
//! length from 1 to 8 is read as a big-endian unsigned number. A value that
//! does not fit its column is ignored rather than cut. Enterprise elements,
//! v9 vendor types and elements flowsage does not store are skipped by length.
//!
//! Times are made absolute here: NetFlow v9 and some IPFIX exporters send them
//! relative to the exporter's uptime.
//!
//! It deliberately does not keep any other element: no per-field values are
//! built, so a record costs one pass over its bytes and no allocation.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::template::{FieldSpec, Template, VARIABLE_LENGTH};
use crate::flow::FlowRecord;

/// Milliseconds from the NTP epoch (1900) to the Unix epoch (1970).
///
/// RFC 7011 6.1.9 and 6.1.10 encode `dateTimeMicroseconds` and
/// `dateTimeNanoseconds` as NTP timestamps: seconds since 1900, then a 32-bit
/// binary fraction of a second.
const NTP_TO_UNIX_MS: i64 = 2_208_988_800_000;

/// IANA IPFIX information element ids that flowsage reads (RFC 7012 and the
/// IANA "IPFIX Information Elements" registry; 1-127 are also NetFlow v9
/// field types, RFC 3954 section 8).
mod ie {
    pub const OCTET_DELTA_COUNT: u16 = 1;
    pub const PACKET_DELTA_COUNT: u16 = 2;
    pub const PROTOCOL_IDENTIFIER: u16 = 4;
    pub const IP_CLASS_OF_SERVICE: u16 = 5;
    pub const TCP_CONTROL_BITS: u16 = 6;
    pub const SOURCE_TRANSPORT_PORT: u16 = 7;
    pub const SOURCE_IPV4_ADDRESS: u16 = 8;
    pub const SOURCE_IPV4_PREFIX_LENGTH: u16 = 9;
    pub const INGRESS_INTERFACE: u16 = 10;
    pub const DESTINATION_TRANSPORT_PORT: u16 = 11;
    pub const DESTINATION_IPV4_ADDRESS: u16 = 12;
    pub const DESTINATION_IPV4_PREFIX_LENGTH: u16 = 13;
    pub const EGRESS_INTERFACE: u16 = 14;
    pub const IP_NEXT_HOP_IPV4_ADDRESS: u16 = 15;
    pub const BGP_SOURCE_AS_NUMBER: u16 = 16;
    pub const BGP_DESTINATION_AS_NUMBER: u16 = 17;
    pub const BGP_NEXT_HOP_IPV4_ADDRESS: u16 = 18;
    pub const FLOW_END_SYS_UP_TIME: u16 = 21;
    pub const FLOW_START_SYS_UP_TIME: u16 = 22;
    pub const POST_OCTET_DELTA_COUNT: u16 = 23;
    pub const POST_PACKET_DELTA_COUNT: u16 = 24;
    pub const SOURCE_IPV6_ADDRESS: u16 = 27;
    pub const DESTINATION_IPV6_ADDRESS: u16 = 28;
    pub const SOURCE_IPV6_PREFIX_LENGTH: u16 = 29;
    pub const DESTINATION_IPV6_PREFIX_LENGTH: u16 = 30;
    pub const ICMP_TYPE_CODE_IPV4: u16 = 32;
    pub const SAMPLING_INTERVAL: u16 = 34;
    pub const SAMPLER_ID: u16 = 48;
    pub const SAMPLER_RANDOM_INTERVAL: u16 = 50;
    pub const VLAN_ID: u16 = 58;
    pub const POST_VLAN_ID: u16 = 59;
    pub const IP_VERSION: u16 = 60;
    pub const IP_NEXT_HOP_IPV6_ADDRESS: u16 = 62;
    pub const BGP_NEXT_HOP_IPV6_ADDRESS: u16 = 63;
    pub const OCTET_TOTAL_COUNT: u16 = 85;
    pub const PACKET_TOTAL_COUNT: u16 = 86;
    pub const ICMP_TYPE_CODE_IPV6: u16 = 139;
    pub const FLOW_START_SECONDS: u16 = 150;
    pub const FLOW_END_SECONDS: u16 = 151;
    pub const FLOW_START_MILLISECONDS: u16 = 152;
    pub const FLOW_END_MILLISECONDS: u16 = 153;
    pub const FLOW_START_MICROSECONDS: u16 = 154;
    pub const FLOW_END_MICROSECONDS: u16 = 155;
    pub const FLOW_START_NANOSECONDS: u16 = 156;
    pub const FLOW_END_NANOSECONDS: u16 = 157;
    pub const FLOW_START_DELTA_MICROSECONDS: u16 = 158;
    pub const FLOW_END_DELTA_MICROSECONDS: u16 = 159;
    pub const SYSTEM_INIT_TIME_MILLISECONDS: u16 = 160;
    pub const ICMP_TYPE_IPV4: u16 = 176;
    pub const ICMP_CODE_IPV4: u16 = 177;
    pub const ICMP_TYPE_IPV6: u16 = 178;
    pub const ICMP_CODE_IPV6: u16 = 179;
    pub const INITIATOR_OCTETS: u16 = 231;
    pub const RESPONDER_OCTETS: u16 = 232;
    pub const DOT1Q_VLAN_ID: u16 = 243;
    pub const INGRESS_PHYSICAL_INTERFACE: u16 = 252;
    pub const EGRESS_PHYSICAL_INTERFACE: u16 = 253;
    pub const POST_DOT1Q_VLAN_ID: u16 = 254;
    pub const INITIATOR_PACKETS: u16 = 298;
    pub const RESPONDER_PACKETS: u16 = 299;
    pub const SELECTOR_ID: u16 = 302;
    pub const SAMPLING_PACKET_INTERVAL: u16 = 305;
    pub const SAMPLING_PACKET_SPACE: u16 = 306;
    pub const SAMPLING_SIZE: u16 = 309;
    pub const SAMPLING_POPULATION: u16 = 310;
}

/// A data set that cannot be framed with its template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum RecordError {
    #[error(
        "record {index} at byte offset {offset} runs past the set end: field {field} needs \
         {needed} bytes, {left} left"
    )]
    PastSetEnd { index: usize, offset: usize, field: usize, needed: usize, left: usize },
}

/// The records of one data set, framed with its template.
pub(super) struct DataSet<'a> {
    template: &'a Template,
    body: &'a [u8],
    /// Bytes of `body` that hold whole records; the rest is padding.
    records_end: usize,
}

impl<'a> DataSet<'a> {
    /// Frames the data set body that starts at byte `at` of the datagram.
    ///
    /// Bytes after the last record that are fewer than the shortest record
    /// the template allows are padding, whatever their value. A record that
    /// runs past the set end fails the whole set: its template and its data
    /// disagree, so the records before it cannot be trusted either.
    pub fn frame(template: &'a Template, body: &'a [u8], at: usize) -> Result<Self, RecordError> {
        let records_end = match template.fixed_length {
            Some(length) => body.len() / length * length,
            None => {
                let mut pos = 0;
                let mut index = 0;
                while body.len() - pos >= template.min_length {
                    pos += variable_record_length(template, &body[pos..]).map_err(
                        |(field, needed, left)| RecordError::PastSetEnd {
                            index,
                            offset: at + pos,
                            field,
                            needed,
                            left,
                        },
                    )?;
                    index += 1;
                }
                pos
            }
        };
        Ok(Self { template, body, records_end })
    }

    /// Each record's bytes, in order.
    pub fn records(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let (template, mut rest) = (self.template, &self.body[..self.records_end]);
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let length = match template.fixed_length {
                Some(length) => length,
                None => variable_record_length(template, rest).ok()?,
            };
            let (record, after) = rest.split_at(length);
            rest = after;
            Some(record)
        })
    }
}

/// Length of the variable-length record at the start of `bytes`; when it is
/// cut short, the field index, the bytes it needs and the bytes left.
fn variable_record_length(
    template: &Template,
    bytes: &[u8],
) -> Result<usize, (usize, usize, usize)> {
    let mut pos = 0;
    for (index, spec) in template.fields.iter().enumerate() {
        let (start, length) =
            field_extent(spec, bytes, pos).ok_or((index, 3, bytes.len() - pos))?;
        if bytes.len() - start < length {
            return Err((index, start - pos + length, bytes.len() - pos));
        }
        pos = start + length;
    }
    Ok(pos)
}

/// Where the value of `spec` starts in `bytes` when the field starts at
/// `pos`, and its length; `None` when a variable-length prefix is cut short.
fn field_extent(spec: &FieldSpec, bytes: &[u8], pos: usize) -> Option<(usize, usize)> {
    if spec.length != VARIABLE_LENGTH {
        return Some((pos, usize::from(spec.length)));
    }
    match *bytes.get(pos)? {
        255 => {
            let long = bytes.get(pos + 1..pos + 3)?;
            Some((pos + 3, usize::from(u16::from_be_bytes([long[0], long[1]]))))
        }
        short => Some((pos + 1, usize::from(short))),
    }
}

/// The fields of one framed record, each with its value bytes.
pub(super) fn fields<'a>(
    specs: &'a [FieldSpec],
    record: &'a [u8],
) -> impl Iterator<Item = (&'a FieldSpec, &'a [u8])> {
    let mut pos = 0;
    specs.iter().map_while(move |spec| {
        let (start, length) = field_extent(spec, record, pos)?;
        let value = record.get(start..start + length)?;
        pos = start + length;
        Some((spec, value))
    })
}

/// An unsigned integer of 1 to 8 bytes, big-endian (RFC 7011 6.1.1, 6.2).
fn uint(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 8 {
        return None;
    }
    Some(value.iter().fold(0, |n, b| (n << 8) | u64::from(*b)))
}

/// An unsigned integer that fits `T`.
fn narrow<T: TryFrom<u64>>(value: &[u8]) -> Option<T> {
    T::try_from(uint(value)?).ok()
}

fn ipv4(value: &[u8]) -> Option<Ipv6Addr> {
    let octets: [u8; 4] = value.try_into().ok()?;
    Some(Ipv4Addr::from(octets).to_ipv6_mapped())
}

fn ipv6(value: &[u8]) -> Option<Ipv6Addr> {
    let octets: [u8; 16] = value.try_into().ok()?;
    Some(Ipv6Addr::from(octets))
}

/// An NTP timestamp (RFC 7011 6.1.9, 6.1.10) as Unix milliseconds.
fn ntp_ms(value: &[u8]) -> Option<i64> {
    let ntp = u64::from_be_bytes(value.try_into().ok()?);
    let (secs, fraction) = (ntp >> 32, ntp & 0xffff_ffff);
    let ms = secs * 1000 + ((fraction * 1000) >> 32);
    i64::try_from(ms).ok().map(|ms| ms - NTP_TO_UNIX_MS)
}

/// The sampling elements of one record, read together: a rate can need two.
#[derive(Debug, Default)]
struct Sampling {
    /// `samplingInterval` or `samplerRandomInterval`, whichever comes first.
    legacy: Option<u32>,
    interval: Option<u32>,
    space: Option<u32>,
    size: Option<u32>,
    population: Option<u32>,
    /// `samplerId` or `selectorId`, whichever comes first.
    sampler: Option<u64>,
}

impl Sampling {
    /// Takes the element if it is a sampling one; says whether it was.
    fn see(&mut self, id: u16, value: &[u8]) -> bool {
        match id {
            ie::SAMPLING_INTERVAL | ie::SAMPLER_RANDOM_INTERVAL => {
                self.legacy = self.legacy.or(narrow(value))
            }
            ie::SAMPLING_PACKET_INTERVAL => self.interval = narrow(value).or(self.interval),
            ie::SAMPLING_PACKET_SPACE => self.space = narrow(value).or(self.space),
            ie::SAMPLING_SIZE => self.size = narrow(value).or(self.size),
            ie::SAMPLING_POPULATION => self.population = narrow(value).or(self.population),
            ie::SAMPLER_ID | ie::SELECTOR_ID => self.sampler = self.sampler.or(uint(value)),
            _ => return false,
        }
        true
    }

    /// The 1-in-N rate these elements say, if they say one; 0 is "unknown".
    fn rate(&self) -> Option<u32> {
        let rate = match (self.size, self.population, self.interval, self.space) {
            // RFC 5475 6.5.2.1 random n-out-of-N: `size` packets of every `population`.
            (Some(n), Some(big_n), _, _) if n > 0 => big_n / n,
            // RFC 5475 6.5.1.1 systematic count-based: take `interval`, then skip `space`.
            (_, _, Some(taken), Some(skipped)) if taken > 0 => {
                taken.saturating_add(skipped) / taken
            }
            // Exporters that send an interval alone mean it as 1 in N.
            _ => self.interval.or(self.legacy)?,
        };
        (rate > 0).then_some(rate)
    }
}

/// Sampling and clock facts an exporter sends in options data.
#[derive(Debug, Default)]
pub(super) struct SessionState {
    /// Unix milliseconds at which the exporter's uptime clock started
    /// (IPFIX `systemInitTimeMilliseconds`).
    pub system_init_ms: Option<i64>,
    /// Sampling rate that applies to the whole exporting process.
    process_rate: Option<u32>,
    /// Sampling rate per sampler / selector id.
    sampler_rates: HashMap<u64, u32>,
}

impl SessionState {
    /// Learns from a NetFlow v9 options data record. Its scope fields are v9
    /// scopes (System, Interface...), not elements, and are not read.
    pub fn learn_v9_options(&mut self, template: &Template, record: &[u8]) {
        let mut sampling = Sampling::default();
        for (spec, value) in fields(&template.fields, record).skip(template.scope_fields) {
            if spec.enterprise == 0 {
                sampling.see(spec.id, value);
            }
        }
        self.learn_rate(sampling.sampler, sampling.rate());
    }

    /// Learns from an IPFIX options data record: the boot time wherever it
    /// is, the sampler from the scope first, the rate from the other fields.
    pub fn learn_ipfix_options(&mut self, template: &Template, record: &[u8]) {
        let mut scope = Sampling::default();
        let mut options = Sampling::default();
        for (index, (spec, value)) in fields(&template.fields, record).enumerate() {
            if spec.enterprise != 0 {
                continue;
            }
            if spec.id == ie::SYSTEM_INIT_TIME_MILLISECONDS {
                if let Some(ms) = narrow(value) {
                    self.system_init_ms = Some(ms);
                }
            } else if index < template.scope_fields {
                scope.see(spec.id, value);
            } else {
                options.see(spec.id, value);
            }
        }
        self.learn_rate(scope.sampler.or(options.sampler), options.rate());
    }

    fn learn_rate(&mut self, sampler: Option<u64>, rate: Option<u32>) {
        let Some(rate) = rate else { return };
        match sampler {
            Some(id) => {
                self.sampler_rates.insert(id, rate);
            }
            None => self.process_rate = Some(rate),
        }
    }
}

/// How to turn the times of a record into Unix milliseconds.
#[derive(Debug, Clone, Copy)]
pub(super) struct RecordTimes {
    received_ms: i64,
    export_ms: i64,
    /// Exporter uptime at export, for NetFlow v9 relative times.
    uptime_at_export_ms: Option<u32>,
    /// Unix milliseconds at which the exporter booted, for IPFIX uptime times.
    system_init_ms: Option<i64>,
}

impl RecordTimes {
    pub fn v9(received_ms: i64, export_secs: u32, sys_uptime_ms: u32) -> Self {
        Self {
            received_ms,
            export_ms: i64::from(export_secs) * 1000,
            uptime_at_export_ms: Some(sys_uptime_ms),
            system_init_ms: None,
        }
    }

    pub fn ipfix(received_ms: i64, export_secs: u32, system_init_ms: Option<i64>) -> Self {
        Self {
            received_ms,
            export_ms: i64::from(export_secs) * 1000,
            uptime_at_export_ms: None,
            system_init_ms,
        }
    }

    pub fn with_init(mut self, system_init_ms: Option<i64>) -> Self {
        self.system_init_ms = system_init_ms;
        self
    }

    /// Absolute time of an uptime-relative timestamp, if it can be known.
    fn uptime_to_unix_ms(&self, uptime_ms: u32) -> Option<i64> {
        if let Some(at_export) = self.uptime_at_export_ms {
            // Signed difference so that a 32-bit uptime wrap between the flow
            // and the export still gives a small offset. A flow cannot end
            // after it was exported: a negative offset means the exporter's
            // clocks disagree (FortiOS 5.2 runs its flow clock days ahead of
            // sysUpTime), and the export time is the best bound left.
            let before_export = i64::from(at_export.wrapping_sub(uptime_ms) as i32);
            return Some(self.export_ms - before_export.max(0));
        }
        self.system_init_ms.map(|init| init + i64::from(uptime_ms))
    }
}

/// The counters of one record that can give its bytes or its packets.
#[derive(Debug, Default)]
struct Counter {
    /// `octetDeltaCount` / `packetDeltaCount`.
    delta: Option<u64>,
    /// `postOctetDeltaCount` / `postPacketDeltaCount` (v9 OUT_BYTES / OUT_PKTS).
    post: Option<u64>,
    /// `initiatorOctets` / `initiatorPackets` (Cisco ASA NSEL and others).
    initiator: Option<u64>,
    /// `responderOctets` / `responderPackets`.
    responder: Option<u64>,
    /// `octetTotalCount` / `packetTotalCount`.
    total: Option<u64>,
}

impl Counter {
    /// The record's count.
    ///
    /// Delta counters come first: they add up over a flow's exports. Of them,
    /// the first that is not zero wins: the delta, then the post-processing
    /// delta (an egress-only exporter sends IN_BYTES 0 and OUT_BYTES n), then
    /// initiator plus responder. A firewall connection record (NSEL) carries
    /// both directions and the row stands for the connection, so both are
    /// counted, as the softflowd-style pair of unidirectional records would
    /// be. A total counts again what earlier exports of the flow counted, so
    /// it is used only when the record has no delta counter at all (YAF, and
    /// ASA flow-teardown events in `in_permanent_bytes`).
    fn pick(&self) -> u64 {
        let pair = match (self.initiator, self.responder) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
        };
        let deltas = [self.delta, self.post, pair];
        if let Some(n) = deltas.iter().flatten().find(|n| **n != 0) {
            return *n;
        }
        if deltas.iter().any(Option::is_some) {
            return 0;
        }
        self.total.unwrap_or(0)
    }
}

/// Fills `flow` from the fields of one data record.
pub(super) fn fill(
    flow: &mut FlowRecord,
    template: &Template,
    record: &[u8],
    times: &RecordTimes,
    state: &SessionState,
) {
    let mut start = None;
    let mut end = None;
    let mut icmp_type_code = None;
    let mut icmp_type = None;
    let mut icmp_code = None;
    let mut ip_next_hop = None;
    let mut bgp_next_hop = None;
    let mut physical_in = None;
    let mut physical_out = None;
    let mut bytes = Counter::default();
    let mut packets = Counter::default();
    let mut sampling = Sampling::default();

    for (spec, value) in fields(&template.fields, record) {
        if spec.enterprise != 0 || sampling.see(spec.id, value) {
            continue;
        }
        match spec.id {
            ie::SOURCE_IPV4_ADDRESS => address(&mut flow.src_addr, &mut flow.ip_version, value),
            ie::DESTINATION_IPV4_ADDRESS => {
                address(&mut flow.dst_addr, &mut flow.ip_version, value)
            }
            ie::SOURCE_IPV6_ADDRESS => address(&mut flow.src_addr, &mut flow.ip_version, value),
            ie::DESTINATION_IPV6_ADDRESS => {
                address(&mut flow.dst_addr, &mut flow.ip_version, value)
            }
            ie::IP_VERSION if flow.ip_version == 0 => set(&mut flow.ip_version, value),
            ie::SOURCE_TRANSPORT_PORT => set(&mut flow.src_port, value),
            ie::DESTINATION_TRANSPORT_PORT => set(&mut flow.dst_port, value),
            ie::ICMP_TYPE_CODE_IPV4 | ie::ICMP_TYPE_CODE_IPV6 => {
                icmp_type_code = narrow(value).or(icmp_type_code)
            }
            ie::ICMP_TYPE_IPV4 | ie::ICMP_TYPE_IPV6 => {
                icmp_type = narrow::<u8>(value).or(icmp_type)
            }
            ie::ICMP_CODE_IPV4 | ie::ICMP_CODE_IPV6 => {
                icmp_code = narrow::<u8>(value).or(icmp_code)
            }
            ie::PROTOCOL_IDENTIFIER => set(&mut flow.protocol, value),
            // RFC 7125 widened the element to 16 bits; the flags flowsage
            // keeps (FIN to CWR) are its low byte.
            ie::TCP_CONTROL_BITS => {
                if let Some(bits) = uint(value) {
                    flow.tcp_flags = bits.to_be_bytes()[7];
                }
            }
            ie::IP_CLASS_OF_SERVICE => set(&mut flow.tos, value),
            ie::OCTET_DELTA_COUNT => bytes.delta = uint(value).or(bytes.delta),
            ie::PACKET_DELTA_COUNT => packets.delta = uint(value).or(packets.delta),
            ie::POST_OCTET_DELTA_COUNT => bytes.post = uint(value).or(bytes.post),
            ie::POST_PACKET_DELTA_COUNT => packets.post = uint(value).or(packets.post),
            ie::INITIATOR_OCTETS => bytes.initiator = uint(value).or(bytes.initiator),
            ie::RESPONDER_OCTETS => bytes.responder = uint(value).or(bytes.responder),
            ie::INITIATOR_PACKETS => packets.initiator = uint(value).or(packets.initiator),
            ie::RESPONDER_PACKETS => packets.responder = uint(value).or(packets.responder),
            ie::OCTET_TOTAL_COUNT => bytes.total = uint(value).or(bytes.total),
            ie::PACKET_TOTAL_COUNT => packets.total = uint(value).or(packets.total),
            ie::INGRESS_INTERFACE => set(&mut flow.in_if, value),
            ie::EGRESS_INTERFACE => set(&mut flow.out_if, value),
            ie::INGRESS_PHYSICAL_INTERFACE => physical_in = narrow(value).or(physical_in),
            ie::EGRESS_PHYSICAL_INTERFACE => physical_out = narrow(value).or(physical_out),
            ie::BGP_SOURCE_AS_NUMBER => set(&mut flow.src_as, value),
            ie::BGP_DESTINATION_AS_NUMBER => set(&mut flow.dst_as, value),
            ie::SOURCE_IPV4_PREFIX_LENGTH | ie::SOURCE_IPV6_PREFIX_LENGTH => {
                set(&mut flow.src_mask, value)
            }
            ie::DESTINATION_IPV4_PREFIX_LENGTH | ie::DESTINATION_IPV6_PREFIX_LENGTH => {
                set(&mut flow.dst_mask, value)
            }
            ie::IP_NEXT_HOP_IPV4_ADDRESS => ip_next_hop = ipv4(value).or(ip_next_hop),
            ie::IP_NEXT_HOP_IPV6_ADDRESS => ip_next_hop = ipv6(value).or(ip_next_hop),
            ie::BGP_NEXT_HOP_IPV4_ADDRESS => bgp_next_hop = ipv4(value).or(bgp_next_hop),
            ie::BGP_NEXT_HOP_IPV6_ADDRESS => bgp_next_hop = ipv6(value).or(bgp_next_hop),
            ie::VLAN_ID | ie::DOT1Q_VLAN_ID => set(&mut flow.src_vlan, value),
            ie::POST_VLAN_ID | ie::POST_DOT1Q_VLAN_ID => set(&mut flow.dst_vlan, value),
            ie::FLOW_START_SYS_UP_TIME => {
                start = start.or(narrow(value).and_then(|t| times.uptime_to_unix_ms(t)))
            }
            ie::FLOW_END_SYS_UP_TIME => {
                end = end.or(narrow(value).and_then(|t| times.uptime_to_unix_ms(t)))
            }
            ie::FLOW_START_SECONDS => start = seconds_ms(value).or(start),
            ie::FLOW_END_SECONDS => end = seconds_ms(value).or(end),
            ie::FLOW_START_MILLISECONDS => start = narrow(value).or(start),
            ie::FLOW_END_MILLISECONDS => end = narrow(value).or(end),
            ie::FLOW_START_MICROSECONDS | ie::FLOW_START_NANOSECONDS => {
                start = ntp_ms(value).or(start)
            }
            ie::FLOW_END_MICROSECONDS | ie::FLOW_END_NANOSECONDS => end = ntp_ms(value).or(end),
            ie::FLOW_START_DELTA_MICROSECONDS => {
                start =
                    narrow::<u32>(value).map(|d| times.export_ms - i64::from(d) / 1000).or(start)
            }
            ie::FLOW_END_DELTA_MICROSECONDS => {
                end = narrow::<u32>(value).map(|d| times.export_ms - i64::from(d) / 1000).or(end)
            }
            _ => {}
        }
    }

    flow.bytes = bytes.pick();
    flow.packets = packets.pick();
    // The physical interfaces stand in when the logical ones are missing or
    // unknown (0): some switches export only those.
    if flow.in_if == 0 {
        flow.in_if = physical_in.unwrap_or(0);
    }
    if flow.out_if == 0 {
        flow.out_if = physical_out.unwrap_or(0);
    }
    flow.next_hop = ip_next_hop.or(bgp_next_hop).unwrap_or(flow.next_hop);
    // Exporters send the ICMP element in every record of a template, as 0 for
    // TCP and UDP; for ICMP it goes where NetFlow v5 and most collectors put
    // it: dst_port = type * 256 + code. Firewalls send type and code apart.
    let icmp =
        icmp_type_code.or(icmp_type.map(|t| u16::from_be_bytes([t, icmp_code.unwrap_or(0)])));
    if matches!(flow.protocol, 1 | 58)
        && let Some(type_code) = icmp
    {
        flow.dst_port = type_code;
    }
    flow.time_start_ms = start.or(end).unwrap_or(times.received_ms);
    flow.time_end_ms = end.unwrap_or(flow.time_start_ms);

    let rate = sampling
        .rate()
        .or_else(|| sampling.sampler.and_then(|id| state.sampler_rates.get(&id).copied()))
        .or(state.process_rate)
        .unwrap_or(0);
    flow.sampling_rate = rate;
    if rate > 1 {
        flow.bytes = flow.bytes.saturating_mul(u64::from(rate));
        flow.packets = flow.packets.saturating_mul(u64::from(rate));
    }
}

/// Writes an IPv4 (4 bytes) or IPv6 (16 bytes) address element to its column
/// and the record's IP version. An all-zero address does not replace one
/// already read: exporters that put IPv4 and IPv6 elements in one template
/// (Procera) fill the family a flow does not use with zeros.
fn address(column: &mut Ipv6Addr, ip_version: &mut u8, value: &[u8]) {
    let (address, version) = match value.len() {
        4 => (ipv4(value), 4),
        16 => (ipv6(value), 6),
        _ => return,
    };
    let Some(address) = address else { return };
    if *column != Ipv6Addr::UNSPECIFIED && value.iter().all(|b| *b == 0) {
        return;
    }
    (*column, *ip_version) = (address, version);
}

/// Sets `column` to the value when it fits.
fn set<T: TryFrom<u64>>(column: &mut T, value: &[u8]) {
    if let Some(v) = narrow(value) {
        *column = v;
    }
}

fn seconds_ms(value: &[u8]) -> Option<i64> {
    narrow::<u32>(value).map(|secs| i64::from(secs) * 1000)
}
