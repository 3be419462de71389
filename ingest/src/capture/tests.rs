//! The capture reader on captures built here, one per format, byte order,
//! time unit and link type, and on corpus captures whose facts come from
//! tshark (`tshark -r FILE -T fields -e frame.time_epoch -e ip.src ...`).

use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

use super::*;

const EXPORTER_V4: [u8; 4] = [192, 0, 2, 7];
const COLLECTOR_V4: [u8; 4] = [198, 51, 100, 1];
const EXPORTER_V6: &str = "2001:db8::7";
const COLLECTOR_V6: &str = "2001:db8::1";
const SOURCE_PORT: u16 = 50_000;
const FLOW_PORT: u16 = 2055;
const PAYLOAD: &[u8] = b"\x00\x0aflow-export";
/// 2023-11-14T22:13:20Z, in seconds.
const SECS: u32 = 1_700_000_000;

// ---- frames ----------------------------------------------------------------

fn udp_header(len: usize) -> Vec<u8> {
    let len = u16::try_from(8 + len).unwrap();
    [SOURCE_PORT.to_be_bytes(), FLOW_PORT.to_be_bytes(), len.to_be_bytes(), [0, 0]].concat()
}

/// An IPv4 packet with `protocol`, fragment field `fragment` and `body`.
fn ipv4(protocol: u8, fragment: u16, body: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + body.len()).unwrap();
    let mut ip = vec![0x45, 0];
    ip.extend(total.to_be_bytes());
    ip.extend([0, 1]);
    ip.extend(fragment.to_be_bytes());
    ip.extend([64, protocol, 0, 0]);
    ip.extend(EXPORTER_V4);
    ip.extend(COLLECTOR_V4);
    ip.extend(body);
    ip
}

fn ipv4_udp(payload: &[u8]) -> Vec<u8> {
    ipv4(17, 0, &[udp_header(payload.len()), payload.to_vec()].concat())
}

/// An IPv6 packet: `extensions` are (next header, bytes) pairs before UDP.
fn ipv6_udp(extensions: &[(u8, Vec<u8>)], payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut first = 17;
    for (index, (kind, header)) in extensions.iter().enumerate().rev() {
        let mut header = header.clone();
        header[0] = if index + 1 == extensions.len() { 17 } else { extensions[index + 1].0 };
        body.splice(0..0, header);
        first = *kind;
    }
    body.extend(udp_header(payload.len()));
    body.extend(payload);
    let mut ip = vec![0x60, 0, 0, 0];
    ip.extend(u16::try_from(body.len()).unwrap().to_be_bytes());
    ip.extend([first, 64]);
    ip.extend(EXPORTER_V6.parse::<Ipv6Addr>().unwrap().octets());
    ip.extend(COLLECTOR_V6.parse::<Ipv6Addr>().unwrap().octets());
    ip.extend(body);
    ip
}

/// An Ethernet frame: addresses, then each EtherType of `types` with a
/// 2-byte VLAN id after every tag, then `body`.
fn ethernet(types: &[u16], body: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    for (index, ethertype) in types.iter().enumerate() {
        frame.extend(ethertype.to_be_bytes());
        if index + 1 < types.len() {
            frame.extend(100u16.to_be_bytes()); // the tag's VLAN id
        }
    }
    frame.extend(body);
    frame
}

// ---- files -------------------------------------------------------------------

