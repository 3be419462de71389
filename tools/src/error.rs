//! The error every tool returns: what went wrong, what to change, and
//! whether calling again unchanged can help.

use flowsage_ingest::store::StoreError;

use crate::sql_guard::GuardError;

/// Why a tool call failed, in words a model can act on.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// An argument is missing or out of range.
    #[error("invalid argument {name}: {message}")]
    InvalidArgument { name: &'static str, message: String },
    /// The SQL guard refused the query.
    #[error("query rejected: {0}")]
    Rejected(#[from] GuardError),
    /// The engine refused or failed the query.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The tool needs a part of flowsage that is not running here.
    #[error("{0} is not available in this process")]
    Unavailable(&'static str),
}

impl ToolError {
    /// Whether the same call may succeed if simply repeated later.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Store(err) => err.retryable(),
            Self::InvalidArgument { .. } | Self::Rejected(_) | Self::Unavailable(_) => false,
        }
    }
}
