//! sFlow v5 datagrams (sflow.org, "sFlow Version 5") to flow records.
//!
//! sFlow samples packets instead of metering flows: a flow sample carries the
//! first bytes of one packet in N, and becomes one flow row standing for N
//! such packets. The walk of the datagram and its samples is here; `wire`
//! reads the XDR structures with a bounds check on every field, and `header`
//! reads the sampled packet headers with `etherparse`.
//!
//! How a flow sample becomes a row:
//! - `packets` is the sampling rate N and `bytes` is N times the packet's
//!   layer-3 length, as the `bytes` column says and NetFlow and IPFIX count
//!   it: the IP header's length field in a sampled header (when that field
//!   cannot say, the frame length less the stripped bytes and the link
//!   headers), else the `length` of a sampled IPv4 / IPv6 record. pmacct's
//!   sfacctd counts a sampled header's `frame_length` instead, link header
//!   and FCS included, so for the same samples its byte totals are higher by
//!   that overhead (18 bytes untagged Ethernet, plus padding of short frames)
//!   times N per sample; packet totals agree. A rate of 0 is unknown: the row
//!   counts the one packet, unscaled, with `sampling_rate` 0.
//! - Addresses, ports, protocol, TOS and TCP flags come from the sampled
//!   header when it holds an IP packet, else from a sampled IPv4 / IPv6
//!   record. VLANs come from extended switch data, else the source VLAN from
//!   the header's outer 802.1Q tag. Extended router data gives the next hop
//!   and masks; extended gateway data the AS numbers, and the next hop when
//!   there is no router data.
//! - `in_if` / `out_if` are the sample's ifIndex values. The other interface
//!   encodings (the device itself, discarded, several interfaces, undefined
//!   formats) are stored as 0, "unknown", as the columns have no way to say
//!   more.
//! - Times are the receive time: sFlow says when a packet was sampled only
//!   through the agent's uptime, which the row has no use for.
//! - `exporter` is the datagram's source address, as for the other protocols,
//!   and `observation_domain` the sub-agent id.
//!
//! One bad sample costs only itself: a sample whose records do not fit its
//! length, or whose fields do not fit its records, is counted as an error with
//! its offset and the next sample is decoded. A sample that runs past the end
//! of the datagram ends the walk, since nothing after it can be framed.
//!
//! Not stored: counter samples are decoded and counted in
//! [`DecodeReport::counter_samples`]; discarded-packet samples (drop
//! notifications) are checked and left out, since they are not traffic that
//! was forwarded. Sample types this decoder does not know are skipped.
//!
//! The walk is flowsage's own. The crates tried first, `flowparser-sflow` 0.3
//! and `sflow-parser` 0.7, decode the corpus alike, but both give up the
//! whole datagram when one sample or record in it is bad (the good samples
//! before it are lost too), and neither reports where inside a sample it
//! failed;
//! `sflow-parser` also rejects a whole datagram over an unknown header
//! protocol and misreads the padded MAC addresses of sampled Ethernet
//! records.

mod header;
mod wire;

use std::fmt;
use std::net::IpAddr;

use super::{DecodeErrorKind, DecodeReport, error};
use crate::flow::{FlowProtocol, FlowRecord, to_v6};
use wire::{FlowSample, Sample, WireError, Xdr};

/// Bytes of the version word, known to be 5 when this decoder is called.
const VERSION_LEN: usize = 4;
/// Ethernet header and FCS, which the `length` of a sampled Ethernet record
/// counts (sFlow v5 `sampled_ethernet`).
const ETHERNET_OVERHEAD: u32 = 18;