/// A classic pcap file; `records` are (seconds, fraction, frame).
fn pcap(order: ByteOrder, nanos: bool, link: u32, records: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
    let u16b = |v: u16| if order == ByteOrder::Big { v.to_be_bytes() } else { v.to_le_bytes() };
    let u32b = |v: u32| if order == ByteOrder::Big { v.to_be_bytes() } else { v.to_le_bytes() };
    let mut file = Vec::new();
    file.extend(u32b(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    file.extend(u16b(2));
    file.extend(u16b(4));
    file.extend([0; 8]);
    file.extend(u32b(65_535));
    file.extend(u32b(link));
    for (secs, fraction, frame) in records {
        let len = u32::try_from(frame.len()).unwrap();
        for word in [*secs, *fraction, len, len] {
            file.extend(u32b(word));
        }
        file.extend(frame);
    }
    file
}

/// A pcapng file, block by block.
struct Pcapng {
    order: ByteOrder,
    file: Vec<u8>,
}

impl Pcapng {
    fn new(order: ByteOrder) -> Self {
        let mut file = Self { order, file: Vec::new() };
        file.section(order);
        file
    }

    fn u16b(&self, v: u16) -> [u8; 2] {
        if self.order == ByteOrder::Big { v.to_be_bytes() } else { v.to_le_bytes() }
    }

    fn u32b(&self, v: u32) -> [u8; 4] {
        if self.order == ByteOrder::Big { v.to_be_bytes() } else { v.to_le_bytes() }
    }

    fn block(&mut self, kind: u32, body: &[u8]) -> &mut Self {
        let padded = body.len().div_ceil(4) * 4;
        let total = u32::try_from(12 + padded).unwrap();
        self.file.extend(self.u32b(kind));
        self.file.extend(self.u32b(total));
        self.file.extend(body);
        self.file.extend(vec![0; padded - body.len()]);
        self.file.extend(self.u32b(total));
        self
    }

    /// Opens a new section in `order`.
    fn section(&mut self, order: ByteOrder) -> &mut Self {
        self.order = order;
        let mut body = self.u32b(0x1a2b_3c4d).to_vec();
        body.extend(self.u16b(1));
        body.extend(self.u16b(0));
        body.extend([0xff; 8]); // section length unknown
        self.block(0x0a0d_0d0a, &body)
    }

    /// An interface; `options` are (code, value) pairs.
    fn interface(&mut self, link: u16, snap_len: u32, options: &[(u16, Vec<u8>)]) -> &mut Self {
        let mut body = self.u16b(link).to_vec();
        body.extend([0, 0]);
        body.extend(self.u32b(snap_len));
        for (code, value) in options {
            body.extend(self.u16b(*code));
            body.extend(self.u16b(u16::try_from(value.len()).unwrap()));
            body.extend(value);
            body.extend(vec![0; value.len().div_ceil(4) * 4 - value.len()]);
        }
        body.extend([0; 4]); // opt_endofopt
        self.block(1, &body)
    }

    fn enhanced(&mut self, interface: u32, ticks: u64, frame: &[u8]) -> &mut Self {
        let len = u32::try_from(frame.len()).unwrap();
        let mut body = self.u32b(interface).to_vec();
        body.extend(self.u32b((ticks >> 32) as u32));
        body.extend(self.u32b(ticks as u32));
        body.extend(self.u32b(len));
        body.extend(self.u32b(len));
        body.extend(frame);
        self.block(6, &body)
    }

    fn obsolete(&mut self, interface: u16, ticks: u64, frame: &[u8]) -> &mut Self {
        let len = u32::try_from(frame.len()).unwrap();
        let mut body = self.u16b(interface).to_vec();
        body.extend(self.u16b(0));
        body.extend(self.u32b((ticks >> 32) as u32));
        body.extend(self.u32b(ticks as u32));
        body.extend(self.u32b(len));
        body.extend(self.u32b(len));
        body.extend(frame);
        self.block(2, &body)
    }

    fn simple(&mut self, frame: &[u8]) -> &mut Self {
        let mut body = self.u32b(u32::try_from(frame.len()).unwrap()).to_vec();
        body.extend(frame);
        self.block(3, &body)
    }

    fn bytes(&self) -> Vec<u8> {
        self.file.clone()
    }
}

/// What one frame of a capture gave, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    link: u32,
    time_ms: Option<i64>,
    udp: Result<(IpAddr, u16, IpAddr, u16, Vec<u8>), Skip>,
}

/// Every frame of `file`, and the error that ended the reading, if any.
fn read(file: &[u8]) -> (Vec<Seen>, Option<CaptureError>) {
    let mut reader = match CaptureReader::new(file) {
        Ok(reader) => reader,
        Err(err) => return (Vec::new(), Some(err)),
    };
    let mut seen = Vec::new();
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => seen.push(Seen {
                link: frame.link,
                time_ms: frame.time_ms,
                udp: frame.udp().map(|udp| {
                    let (s, d) = (udp.source, udp.destination);
                    (s.ip(), s.port(), d.ip(), d.port(), udp.payload.to_vec())
                }),
            }),
            Ok(None) => return (seen, None),
            Err(err) => return (seen, Some(err)),
        }
    }
}

