//! Faults the fuzz targets (`fuzz/`, run by `scripts/fuzz`) found, one test
//! per fault, named after it, on the smallest input that shows it.
//!
//! A fault that is not fixed yet asserts today's behaviour and says what is
//! wrong; it fails once the fault is gone, so that the right behaviour gets
//! asserted instead.

use std::net::{IpAddr, Ipv4Addr};
use std::panic::{AssertUnwindSafe, catch_unwind};

use flowsage_ingest::decode::FlowDecoder;

const EXPORTER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const RECEIVED_MS: i64 = 1_700_000_000_000;

/// A NetFlow v9 header (RFC 3954 section 5.1): version 9, one record,
/// uptime, export time, sequence, source id.
fn v9_header() -> Vec<u8> {
    [9u16.to_be_bytes(), 1u16.to_be_bytes()]
        .concat()
        .into_iter()
        .chain(3_600_000u32.to_be_bytes())
        .chain(1_700_000_000u32.to_be_bytes())
        .chain(1u32.to_be_bytes())
        .chain(7u32.to_be_bytes())
        .collect()
}

/// Found by `flow_datagram` within seconds, in every run.
///
/// TODO: the decoder panics on this datagram; it should count one
/// `bad_template` (or `bad_length`) error and go on. The walk that zeroes
/// NetFlow v9 padding (`zero_v9_padding` in `decode/mod.rs`) steps over each
/// options template record by the scope and option lengths it declares, and
/// subtracts its position from the set's length without checking that the
/// step stayed inside the set: an unsigned underflow (a panic with overflow
/// checks; without them, an index out of bounds two lines on). The decode
/// module is being rewritten behind the same API; until the fix lands there,
/// the collector's pipeline catches the panic, drops the datagram and counts
/// it as `decoder_fault` (tested in `store_embedded.rs`), so collection goes
/// on for every exporter.
#[test]
fn v9_options_template_declaring_more_bytes_than_its_set_holds() {
    // given: an options template set of 10 bytes whose one record declares
    // 0 scope bytes and 4 option bytes, none of which follow
    let mut datagram = v9_header();
    datagram.extend([0, 1, 0, 10]); // set id 1 (options templates), length 10
    datagram.extend([1, 0, 0, 0, 0, 4]); // template 256, scope 0 bytes, options 4 bytes

    // when
    let mut decoder = FlowDecoder::new();
    let mut out = Vec::new();
    let decoded = catch_unwind(AssertUnwindSafe(|| {
        decoder.decode(EXPORTER, RECEIVED_MS, &datagram, &mut out)
    }));

    // then: today it panics; once it does not, assert a bad_template error here
    assert!(decoded.is_err(), "the decoder no longer panics: {:?}", decoded.map(|r| r.errors));
    assert!(out.is_empty());
}
