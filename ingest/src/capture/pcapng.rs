//! pcapng files (draft-ietf-opsawg-pcapng): a sequence of blocks, each
//! `type, total length, body, total length`, grouped in sections that open
//! with a section header block and may differ in byte order.
//!
//! Read: section headers (section 4.1), interface descriptions (4.2, with
//! `if_tsresol` and `if_tsoffset`), enhanced packets (4.3), simple packets
//! (4.4) and the obsolete packet block (appendix A). Every other block is
//! skipped without being buffered.

use std::io::Read;

use super::{ByteOrder, CaptureError, CaptureReader, Format, Located, MAX_BLOCK_BYTES};

/// The section header block's type, the same in both byte orders.
pub(super) const SECTION_HEADER: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const INTERFACE_DESCRIPTION: u32 = 1;
const OBSOLETE_PACKET: u32 = 2;
const SIMPLE_PACKET: u32 = 3;
const ENHANCED_PACKET: u32 = 6;
/// The byte-order magic of a section header, as written big-endian.
const BYTE_ORDER_MAGIC: [u8; 4] = [0x1a, 0x2b, 0x3c, 0x4d];
/// Smallest block: type, length, trailing length.
const MIN_BLOCK_LEN: usize = 12;
/// Smallest section header: the minimum block plus byte-order magic, version
/// and section length.
const MIN_SECTION_HEADER_LEN: usize = 28;
/// Interface option codes (section 4.2).
const OPTION_END: u16 = 0;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;

/// The state of the section being read.
pub(super) struct Section {
    order: ByteOrder,
    interfaces: Vec<Interface>,
}

/// What an interface description says about its packets.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link: u32,
    snap_len: u32,
    /// Timestamp units per second (`if_tsresol`; microseconds by default).
    units_per_sec: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
}

impl Interface {
    fn time_ms(&self, ticks: u64) -> i64 {
        let ms = i128::from(ticks) * 1000 / i128::from(self.units_per_sec)
            + i128::from(self.offset_secs) * 1000;
        i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
    }
}

impl<R: Read> CaptureReader<R> {
    /// Reads a section header block whose type, at `at`, was already read.
    pub(super) fn read_section_header(&mut self, at: u64) -> Result<Section, CaptureError> {
        self.fill(8, at)?;
        let magic = [self.buffer[4], self.buffer[5], self.buffer[6], self.buffer[7]];
        let order = if magic == BYTE_ORDER_MAGIC {
            ByteOrder::Big
        } else if magic == [0x4d, 0x3c, 0x2b, 0x1a] {
            ByteOrder::Little
        } else {
            return Err(malformed(at, format!("byte-order magic {magic:02x?} is not 1a2b3c4d")));
        };
        let len = order.u32(&self.buffer, 0) as usize;
        if len < MIN_SECTION_HEADER_LEN || !len.is_multiple_of(4) || len > MAX_BLOCK_BYTES {
            return Err(malformed(at, format!("section header length {len} cannot be right")));
        }

        self.fill(len - 12, at)?;
        let major = order.u16(&self.buffer, 0);
        if major != 1 {
            return Err(malformed(at, format!("pcapng major version {major} is not 1")));
        }
        check_trailer(order, &self.buffer, len, at)?;
        Ok(Section { order, interfaces: Vec::new() })
    }

    pub(super) fn next_pcapng_packet(&mut self) -> Result<Option<Located>, CaptureError> {
        loop {
            let at = self.offset;
            if !self.fill(4, at)? {
                return Ok(None);
            }
            if self.buffer[..4] == SECTION_HEADER {
                let section = self.read_section_header(at)?;
                self.format = Format::Pcapng(section);
                continue;
            }
            let order = self.section().order;
            let kind = order.u32(&self.buffer, 0);
            self.fill(4, at)?;
            let len = order.u32(&self.buffer, 0) as usize;
            if len < MIN_BLOCK_LEN || !len.is_multiple_of(4) {
                return Err(malformed(at, format!("block length {len} cannot be right")));
            }
            let body_len = len - MIN_BLOCK_LEN;

            let wanted = matches!(
                kind,
                INTERFACE_DESCRIPTION | OBSOLETE_PACKET | SIMPLE_PACKET | ENHANCED_PACKET
            );
            if !wanted {
                self.skip(body_len as u64, at)?;
                self.fill(4, at)?;
                check_trailer(order, &self.buffer, len, at)?;
                continue;
            }
            if len > MAX_BLOCK_BYTES {
                return Err(malformed(
                    at,
                    format!("a block of {len} bytes is over the {MAX_BLOCK_BYTES}-byte limit"),
                ));
            }
            self.fill(body_len + 4, at)?;
            check_trailer(order, &self.buffer, len, at)?;
            let body = &self.buffer[..body_len];
            match kind {
                INTERFACE_DESCRIPTION => {
                    let interface = interface(order, body, at)?;
                    self.section().interfaces.push(interface);
                }
                ENHANCED_PACKET | OBSOLETE_PACKET => {
                    return self.packet(kind, order, body_len, at).map(Some);
                }
                _ => return self.simple_packet(order, body_len, at).map(Some),
            }
        }
    }

