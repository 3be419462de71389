//! flowsage-ingest: how telemetry gets in and where it is kept.
//!
//! A map of the crate:
//! - [`flow`]: the [`FlowRecord`](flow::FlowRecord), one row of `flows`.
//! - [`capture`]: pcap and pcapng files to the UDP datagrams in them, for
//!   replaying captures and for tests. Pure like the decoders.
//! - [`decode`]: NetFlow v5, v9, IPFIX and sFlow v5 datagrams to flow records.
//!   Pure: no sockets, no store, no clock.
//! - [`collector`]: UDP listeners in front of the [`Pipeline`](collector::Pipeline)
//!   (decode task, batcher, store writer) that live collection and replayed
//!   captures share; the writer spools to disk while the store does not take
//!   batches ([`collector::spool`]); statistics ([`collector::stats`]) and
//!   their Prometheus form ([`collector::metrics`]).
//! - [`store`]: the ClickHouse schema and its two backends, embedded chDB and
//!   a ClickHouse server over HTTP.
//!
//! Data flows one way: socket (or capture) → bounded queue → decoder →
//! batcher → bounded queue → store (→ spool → store, while the store is
//! down). Nothing on the receive side ever waits on the store; every queue,
//! and the spool, has a bound and counts what it drops.

pub mod capture;
pub mod collector;
pub mod decode;
pub mod flow;
pub mod store;