/// Decodes one sFlow v5 datagram from `exporter`, appending a flow record for
/// each flow sample to `out`.
pub(super) fn decode(
    exporter: IpAddr,
    received_ms: i64,
    datagram: &[u8],
    out: &mut Vec<FlowRecord>,
    report: &mut DecodeReport,
) {
    report.protocol = Some(FlowProtocol::SflowV5);
    let mut xdr = Xdr::new(datagram, 0);
    let header = xdr.take(VERSION_LEN, "version").and_then(|_| wire::datagram_header(&mut xdr));
    let header = match header {
        Ok(header) => header,
        Err(err) => {
            let kind = match err {
                WireError::Short { .. } => DecodeErrorKind::Truncated,
                _ => err.kind(),
            };
            report.errors.push(error(kind, err.offset(), format!("in the datagram header: {err}")));
            return;
        }
    };
    // TODO: the agent address is kept only in error messages. It names the
    // device even when the datagram comes through a relay or from another
    // address of the device; the flows table has no column for it yet, so
    // rows name the datagram's source like the other protocols' rows do.
    let agent = Agent(header.agent);

    for index in 0..header.samples {
        let sample_at = xdr.offset();
        let (enterprise, format, body) = match wire::sample_frame(&mut xdr) {
            Ok(frame) => frame,
            Err(err) => {
                // Nothing after a sample that does not fit can be framed.
                let detail =
                    format!("in sample {index} of {} from agent {agent}: {err}", header.samples);
                report.errors.push(error(DecodeErrorKind::Truncated, err.offset(), detail));
                break;
            }
        };

        match wire::sample(enterprise, format, body) {
            Ok(Sample::Flow(sample)) => {
                out.push(flow_record(exporter, received_ms, header.sub_agent_id, &sample));
                report.records += 1;
            }
            Ok(Sample::Counters(_)) => report.counter_samples += 1,
            // TODO: drop notifications are read and then dropped: a flow row
            // cannot say that its packet was discarded, or why. They need a
            // table of their own, which nothing creates yet.
            Ok(Sample::Discarded | Sample::Other) => {}
            Err(err) => {
                let name = wire::sample_name(enterprise, format);
                let detail =
                    format!("in {name} {index} (offset {sample_at}) from agent {agent}: {err}");
                report.errors.push(error(err.kind(), err.offset(), detail));
            }
        }
    }
}

/// An agent address as error messages show it.
struct Agent(Option<IpAddr>);

impl fmt::Display for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(address) => address.fmt(f),
            None => f.write_str("of unknown address"),
        }
    }
}

/// The flow row of one flow sample.
fn flow_record(
    exporter: IpAddr,
    received_ms: i64,
    sub_agent_id: u32,
    sample: &FlowSample<'_>,
) -> FlowRecord {
    let mut flow = FlowRecord::new(exporter, FlowProtocol::SflowV5, sub_agent_id, received_ms);
    flow.in_if = sample.input.if_index();
    flow.out_if = sample.output.if_index();

    let records = &sample.records;
    let packet = records.header.as_ref().map(header::decode);
    let ip = packet.and_then(|p| p.ip).or(records.ip);
    let layer3_length = match (ip, packet, records.ethernet_length) {
        (Some(ip), _, _) => ip.length,
        (None, Some(packet), _) => packet.layer3_length,
        (None, None, Some(frame)) => frame.saturating_sub(ETHERNET_OVERHEAD),
        (None, None, None) => 0,
    };
    if let Some(ip) = ip {
        flow.ip_version = if ip.src.is_ipv4() { 4 } else { 6 };
        flow.src_addr = to_v6(ip.src);
        flow.dst_addr = to_v6(ip.dst);
        flow.protocol = ip.protocol;
        flow.src_port = ip.src_port;
        flow.dst_port = ip.dst_port;
        flow.tcp_flags = ip.tcp_flags;
        flow.tos = ip.tos;
    }

    let header_vlan = packet.map_or(0, |p| p.vlan);
    let switch = records.switch.unwrap_or_default();
    flow.src_vlan = if switch.src_vlan != 0 { switch.src_vlan } else { header_vlan };
    flow.dst_vlan = switch.dst_vlan;
    if let Some(router) = records.router {
        flow.next_hop = router.next_hop.map_or(flow.next_hop, to_v6);
        flow.src_mask = router.src_mask;
        flow.dst_mask = router.dst_mask;
    }
    if let Some(gateway) = records.gateway {
        flow.src_as = gateway.src_as;
        flow.dst_as = gateway.dst_as;
        if records.router.and_then(|r| r.next_hop).is_none() {
            flow.next_hop = gateway.next_hop.map_or(flow.next_hop, to_v6);
        }
    }

    // One sampled packet stands for `rate` packets; an unknown rate (0)
    // scales nothing.
    flow.sampling_rate = sample.sampling_rate;
    let scale = u64::from(sample.sampling_rate.max(1));
    flow.packets = scale;
    flow.bytes = u64::from(layer3_length) * scale;
    flow
}

#[cfg(test)]
mod tests;
