//! Information elements of a data record to the columns of a flow record.
//!
//! NetFlow v9 field types 1-127 are the IPFIX elements of the same number,
//! and `netgauze-flow-pkt` decodes both into one `Field` type, so one mapping
//! serves both protocols. Times are made absolute here: NetFlow v9 and some
//! IPFIX exporters send them relative to the exporter's uptime.

use std::collections::HashMap;

use netgauze_flow_pkt::ie::Field;
use netgauze_flow_pkt::netflow::ScopeField;

use crate::flow::FlowRecord;

/// Milliseconds from the NTP epoch (1900) to the Unix epoch (1970).
///
/// RFC 7011 6.1.9 and 6.1.10 encode `dateTimeMicroseconds` and
/// `dateTimeNanoseconds` as NTP timestamps, seconds since 1900.
/// `netgauze-flow-pkt` 0.13 reads those seconds as if they counted from 1970,
/// which puts such times 70 years late; the offset is taken off here.
const NTP_TO_UNIX_MS: i64 = 2_208_988_800_000;

/// Sampling and clock facts an exporter sends in options data.
#[derive(Debug, Default)]
pub(super) struct SessionState {
    /// Unix milliseconds at which the exporter's uptime clock started
    /// (IPFIX `systemInitTimeMilliseconds`).
    pub system_init_ms: Option<i64>,
    /// Sampling rate that applies to the whole exporting process.
    pub process_rate: Option<u32>,
    /// Sampling rate per sampler / selector id.
    pub sampler_rates: HashMap<u64, u32>,
}

impl SessionState {
    /// Learns from a NetFlow v9 options data record.
    pub fn learn_v9_options(&mut self, scope: &[ScopeField], fields: &[Field]) {
        let sampler = sampler_id(fields);
        if let Some(rate) = sampling_rate(fields) {
            match sampler {
                Some(id) => {
                    self.sampler_rates.insert(id, rate);
                }
                None if scope.iter().any(|s| matches!(s, ScopeField::System(_))) => {
                    self.process_rate = Some(rate);
                }
                None => self.process_rate = Some(rate),
            }
        }
    }

