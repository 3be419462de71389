//! NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) datagrams to flow records.
//!
//! [`FlowDecoder`] is pure: bytes and the exporter's address in, records and
//! typed errors out, no sockets and no store. It keeps per-exporter state that
//! the protocols require between datagrams: templates, the exporter's system
//! init time and sampling rates learned from options data.
//!
//! The packet and set headers are walked here; each set is handed to
//! `netgauze-flow-pkt` on its own. That fixes three faults of decoding a whole
//! datagram with it:
//! - templates are scoped per (exporter address, source id / observation
//!   domain), not per template id alone, so two routers using template 256
//!   never decode each other's data;
//! - the NetFlow v9 header's record count is not trusted (softflowd counts
//!   only data records in it), so sets after the count are still decoded;
//! - a data set whose template is not known yet is counted and skipped while
//!   the other sets of the same datagram are decoded.
//!
//! The walk also zeroes non-zero NetFlow v9 padding before handing a set over
//! (the parser rejects it; exporters send it), and decodes every IPFIX message
//! of a datagram, not only the first.
//!
//! It deliberately does not buffer data sets that arrive before their
//! template; exporters resend templates periodically and the loss is counted
//! per exporter as `missing_template`.

mod fields;
mod netflow5;
mod sflow;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use netgauze_flow_pkt::wire::deserializer::ipfix::SetParsingError as IpfixSetError;
use netgauze_flow_pkt::wire::deserializer::netflow::SetParsingError as V9SetError;
use netgauze_flow_pkt::{ipfix, netflow};
use netgauze_parse_utils::reader::SliceReader;
use netgauze_parse_utils::traits::ParseFromWithOneInput;

use crate::flow::{FlowProtocol, FlowRecord};
use fields::{RecordTimes, SessionState};

/// Length of the NetFlow v9 packet header (RFC 3954 section 5.1).
const V9_HEADER_LEN: usize = 20;
/// Length of the IPFIX message header (RFC 7011 section 3.1).
const IPFIX_HEADER_LEN: usize = 16;
/// Length of a set header, both protocols.
const SET_HEADER_LEN: usize = 4;
/// NetFlow v9 options template FlowSet id (RFC 3954 section 5.4).
const V9_OPTIONS_TEMPLATE_SET_ID: u16 = 1;
/// Lowest data FlowSet id, both protocols (RFC 3954 5.3, RFC 7011 3.3.2).
const V9_MIN_DATA_SET_ID: u16 = 256;

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
    /// A template or options template the parser rejected.
    BadTemplate,
    /// A data set the parser rejected with its template.
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
    pub errors: Vec<DecodeError>,
}

