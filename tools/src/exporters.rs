//! `exporters`: what each flow exporter has sent and what became of it.

use flowsage_ingest::collector::stats::{ExporterSnapshot, WriterSnapshot};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{ToolError, Toolbox};

pub const NAME: &str = "exporters";
pub const DESCRIPTION: &str = "Per-exporter ingest statistics since flowsage started: datagrams, \
     flow records, templates known, decode errors by kind, datagrams dropped on a full queue, last \
     seen time; plus rows written to the store, rows dropped by reason, and batches waiting in \
     the spool while the store does not take them (nonzero: recent flows are not queryable yet). \
     Use it to check that data is arriving before analysing it.";

/// No arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {}

#[derive(Debug, Serialize, PartialEq)]
pub struct Output {
    pub exporters: Vec<Exporter>,
    pub store_writer: WriterSnapshot,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Exporter {
    #[serde(flatten)]
    pub stats: ExporterSnapshot,
    /// `last_seen_ms` as RFC 3339 UTC.
    pub last_seen: String,
}

pub async fn run(toolbox: &Toolbox, _args: Args) -> Result<Output, ToolError> {
    let stats = toolbox.collector.as_ref().ok_or(ToolError::Unavailable(
        "the flow collector (run `flowsage serve`; `flowsage mcp` forwards to it when it runs)",
    ))?;
    let exporters = stats
        .exporters()
        .into_iter()
        .map(|stats| {
            let last_seen = chrono::DateTime::from_timestamp_millis(stats.last_seen_ms)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default();
            Exporter { stats, last_seen }
        })
        .collect();
    Ok(Output { exporters, store_writer: stats.writer() })
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;
    use std::sync::atomic::Ordering::Relaxed;

    use flowsage_ingest::collector::stats::CollectorStats;
    use flowsage_ingest::decode::DecodeErrorKind;

    use super::*;
    use crate::testing::toolbox;

    #[tokio::test]
    async fn reports_each_exporter_with_its_errors() {
        // given
        let mut toolbox = toolbox().await;
        let stats = Arc::new(CollectorStats::default());
        let router = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let counters = stats.exporter(router);
        counters.records.fetch_add(42, Relaxed);
        counters.last_seen_ms.store(1_764_770_400_000, Relaxed);
        counters.count_error(DecodeErrorKind::MissingTemplate);
        counters.count_error(DecodeErrorKind::MissingTemplate);
        toolbox.collector = Some(stats);

        // when
        let out = run(&toolbox, Args {}).await.unwrap();

        // then
        assert_eq!(out.exporters.len(), 1);
        let exporter = &out.exporters[0];
        assert_eq!(exporter.stats.address, router);
        assert_eq!(exporter.stats.records, 42);
        assert_eq!(exporter.stats.decode_errors.get("missing_template"), Some(&2));
        assert_eq!(exporter.last_seen, "2025-12-03T14:00:00.000Z");
    }

    #[tokio::test]
    async fn without_a_collector_it_says_where_to_look() {
        // given
        let mut toolbox = toolbox().await;
        toolbox.collector = None;

        // when
        let err = run(&toolbox, Args {}).await.unwrap_err();

        // then
        assert!(err.to_string().contains("flowsage serve"), "{err}");
    }
}
