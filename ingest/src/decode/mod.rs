//! NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) datagrams to flow records.
//!
//! [`FlowDecoder`] is pure: bytes and the exporter's address in, records and
//! typed errors out, no sockets and no store. It keeps per-exporter state that
//! the protocols require between datagrams: templates, the exporter's system
//! init time and sampling rates learned from options data.
//!
//! flowsage owns this decoding. The packet and set headers are walked here,
//! templates are read and kept by `template`, and data records are mapped
//! straight into flow record columns by `record`. An earlier version handed
//! each set to `netgauze-flow-pkt`; real exporters' templates (vendor field
//! types, unassigned ids, odd lengths, unknown variable-length elements) made
//! it lose all or most records of 18 of the corpus's 55 cases, so a template
//! here only says how to frame records, and an element is read only when
//! flowsage stores it. The walk promises:
//! - templates are scoped per (exporter address, source id / observation
//!   domain), not per template id alone, so two routers using template 256
//!   never decode each other's data;
//! - the NetFlow v9 header's record count is not trusted (softflowd counts
//!   only data records in it), so sets after the count are still decoded;
//! - a data set whose template is not known yet is counted as
//!   `MissingTemplate` and skipped while the other sets of the same datagram
//!   are decoded;
//! - padding after a set's last record is ignored whatever its value (nProbe
//!   and Cisco WLCs send non-zero NetFlow v9 padding), as are zero bytes after
//!   the last set (Palo Alto pads datagrams to 1400 bytes);
//! - every IPFIX message of a datagram is decoded, not only the first.
//!
//! It deliberately does not buffer data sets that arrive before their
//! template; exporters resend templates periodically and the loss is counted
//! per exporter as `missing_template`.

mod netflow5;
mod record;
mod sflow;
mod template;

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use crate::flow::{FlowProtocol, FlowRecord};
use record::{DataSet, RecordTimes, SessionState};
use template::{Format, MIN_TEMPLATE_ID, TemplateKind, Templates};

/// Length of the NetFlow v9 packet header (RFC 3954 section 5.1).
const V9_HEADER_LEN: usize = 20;
/// Length of the IPFIX message header (RFC 7011 section 3.1).
const IPFIX_HEADER_LEN: usize = 16;
/// Length of a set header, both protocols.
const SET_HEADER_LEN: usize = 4;

/// What went wrong in part of a datagram, by kind, for per-exporter counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodeErrorKind {
    /// Shorter than its header, or than a length it declares.
    Truncated,
    /// Not NetFlow v5, v9, IPFIX or sFlow v5.
    UnsupportedVersion,
    /// A record or sample whose contents cannot be right.
    BadRecord,
    /// A set or message length that cannot be right.
    BadLength,
    /// A data set whose template this exporter has not sent yet.
    MissingTemplate,
    /// A template or options template record that cannot be right.
    BadTemplate,
    /// A data set that cannot be framed with its template, or a reserved set id.
    BadDataSet,
}

impl DecodeErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [DecodeErrorKind; 7] = [
        Self::Truncated,
        Self::UnsupportedVersion,
        Self::BadRecord,
        Self::BadLength,
        Self::MissingTemplate,
        Self::BadTemplate,
        Self::BadDataSet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Truncated => "truncated",
            Self::UnsupportedVersion => "unsupported_version",
            Self::BadRecord => "bad_record",
            Self::BadLength => "bad_length",
            Self::MissingTemplate => "missing_template",
            Self::BadTemplate => "bad_template",
            Self::BadDataSet => "bad_data_set",
        }
    }
}

/// A part of a datagram that could not be decoded; the rest still was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub kind: DecodeErrorKind,
    /// Byte offset in the datagram where the failing part starts.
    pub offset: usize,
    pub detail: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte offset {}: {}", self.kind.as_str(), self.offset, self.detail)
    }
}

impl std::error::Error for DecodeError {}

