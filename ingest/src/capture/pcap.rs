//! Classic pcap files: a 24-byte file header, then records of a 16-byte
//! header and the captured bytes (the format of tcpdump.org's
//! `pcap-savefile(5)`, written up as draft-ietf-opsawg-pcap).

use std::io::Read;

use super::{ByteOrder, CaptureError, CaptureReader, Located, MAX_BLOCK_BYTES};

/// The file header's length, magic number included.
const FILE_HEADER_LEN: usize = 24;
/// A record header: seconds, fraction, captured length, original length.
const RECORD_HEADER_LEN: usize = 16;

/// What the file header says about every record.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Header {
    order: ByteOrder,
    /// Times are in nanoseconds rather than microseconds.
    nanos: bool,
    link: u32,
}

/// The byte order and time unit a magic number announces, read as it lies
/// in the file: `a1b2c3d4` is microseconds, `a1b23c4d` nanoseconds.
pub(super) fn byte_order(magic: [u8; 4]) -> Option<(ByteOrder, bool)> {
    match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => Some((ByteOrder::Little, false)),
        [0xa1, 0xb2, 0xc3, 0xd4] => Some((ByteOrder::Big, false)),
        [0x4d, 0x3c, 0xb2, 0xa1] => Some((ByteOrder::Little, true)),
        [0xa1, 0xb2, 0x3c, 0x4d] => Some((ByteOrder::Big, true)),
        _ => None,
    }
}

impl<R: Read> CaptureReader<R> {
    /// Reads the rest of the file header after its magic number.
    pub(super) fn read_pcap_header(
        &mut self,
        (order, nanos): (ByteOrder, bool),
    ) -> Result<Header, CaptureError> {
        self.fill(FILE_HEADER_LEN - 4, 0)?;
        // Version (2 + 2), reserved (4 + 4), snap length (4), then the link
        // type in the low 16 bits of the last word; the high bits may carry
        // the FCS length, which the IP lengths make irrelevant here.
        let link = order.u32(&self.buffer, 16) & 0xffff;
        Ok(Header { order, nanos, link })
    }

    pub(super) fn next_pcap_record(
        &mut self,
        header: Header,
    ) -> Result<Option<Located>, CaptureError> {
        let at = self.offset;
        if !self.fill(RECORD_HEADER_LEN, at)? {
            return Ok(None);
        }
        let order = header.order;
        let secs = order.u32(&self.buffer, 0);
        let fraction = order.u32(&self.buffer, 4);
        let captured = order.u32(&self.buffer, 8) as usize;
        let original_len = order.u32(&self.buffer, 12);
        if captured > MAX_BLOCK_BYTES {
            return Err(CaptureError::Malformed {
                offset: at,
                detail: format!(
                    "a captured length of {captured} bytes is over the {MAX_BLOCK_BYTES}-byte \
                     limit; the file is damaged"
                ),
            });
        }

        self.fill(captured, at)?;
        let fraction_ms = if header.nanos { fraction / 1_000_000 } else { fraction / 1_000 };
        let time_ms = i64::from(secs) * 1000 + i64::from(fraction_ms);
        Ok(Some(Located {
            link: header.link,
            time_ms: Some(time_ms),
            start: 0,
            len: captured,
            original_len,
        }))
    }
}
