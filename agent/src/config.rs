//! The `[mcp]` section: where the MCP HTTP server listens and who may call it.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Default address of the HTTP server: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The MCP server over Streamable HTTP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct McpConfig {
    /// Address of the HTTP server (`/mcp`, `/healthz` and `/metrics`).
    pub listen: SocketAddr,
    /// Bearer tokens accepted on `/mcp`. Secret: prefer FLOWSAGE_MCP_TOKENS
    /// (comma-separated). `flowsage serve` also accepts a token of its own,
    /// written to the data directory for local clients.
    pub tokens: Vec<String>,
    /// Files each holding one bearer token (surrounding white space ignored),
    /// read when the server starts; accepted alongside `tokens`. A relative
    /// path is relative to the config file.
    pub token_files: Vec<PathBuf>,
    /// Host header values accepted besides loopback names, for a server
    /// reached by a DNS name (protects against DNS rebinding).
    pub allowed_hosts: Vec<String>,
}

impl Default for McpConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.parse().expect("valid default"),
            tokens: Vec::new(),
            token_files: Vec::new(),
            allowed_hosts: Vec::new(),
        }
    }
}
