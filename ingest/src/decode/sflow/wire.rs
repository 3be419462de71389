//! The sFlow v5 wire format, read with a bounds check on every field.
//!
//! References are to "sFlow Version 5" (sflow.org, `sflow_version_5.txt`) by
//! the name of its XDR structure, and to "sFlow Dropped Packet Notification
//! Structures" (`sflow_drops.txt`) for discarded-packet samples.
//!
//! [`Xdr`] reads big-endian XDR words from one part of a datagram and knows
//! where that part starts, so a [`WireError`] always names the byte offset in
//! the datagram where reading stopped. A declared length or count is checked
//! against the bytes that are there before anything is read, and nothing is
//! allocated from one. On top of it, [`sample`] parses one sample into a
//! [`Sample`]: a [`FlowSample`] whose [`FlowRecords`] keep the records a flow
//! row is made of, a [`CounterSample`] with its [`InterfaceCounters`], or a
//! discarded-packet notice. Record and sample types flowsage has no use for
//! are skipped by their length, as the specification asks of a collector.
//!
//! This module does not look inside sampled packet headers (`header` does)
//! nor turn samples into flow rows (the parent module does).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::decode::DecodeErrorKind;

/// Where reading stopped inside a datagram, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum WireError {
    /// A field runs past the end of the structure that holds it.
    #[error("{what} at offset {offset} needs {needed} bytes, {left} left")]
    Short { what: &'static str, offset: usize, needed: usize, left: usize },
    /// A declared length runs past the structure that holds it.
    #[error("{what} at offset {offset} declares {declared} bytes, {left} left")]
    Length { what: &'static str, offset: usize, declared: u32, left: usize },
    /// A value the specification does not allow.
    #[error("{what} at offset {offset}: {detail}")]
    Invalid { what: &'static str, offset: usize, detail: String },
}

impl WireError {
    /// Byte offset in the datagram where the failing field starts.
    pub(super) fn offset(&self) -> usize {
        match self {
            Self::Short { offset, .. }
            | Self::Length { offset, .. }
            | Self::Invalid { offset, .. } => *offset,
        }
    }

    /// The counter a failure inside a sample is counted under.
    pub(super) fn kind(&self) -> DecodeErrorKind {
        match self {
            Self::Length { .. } => DecodeErrorKind::BadLength,
            Self::Short { .. } | Self::Invalid { .. } => DecodeErrorKind::BadRecord,
        }
    }
}

type Result<T> = std::result::Result<T, WireError>;

/// A bounds-checked reader of XDR data (RFC 4506) over part of a datagram.
#[derive(Debug, Clone, Copy)]
pub(super) struct Xdr<'a> {
    bytes: &'a [u8],
    at: usize,
    /// Offset of `bytes[0]` in the datagram.
    base: usize,
}

impl<'a> Xdr<'a> {
    /// A reader over `bytes`, which start at `base` in the datagram.
    pub(super) fn new(bytes: &'a [u8], base: usize) -> Self {
        Self { bytes, at: 0, base }
    }

    /// Offset in the datagram of the next byte to read.
    pub(super) fn offset(&self) -> usize {
        self.base + self.at
    }

    pub(super) fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    pub(super) fn take(&mut self, needed: usize, what: &'static str) -> Result<&'a [u8]> {
        let left = self.remaining();
        if needed > left {
            return Err(WireError::Short { what, offset: self.offset(), needed, left });
        }
        let taken = &self.bytes[self.at..self.at + needed];
        self.at += needed;
        Ok(taken)
    }

    pub(super) fn u32(&mut self, what: &'static str) -> Result<u32> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(super) fn u64(&mut self, what: &'static str) -> Result<u64> {
        let b = self.take(8, what)?;
        Ok(u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    /// The next `declared` bytes as a reader of their own: the body of a
    /// sample or record whose length was just read at `length_at`.
    pub(super) fn part(
        &mut self,
        declared: u32,
        length_at: usize,
        what: &'static str,
    ) -> Result<Xdr<'a>> {
        let left = self.remaining();
        let fits = usize::try_from(declared).is_ok_and(|n| n <= left);
        if !fits {
            return Err(WireError::Length { what, offset: length_at, declared, left });
        }
        let base = self.offset();
        let bytes = self.take(declared as usize, what)?;
        Ok(Xdr::new(bytes, base))
    }

    /// Variable-length opaque data (RFC 4506 section 4.10): a length, the
    /// bytes, and padding to a multiple of four. Padding an agent left out at
    /// the very end of its record is not held against it.
    pub(super) fn opaque(&mut self, what: &'static str) -> Result<&'a [u8]> {
        let length_at = self.offset();
        let declared = self.u32(what)?;
        let body = self.part(declared, length_at, what)?;
        let padding = (4 - body.bytes.len() % 4) % 4;
        self.at += padding.min(self.remaining());
        Ok(body.bytes)
    }

    /// An sFlow `address`: type 0 (unknown), 1 (IPv4) or 2 (IPv6).
    pub(super) fn address(&mut self, what: &'static str) -> Result<Option<IpAddr>> {
        let type_at = self.offset();
        match self.u32(what)? {
            0 => Ok(None),
            1 => {
                let b = self.take(4, what)?;
                Ok(Some(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))))
            }
            2 => {
                let b: [u8; 16] = self.take(16, what)?.try_into().expect("took 16 bytes");
                Ok(Some(IpAddr::V6(Ipv6Addr::from(b))))
            }
            other => Err(WireError::Invalid {
                what,
                offset: type_at,
                detail: format!("address type {other} is none of 0 (unknown), 1 (IPv4), 2 (IPv6)"),
            }),
        }
    }
}

/// Splits a `data_format` word into (enterprise, format): 20 and 12 bits.
pub(super) fn data_format(word: u32) -> (u32, u32) {
    (word >> 12, word & 0xFFF)
}

/// The fixed part of `sample_datagram_v5` after the version word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct DatagramHeader {
    /// The agent's own address, which may differ from the datagram's source.
    pub agent: Option<IpAddr>,
    /// Tells apart the sub-agents of one agent (line cards, processes).
    pub sub_agent_id: u32,
    /// Samples that follow, as the agent counted them.
    pub samples: u32,
}

/// Reads `sample_datagram_v5` from after its version word up to its samples.
pub(super) fn datagram_header(xdr: &mut Xdr<'_>) -> Result<DatagramHeader> {
    let agent = xdr.address("agent address")?;
    let sub_agent_id = xdr.u32("sub-agent id")?;
    xdr.u32("sequence number")?;
    xdr.u32("uptime")?;
    let samples = xdr.u32("sample count")?;
    Ok(DatagramHeader { agent, sub_agent_id, samples })
}

/// An interface as a sample names it (`interface`, `interface_expanded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Interface {
    /// An SNMP ifIndex; 0 when the agent does not know it.
    Index(u32),
    /// None: the packet came from, or went to, the device itself.
    Internal,
    /// The packet was discarded (the value, a reason code, is not kept).
    Discarded,
    /// The packet went out of several interfaces.
    Multiple,
    /// A format the specification does not define.
    Undefined,
}