/// What one datagram gave.
#[derive(Debug, Default)]
pub struct DecodeReport {
    pub protocol: Option<FlowProtocol>,
    /// Flow records appended to the output.
    pub records: usize,
    /// Options data records (sampling, system init time) applied.
    pub option_records: usize,
    /// Templates and options templates (re)defined.
    pub templates: usize,
    /// sFlow counter samples decoded (interface and other counters); not stored yet.
    pub counter_samples: usize,
    pub errors: Vec<DecodeError>,
}

/// Templates and state of one exporting process.
#[derive(Default)]
struct Session {
    v9_templates: Templates,
    ipfix_templates: Templates,
    state: SessionState,
}

/// Decodes NetFlow v9 and IPFIX datagrams from any number of exporters.
#[derive(Default)]
pub struct FlowDecoder {
    sessions: HashMap<(IpAddr, u32), Session>,
}

impl FlowDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of templates known for `exporter`, all domains together.
    pub fn templates_known(&self, exporter: IpAddr) -> usize {
        self.sessions
            .iter()
            .filter(|((addr, _), _)| *addr == exporter)
            .map(|(_, s)| s.v9_templates.len() + s.ipfix_templates.len())
            .sum()
    }

    /// Decodes one datagram from `exporter`, received at `received_ms` (Unix
    /// milliseconds), appending its flow records to `out`.
    pub fn decode(
        &mut self,
        exporter: IpAddr,
        received_ms: i64,
        datagram: &[u8],
        out: &mut Vec<FlowRecord>,
    ) -> DecodeReport {
        let mut report = DecodeReport::default();
        let version = match datagram {
            [hi, lo, ..] => u16::from_be_bytes([*hi, *lo]),
            _ => {
                report.errors.push(error(DecodeErrorKind::Truncated, 0, "datagram under 2 bytes"));
                return report;
            }
        };
        // sFlow's version is a 32-bit word, so its datagrams open with 0x0000.
        let sflow = datagram.len() >= 4 && datagram[..4] == [0, 0, 0, 5];
        match version {
            5 => netflow5::decode(exporter, received_ms, datagram, out, &mut report),
            9 => self.decode_v9(exporter, received_ms, datagram, out, &mut report),
            10 => self.decode_ipfix(exporter, received_ms, datagram, out, &mut report),
            0 if sflow => sflow::decode(exporter, received_ms, datagram, out, &mut report),
            other => report.errors.push(error(
                DecodeErrorKind::UnsupportedVersion,
                0,
                format!("version {other} is none of NetFlow v5, v9, IPFIX (10) or sFlow v5"),
            )),
        }
        report
    }

    fn decode_v9(
        &mut self,
        exporter: IpAddr,
        received_ms: i64,
        datagram: &[u8],
        out: &mut Vec<FlowRecord>,
        report: &mut DecodeReport,
    ) {
        report.protocol = Some(FlowProtocol::NetflowV9);
        if datagram.len() < V9_HEADER_LEN {
            report.errors.push(error(
                DecodeErrorKind::Truncated,
                0,
                format!("{} bytes is shorter than the 20-byte NetFlow v9 header", datagram.len()),
            ));
            return;
        }
        // RFC 3954 5.1: version, count, sysUpTime, UNIX secs, sequence, source id.
        // The count is ignored on purpose: exporters disagree on what it counts.
        let sys_uptime_ms = be_u32(&datagram[4..8]);
        let export_secs = be_u32(&datagram[8..12]);
        let source_id = be_u32(&datagram[16..20]);
        let times = RecordTimes::v9(received_ms, export_secs, sys_uptime_ms);

        let session = self.sessions.entry((exporter, source_id)).or_default();
        let mut message = Message {
            exporter,
            domain: source_id,
            received_ms,
            format: Format::V9,
            templates: &mut session.v9_templates,
            state: &mut session.state,
            times,
        };
        for (offset, set) in sets(datagram, V9_HEADER_LEN, report) {
            message.decode_set(offset, set, out, report);
        }
    }

    fn decode_ipfix(
        &mut self,
        exporter: IpAddr,
        received_ms: i64,
        datagram: &[u8],
        out: &mut Vec<FlowRecord>,
        report: &mut DecodeReport,
    ) {
        report.protocol = Some(FlowProtocol::Ipfix);
        // An exporter sends one message per datagram, but each message says its
        // own length, so messages put back to back (a stream capture replayed,
        // a relay that batches) are each decoded rather than dropped unseen.
        let mut start = 0;
        while let Some(end) =
            self.decode_ipfix_message(exporter, received_ms, datagram, start, out, report)
        {
            match next_message(datagram, end, IPFIX_HEADER_LEN, 10, "an IPFIX message", report) {
                Some(next) => start = next,
                None => break,
            }
        }
    }

    /// Decodes the IPFIX message at `start` of the datagram; returns where it
    /// ends, or `None` when its header cannot frame it.
    fn decode_ipfix_message(
        &mut self,
        exporter: IpAddr,
        received_ms: i64,
        datagram: &[u8],
        start: usize,
        out: &mut Vec<FlowRecord>,
        report: &mut DecodeReport,
    ) -> Option<usize> {
        let available = datagram.len() - start;
        if available < IPFIX_HEADER_LEN {
            report.errors.push(error(
                DecodeErrorKind::Truncated,
                start,
                format!("{available} bytes is shorter than the 16-byte IPFIX header"),
            ));
            return None;
        }
        // RFC 7011 3.1: version, length, export time, sequence, domain id.
        let header = &datagram[start..start + IPFIX_HEADER_LEN];
        let length = usize::from(u16::from_be_bytes([header[2], header[3]]));
        let end = if length < IPFIX_HEADER_LEN {
            report.errors.push(error(
                DecodeErrorKind::BadLength,
                start + 2,
                format!("message length {length} is shorter than the IPFIX header"),
            ));
            return None;
        } else if length > available {
            report.errors.push(error(
                DecodeErrorKind::Truncated,
                start + 2,
                format!("message length {length} exceeds the {available} bytes left"),
            ));
            datagram.len()
        } else {
            start + length
        };
        let export_secs = be_u32(&header[4..8]);
        let domain = be_u32(&header[12..16]);

        let session = self.sessions.entry((exporter, domain)).or_default();
        let times = RecordTimes::ipfix(received_ms, export_secs, session.state.system_init_ms);
        let mut message = Message {
            exporter,
            domain,
            received_ms,
            format: Format::Ipfix,
            templates: &mut session.ipfix_templates,
            state: &mut session.state,
            times,
        };
        for (offset, set) in sets(&datagram[..end], start + IPFIX_HEADER_LEN, report) {
            message.decode_set(offset, set, out, report);
        }
        Some(end)
    }
}

