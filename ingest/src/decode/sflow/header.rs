//! Sampled packet headers (sFlow v5 `sampled_header`) to the flow fields they
//! carry.
//!
//! An agent copies the first bytes of each sampled packet, commonly 128, so a
//! header here is usually cut inside its IP payload. `etherparse`'s lax
//! slicing reads the layers that are there and, where a length field says more
//! than was copied, falls back on the bytes present. Understood: Ethernet with
//! 802.1Q and QinQ tags (header protocol 1), bare IPv4 and IPv6 headers (11,
//! 12), and MPLS label stacks over IP, bare (13) or inside Ethernet. Ports are
//! read for TCP, UDP and SCTP, ICMP type and code as `type * 256 + code` in
//! the destination port, as the other decoders do.
//!
//! Not understood: the other header protocols (802.11, PPP, POS, FDDI, ...),
//! tunnels (only the outer IP header counts), and ports of IP fragments. Such
//! a packet still gives a [`Packet`], without [`SampledIp`] fields.

use std::net::IpAddr;

use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};

use super::wire::{SampledHeader, SampledIp};

/// `header_protocol` values (sFlow v5 `header_protocol`).
const ETHERNET: u32 = 1;
const IPV4: u32 = 11;
const IPV6: u32 = 12;
const MPLS: u32 = 13;

/// Ethernet types of MPLS unicast and multicast (RFC 5332).
const ETHER_MPLS: [u16; 2] = [0x8847, 0x8848];
/// One MPLS label stack entry (RFC 3032 section 2.1).
const LABEL_LEN: usize = 4;

/// IP protocols whose first four payload bytes are the two ports.
const PORTS_FIRST: [u8; 3] = [6, 17, 132];
const TCP: u8 = 6;
const ICMP: [u8; 2] = [1, 58];
/// Offset of the flags byte in the TCP header (RFC 9293 section 3.1).
const TCP_FLAGS_AT: usize = 13;

/// What a sampled header says about its packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Packet {
    /// The IP packet's fields, when the header holds an IP header.
    pub ip: Option<SampledIp>,
    /// The outer 802.1Q VLAN id (the service tag under QinQ); 0 if untagged.
    pub vlan: u16,
    /// Bytes at layer 3: the IP packet's length; for a packet that is not IP
    /// the frame less the stripped bytes and the link headers read (none for
    /// a header protocol not understood).
    pub layer3_length: u32,
}

/// Reads the header of one sampled packet.
pub(super) fn decode(header: &SampledHeader<'_>) -> Packet {
    let bytes = header.bytes;
    let (link, vlan) = match header.protocol {
        ETHERNET => ethernet(bytes).map_or((None, 0), |(link, vlan)| (Some(link), vlan)),
        IPV4 | IPV6 => (Some(Link { end: 0, ip: true }), 0),
        MPLS => (Some(labels(bytes, 0)), 0),
        _ => (None, 0),
    };

    let link_len = link.map_or(0, |l| u32::try_from(l.end).unwrap_or(u32::MAX));
    let below_link = header.frame_length.saturating_sub(header.stripped).saturating_sub(link_len);
    let ip = link.filter(|l| l.ip).and_then(|l| ip_fields(&bytes[l.end..], below_link));
    let layer3_length = ip.map_or(below_link, |ip| ip.length);
    Packet { ip, vlan, layer3_length }
}

/// Where the link layer of a sampled header ends.
#[derive(Debug, Clone, Copy)]
struct Link {
    /// Offset of the first byte after the link headers (Ethernet, VLAN tags,
    /// MPLS labels).
    end: usize,
    /// Whether an IP header starts there.
    ip: bool,
}

/// An Ethernet frame's link layer and outer VLAN id.
fn ethernet(bytes: &[u8]) -> Option<(Link, u16)> {
    let sliced = LaxSlicedPacket::from_ethernet(bytes).ok()?;
    let vlan = sliced.vlan_ids().first().map_or(0, |id| id.value());
    let payload = sliced.ether_payload()?;

    let end = bytes.len() - payload.payload.len();
    let link = match payload.ether_type {
        EtherType::IPV4 | EtherType::IPV6 => Link { end, ip: true },
        t if ETHER_MPLS.contains(&t.0) => labels(bytes, end),
        _ => Link { end, ip: false },
    };
    Some((link, vlan))
}