impl Interface {
    /// The compact encoding: 2 bits of format over a 30-bit value.
    pub(super) fn compact(word: u32) -> Self {
        const VALUE_MASK: u32 = 0x3FFF_FFFF;
        Self::from_parts(word >> 30, word & VALUE_MASK, VALUE_MASK)
    }

    /// The expanded encoding: format and value as two whole words.
    pub(super) fn expanded(format: u32, value: u32) -> Self {
        // The largest value marks the device itself; the erratum to the
        // expanded form says so for 0xFFFFFFFF, not 0x3FFFFFFF.
        Self::from_parts(format, value, u32::MAX)
    }

    fn from_parts(format: u32, value: u32, internal: u32) -> Self {
        match format {
            0 if value == internal => Self::Internal,
            0 => Self::Index(value),
            1 => Self::Discarded,
            2 => Self::Multiple,
            _ => Self::Undefined,
        }
    }

    /// The value of the `in_if` / `out_if` columns: the ifIndex, else 0.
    pub(super) fn if_index(self) -> u32 {
        match self {
            Self::Index(index) => index,
            Self::Internal | Self::Discarded | Self::Multiple | Self::Undefined => 0,
        }
    }
}

/// One sample of a datagram, by type.
#[derive(Debug)]
pub(super) enum Sample<'a> {
    /// `flow_sample` (0,1) or `flow_sample_expanded` (0,3).
    Flow(FlowSample<'a>),
    /// `counters_sample` (0,2) or `counters_sample_expanded` (0,4).
    #[allow(dead_code, reason = "read by tests only until interface counters are stored")]
    Counters(CounterSample),
    /// `discarded_packet` (0,5): checked, not kept.
    Discarded,
    /// A type this decoder does not read, skipped by its length.
    Other,
}