/// The frames of a file that must read to its end without error.
fn frames(file: &[u8]) -> Vec<Seen> {
    let (seen, error) = read(file);
    assert!(error.is_none(), "{error:?}");
    seen
}

fn from_v4(payload: &[u8]) -> Result<(IpAddr, u16, IpAddr, u16, Vec<u8>), Skip> {
    Ok((EXPORTER_V4.into(), SOURCE_PORT, COLLECTOR_V4.into(), FLOW_PORT, payload.to_vec()))
}

fn from_v6(payload: &[u8]) -> Result<(IpAddr, u16, IpAddr, u16, Vec<u8>), Skip> {
    let (source, destination) = (EXPORTER_V6.parse().unwrap(), COLLECTOR_V6.parse().unwrap());
    Ok((source, SOURCE_PORT, destination, FLOW_PORT, payload.to_vec()))
}

fn corpus(file: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

// ---- pcap ------------------------------------------------------------------------

#[test]
fn pcap_in_either_byte_order_and_time_unit_gives_the_same_datagram_and_time() {
    for (order, nanos, fraction) in [
        (ByteOrder::Little, false, 250_000),
        (ByteOrder::Big, false, 250_000),
        (ByteOrder::Little, true, 250_000_000),
        (ByteOrder::Big, true, 250_000_000),
    ] {
        // given
        let file =
            pcap(order, nanos, 1, &[(SECS, fraction, ethernet(&[0x0800], &ipv4_udp(PAYLOAD)))]);

        // when
        let seen = frames(&file);

        // then
        let want =
            Seen { link: 1, time_ms: Some(i64::from(SECS) * 1000 + 250), udp: from_v4(PAYLOAD) };
        assert_eq!(seen, vec![want], "{order:?}, nanoseconds {nanos}");
    }
}

#[test]
fn pcap_ethernet_datagrams_come_out_through_802_1q_and_qinq_tags() {
    // given
    let records = [
        (SECS, 0, ethernet(&[0x8100, 0x0800], &ipv4_udp(b"one tag"))),
        (SECS, 0, ethernet(&[0x88a8, 0x8100, 0x86dd], &ipv6_udp(&[], b"two tags"))),
        (SECS, 0, ethernet(&[0x9100, 0x8100, 0x0800], &ipv4_udp(b"old qinq"))),
    ];
    let file = pcap(ByteOrder::Little, false, 1, &records);

    // when
    let seen: Vec<_> = frames(&file).into_iter().map(|s| s.udp).collect();

    // then
    assert_eq!(seen, vec![from_v4(b"one tag"), from_v6(b"two tags"), from_v4(b"old qinq")]);
}

#[test]
fn pcap_raw_ip_link_types_all_read_ip_by_its_version() {
    for link in [101, 12, 14, 228, 229] {
        // given
        let records = [(SECS, 0, ipv4_udp(PAYLOAD)), (SECS, 0, ipv6_udp(&[], PAYLOAD))];
        let file = pcap(ByteOrder::Big, true, link, &records);

        // when
        let seen: Vec<_> = frames(&file).into_iter().map(|s| s.udp).collect();

        // then
        assert_eq!(seen, vec![from_v4(PAYLOAD), from_v6(PAYLOAD)], "link type {link}");
    }
}

#[test]
fn pcap_linux_cooked_v1_and_v2_headers_are_taken_off() {
    // given: SLL has the protocol at byte 14 of 16, SLL2 at byte 0 of 20
    let mut sll = vec![0u8; 14];
    sll.extend(0x0800u16.to_be_bytes());
    sll.extend(ipv4_udp(PAYLOAD));
    let mut sll2 = 0x86ddu16.to_be_bytes().to_vec();
    sll2.extend([0u8; 18]);
    sll2.extend(ipv6_udp(&[], PAYLOAD));

    // when
    let v1 = frames(&pcap(ByteOrder::Little, false, 113, &[(SECS, 0, sll)]));
    let v2 = frames(&pcap(ByteOrder::Little, false, 276, &[(SECS, 0, sll2)]));

    // then
    assert_eq!(v1[0].udp, from_v4(PAYLOAD));
    assert_eq!(v2[0].udp, from_v6(PAYLOAD));
}

#[test]
fn pcap_bsd_loopback_in_either_byte_order_reads_the_ip_after_the_family() {
    // given: AF_INET 2 in host (little-endian) order, AF_INET6 30 (macOS) in network order
    let null = [&2u32.to_le_bytes()[..], &ipv4_udp(PAYLOAD)].concat();
    let looped = [&30u32.to_be_bytes()[..], &ipv6_udp(&[], PAYLOAD)].concat();

    // when
    let null = frames(&pcap(ByteOrder::Little, false, 0, &[(SECS, 0, null)]));
    let looped = frames(&pcap(ByteOrder::Big, false, 108, &[(SECS, 0, looped)]));

    // then
    assert_eq!(null[0].udp, from_v4(PAYLOAD));
    assert_eq!(looped[0].udp, from_v6(PAYLOAD));
}

#[test]
fn ipv6_hop_by_hop_routing_and_destination_headers_are_walked_to_udp() {
    // given: each extension header is 8 bytes, its length field 0
    let header = vec![0u8; 8];
    let extensions = [(0, header.clone()), (43, header.clone()), (60, header)];
    let file = pcap(ByteOrder::Little, false, 101, &[(SECS, 0, ipv6_udp(&extensions, PAYLOAD))]);

    // when
    let seen = frames(&file);

    // then
    assert_eq!(seen[0].udp, from_v6(PAYLOAD));
}

#[test]
fn frames_without_a_whole_udp_datagram_are_skipped_with_their_reason() {
    // given
    let tcp = ipv4(6, 0, &[0u8; 20]);
    let arp = ethernet(&[0x0806], &[0u8; 28]);
    let first_fragment = ipv4(17, 0x2000, &[udp_header(100), vec![0; 40]].concat());
    let later_fragment = ipv4(17, 0x0005, &[0u8; 40]);
    let v6_fragment = ipv6_udp(&[(44, vec![0u8; 8])], PAYLOAD);
    let mut cut = ipv4_udp(PAYLOAD);
    cut.truncate(cut.len() - 3); // the snap length took the last bytes
    let mut short_udp = ipv4_udp(PAYLOAD);
    short_udp[20 + 5] = 7; // a UDP length under its own header
    let mut long_udp = ipv4_udp(PAYLOAD);
    long_udp[20 + 5] += 1; // a UDP length past the IP packet
    let mut short_ihl = ipv4_udp(PAYLOAD);
    short_ihl[0] = 0x44;
    let records: Vec<_> = [tcp, first_fragment, later_fragment, v6_fragment, cut, short_udp]
        .into_iter()
        .chain([long_udp, short_ihl])
        .map(|frame| {
            (SECS, 0, ethernet(&[if frame[0] >> 4 == 6 { 0x86dd } else { 0x0800 }], &frame))
        })
        .chain([(SECS, 0, arp), (SECS, 0, vec![0u8; 13])])
        .collect();
    let file = pcap(ByteOrder::Little, false, 1, &records);

    // when
    let seen: Vec<_> = frames(&file).into_iter().map(|s| s.udp.map(|_| ())).collect();

    // then
    use Skip::*;
    let want = [NotUdp, Fragment, Fragment, Fragment, Truncated, Malformed, Malformed, Malformed]
        .into_iter()
        .chain([NotUdp, Truncated])
        .map(Err)
        .collect::<Vec<_>>();
    assert_eq!(seen, want);
}

#[test]
fn an_unsupported_link_type_skips_each_frame_and_names_the_type() {
    // given: 802.11 with radiotap
    let file = pcap(ByteOrder::Little, false, 127, &[(SECS, 0, vec![0u8; 64])]);

    // when
    let seen = frames(&file);

    // then
    assert_eq!(seen[0].udp, Err(Skip::UnsupportedLink(127)));
    assert!(Skip::UnsupportedLink(127).to_string().contains("127"));
}

#[test]
fn tally_counts_each_frame_once_by_outcome() {
    // given
    let udp = Udp {
        source: "192.0.2.7:1".parse().unwrap(),
        destination: "192.0.2.8:2".parse().unwrap(),
        payload: b"",
    };
    let outcomes = [Ok(udp), Ok(udp), Err(Skip::NotUdp), Err(Skip::Fragment), Err(Skip::Truncated)];

    // when
    let mut tally = Tally::default();
    outcomes.iter().for_each(|outcome| tally.count(outcome));
    tally.count(&Err(Skip::Malformed));
    tally.count(&Err(Skip::UnsupportedLink(127)));
    tally.count_cut_record();

    // then
    let want = Tally {
        frames: 8,
        udp: 2,
        not_udp: 1,
        fragments: 1,
        truncated: 2,
        malformed: 1,
        unsupported_link: 1,
    };
    assert_eq!(tally, want);
}

// ---- pcapng ----------------------------------------------------------------------

#[test]
fn pcapng_enhanced_simple_and_obsolete_packets_carry_their_interface_and_time() {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        // given: Ethernet at the default microseconds, raw IP at nanoseconds
        // with an offset of 10 s, Linux SLL2 at 2^-10 s
        let ticks_us = u64::from(SECS) * 1_000_000 + 250_000;
        let ticks_ns = u64::from(SECS - 10) * 1_000_000_000 + 500_000_000;
        let mut sll2 = 0x0800u16.to_be_bytes().to_vec();
        sll2.extend([0u8; 18]);
        sll2.extend(ipv4_udp(b"sll2"));
        let file = Pcapng::new(order)
            .interface(1, 0, &[])
            .interface(
                101,
                0,
                &[
                    (9, vec![9]),
                    (
                        14,
                        if order == ByteOrder::Big {
                            10u64.to_be_bytes().to_vec()
                        } else {
                            10u64.to_le_bytes().to_vec()
                        },
                    ),
                ],
            )
            .interface(276, 0, &[(9, vec![0x80 | 10])])
            .enhanced(0, ticks_us, &ethernet(&[0x0800], &ipv4_udp(b"ethernet")))
            .enhanced(1, ticks_ns, &ipv6_udp(&[], b"raw"))
            .obsolete(2, u64::from(SECS) * 1024 + 512, &sll2)
            .simple(&ethernet(&[0x0800], &ipv4_udp(b"simple")))
            .bytes();

        // when
        let seen = frames(&file);

        // then
        let at = |ms: i64| Some(i64::from(SECS) * 1000 + ms);
        let want = vec![
            Seen { link: 1, time_ms: at(250), udp: from_v4(b"ethernet") },
            Seen { link: 101, time_ms: at(500), udp: from_v6(b"raw") },
            Seen { link: 276, time_ms: at(500), udp: from_v4(b"sll2") },
            Seen { link: 1, time_ms: None, udp: from_v4(b"simple") },
        ];
        assert_eq!(seen, want, "{order:?}");
    }
}

