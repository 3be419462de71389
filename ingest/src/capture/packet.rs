//! One frame's link, IP and UDP headers, taken off to reach the UDP payload.
//!
//! A frame whose headers do not fit in what was captured is [`Skip::Truncated`]
//! when the IP header says the packet goes on (the snap length cut it), and
//! [`Skip::Malformed`] when the headers contradict each other.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{Skip, Udp};

/// Link types (tcpdump.org `LINKTYPE_` values, and two DLT values).
const LINK_NULL: u32 = 0;
const LINK_ETHERNET: u32 = 1;
/// `DLT_RAW` on most systems; libpcap writes 101 for it, some writers not.
const LINK_DLT_RAW: u32 = 12;
/// `DLT_RAW` on OpenBSD.
const LINK_DLT_RAW_OPENBSD: u32 = 14;
const LINK_RAW: u32 = 101;
const LINK_LOOP: u32 = 108;
const LINK_LINUX_SLL: u32 = 113;
const LINK_IPV4: u32 = 228;
const LINK_IPV6: u32 = 229;
const LINK_LINUX_SLL2: u32 = 276;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// 802.1Q customer tag, 802.1ad service tag, and the pre-standard QinQ tag.
const ETHERTYPE_VLAN: [u16; 3] = [0x8100, 0x88a8, 0x9100];

const IP_PROTOCOL_UDP: u8 = 17;
/// IPv6 extension headers walked over (RFC 8200 section 4): hop-by-hop,
/// routing, destination options.
const IPV6_SKIPPED_HEADERS: [u8; 3] = [0, 43, 60];
const IPV6_FRAGMENT_HEADER: u8 = 44;
const UDP_HEADER_LEN: usize = 8;

/// The UDP datagram of a frame of link type `link`.
pub(super) fn udp(link: u32, frame: &[u8]) -> Result<Udp<'_>, Skip> {
    let (network, ip) = match link {
        LINK_ETHERNET => ethernet(frame)?,
        // Linux cooked capture: the protocol is an EtherType at byte 14 of a
        // 16-byte header (v1), at byte 0 of a 20-byte header (v2).
        LINK_LINUX_SLL => (be16(frame, 14).ok_or(Skip::Truncated)?, rest(frame, 16)?),
        LINK_LINUX_SLL2 => (be16(frame, 0).ok_or(Skip::Truncated)?, rest(frame, 20)?),
        LINK_RAW | LINK_DLT_RAW | LINK_DLT_RAW_OPENBSD | LINK_IPV4 | LINK_IPV6 => {
            by_version(frame)?
        }
        // BSD loopback: a 4-byte address family whose values differ between
        // systems and byte orders; the IP version nibble says the same.
        LINK_NULL | LINK_LOOP => by_version(rest(frame, 4)?)?,
        other => return Err(Skip::UnsupportedLink(other)),
    };
    match network {
        ETHERTYPE_IPV4 => ipv4(ip),
        ETHERTYPE_IPV6 => ipv6(ip),
        _ => Err(Skip::NotUdp),
    }
}

/// The EtherType after any VLAN tags, and the bytes after it.
fn ethernet(frame: &[u8]) -> Result<(u16, &[u8]), Skip> {
    let mut at = 12;
    loop {
        let ethertype = be16(frame, at).ok_or(Skip::Truncated)?;
        if !ETHERTYPE_VLAN.contains(&ethertype) {
            return Ok((ethertype, rest(frame, at + 2)?));
        }
        at += 4; // the tag's EtherType, then its 2-byte control information
    }
}

/// Raw IP: the version nibble decides.
fn by_version(ip: &[u8]) -> Result<(u16, &[u8]), Skip> {
    match ip.first().ok_or(Skip::Truncated)? >> 4 {
        4 => Ok((ETHERTYPE_IPV4, ip)),
        6 => Ok((ETHERTYPE_IPV6, ip)),
        _ => Err(Skip::NotUdp),
    }
}

/// RFC 791 section 3.1.
fn ipv4(ip: &[u8]) -> Result<Udp<'_>, Skip> {
    const MIN_HEADER: usize = 20;
    if ip.len() < MIN_HEADER {
        return Err(Skip::Truncated);
    }
    let header_len = usize::from(ip[0] & 0x0f) * 4;
    let total_len = usize::from(be16(ip, 2).ok_or(Skip::Truncated)?);
    if ip[0] >> 4 != 4 || header_len < MIN_HEADER || total_len < header_len {
        return Err(Skip::Malformed);
    }
    if ip[9] != IP_PROTOCOL_UDP {
        return Err(Skip::NotUdp);
    }
    let fragment = be16(ip, 6).ok_or(Skip::Truncated)?;
    if fragment & 0x3fff != 0 {
        return Err(Skip::Fragment); // more fragments, or a fragment offset
    }

    let source = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let destination = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    datagram(ip, header_len, total_len, source.into(), destination.into())
}

/// RFC 8200 sections 3 and 4.
fn ipv6(ip: &[u8]) -> Result<Udp<'_>, Skip> {
    const HEADER: usize = 40;
    if ip.len() < HEADER {
        return Err(Skip::Truncated);
    }
    if ip[0] >> 4 != 6 {
        return Err(Skip::Malformed);
    }
    let end = HEADER + usize::from(be16(ip, 4).ok_or(Skip::Truncated)?);
    let mut next = ip[6];
    let mut at = HEADER;
    while IPV6_SKIPPED_HEADERS.contains(&next) {
        let header = fits(ip, at, 2, end)?;
        next = header[0];
        at += (usize::from(header[1]) + 1) * 8;
    }
    match next {
        IP_PROTOCOL_UDP => {}
        IPV6_FRAGMENT_HEADER => return Err(Skip::Fragment),
        _ => return Err(Skip::NotUdp),
    }

    let address = |at: usize| {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(&ip[at..at + 16]);
        IpAddr::V6(Ipv6Addr::from(octets))
    };
    datagram(ip, at, end, address(8), address(24))
}

/// The UDP datagram at `at` of an IP packet that ends at `end` (RFC 768).
fn datagram(
    ip: &[u8],
    at: usize,
    end: usize,
    source: IpAddr,
    destination: IpAddr,
) -> Result<Udp<'_>, Skip> {
    let header = fits(ip, at, UDP_HEADER_LEN, end)?;
    let udp_len = usize::from(u16::from_be_bytes([header[4], header[5]]));
    if udp_len < UDP_HEADER_LEN {
        return Err(Skip::Malformed);
    }
    let datagram = fits(ip, at, udp_len, end)?;

    let port = |at: usize| u16::from_be_bytes([header[at], header[at + 1]]);
    Ok(Udp {
        source: SocketAddr::new(source, port(0)),
        destination: SocketAddr::new(destination, port(2)),
        payload: &datagram[UDP_HEADER_LEN..],
    })
}

/// `len` bytes at `at` of an IP packet ending at `end`: malformed if they
/// go past the end the IP header declares, truncated if past the capture.
fn fits(ip: &[u8], at: usize, len: usize, end: usize) -> Result<&[u8], Skip> {
    let stop = at.checked_add(len).ok_or(Skip::Malformed)?;
    if stop > end {
        return Err(Skip::Malformed);
    }
    ip.get(at..stop).ok_or(Skip::Truncated)
}

fn rest(frame: &[u8], at: usize) -> Result<&[u8], Skip> {
    frame.get(at..).ok_or(Skip::Truncated)
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}