/// What error messages call a sample of this `data_format`.
pub(super) fn sample_name(enterprise: u32, format: u32) -> &'static str {
    match (enterprise, format) {
        (0, 1) => "flow sample",
        (0, 2) => "counter sample",
        (0, 3) => "expanded flow sample",
        (0, 4) => "expanded counter sample",
        (0, 5) => "discarded packet sample",
        _ => "sample",
    }
}

/// The next sample's `data_format` (enterprise, format) and its body, framed
/// by its length.
pub(super) fn sample_frame<'a>(xdr: &mut Xdr<'a>) -> Result<(u32, u32, Xdr<'a>)> {
    let (enterprise, format) = data_format(xdr.u32("sample format")?);
    let length_at = xdr.offset();
    let length = xdr.u32("sample length")?;
    let body = xdr.part(length, length_at, sample_name(enterprise, format))?;
    Ok((enterprise, format, body))
}

/// Parses the body of a sample of the given `data_format`.
pub(super) fn sample<'a>(enterprise: u32, format: u32, mut body: Xdr<'a>) -> Result<Sample<'a>> {
    let sample = match (enterprise, format) {
        (0, 1) => Sample::Flow(flow_sample(&mut body, false)?),
        (0, 3) => Sample::Flow(flow_sample(&mut body, true)?),
        (0, 2) => Sample::Counters(counter_sample(&mut body, false)?),
        (0, 4) => Sample::Counters(counter_sample(&mut body, true)?),
        (0, 5) => {
            discarded_packet(&mut body)?;
            Sample::Discarded
        }
        _ => Sample::Other,
    };
    Ok(sample)
}

/// A packet sample: the fields of `flow_sample` / `flow_sample_expanded` a
/// flow row uses, and its records.
#[derive(Debug)]
pub(super) struct FlowSample<'a> {
    /// 1 in N packets sampled; 0 when the agent does not say.
    pub sampling_rate: u32,
    pub input: Interface,
    pub output: Interface,
    pub records: FlowRecords<'a>,
}

fn flow_sample<'a>(xdr: &mut Xdr<'a>, expanded: bool) -> Result<FlowSample<'a>> {
    xdr.u32("sequence number")?;
    source_id(xdr, expanded)?;
    let sampling_rate = xdr.u32("sampling rate")?;
    xdr.u32("sample pool")?;
    xdr.u32("drops")?;
    let (input, output) = if expanded {
        let input = Interface::expanded(xdr.u32("input format")?, xdr.u32("input value")?);
        let output = Interface::expanded(xdr.u32("output format")?, xdr.u32("output value")?);
        (input, output)
    } else {
        (Interface::compact(xdr.u32("input")?), Interface::compact(xdr.u32("output")?))
    };
    let records = flow_records(xdr)?;
    Ok(FlowSample { sampling_rate, input, output, records })
}

/// `sflow_data_source` (one word) or `sflow_data_source_expanded` (two).
fn source_id(xdr: &mut Xdr<'_>, expanded: bool) -> Result<()> {
    xdr.u32("source id")?;
    if expanded {
        xdr.u32("source id index")?;
    }
    Ok(())
}

/// `discarded_packet` (sflow_drops.txt): read through so that a malformed one
/// is counted like any other sample.
fn discarded_packet(xdr: &mut Xdr<'_>) -> Result<()> {
    xdr.u32("sequence number")?;
    source_id(xdr, true)?;
    xdr.u32("drops")?;
    xdr.u32("input ifIndex")?;
    xdr.u32("output ifIndex")?;
    xdr.u32("drop reason")?;
    flow_records(xdr)?;
    Ok(())
}