#[test]
fn pcapng_sections_may_change_byte_order_and_start_their_interfaces_afresh() {
    // given: skipped blocks (name resolution, interface statistics) between
    let file = Pcapng::new(ByteOrder::Little)
        .interface(1, 0, &[])
        .block(4, &[0u8; 8])
        .enhanced(0, 1_000, &ethernet(&[0x0800], &ipv4_udp(b"first")))
        .section(ByteOrder::Big)
        .interface(101, 0, &[])
        .block(5, &[0u8; 12])
        .enhanced(0, 2_000, &ipv4_udp(b"second"))
        .bytes();

    // when
    let seen = frames(&file);

    // then
    let links: Vec<_> = seen.iter().map(|s| (s.link, s.time_ms)).collect();
    assert_eq!(links, vec![(1, Some(1)), (101, Some(2))]);
    assert_eq!(seen[1].udp, from_v4(b"second"));
}

#[test]
fn pcapng_simple_packet_is_cut_to_the_interface_snap_length() {
    // given
    let frame = ethernet(&[0x0800], &ipv4_udp(PAYLOAD));
    let file = Pcapng::new(ByteOrder::Little).interface(1, 40, &[]).simple(&frame).bytes();

    // when
    let seen = frames(&file);

    // then
    assert_eq!(seen[0].udp, Err(Skip::Truncated));
}

