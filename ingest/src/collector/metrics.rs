//! The collector's statistics as Prometheus metrics, for `/metrics`.
//!
//! [`registry`] gives a `prometheus-client` registry whose one collector reads
//! [`CollectorStats`] at every scrape: the counters are the same atomics the
//! collector's tasks add to and the `exporters` tool reports, so the numbers
//! are exact and the receive path does nothing more than before. [`render`]
//! writes the registry in the Prometheus text format, version 0.0.4
//! ([`CONTENT_TYPE`]).
//!
//! Every family is listed at every scrape, with a zero for each known label
//! value (every decode error kind of a seen exporter, every drop reason), so
//! a rate or an alert has a series from the start. Exporters appear once they
//! sent a datagram, listeners once they are bound.
//!
//! This module only reads; it neither counts nor resets anything.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use super::stats::{CollectorStats, DropReason};
use crate::decode::DecodeErrorKind;

/// `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// A registry holding the collector's metrics.
pub fn registry(stats: Arc<CollectorStats>) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(StatsCollector(stats)));
    registry
}

/// The registry's metrics in the Prometheus text format.
pub fn render(registry: &Registry) -> String {
    let mut text = String::new();
    // Writing to a String cannot fail, and the collector reports no errors
    // of its own.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, registry);
    text
}

/// Reads [`CollectorStats`] at each scrape.
struct StatsCollector(Arc<CollectorStats>);

impl fmt::Debug for StatsCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StatsCollector")
    }
}

type Labels = Vec<(&'static str, String)>;

/// One family: its samples, each with its labels.
fn family<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric_type: MetricType,
    samples: impl IntoIterator<Item = (Labels, M)>,
) -> fmt::Result {
    let mut metric = encoder.encode_descriptor(name, help, None, metric_type)?;
    for (labels, value) in samples {
        if labels.is_empty() {
            value.encode(metric.encode_family(&NoLabels)?)?;
        } else {
            value.encode(metric.encode_family(&labels)?)?;
        }
    }
    Ok(())
}

/// An empty label set (`Vec` of none would print `{}`).
struct NoLabels;

impl EncodeLabelSet for NoLabels {
    fn encode(&self, _: &mut prometheus_client::encoding::LabelSetEncoder) -> fmt::Result {
        Ok(())
    }
}