    fn section(&mut self) -> &mut Section {
        match &mut self.format {
            Format::Pcapng(section) => section,
            Format::Pcap(_) => unreachable!("pcapng blocks are read only from a pcapng file"),
        }
    }

    /// An enhanced or obsolete packet block, whose body is in the buffer.
    fn packet(
        &mut self,
        kind: u32,
        order: ByteOrder,
        body_len: usize,
        at: u64,
    ) -> Result<Located, CaptureError> {
        // Both: interface, timestamp (high, low), captured and original
        // length, data; the obsolete block's interface is 16 bits, followed
        // by a 16-bit drop count.
        const DATA: usize = 20;
        let body = &self.buffer[..body_len];
        if body.len() < DATA {
            return Err(malformed(at, format!("a packet block body of {} bytes", body.len())));
        }
        let interface = match kind {
            ENHANCED_PACKET => order.u32(body, 0),
            _ => u32::from(order.u16(body, 0)),
        };
        let ticks = (u64::from(order.u32(body, 4)) << 32) | u64::from(order.u32(body, 8));
        let captured = order.u32(body, 12) as usize;
        let original_len = order.u32(body, 16);
        if captured > body.len() - DATA {
            return Err(malformed(
                at,
                format!(
                    "captured length {captured} runs past the block's {} bytes of data",
                    body.len() - DATA
                ),
            ));
        }
        let interface = self.interface(interface, at)?;
        Ok(Located {
            link: interface.link,
            time_ms: Some(interface.time_ms(ticks)),
            start: DATA,
            len: captured,
            original_len,
        })
    }

    /// A simple packet block: interface 0, no time, the captured length
    /// implied by the block, the original length and the snap length.
    fn simple_packet(
        &mut self,
        order: ByteOrder,
        body_len: usize,
        at: u64,
    ) -> Result<Located, CaptureError> {
        const DATA: usize = 4;
        if body_len < DATA {
            return Err(malformed(at, format!("a simple packet block body of {body_len} bytes")));
        }
        let original_len = order.u32(&self.buffer, 0);
        let interface = self.interface(0, at)?;
        let mut len = (body_len - DATA).min(original_len as usize);
        if interface.snap_len != 0 {
            len = len.min(interface.snap_len as usize);
        }
        Ok(Located { link: interface.link, time_ms: None, start: DATA, len, original_len })
    }

    fn interface(&mut self, index: u32, at: u64) -> Result<Interface, CaptureError> {
        let interfaces = &self.section().interfaces;
        let known = interfaces.len();
        interfaces.get(index as usize).copied().ok_or_else(|| {
            malformed(
                at,
                format!("a packet of interface {index}, but the section describes {known}"),
            )
        })
    }
}

/// Parses an interface description block's body.
fn interface(order: ByteOrder, body: &[u8], at: u64) -> Result<Interface, CaptureError> {
    if body.len() < 8 {
        return Err(malformed(at, format!("an interface description of {} bytes", body.len())));
    }
    let mut interface = Interface {
        link: u32::from(order.u16(body, 0)),
        snap_len: order.u32(body, 4),
        units_per_sec: 1_000_000,
        offset_secs: 0,
    };

    let mut option = 8;
    while option + 4 <= body.len() {
        let code = order.u16(body, option);
        let len = usize::from(order.u16(body, option + 2));
        let value = option + 4;
        if code == OPTION_END {
            break;
        }
        if value + len > body.len() {
            return Err(malformed(at, format!("option {code} runs past its block")));
        }
        match (code, len) {
            (IF_TSRESOL, 1) => interface.units_per_sec = resolution(body[value], at)?,
            (IF_TSOFFSET, 8) => interface.offset_secs = order.u64(body, value) as i64,
            _ => {}
        }
        option = value + len.div_ceil(4) * 4;
    }
    Ok(interface)
}

/// Units per second of an `if_tsresol` value: a negative power of 10, or of
/// 2 when the high bit is set.
fn resolution(value: u8, at: u64) -> Result<u64, CaptureError> {
    let exponent = u32::from(value & 0x7f);
    let units =
        if value & 0x80 == 0 { 10u64.checked_pow(exponent) } else { 2u64.checked_pow(exponent) };
    units.ok_or_else(|| malformed(at, format!("if_tsresol {value:#04x} is out of range")))
}

/// Checks that a block's trailing length, the last 4 bytes of `tail`,
/// repeats its leading one.
fn check_trailer(order: ByteOrder, tail: &[u8], len: usize, at: u64) -> Result<(), CaptureError> {
    let trailer = order.u32(tail, tail.len() - 4) as usize;
    if trailer != len {
        return Err(malformed(
            at,
            format!("block length {len} ends with a different one, {trailer}"),
        ));
    }
    Ok(())
}

fn malformed(offset: u64, detail: String) -> CaptureError {
    CaptureError::Malformed { offset, detail }
}
