//! The one error type of the core crate: a stable machine-readable code and a message
//! that says what went wrong and where.

use serde::Serialize;
use std::fmt;

/// Stable error codes, shared with the JS API (`error.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidArgument,
    InvalidProfile,
    UnknownTable,
    NotFound,
    ReadOnly,
    QuotaExceeded,
    Storage,
    Closed,
    Network,
    Unauthorized,
    Conflict,
    /// The store belongs to another user than the one opening or syncing it.
    UserMismatch,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::InvalidProfile => "invalid_profile",
            ErrorCode::UnknownTable => "unknown_table",
            ErrorCode::NotFound => "not_found",
            ErrorCode::ReadOnly => "read_only",
            ErrorCode::QuotaExceeded => "quota_exceeded",
            ErrorCode::Storage => "storage",
            ErrorCode::Closed => "closed",
            ErrorCode::Network => "network",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Conflict => "conflict",
            ErrorCode::UserMismatch => "user_mismatch",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }
    pub fn invalid_profile(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidProfile, message)
    }
    pub fn unknown_table(table: &str) -> Self {
        Self::new(
            ErrorCode::UnknownTable,
            format!("unknown table '{table}': it is not in the offline profile"),
        )
    }
}