/// The records of one flow sample that make a flow row; the first of each
/// kind counts.
#[derive(Debug, Default)]
pub(super) struct FlowRecords<'a> {
    /// `sampled_header` (0,1).
    pub header: Option<SampledHeader<'a>>,
    /// The `length` of `sampled_ethernet` (0,2), the frame with its FCS.
    pub ethernet_length: Option<u32>,
    /// `sampled_ipv4` (0,3) or `sampled_ipv6` (0,4).
    pub ip: Option<SampledIp>,
    /// `extended_switch` (0,1001).
    pub switch: Option<ExtendedSwitch>,
    /// `extended_router` (0,1002).
    pub router: Option<ExtendedRouter>,
    /// `extended_gateway` (0,1003).
    pub gateway: Option<ExtendedGateway>,
}

/// `sampled_header`: the first bytes of the sampled packet.
#[derive(Debug, Clone, Copy)]
pub(super) struct SampledHeader<'a> {
    /// `header_protocol`: 1 Ethernet, 11 IPv4, 12 IPv6, 13 MPLS, ...
    pub protocol: u32,
    /// Length of the whole packet as received (for Ethernet, with its FCS).
    pub frame_length: u32,
    /// Bytes removed from the packet before the header was taken (the FCS).
    pub stripped: u32,
    pub bytes: &'a [u8],
}

/// An IP packet's flow fields, from `sampled_ipv4` / `sampled_ipv6` or from a
/// sampled header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SampledIp {
    /// Length of the IP packet, its header included.
    pub length: u32,
    pub protocol: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub tcp_flags: u8,
    /// IPv4 type of service or IPv6 traffic class.
    pub tos: u8,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct ExtendedSwitch {
    /// 802.1Q VLAN id of the incoming frame; 0 when none.
    pub src_vlan: u16,
    /// 802.1Q VLAN id of the outgoing frame; 0 when none.
    pub dst_vlan: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ExtendedRouter {
    pub next_hop: Option<IpAddr>,
    pub src_mask: u8,
    pub dst_mask: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ExtendedGateway {
    /// BGP next hop.
    pub next_hop: Option<IpAddr>,
    pub src_as: u32,
    /// The last AS of the path to the destination; 0 when the path is empty.
    pub dst_as: u32,
}

/// The `flow_record<>` array of a flow or discarded-packet sample.
fn flow_records<'a>(xdr: &mut Xdr<'a>) -> Result<FlowRecords<'a>> {
    let mut records = FlowRecords::default();
    let count = xdr.u32("flow record count")?;
    for _ in 0..count {
        let (enterprise, format) = data_format(xdr.u32("flow record format")?);
        let length_at = xdr.offset();
        let length = xdr.u32("flow record length")?;
        let mut body = xdr.part(length, length_at, "flow record")?;
        if enterprise != 0 {
            continue;
        }
        match format {
            1 => set_once(&mut records.header, sampled_header(&mut body)?),
            2 => set_once(&mut records.ethernet_length, sampled_ethernet(&mut body)?),
            3 => set_once(&mut records.ip, sampled_ipv4(&mut body)?),
            4 => set_once(&mut records.ip, sampled_ipv6(&mut body)?),
            1001 => set_once(&mut records.switch, extended_switch(&mut body)?),
            1002 => set_once(&mut records.router, extended_router(&mut body)?),
            1003 => set_once(&mut records.gateway, extended_gateway(&mut body)?),
            _ => {}
        }
    }
    Ok(records)
}

fn set_once<T>(slot: &mut Option<T>, value: T) {
    if slot.is_none() {
        *slot = Some(value);
    }
}

fn sampled_header<'a>(xdr: &mut Xdr<'a>) -> Result<SampledHeader<'a>> {
    let protocol = xdr.u32("header protocol")?;
    let frame_length = xdr.u32("frame length")?;
    let stripped = xdr.u32("stripped")?;
    let bytes = xdr.opaque("sampled header")?;
    Ok(SampledHeader { protocol, frame_length, stripped, bytes })
}

fn sampled_ethernet(xdr: &mut Xdr<'_>) -> Result<u32> {
    let length = xdr.u32("ethernet length")?;
    // Each MAC is a 6-byte fixed opaque, padded to 8 (RFC 4506 section 4.9).
    xdr.take(8, "source MAC")?;
    xdr.take(8, "destination MAC")?;
    xdr.u32("ethernet type")?;
    Ok(length)
}

