//! flowsage-tools: the typed tools that MCP clients and the agent call, and
//! the SQL guard that stands between a model's SQL and the store.
//!
//! Each tool is one module holding its name, its description for models, its
//! argument type (with a JSON schema), its output type, its handler and its
//! tests. The types are plain Rust; turning them into MCP is `agent`'s job.
//! Every failure is a [`ToolError`] that says what to change and whether a
//! retry can help.

pub mod describe_table;
mod error;
pub mod exporters;
pub mod list_tables;
pub mod query_sql;
pub mod sql_guard;
mod toolbox;

#[cfg(test)]
mod testing;

pub use error::ToolError;
pub use toolbox::{DEFAULT_MAX_ROWS, Toolbox, ToolsConfig};
