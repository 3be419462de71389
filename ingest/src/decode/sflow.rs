//! sFlow v5 datagrams to flow records.
//!
//! TODO: not decoded yet; every sFlow datagram is counted as unsupported so an
//! exporter that sends sFlow shows up in the exporters tool instead of vanishing.

use std::net::IpAddr;

use super::{DecodeErrorKind, DecodeReport, error};
use crate::flow::{FlowProtocol, FlowRecord};

pub(super) fn decode(
    _exporter: IpAddr,
    _received_ms: i64,
    _datagram: &[u8],
    _out: &mut Vec<FlowRecord>,
    report: &mut DecodeReport,
) {
    report.protocol = Some(FlowProtocol::SflowV5);
    report.errors.push(error(
        DecodeErrorKind::UnsupportedVersion,
        0,
        "sFlow v5 is recognised but not decoded yet",
    ));
}
