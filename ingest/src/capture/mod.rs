//! Packet captures (pcap and pcapng) to the UDP datagrams in them, for
//! `flowsage replay` and for tests.
//!
//! [`CaptureReader`] reads a capture from any [`Read`], one [`Frame`] at a
//! time, into a buffer it reuses; [`Frame::udp`] takes the link, IP and UDP
//! headers off a frame and gives the [`Udp`] datagram with its source and
//! destination, or the [`Skip`] reason why the frame holds none. [`Tally`]
//! counts frames by outcome for a summary.
//!
//! Files: classic pcap in either byte order with micro- or nanosecond times
//! (the `tcpdump.org` format), and pcapng (section header, interface
//! description, enhanced, simple and the obsolete packet block; sections in
//! either byte order; the interface's `if_tsresol` and `if_tsoffset`; other
//! blocks are skipped). Link types: Ethernet with any number of 802.1Q / 802.1ad
//! tags, Linux cooked capture v1 and v2, raw IP (`LINKTYPE_RAW` and the DLT
//! values 12 and 14 that some writers leave in files, IPv4 and IPv6 link
//! types), BSD loopback. IPv6 hop-by-hop, routing and destination options
//! headers are walked to reach UDP.
//!
//! Every length a file declares is checked before it is used, and a block is
//! read into memory only up to [`MAX_BLOCK_BYTES`]: a damaged or hostile file
//! gives a [`CaptureError`] with its byte offset or a skipped frame, never a
//! panic or an unbounded allocation.
//!
//! Deliberately not done: IP reassembly (fragments are counted and skipped),
//! tunnels (GRE, MPLS, VXLAN are not opened), checksums (not verified: a
//! replay takes what the capture saw), and the rare "modified" pcap format of
//! old Red Hat tcpdump builds (refused as not a capture).

mod packet;
mod pcap;
mod pcapng;
#[cfg(test)]
mod tests;

use std::io::{self, Read};
use std::net::SocketAddr;

use serde::Serialize;

/// The largest pcapng block, or pcap record, read into memory. libpcap
/// captures at most 262,144 bytes of a packet; this leaves room for options
/// and for writers that allow more, and refuses lengths that only a damaged
/// file declares.
pub const MAX_BLOCK_BYTES: usize = 4 << 20;

/// Why a capture could not be read (further).
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The first bytes are neither a pcap nor a pcapng magic number.
    #[error(
        "not a pcap or pcapng capture: it starts with {magic:02x?} (pcapng, or pcap in either \
         byte order with micro- or nanosecond times, are read)"
    )]
    NotACapture { magic: Vec<u8> },
    /// The file ends inside a header, record or block: a capture cut short,
    /// typically by a capture tool that was stopped while writing.
    #[error("in the record at byte offset {offset}: the file ends at least {missing} bytes early")]
    Truncated { offset: u64, missing: u64 },
    /// A length or field that cannot be right.
    #[error("in the record at byte offset {offset}: {detail}")]
    Malformed { offset: u64, detail: String },
    #[error("in reading the capture at byte offset {offset}: {err}")]
    Io {
        offset: u64,
        #[source]
        err: io::Error,
    },
}

/// One captured frame, borrowed from the reader until its next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// Position in the file, counting from 1 as Wireshark does.
    pub number: u64,
    /// The link type (a `LINKTYPE_` value of tcpdump.org) of the frame's interface.
    pub link: u32,
    /// Capture time, Unix milliseconds; `None` for a pcapng simple packet
    /// block, which carries no time.
    pub time_ms: Option<i64>,
    /// The captured bytes, starting with the link-layer header.
    pub data: &'a [u8],
    /// Length of the frame on the wire; more than `data.len()` when the
    /// capture's snap length cut it.
    pub original_len: u32,
}

impl<'a> Frame<'a> {
    /// The UDP datagram in this frame, or why there is none.
    pub fn udp(&self) -> Result<Udp<'a>, Skip> {
        packet::udp(self.link, self.data)
    }
}

/// A UDP datagram found in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Udp<'a> {
    /// The IP source address and UDP source port: the exporter, for flows.
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub payload: &'a [u8],
}

/// Why a frame gives no UDP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    /// Not IP, or IP carrying something other than UDP.
    #[error("not a UDP datagram")]
    NotUdp,
    /// A fragment of a UDP datagram (IPv4 more-fragments or offset, IPv6
    /// fragment header).
    #[error("an IP fragment; fragments are not reassembled")]
    Fragment,
    /// The datagram goes on past the captured bytes (the snap length cut it).
    #[error("the datagram is longer than what was captured of it")]
    Truncated,
    /// Header lengths that contradict each other or the protocol.
    #[error("an IP or UDP header whose lengths cannot be right")]
    Malformed,
    /// A link type this reader does not take apart.
    #[error("link type {0} is not read (Ethernet, Linux SLL and SLL2, raw IP, loopback are)")]
    UnsupportedLink(u32),
}

/// Frames of a capture by outcome.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub frames: u64,
    pub udp: u64,
    pub not_udp: u64,
    pub fragments: u64,
    /// Frames cut by the snap length, and a last record cut short by the end of the file.
    pub truncated: u64,
    pub malformed: u64,
    pub unsupported_link: u64,
}