/// Templates and state of one exporting process.
#[derive(Default)]
struct Session {
    v9_templates: netflow::TemplatesMap,
    ipfix_templates: ipfix::TemplatesMap,
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
        for (offset, set) in sets(datagram, V9_HEADER_LEN, report) {
            let set = zero_v9_padding(set, &session.v9_templates);
            let parsed =
                netflow::Set::parse(&mut SliceReader::new(&set), &mut session.v9_templates);
            match parsed {
                Ok(netflow::Set::Template(templates)) => report.templates += templates.len(),
                Ok(netflow::Set::OptionsTemplate(templates)) => report.templates += templates.len(),
                Ok(netflow::Set::Data { records, .. }) => {
                    for record in records.iter() {
                        if record.scope_fields().is_empty() {
                            let mut flow = FlowRecord::new(
                                exporter,
                                FlowProtocol::NetflowV9,
                                source_id,
                                received_ms,
                            );
                            fields::fill(&mut flow, record.fields(), &times, &session.state);
                            out.push(flow);
                            report.records += 1;
                        } else {
                            session.state.learn_v9_options(record.scope_fields(), record.fields());
                            report.option_records += 1;
                        }
                    }
                }
                Err(err) => {
                    let missing = matches!(err, V9SetError::NoTemplateDefinedFor { .. });
                    report.errors.push(set_error(offset, &set, missing, &err));
                }
            }
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
            let rest = &datagram[end..];
            if rest.iter().all(|b| *b == 0) {
                break; // nothing left, or zero padding
            }
            if rest.len() < IPFIX_HEADER_LEN || rest[..2] != [0, 10] {
                report.errors.push(error(
                    DecodeErrorKind::BadLength,
                    end,
                    format!("{} bytes after the message end are not an IPFIX message", rest.len()),
                ));
                break;
            }
            start = end;
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
        for (offset, set) in sets(&datagram[..end], start + IPFIX_HEADER_LEN, report) {
            let parsed =
                ipfix::Set::parse(&mut SliceReader::new(set), &mut session.ipfix_templates);
            match parsed {
                Ok(ipfix::Set::Template(templates)) => report.templates += templates.len(),
                Ok(ipfix::Set::OptionsTemplate(templates)) => report.templates += templates.len(),
                Ok(ipfix::Set::Data { records, .. }) => {
                    for record in records.iter() {
                        if record.scope_fields().is_empty() {
                            let mut flow =
                                FlowRecord::new(exporter, FlowProtocol::Ipfix, domain, received_ms);
                            let times = times.with_init(session.state.system_init_ms);
                            fields::fill(&mut flow, record.fields(), &times, &session.state);
                            out.push(flow);
                            report.records += 1;
                        } else {
                            session
                                .state
                                .learn_ipfix_options(record.scope_fields(), record.fields());
                            report.option_records += 1;
                        }
                    }
                }
                Err(err) => {
                    let missing = matches!(err, IpfixSetError::NoTemplateDefinedFor { .. });
                    report.errors.push(set_error(offset, set, missing, &err));
                }
            }
        }
        Some(end)
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

/// The set with its trailing padding zeroed.
///
/// RFC 3954 5.3 pads a set to a 32-bit boundary and says the padding SHOULD
/// be zero; nProbe and Cisco WLCs leave other bytes there, and
/// `netgauze-flow-pkt` rejects the whole set for it. Padding here is what
/// follows the last record of an options template set, or the last whole
/// record of a data set whose template is known, when under 4 bytes: more
/// than that is a truncated record, which is left for the parser to reject.
fn zero_v9_padding<'a>(set: &'a [u8], templates: &netflow::TemplatesMap) -> Cow<'a, [u8]> {
    let id = u16::from_be_bytes([set[0], set[1]]);
    let padding_start = match id {
        V9_OPTIONS_TEMPLATE_SET_ID => {
            // Each record: template id, scope length, options length, fields.
            let mut at = SET_HEADER_LEN;
            while set.len() - at >= 6 {
                let scope = usize::from(u16::from_be_bytes([set[at + 2], set[at + 3]]));
                let options = usize::from(u16::from_be_bytes([set[at + 4], set[at + 5]]));
                at += 6 + scope + options;
            }
            at
        }
        id if id >= V9_MIN_DATA_SET_ID => {
            let Some(template) = templates.get(&id) else {
                return Cow::Borrowed(set);
            };
            let scope = template.scope_fields_specs.iter().map(|s| usize::from(s.length()));
            let fields = template.fields_specs.iter().map(|f| usize::from(f.length()));
            let record = scope.chain(fields).sum::<usize>();
            let body = set.len() - SET_HEADER_LEN;
            if record == 0 || body < record {
                return Cow::Borrowed(set);
            }
            SET_HEADER_LEN + body / record * record
        }
        _ => return Cow::Borrowed(set),
    };

    let Some(padding) = set.get(padding_start..) else {
        return Cow::Borrowed(set);
    };
    if padding.len() >= 4 || padding.iter().all(|b| *b == 0) {
        return Cow::Borrowed(set);
    }
    let mut copy = set.to_vec();
    copy[padding_start..].fill(0);
    Cow::Owned(copy)
}

fn set_error(
    offset: usize,
    set: &[u8],
    missing_template: bool,
    err: &dyn fmt::Display,
) -> DecodeError {
    let id = u16::from_be_bytes([set[0], set[1]]);
    let kind = if missing_template {
        DecodeErrorKind::MissingTemplate
    } else if id <= 3 {
        DecodeErrorKind::BadTemplate
    } else {
        DecodeErrorKind::BadDataSet
    };
    error(kind, offset, format!("in set {id}: {err}"))
}

fn error(kind: DecodeErrorKind, offset: usize, detail: impl Into<String>) -> DecodeError {
    DecodeError { kind, offset, detail: detail.into() }
}

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

#[cfg(test)]
mod tests;
