//! `FlowDecoder::decode` on arbitrary bytes, as a datagram from one exporter.
//!
//! The input is decoded twice by the same decoder: the second time, the
//! templates the first pass defined are known, so data sets that came before
//! their template in the input are decoded too. No input may panic, and the
//! report must account for every record appended.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use flowsage_ingest::decode::FlowDecoder;
use libfuzzer_sys::fuzz_target;

const EXPORTER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
/// 2023-11-14T22:13:20Z, Unix milliseconds.
const RECEIVED_MS: i64 = 1_700_000_000_000;

fuzz_target!(|datagram: &[u8]| {
    let mut decoder = FlowDecoder::new();
    let mut out = Vec::new();
    for _ in 0..2 {
        let before = out.len();
        let report = decoder.decode(EXPORTER, RECEIVED_MS, datagram, &mut out);
        assert_eq!(out.len() - before, report.records, "records appended vs reported");
    }
});
