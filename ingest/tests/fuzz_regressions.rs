//! Faults the fuzz targets (`fuzz/`, run by `scripts/fuzz`) found, one test
//! per fault, named after it, on the smallest input that shows it.
//!
//! A fault that is not fixed yet asserts today's behaviour and says what is
//! wrong; it fails once the fault is gone, so that the right behaviour gets
//! asserted instead (as the first one below now does).

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

/// Found by `flow_datagram` within seconds, in every run, while NetFlow v9
/// padding was zeroed by a walk that stepped over each options template
/// record by its declared lengths without checking it stayed inside the set:
/// an unsigned underflow, a panic. The template reader that replaced it
/// checks every declared length against the set.
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

    // then: one counted error that names the shortfall, no record, no panic
    let report = decoded.expect("the decoder must not panic");
    let errors: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        ["bad_template at byte offset 20: in set 1: template record at byte offset 24 needs 10 \
          bytes, 6 left"]
    );
    assert!(out.is_empty());
}