/// One NetFlow v9 packet or IPFIX message being decoded, with the state of
/// its exporting process.
struct Message<'a> {
    exporter: IpAddr,
    domain: u32,
    received_ms: i64,
    format: Format,
    templates: &'a mut Templates,
    state: &'a mut SessionState,
    times: RecordTimes,
}

impl Message<'_> {
    /// Decodes the set at byte `offset` of the datagram, header included.
    fn decode_set(
        &mut self,
        offset: usize,
        set: &[u8],
        out: &mut Vec<FlowRecord>,
        report: &mut DecodeReport,
    ) {
        let id = u16::from_be_bytes([set[0], set[1]]);
        let body = &set[SET_HEADER_LEN..];
        let body_offset = offset + SET_HEADER_LEN;

        if id == self.format.template_set_id() || id == self.format.options_template_set_id() {
            let (defined, failed) = self.templates.read_set(self.format, id, body, body_offset);
            report.templates += defined;
            if let Some(err) = failed {
                let detail = format!("in set {id}: {err}");
                report.errors.push(error(DecodeErrorKind::BadTemplate, offset, detail));
            }
            return;
        }
        if id < MIN_TEMPLATE_ID {
            // RFC 3954 5.3 and RFC 7011 3.3.2 keep these ids for set types to come.
            let detail = format!("set id {id} is reserved, neither template nor data");
            report.errors.push(error(DecodeErrorKind::BadDataSet, offset, detail));
            return;
        }
        let Some(template) = self.templates.get(id) else {
            let detail = format!("in set {id}: template {id} is not known for this domain yet");
            report.errors.push(error(DecodeErrorKind::MissingTemplate, offset, detail));
            return;
        };
        let data = match DataSet::frame(template, body, body_offset) {
            Ok(data) => data,
            Err(err) => {
                let detail = format!("in set {id}: {err}");
                report.errors.push(error(DecodeErrorKind::BadDataSet, offset, detail));
                return;
            }
        };

        let protocol = match self.format {
            Format::V9 => FlowProtocol::NetflowV9,
            Format::Ipfix => FlowProtocol::Ipfix,
        };
        for bytes in data.records() {
            match (template.kind, self.format) {
                (TemplateKind::Options, Format::V9) => {
                    self.state.learn_v9_options(template, bytes);
                    report.option_records += 1;
                }
                (TemplateKind::Options, Format::Ipfix) => {
                    self.state.learn_ipfix_options(template, bytes);
                    report.option_records += 1;
                }
                (TemplateKind::Data, _) => {
                    let mut flow =
                        FlowRecord::new(self.exporter, protocol, self.domain, self.received_ms);
                    // An options record earlier in the message may have said
                    // when the exporter booted.
                    let times = match self.format {
                        Format::V9 => self.times,
                        Format::Ipfix => self.times.with_init(self.state.system_init_ms),
                    };
                    record::fill(&mut flow, template, bytes, &times, self.state);
                    out.push(flow);
                    report.records += 1;
                }
            }
        }
    }
}