impl Tally {
    /// Counts one frame's outcome.
    pub fn count(&mut self, outcome: &Result<Udp<'_>, Skip>) {
        self.frames += 1;
        let counter = match outcome {
            Ok(_) => &mut self.udp,
            Err(Skip::NotUdp) => &mut self.not_udp,
            Err(Skip::Fragment) => &mut self.fragments,
            Err(Skip::Truncated) => &mut self.truncated,
            Err(Skip::Malformed) => &mut self.malformed,
            Err(Skip::UnsupportedLink(_)) => &mut self.unsupported_link,
        };
        *counter += 1;
    }

    /// Counts a record the end of the file cut short: a frame, truncated.
    pub fn count_cut_record(&mut self) {
        self.frames += 1;
        self.truncated += 1;
    }

    /// Adds another tally to this one.
    pub fn add(&mut self, other: &Tally) {
        self.frames += other.frames;
        self.udp += other.udp;
        self.not_udp += other.not_udp;
        self.fragments += other.fragments;
        self.truncated += other.truncated;
        self.malformed += other.malformed;
        self.unsupported_link += other.unsupported_link;
    }
}

/// The file format being read and its state.
enum Format {
    Pcap(pcap::Header),
    Pcapng(pcapng::Section),
}

/// Reads a capture frame by frame.
pub struct CaptureReader<R> {
    input: R,
    format: Format,
    /// Bytes consumed so far: the offset of the next record.
    offset: u64,
    frames: u64,
    buffer: Vec<u8>,
}

/// Where a packet record's bytes lie in the reader's buffer, and its metadata.
struct Located {
    link: u32,
    time_ms: Option<i64>,
    start: usize,
    len: usize,
    original_len: u32,
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header (pcap) or first section header (pcapng).
    pub fn new(mut input: R) -> Result<Self, CaptureError> {
        let mut magic = [0u8; 4];
        let got = read_full(&mut input, &mut magic, 0)?;
        if got < magic.len() {
            return Err(CaptureError::NotACapture { magic: magic[..got].to_vec() });
        }
        let mut reader = Self {
            input,
            format: Format::Pcap(pcap::Header::default()),
            offset: 4,
            frames: 0,
            buffer: Vec::new(),
        };
        if magic == pcapng::SECTION_HEADER {
            reader.format = Format::Pcapng(reader.read_section_header(0)?);
        } else if let Some(byte_order) = pcap::byte_order(magic) {
            reader.format = Format::Pcap(reader.read_pcap_header(byte_order)?);
        } else {
            return Err(CaptureError::NotACapture { magic: magic.to_vec() });
        }
        Ok(reader)
    }

    /// The next frame, or `None` at the end of the file.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        let located = match self.format {
            Format::Pcap(header) => self.next_pcap_record(header)?,
            Format::Pcapng(_) => self.next_pcapng_packet()?,
        };
        let Some(located) = located else { return Ok(None) };
        self.frames += 1;
        Ok(Some(Frame {
            number: self.frames,
            link: located.link,
            time_ms: located.time_ms,
            data: &self.buffer[located.start..located.start + located.len],
            original_len: located.original_len,
        }))
    }

    /// Reads exactly `len` bytes at the current offset into the buffer;
    /// `Ok(false)` when the file ends right here, before any of them.
    fn fill(&mut self, len: usize, record_offset: u64) -> Result<bool, CaptureError> {
        self.buffer.clear();
        let got = (&mut self.input)
            .take(len as u64)
            .read_to_end(&mut self.buffer)
            .map_err(|err| CaptureError::Io { offset: self.offset, err })?;
        self.offset += got as u64;
        if got == len {
            return Ok(true);
        }
        if got == 0 && self.offset == record_offset {
            return Ok(false);
        }
        Err(CaptureError::Truncated { offset: record_offset, missing: (len - got) as u64 })
    }

    /// Reads and drops `len` bytes (a block this reader does not use).
    fn skip(&mut self, len: u64, record_offset: u64) -> Result<(), CaptureError> {
        let got = io::copy(&mut (&mut self.input).take(len), &mut io::sink())
            .map_err(|err| CaptureError::Io { offset: self.offset, err })?;
        self.offset += got;
        if got < len {
            return Err(CaptureError::Truncated { offset: record_offset, missing: len - got });
        }
        Ok(())
    }
}

/// Fills `buf` from `input` as far as the input goes; the count read.
fn read_full(input: &mut impl Read, buf: &mut [u8], offset: u64) -> Result<usize, CaptureError> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(CaptureError::Io { offset: offset + got as u64, err }),
        }
    }
    Ok(got)
}

/// Integers in the byte order a file or section declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum ByteOrder {
    #[default]
    Little,
    Big,
}

impl ByteOrder {
    fn u16(self, bytes: &[u8], at: usize) -> u16 {
        let pair = [bytes[at], bytes[at + 1]];
        match self {
            Self::Little => u16::from_le_bytes(pair),
            Self::Big => u16::from_be_bytes(pair),
        }
    }

    fn u32(self, bytes: &[u8], at: usize) -> u32 {
        let quad = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        match self {
            Self::Little => u32::from_le_bytes(quad),
            Self::Big => u32::from_be_bytes(quad),
        }
    }

    fn u64(self, bytes: &[u8], at: usize) -> u64 {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(&bytes[at..at + 8]);
        match self {
            Self::Little => u64::from_le_bytes(eight),
            Self::Big => u64::from_be_bytes(eight),
        }
    }
}