fn sampled_ipv4(xdr: &mut Xdr<'_>) -> Result<SampledIp> {
    let length = xdr.u32("IP length")?;
    let protocol = narrow_u8(xdr, "IP protocol")?;
    let src = xdr.take(4, "source address")?;
    let dst = xdr.take(4, "destination address")?;
    let (src_port, dst_port, tcp_flags, tos) = sampled_transport(xdr)?;
    Ok(SampledIp {
        length,
        protocol,
        src: IpAddr::V4(Ipv4Addr::new(src[0], src[1], src[2], src[3])),
        dst: IpAddr::V4(Ipv4Addr::new(dst[0], dst[1], dst[2], dst[3])),
        src_port,
        dst_port,
        tcp_flags,
        tos,
    })
}

fn sampled_ipv6(xdr: &mut Xdr<'_>) -> Result<SampledIp> {
    let length = xdr.u32("IP length")?;
    let protocol = narrow_u8(xdr, "IP protocol")?;
    let src: [u8; 16] = xdr.take(16, "source address")?.try_into().expect("took 16 bytes");
    let dst: [u8; 16] = xdr.take(16, "destination address")?.try_into().expect("took 16 bytes");
    let (src_port, dst_port, tcp_flags, tos) = sampled_transport(xdr)?;
    Ok(SampledIp {
        length,
        protocol,
        src: IpAddr::V6(Ipv6Addr::from(src)),
        dst: IpAddr::V6(Ipv6Addr::from(dst)),
        src_port,
        dst_port,
        tcp_flags,
        tos,
    })
}

/// Ports, TCP flags and TOS / priority, one word each.
fn sampled_transport(xdr: &mut Xdr<'_>) -> Result<(u16, u16, u8, u8)> {
    let src_port = narrow_u16(xdr, "source port")?;
    let dst_port = narrow_u16(xdr, "destination port")?;
    // TCP has nine flag bits; the column keeps the classic eight.
    let tcp_flags = (xdr.u32("TCP flags")? & 0xFF) as u8;
    let tos = (xdr.u32("type of service")? & 0xFF) as u8;
    Ok((src_port, dst_port, tcp_flags, tos))
}

fn extended_switch(xdr: &mut Xdr<'_>) -> Result<ExtendedSwitch> {
    let src_vlan = vlan_id(xdr.u32("source VLAN")?);
    xdr.u32("source priority")?;
    let dst_vlan = vlan_id(xdr.u32("destination VLAN")?);
    xdr.u32("destination priority")?;
    Ok(ExtendedSwitch { src_vlan, dst_vlan })
}

/// A VLAN id as the `src_vlan` / `dst_vlan` columns keep it: a word above
/// the 12-bit range is no VLAN id, and counts as none.
fn vlan_id(word: u32) -> u16 {
    u16::try_from(word).ok().filter(|id| *id < 4096).unwrap_or(0)
}

fn extended_router(xdr: &mut Xdr<'_>) -> Result<ExtendedRouter> {
    let next_hop = xdr.address("next hop")?;
    let src_mask = prefix_length(xdr, "source mask length")?;
    let dst_mask = prefix_length(xdr, "destination mask length")?;
    Ok(ExtendedRouter { next_hop, src_mask, dst_mask })
}

fn extended_gateway(xdr: &mut Xdr<'_>) -> Result<ExtendedGateway> {
    let next_hop = xdr.address("BGP next hop")?;
    xdr.u32("router AS")?;
    let src_as = xdr.u32("source AS")?;
    xdr.u32("source peer AS")?;

    // dst_as_path<>: segments of (type, as<>); the destination's AS is the
    // last one of the last segment.
    let mut dst_as = 0;
    let segments = xdr.u32("AS path segment count")?;
    for _ in 0..segments {
        xdr.u32("AS path segment type")?;
        let count_at = xdr.offset();
        let count = xdr.u32("AS path segment length")?;
        let bytes = count.saturating_mul(4);
        let mut path = xdr.part(bytes, count_at, "AS path segment")?;
        while path.remaining() > 0 {
            dst_as = path.u32("AS number")?;
        }
    }

    let count_at = xdr.offset();
    let communities = xdr.u32("community count")?;
    xdr.part(communities.saturating_mul(4), count_at, "communities")?;
    xdr.u32("local preference")?;
    Ok(ExtendedGateway { next_hop, src_as, dst_as })
}