/// The sets of a message body starting at `start`, each with its offset.
/// A set header that cannot be right ends the walk with an error: nothing
/// after it can be framed.
fn sets<'a>(message: &'a [u8], start: usize, report: &mut DecodeReport) -> Vec<(usize, &'a [u8])> {
    let mut found = Vec::new();
    let mut offset = start;
    // Fewer than 4 bytes left is padding (RFC 3954 5.3 allows it after the last set).
    while message.len() - offset >= SET_HEADER_LEN {
        let id = u16::from_be_bytes([message[offset], message[offset + 1]]);
        let length = usize::from(u16::from_be_bytes([message[offset + 2], message[offset + 3]]));
        if length < SET_HEADER_LEN {
            if id == 0 && length == 0 && message[offset..].iter().all(|b| *b == 0) {
                break; // trailing zero padding
            }
            report.errors.push(error(
                DecodeErrorKind::BadLength,
                offset + 2,
                format!("set {id} declares length {length}, under the 4-byte set header"),
            ));
            break;
        }
        if offset + length > message.len() {
            report.errors.push(error(
                DecodeErrorKind::Truncated,
                offset + 2,
                format!("set {id} declares {length} bytes but {} remain", message.len() - offset),
            ));
            break;
        }
        found.push((offset, &message[offset..offset + length]));
        offset += length;
    }
    found
}

/// Where the next message of a datagram starts when the one before ended at
/// `end`: `None` when nothing but zero padding is left, or when what is left
/// cannot be a message of `version` (counted as a `BadLength` error). Shared
/// by the protocols whose messages may come back to back in one datagram.
fn next_message(
    datagram: &[u8],
    end: usize,
    header_len: usize,
    version: u16,
    what: &str,
    report: &mut DecodeReport,
) -> Option<usize> {
    let rest = &datagram[end..];
    if rest.iter().all(|b| *b == 0) {
        return None;
    }
    if rest.len() < header_len || rest[..2] != version.to_be_bytes() {
        report.errors.push(error(
            DecodeErrorKind::BadLength,
            end,
            format!("{} bytes after the message end are not {what}", rest.len()),
        ));
        return None;
    }
    Some(end)
}

fn error(kind: DecodeErrorKind, offset: usize, detail: impl Into<String>) -> DecodeError {
    DecodeError { kind, offset, detail: detail.into() }
}

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

#[cfg(test)]
mod tests;