    /// Learns from an IPFIX options data record.
    pub fn learn_ipfix_options(&mut self, scope: &[Field], fields: &[Field]) {
        for field in scope.iter().chain(fields) {
            if let Field::systemInitTimeMilliseconds(time) = field {
                self.system_init_ms = Some(time.timestamp_millis());
            }
        }
        let sampler = sampler_id(scope).or_else(|| sampler_id(fields));
        if let Some(rate) = sampling_rate(fields) {
            match sampler {
                Some(id) => {
                    self.sampler_rates.insert(id, rate);
                }
                None => self.process_rate = Some(rate),
            }
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

/// Fills `flow` from the fields of one data record.
pub(super) fn fill(
    flow: &mut FlowRecord,
    fields: &[Field],
    times: &RecordTimes,
    state: &SessionState,
) {
    let mut start = None;
    let mut end = None;
    let mut icmp_type_code = None;
    let mut ip_next_hop = None;
    let mut bgp_next_hop = None;

    for field in fields {
        match field {
            Field::sourceIPv4Address(a) => {
                flow.src_addr = a.to_ipv6_mapped();
                flow.ip_version = 4;
            }
            Field::destinationIPv4Address(a) => {
                flow.dst_addr = a.to_ipv6_mapped();
                flow.ip_version = 4;
            }
            Field::sourceIPv6Address(a) => {
                flow.src_addr = *a;
                flow.ip_version = 6;
            }
            Field::destinationIPv6Address(a) => {
                flow.dst_addr = *a;
                flow.ip_version = 6;
            }
            Field::ipVersion(v) if flow.ip_version == 0 => flow.ip_version = *v,
            Field::sourceTransportPort(p) => flow.src_port = *p,
            Field::destinationTransportPort(p) => flow.dst_port = *p,
            Field::icmpTypeCodeIPv4(tc) | Field::icmpTypeCodeIPv6(tc) => icmp_type_code = Some(*tc),
            Field::protocolIdentifier(p) => flow.protocol = u8::from(*p),
            Field::tcpControlBits(flags) => flow.tcp_flags = u8::from(*flags),
            Field::ipClassOfService(tos) => flow.tos = *tos,
            Field::octetDeltaCount(n) => flow.bytes = *n,
            Field::packetDeltaCount(n) => flow.packets = *n,
            Field::ingressInterface(i) => flow.in_if = *i,
            Field::egressInterface(i) => flow.out_if = *i,
            Field::bgpSourceAsNumber(asn) => flow.src_as = *asn,
            Field::bgpDestinationAsNumber(asn) => flow.dst_as = *asn,
            Field::sourceIPv4PrefixLength(m) | Field::sourceIPv6PrefixLength(m) => {
                flow.src_mask = *m
            }
            Field::destinationIPv4PrefixLength(m) | Field::destinationIPv6PrefixLength(m) => {
                flow.dst_mask = *m
            }
            Field::ipNextHopIPv4Address(a) => ip_next_hop = Some(a.to_ipv6_mapped()),
            Field::ipNextHopIPv6Address(a) => ip_next_hop = Some(*a),
            Field::bgpNextHopIPv4Address(a) => bgp_next_hop = Some(a.to_ipv6_mapped()),
            Field::bgpNextHopIPv6Address(a) => bgp_next_hop = Some(*a),
            Field::vlanId(v) | Field::dot1qVlanId(v) => flow.src_vlan = *v,
            Field::postVlanId(v) | Field::postDot1qVlanId(v) => flow.dst_vlan = *v,
            Field::flowStartSysUpTime(t) => start = start.or(times.uptime_to_unix_ms(*t)),
            Field::flowEndSysUpTime(t) => end = end.or(times.uptime_to_unix_ms(*t)),
            Field::flowStartSeconds(t) | Field::flowStartMilliseconds(t) => {
                start = Some(t.timestamp_millis())
            }
            Field::flowEndSeconds(t) | Field::flowEndMilliseconds(t) => {
                end = Some(t.timestamp_millis())
            }
            Field::flowStartMicroseconds(t) | Field::flowStartNanoseconds(t) => {
                start = Some(t.timestamp_millis() - NTP_TO_UNIX_MS)
            }
            Field::flowEndMicroseconds(t) | Field::flowEndNanoseconds(t) => {
                end = Some(t.timestamp_millis() - NTP_TO_UNIX_MS)
            }
            Field::flowStartDeltaMicroseconds(d) => {
                start = Some(times.export_ms - i64::from(*d) / 1000)
            }
            Field::flowEndDeltaMicroseconds(d) => {
                end = Some(times.export_ms - i64::from(*d) / 1000)
            }
            _ => {}
        }
    }

    flow.next_hop = ip_next_hop.or(bgp_next_hop).unwrap_or(flow.next_hop);
    // Exporters send the ICMP element in every record of a template, as 0 for
    // TCP and UDP; for ICMP it goes where NetFlow v5 and most collectors put
    // it: dst_port = type * 256 + code.
    if matches!(flow.protocol, 1 | 58)
        && let Some(type_code) = icmp_type_code
    {
        flow.dst_port = type_code;
    }
    flow.time_start_ms = start.or(end).unwrap_or(times.received_ms);
    flow.time_end_ms = end.unwrap_or(flow.time_start_ms);

    let sampler = sampler_id(fields);
    let rate = sampling_rate(fields)
        .or_else(|| sampler.and_then(|id| state.sampler_rates.get(&id).copied()))
        .or(state.process_rate)
        .unwrap_or(0);
    flow.sampling_rate = rate;
    if rate > 1 {
        flow.bytes = flow.bytes.saturating_mul(u64::from(rate));
        flow.packets = flow.packets.saturating_mul(u64::from(rate));
    }
}

/// A 1-in-N rate from the sampling elements of one record, if they say one;
/// 0 is "unknown". The elements are read together: a rate can need two.
fn sampling_rate(fields: &[Field]) -> Option<u32> {
    let mut legacy = None;
    let mut interval = None;
    let mut space = None;
    let mut size = None;
    let mut population = None;
    for field in fields {
        match field {
            Field::samplingInterval(n) | Field::samplerRandomInterval(n) => {
                legacy = legacy.or(Some(*n))
            }
            Field::samplingPacketInterval(n) => interval = Some(*n),
            Field::samplingPacketSpace(n) => space = Some(*n),
            Field::samplingSize(n) => size = Some(*n),
            Field::samplingPopulation(n) => population = Some(*n),
            _ => {}
        }
    }
    let rate = match (size, population, interval, space) {
        // RFC 5475 6.5.2.1 random n-out-of-N: `size` packets of every `population`.
        (Some(n), Some(big_n), _, _) if n > 0 => big_n / n,
        // RFC 5475 6.5.1.1 systematic count-based: take `interval`, then skip `space`.
        (_, _, Some(taken), Some(skipped)) if taken > 0 => taken.saturating_add(skipped) / taken,
        // Exporters that send an interval alone mean it as 1 in N.
        _ => interval.or(legacy)?,
    };
    (rate > 0).then_some(rate)
}

fn sampler_id(fields: &[Field]) -> Option<u64> {
    fields.iter().find_map(|field| match field {
        Field::samplerId(id) => Some(u64::from(*id)),
        Field::selectorId(id) => Some(*id),
        _ => None,
    })
}
