//! The flow record: one row of the `flows` table as the decoders produce it.
//!
//! Decoders turn export datagrams into [`FlowRecord`]s; the store turns
//! batches of them into Arrow columns. The record holds only what the wire
//! said (times already made absolute); enrichment adds to it later.

use std::net::{IpAddr, Ipv6Addr};

/// The export protocol a flow arrived in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowProtocol {
    /// Cisco NetFlow version 5 (fixed 48-byte records).
    NetflowV5,
    /// Cisco NetFlow version 9 (RFC 3954).
    NetflowV9,
    /// IPFIX (RFC 7011).
    Ipfix,
    /// sFlow version 5 (sflow.org), packet samples turned into flows.
    SflowV5,
}

impl FlowProtocol {
    /// The name stored in the `flow_protocol` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NetflowV5 => "netflow_v5",
            Self::NetflowV9 => "netflow_v9",
            Self::Ipfix => "ipfix",
            Self::SflowV5 => "sflow_v5",
        }
    }
}

/// One flow as exported, with times made absolute.
///
/// Addresses are kept as IPv6; IPv4 addresses are IPv4-mapped
/// (`::ffff:a.b.c.d`), the way ClickHouse's `IPv6` type holds both.
/// Unknown numeric fields are 0, the convention of the `flows` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowRecord {
    /// When flowsage received the datagram, Unix milliseconds.
    pub time_received_ms: i64,
    /// First packet of the flow, Unix milliseconds.
    pub time_start_ms: i64,
    /// Last packet of the flow, Unix milliseconds.
    pub time_end_ms: i64,
    /// Source address of the export datagram.
    pub exporter: Ipv6Addr,
    pub flow_protocol: FlowProtocol,
    /// NetFlow v9 source id or IPFIX observation domain id.
    pub observation_domain: u32,
    /// 4 or 6; 0 when the record carries no addresses.
    pub ip_version: u8,
    pub src_addr: Ipv6Addr,
    pub dst_addr: Ipv6Addr,
    pub src_port: u16,
    pub dst_port: u16,
    /// IP protocol number.
    pub protocol: u8,
    /// Cumulative OR of TCP flags.
    pub tcp_flags: u8,
    /// IPv4 type of service or IPv6 traffic class.
    pub tos: u8,
    /// Bytes, scaled by `sampling_rate` when it is known.
    pub bytes: u64,
    /// Packets, scaled by `sampling_rate` when it is known.
    pub packets: u64,
    /// 1 in N packet sampling; 0 when unknown.
    pub sampling_rate: u32,
    /// SNMP index of the input interface.
    pub in_if: u32,
    /// SNMP index of the output interface.
    pub out_if: u32,
    pub src_as: u32,
    pub dst_as: u32,
    pub src_mask: u8,
    pub dst_mask: u8,
    /// IP next hop (or BGP next hop when only that is exported).
    pub next_hop: Ipv6Addr,
    pub src_vlan: u16,
    pub dst_vlan: u16,
}

impl FlowRecord {
    /// An empty record for `exporter`, received at `time_received_ms`.
    pub fn new(
        exporter: IpAddr,
        flow_protocol: FlowProtocol,
        observation_domain: u32,
        time_received_ms: i64,
    ) -> Self {
        Self {
            time_received_ms,
            time_start_ms: time_received_ms,
            time_end_ms: time_received_ms,
            exporter: to_v6(exporter),
            flow_protocol,
            observation_domain,
            ip_version: 0,
            src_addr: Ipv6Addr::UNSPECIFIED,
            dst_addr: Ipv6Addr::UNSPECIFIED,
            src_port: 0,
            dst_port: 0,
            protocol: 0,
            tcp_flags: 0,
            tos: 0,
            bytes: 0,
            packets: 0,
            sampling_rate: 0,
            in_if: 0,
            out_if: 0,
            src_as: 0,
            dst_as: 0,
            src_mask: 0,
            dst_mask: 0,
            next_hop: Ipv6Addr::UNSPECIFIED,
            src_vlan: 0,
            dst_vlan: 0,
        }
    }
}

/// An address as the store keeps it: IPv4 becomes IPv4-mapped IPv6.
pub fn to_v6(addr: IpAddr) -> Ipv6Addr {
    match addr {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}