fn counters(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (Labels, u64)>,
) -> fmt::Result {
    let samples = samples.into_iter().map(|(labels, value)| (labels, ConstCounter::new(value)));
    family(encoder, name, help, MetricType::Counter, samples)
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> fmt::Result {
    let value = i64::try_from(value).unwrap_or(i64::MAX);
    family(encoder, name, help, MetricType::Gauge, [(Labels::new(), ConstGauge::new(value))])
}

impl Collector for StatsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let stats = &self.0;
        let exporters = stats.exporters();
        let writer = stats.writer();
        let exporter = |address: &std::net::IpAddr| vec![("exporter", address.to_string())];
        let per_exporter = |value: fn(&super::stats::ExporterSnapshot) -> u64| {
            exporters.iter().map(move |e| (exporter(&e.address), value(e)))
        };
        let e = &mut encoder;

        counters(
            e,
            "flowsage_listener_datagrams",
            "UDP datagrams received by a listener (label: its bound address), decoded or not",
            stats
                .listeners()
                .into_iter()
                .map(|l| (vec![("listener", l.address.to_string())], l.datagrams)),
        )?;
        counters(
            e,
            "flowsage_exporter_datagrams",
            "Datagrams of an exporter taken from the decode queue and decoded",
            per_exporter(|e| e.datagrams),
        )?;
        counters(
            e,
            "flowsage_exporter_bytes",
            "Bytes of the datagrams of an exporter that were decoded",
            per_exporter(|e| e.bytes),
        )?;
        counters(
            e,
            "flowsage_exporter_records",
            "Flow records decoded from an exporter",
            per_exporter(|e| e.records),
        )?;
        counters(
            e,
            "flowsage_exporter_decode_errors",
            "Parts of an exporter's datagrams that could not be decoded, by kind",
            exporters.iter().flat_map(|e| {
                DecodeErrorKind::ALL.iter().map(move |kind| {
                    let count = e.decode_errors.get(kind.as_str()).copied().unwrap_or(0);
                    (
                        vec![("exporter", e.address.to_string()), ("kind", kind.as_str().into())],
                        count,
                    )
                })
            }),
        )?;
        counters(
            e,
            "flowsage_exporter_queue_drops",
            "Datagrams of an exporter dropped because the decode queue was full",
            per_exporter(|e| e.queue_drops),
        )?;
        counters(
            e,
            "flowsage_writer_batches_written",
            "Batches the store took",
            [(Labels::new(), writer.batches_written)],
        )?;
        counters(
            e,
            "flowsage_writer_rows_written",
            "Flow rows the store took",
            [(Labels::new(), writer.rows_written)],
        )?;
        counters(
            e,
            "flowsage_writer_rows_dropped",
            "Flow rows given up, by reason",
            DropReason::ALL.iter().map(|reason| {
                (vec![("reason", reason.as_str().to_string())], stats.writer.rows_dropped(*reason))
            }),
        )?;
        counters(
            e,
            "flowsage_writer_insert_errors",
            "Inserts the store failed or refused, retried or not",
            [(Labels::new(), writer.write_errors)],
        )?;
        counters(
            e,
            "flowsage_writer_rows_spooled",
            "Flow rows put in the spool because the store did not take them",
            [(Labels::new(), stats.writer.rows_spooled.load(Relaxed))],
        )?;
        counters(
            e,
            "flowsage_spool_corrupt_files",
            "Spool files that could not be read back and were moved aside",
            [(Labels::new(), stats.writer.spool_corrupt_files.load(Relaxed))],
        )?;
        gauge(e, "flowsage_spool_batches", "Batches waiting in the spool", writer.spool_batches)?;
        gauge(e, "flowsage_spool_bytes", "Bytes of the spooled batches", writer.spool_bytes)?;
        let insert_seconds = &stats.writer.insert_seconds;
        let metric = e.encode_descriptor(
            "flowsage_store_insert_seconds",
            "Seconds the store took to accept a batch",
            None,
            insert_seconds.metric_type(),
        )?;
        insert_seconds.encode(metric)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, SocketAddr};

    use super::*;

    #[test]
    fn every_family_renders_with_exact_values_and_labels() {
        // given
        let stats = Arc::new(CollectorStats::default());
        let listener: SocketAddr = "127.0.0.1:2055".parse().unwrap();
        stats.listener(listener).datagrams.fetch_add(12, Relaxed);
        let exporter = stats.exporter(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
        exporter.datagrams.fetch_add(10, Relaxed);
        exporter.records.fetch_add(250, Relaxed);
        exporter.queue_drops.fetch_add(2, Relaxed);
        exporter.count_error(DecodeErrorKind::MissingTemplate);
        exporter.count_error(DecodeErrorKind::MissingTemplate);
        stats.writer.batches_written.fetch_add(3, Relaxed);
        stats.writer.rows_written.fetch_add(240, Relaxed);
        stats.writer.drop_rows(DropReason::SpoolFull, 10);
        stats.writer.spool_batches.store(1, Relaxed);
        stats.writer.spool_bytes.store(4096, Relaxed);
        stats.writer.insert_seconds.observe(0.0015);

        // when
        let text = render(&registry(stats));

        // then
        let expected = [
            "# TYPE flowsage_listener_datagrams_total counter",
            "flowsage_listener_datagrams_total{listener=\"127.0.0.1:2055\"} 12",
            "flowsage_exporter_datagrams_total{exporter=\"192.0.2.7\"} 10",
            "flowsage_exporter_records_total{exporter=\"192.0.2.7\"} 250",
            "flowsage_exporter_decode_errors_total{exporter=\"192.0.2.7\",kind=\"missing_template\"} 2",
            "flowsage_exporter_decode_errors_total{exporter=\"192.0.2.7\",kind=\"truncated\"} 0",
            "flowsage_exporter_queue_drops_total{exporter=\"192.0.2.7\"} 2",
            "flowsage_writer_batches_written_total 3",
            "flowsage_writer_rows_written_total 240",
            "flowsage_writer_rows_dropped_total{reason=\"spool_full\"} 10",
            "flowsage_writer_rows_dropped_total{reason=\"store_refused\"} 0",
            "flowsage_writer_rows_dropped_total{reason=\"spool_corrupt\"} 0",
            "flowsage_writer_rows_dropped_total{reason=\"arrow\"} 0",
            "# TYPE flowsage_spool_batches gauge",
            "flowsage_spool_batches 1",
            "flowsage_spool_bytes 4096",
            "# TYPE flowsage_store_insert_seconds histogram",
            "flowsage_store_insert_seconds_bucket{le=\"0.001\"} 0",
            "flowsage_store_insert_seconds_bucket{le=\"0.002\"} 1",
            "flowsage_store_insert_seconds_bucket{le=\"+Inf\"} 1",
            "flowsage_store_insert_seconds_count 1",
        ];
        let lines: Vec<&str> = text.lines().collect();
        for line in expected {
            assert!(lines.contains(&line), "missing {line:?} in:\n{text}");
        }
    }

    #[test]
    fn nothing_seen_yet_still_lists_the_writer_families() {
        // given
        let stats = Arc::new(CollectorStats::default());

        // when
        let text = render(&registry(stats));

        // then
        assert!(text.contains("\nflowsage_writer_rows_written_total 0\n"), "{text}");
        assert!(text.contains("# TYPE flowsage_exporter_datagrams_total counter\n"), "{text}");
        assert!(!text.contains("exporter=\""), "{text}");
    }
}