fn narrow_u8(xdr: &mut Xdr<'_>, what: &'static str) -> Result<u8> {
    let offset = xdr.offset();
    let word = xdr.u32(what)?;
    u8::try_from(word).map_err(|_| WireError::Invalid {
        what,
        offset,
        detail: format!("{word} does not fit in 8 bits"),
    })
}

fn narrow_u16(xdr: &mut Xdr<'_>, what: &'static str) -> Result<u16> {
    let offset = xdr.offset();
    let word = xdr.u32(what)?;
    u16::try_from(word).map_err(|_| WireError::Invalid {
        what,
        offset,
        detail: format!("{word} does not fit in 16 bits"),
    })
}

fn prefix_length(xdr: &mut Xdr<'_>, what: &'static str) -> Result<u8> {
    let offset = xdr.offset();
    match xdr.u32(what)? {
        length @ 0..=128 => Ok(length as u8),
        length => Err(WireError::Invalid {
            what,
            offset,
            detail: format!("{length} is longer than any address"),
        }),
    }
}

/// An interface counter sample: the generic interface counters, if the
/// sample carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CounterSample {
    pub interface: Option<InterfaceCounters>,
}

/// `if_counters` (0,1): the generic interface counters of RFC 2233.
// TODO: these are decoded and counted but not stored: keeping interface
// counters over time is part of the SNMP / interfaces work, which brings the
// tables they belong in. Until then only the tests read the fields.
#[allow(dead_code, reason = "read by tests only until interface counters are stored")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct InterfaceCounters {
    pub if_index: u32,
    pub if_type: u32,
    /// Bits per second.
    pub if_speed: u64,
    /// 0 unknown, 1 full duplex, 2 half duplex, 3 in, 4 out.
    pub if_direction: u32,
    /// Bit 0 admin up, bit 1 operationally up.
    pub if_status: u32,
    pub in_octets: u64,
    pub in_unicast_packets: u32,
    pub in_multicast_packets: u32,
    pub in_broadcast_packets: u32,
    pub in_discards: u32,
    pub in_errors: u32,
    pub in_unknown_protocols: u32,
    pub out_octets: u64,
    pub out_unicast_packets: u32,
    pub out_multicast_packets: u32,
    pub out_broadcast_packets: u32,
    pub out_discards: u32,
    pub out_errors: u32,
    pub promiscuous_mode: u32,
}

fn counter_sample(xdr: &mut Xdr<'_>, expanded: bool) -> Result<CounterSample> {
    xdr.u32("sequence number")?;
    source_id(xdr, expanded)?;
    let mut interface = None;
    let count = xdr.u32("counter record count")?;
    for _ in 0..count {
        let (enterprise, format) = data_format(xdr.u32("counter record format")?);
        let length_at = xdr.offset();
        let length = xdr.u32("counter record length")?;
        let mut body = xdr.part(length, length_at, "counter record")?;
        if (enterprise, format) == (0, 1) {
            set_once(&mut interface, interface_counters(&mut body)?);
        }
    }
    Ok(CounterSample { interface })
}

fn interface_counters(xdr: &mut Xdr<'_>) -> Result<InterfaceCounters> {
    Ok(InterfaceCounters {
        if_index: xdr.u32("ifIndex")?,
        if_type: xdr.u32("ifType")?,
        if_speed: xdr.u64("ifSpeed")?,
        if_direction: xdr.u32("ifDirection")?,
        if_status: xdr.u32("ifStatus")?,
        in_octets: xdr.u64("ifInOctets")?,
        in_unicast_packets: xdr.u32("ifInUcastPkts")?,
        in_multicast_packets: xdr.u32("ifInMulticastPkts")?,
        in_broadcast_packets: xdr.u32("ifInBroadcastPkts")?,
        in_discards: xdr.u32("ifInDiscards")?,
        in_errors: xdr.u32("ifInErrors")?,
        in_unknown_protocols: xdr.u32("ifInUnknownProtos")?,
        out_octets: xdr.u64("ifOutOctets")?,
        out_unicast_packets: xdr.u32("ifOutUcastPkts")?,
        out_multicast_packets: xdr.u32("ifOutMulticastPkts")?,
        out_broadcast_packets: xdr.u32("ifOutBroadcastPkts")?,
        out_discards: xdr.u32("ifOutDiscards")?,
        out_errors: xdr.u32("ifOutErrors")?,
        promiscuous_mode: xdr.u32("ifPromiscuousMode")?,
    })
}