/// The MPLS label stack starting at `at`, and whether an IP header follows
/// it. A stack that does not end inside the header ends with it.
fn labels(bytes: &[u8], mut at: usize) -> Link {
    while let Some(entry) = bytes.get(at..at + LABEL_LEN) {
        at += LABEL_LEN;
        let bottom_of_stack = entry[2] & 0x01 == 1;
        if bottom_of_stack {
            // RFC 4928: what follows the stack is told apart by its first nibble.
            let ip = bytes.get(at).is_some_and(|b| matches!(b >> 4, 4 | 6));
            return Link { end: at, ip };
        }
    }
    Link { end: bytes.len(), ip: false }
}

/// The IP fields of the packet starting at `bytes`; `below_link` is its
/// length as the frame length gives it, for when the IP header does not say.
fn ip_fields(bytes: &[u8], below_link: u32) -> Option<SampledIp> {
    let sliced = LaxSlicedPacket::from_ip(bytes).ok()?;
    let (src, dst, tos, length, payload) = match sliced.net.as_ref()? {
        LaxNetSlice::Ipv4(ipv4) => {
            let h = ipv4.header();
            // Total length covers the header; under it, the field is no help.
            let length = u32::from(h.total_len());
            let length = if length >= u32::from(h.ihl()) * 4 { length } else { below_link };
            let (src, dst) = (IpAddr::V4(h.source_addr()), IpAddr::V4(h.destination_addr()));
            (src, dst, h.slice()[1], length, ipv4.payload())
        }
        LaxNetSlice::Ipv6(ipv6) => {
            let h = ipv6.header();
            // A zero payload length is a jumbogram's (RFC 2675) or unknown.
            let length = match h.payload_length() {
                0 => below_link,
                n => u32::from(n) + 40,
            };
            let (src, dst) = (IpAddr::V6(h.source_addr()), IpAddr::V6(h.destination_addr()));
            (src, dst, h.traffic_class(), length, ipv6.payload())
        }
        LaxNetSlice::Arp(_) => return None,
    };

    let protocol = payload.ip_number.0;
    let (src_port, dst_port, tcp_flags) = match &sliced.transport {
        Some(TransportSlice::Tcp(tcp)) => {
            (tcp.source_port(), tcp.destination_port(), tcp.header_slice()[TCP_FLAGS_AT])
        }
        Some(TransportSlice::Udp(udp)) => (udp.source_port(), udp.destination_port(), 0),
        Some(TransportSlice::Icmpv4(icmp)) => (0, type_code(icmp.type_u8(), icmp.code_u8()), 0),
        Some(TransportSlice::Icmpv6(icmp)) => (0, type_code(icmp.type_u8(), icmp.code_u8()), 0),
        // Cut short inside its header (or a protocol etherparse leaves
        // alone): the fields sit at fixed offsets, read what is there.
        _ if !payload.fragmented => transport_prefix(protocol, payload.payload),
        _ => (0, 0, 0),
    };
    Some(SampledIp { length, protocol, src, dst, src_port, dst_port, tcp_flags, tos })
}

/// Ports and TCP flags from the first bytes of a transport header that is
/// not all there.
fn transport_prefix(protocol: u8, payload: &[u8]) -> (u16, u16, u8) {
    let word = |at: usize| payload.get(at..at + 2).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    if PORTS_FIRST.contains(&protocol) {
        let flags =
            if protocol == TCP { payload.get(TCP_FLAGS_AT).copied().unwrap_or(0) } else { 0 };
        (word(0), word(2), flags)
    } else if ICMP.contains(&protocol) {
        (0, word(0), 0)
    } else {
        (0, 0, 0)
    }
}

/// ICMP type and code as NetFlow v5 and most collectors put them in the
/// destination port.
fn type_code(icmp_type: u8, code: u8) -> u16 {
    (u16::from(icmp_type) << 8) | u16::from(code)
}
