//! flowsage-agent: the faces flowsage shows to clients. Today that is MCP:
//! the tool catalogue and dispatch ([`mcp`]), the Streamable HTTP server with
//! bearer tokens ([`http`]), and the stdio forwarder used while a server
//! holds the data ([`proxy`]). The LLM agent loop will live here too.
//!
//! This crate is the only one that speaks MCP and JSON-RPC; tools stay plain
//! Rust in `flowsage-tools`.

pub mod config;
pub mod http;
pub mod mcp;
pub mod proxy;

pub use config::McpConfig;
