//! flowsage: a network analyst for operators of routed networks.
//!
//! This crate is the application: it reads the configuration ([`config`]),
//! wires the collector, store and MCP server together ([`serve`]), runs
//! the stdio MCP server ([`stdio`]) and replays captures into the store
//! ([`replay`]). The parts live in their own crates:
//! `flowsage-ingest` (collection, decoding, the store), `flowsage-tools` (the
//! typed tools, the SQL guard) and `flowsage-agent` (MCP).

pub mod config;
pub mod replay;
pub mod runtime;
pub mod serve;
pub mod stdio;