// ---- damaged files ---------------------------------------------------------------

#[test]
fn a_file_that_is_no_capture_is_refused_with_its_first_bytes() {
    // given
    let files: [&[u8]; 3] = [b"GIF89a...", b"\xd4\xc3", b""];

    for file in files {
        // when
        let (_, error) = read(file);

        // then
        assert!(matches!(error, Some(CaptureError::NotACapture { .. })), "{error:?}");
    }
    let (_, error) = read(b"GIF89a");
    assert!(error.unwrap().to_string().contains("[47, 49, 46, 38]"));
}

#[test]
fn a_file_cut_inside_a_record_keeps_the_frames_before_it_and_says_where() {
    // given
    let records = [(SECS, 0, ipv4_udp(PAYLOAD)), (SECS + 1, 0, ipv4_udp(PAYLOAD))];
    let whole = pcap(ByteOrder::Little, false, 101, &records);
    let record_len = 16 + ipv4_udp(PAYLOAD).len();
    let second_record = (24 + record_len) as u64;

    // in the second record's data, then in its header
    for (cut, short) in [(whole.len() - 1, 1), (whole.len() - record_len + 3, 13)] {
        // when
        let (seen, error) = read(&whole[..cut]);

        // then
        assert_eq!(seen.len(), 1, "cut at {cut}");
        match error {
            Some(CaptureError::Truncated { offset, missing }) => {
                assert_eq!((offset, missing), (second_record, short), "cut at {cut}");
            }
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
}

#[test]
fn pcapng_lengths_that_cannot_be_right_are_errors_with_their_offset() {
    // given
    let frame = ipv4_udp(PAYLOAD);
    let base = Pcapng::new(ByteOrder::Little).interface(101, 0, &[]).bytes();
    let block_at = base.len() as u64;
    let unaligned = [&base[..], &6u32.to_le_bytes(), &13u32.to_le_bytes(), &[0; 5]].concat();
    let unknown_interface =
        Pcapng::new(ByteOrder::Little).interface(101, 0, &[]).enhanced(3, 0, &frame).bytes();
    let mut overlong =
        Pcapng::new(ByteOrder::Little).interface(101, 0, &[]).enhanced(0, 0, &frame).bytes();
    let captured_at = block_at as usize + 8 + 12;
    overlong[captured_at..captured_at + 4].copy_from_slice(&1_000u32.to_le_bytes());
    let mut trailer =
        Pcapng::new(ByteOrder::Little).interface(101, 0, &[]).enhanced(0, 0, &frame).bytes();
    let last = trailer.len() - 4;
    trailer[last] ^= 0x04;
    let huge = [&base[..], &6u32.to_le_bytes(), &0xffff_fff0u32.to_le_bytes()].concat();

    for (name, file) in [
        ("unaligned", unaligned),
        ("unknown interface", unknown_interface),
        ("captured length past the block", overlong),
        ("trailing length", trailer),
        ("over the block limit", huge),
    ] {
        // when
        let (seen, error) = read(&file);

        // then
        assert!(seen.is_empty(), "{name}");
        match error {
            Some(CaptureError::Malformed { offset, .. }) => assert_eq!(offset, block_at, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn a_pcap_record_over_the_limit_is_refused_before_it_is_read() {
    // given: a record header declaring 3 GB, and nothing after it
    let mut file = pcap(ByteOrder::Little, false, 1, &[]);
    file.extend([0u8; 8]);
    file.extend(3_000_000_000u32.to_le_bytes());
    file.extend(3_000_000_000u32.to_le_bytes());

    // when
    let (_, error) = read(&file);

    // then
    assert!(matches!(error, Some(CaptureError::Malformed { offset: 24, .. })), "{error:?}");
}

// ---- corpus captures -------------------------------------------------------------

#[test]
fn corpus_ethernet_pcap_gives_tsharks_datagrams() {
    // given: tshark: 40 frames, all UDP from 138.187.57.55:43853, the first
    // two at 1672534805.000 and .001, 7780 payload bytes in all
    let file = corpus("netflow9/pmacct-101-nfv9-cisco-asr9k.pcap");

    // when
    let seen = frames(&file);

    // then
    assert_eq!(seen.len(), 40);
    let datagrams: Vec<_> = seen.iter().map(|s| s.udp.clone().unwrap()).collect();
    assert!(datagrams.iter().all(|d| (d.0, d.1) == ("138.187.57.55".parse().unwrap(), 43853)));
    assert_eq!(datagrams.iter().map(|d| d.4.len()).sum::<usize>(), 7780);
    assert_eq!(seen[0].time_ms, Some(1_672_534_805_000));
    assert_eq!(seen[1].time_ms, Some(1_672_534_805_001));
}

#[test]
fn corpus_linux_cooked_ipv6_pcap_gives_tsharks_datagrams() {
    // given: tshark: 21 frames, Linux cooked v1, all UDP from 2001:db8:90::1,
    // 10 from port 61853 and 11 from 65156, the first at 1783600495.690577,
    // 11124 payload bytes
    let file = corpus("ipfix/pmacct-112-ipfix-cisco-options-vrf-reassignment.pcap");

    // when
    let seen = frames(&file);

    // then
    assert_eq!(seen.len(), 21);
    assert!(seen.iter().all(|s| s.link == 113));
    let datagrams: Vec<_> = seen.iter().map(|s| s.udp.clone().unwrap()).collect();
    let exporter: IpAddr = "2001:db8:90::1".parse().unwrap();
    assert!(datagrams.iter().all(|d| d.0 == exporter));
    assert_eq!(datagrams.iter().filter(|d| d.1 == 61853).count(), 10);
    assert_eq!(datagrams.iter().filter(|d| d.1 == 65156).count(), 11);
    assert_eq!(datagrams.iter().map(|d| d.4.len()).sum::<usize>(), 11124);
    assert_eq!(seen[0].time_ms, Some(1_783_600_495_690));
}

#[test]
fn a_corpus_capture_rewritten_as_pcapng_and_as_big_endian_pcap_reads_the_same() {
    // given: every frame of an Ethernet capture, rewritten as big-endian
    // nanosecond pcap and as big-endian pcapng with nanosecond times
    let original = corpus("ipfix/pmacct-111-ipfix-ipv6-exporter.pcap");
    let mut reader = CaptureReader::new(&original[..]).unwrap();
    let mut records = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap() {
        records.push((frame.time_ms.unwrap(), frame.data.to_vec()));
    }
    let as_pcap: Vec<_> = records
        .iter()
        .map(|(ms, data)| ((ms / 1000) as u32, (ms % 1000) as u32 * 1_000_000, data.clone()))
        .collect();
    let as_pcap = pcap(ByteOrder::Big, true, 1, &as_pcap);
    let mut as_pcapng = Pcapng::new(ByteOrder::Big);
    as_pcapng.interface(1, 0, &[(9, vec![9])]);
    for (ms, data) in &records {
        as_pcapng.enhanced(0, *ms as u64 * 1_000_000, data);
    }

    // when
    let (want, from_pcap, from_pcapng) =
        (frames(&original), frames(&as_pcap), frames(&as_pcapng.bytes()));

    // then
    assert_eq!(want.len(), 11);
    assert_eq!(from_pcap, want);
    assert_eq!(from_pcapng, want);
}
